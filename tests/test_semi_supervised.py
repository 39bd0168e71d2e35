"""M2 (Kingma et al. 2014): the objective against the formulas, the enumeration over classes,
labelled batches, `classify`, and the export with its `classify` signature."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.data.pipeline import balanced_subset
from zoo.data.resident import ResidentImages
from zoo.data.sources import Split
from zoo.errors import DataError
from zoo.models.builder import build
from zoo.models.semi_supervised import SemiSupervisedVAE
from zoo.objectives import SemiSupervised

CLASSES = 3


def _m2(alpha=2.0):
    keras.utils.set_random_seed(4)
    return build(VAEConfig(network={"type": "mlp", "hidden_units": (16,)},
                           posterior={"type": "diagonal_normal", "latent_dim": 3},
                           condition={"type": "class_label", "classes": CLASSES},
                           classifier={"type": "mlp", "hidden_units": (8,)},
                           objective={"type": "semi_supervised", "alpha": alpha}))


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) < 0.3).astype(np.float32), np.arange(n) % CLASSES


def test_objective_equals_the_formulas_on_given_per_class_bounds():
    per_class_loss = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]], np.float32)  # [K, B]
    per_class = {"loss": per_class_loss, "reconstruction": per_class_loss - 1.0, "kl": np.ones_like(per_class_loss)}
    logits = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0]], np.float32)
    q = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    objective = SemiSupervised(alpha=7.0)
    terms = objective.terms(per_class, tf.constant(logits), tf.constant([-1, 1], tf.int64))
    # unlabelled: sum_y q(y|x) (-L(x, y)) + sum_y q log q + log K
    unlabelled = (q[0] * per_class_loss[:, 0]).sum() + (q[0] * np.log(q[0])).sum() + math.log(3)
    # labelled with y = 1: -L(x, 1) - log p(y) + alpha * -log q(1|x)
    labelled = per_class_loss[1, 1] + math.log(3) + 7.0 * -math.log(q[1, 1])
    np.testing.assert_allclose(terms["loss"], [unlabelled, labelled], rtol=1e-5)
    np.testing.assert_allclose(terms["classification"], [0.0, -math.log(q[1, 1])], rtol=1e-5)
    np.testing.assert_allclose(terms["reconstruction"], [(q[0] * (per_class_loss[:, 0] - 1)).sum(), 39.0], rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], [1 + (q[0] * np.log(q[0])).sum() + math.log(3), 1 + math.log(3)],
                               rtol=1e-5)


def _hand_per_class(model, x, seed):
    """-ELBO of every image at every class from the formulas, [K, B]: x repeated K times with
    y = 0..K-1 concatenated one-hot into the networks, z drawn from q with `seed`."""
    batch = len(x)
    repeated = np.concatenate([x] * CLASSES)
    one_hot = np.repeat(np.eye(CLASSES, dtype=np.float32), batch, axis=0)
    params = model.encoder([repeated, one_hot]).numpy()
    mu, raw = np.split(params.astype(np.float64), 2, axis=-1)
    sd = np.logaddexp(0, raw) + 1e-5
    z = model.posterior.distribution(params).sample(seed=seed)
    logits = model.decoder([z, one_hot]).numpy().astype(np.float64)
    log_p = np.sum(repeated * -np.logaddexp(0, -logits) + (1 - repeated) * -np.logaddexp(0, logits), axis=(1, 2, 3))
    kl = 0.5 * np.sum(mu ** 2 + sd ** 2 - 1 - 2 * np.log(sd), axis=1)
    return (-log_p + kl).reshape(CLASSES, batch)


def test_enumeration_over_classes_equals_hand_computation():
    model = _m2(alpha=3.0)
    x, _ = _data(4)
    labels = np.array([-1, 2, -1, 0])
    terms = model.terms(x, seed=(7, 8), y=labels)
    bound = _hand_per_class(model, x, (7, 8))
    logits = model.classifier(x).numpy().astype(np.float64)
    q = np.exp(logits - logits.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    expected = []
    for i, label in enumerate(labels):
        if label < 0:
            expected.append((q[i] * bound[:, i]).sum() + (q[i] * np.log(q[i])).sum() + math.log(CLASSES))
        else:
            expected.append(bound[label, i] + math.log(CLASSES) - 3.0 * np.log(q[i, label]))
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-4)
    # elbo(x) sums the class out: the unlabelled bound; elbo(x, y) is a conditional VAE's
    np.testing.assert_allclose(-model.elbo(x, seed=(7, 8)).numpy(), model.terms(x, seed=(7, 8))["loss"], rtol=1e-6)


def test_fit_with_hidden_labels_learns_the_classes_it_is_shown():
    """Two easy classes (dark and bright images), three labels each: q(y|x) gets them right."""
    rng = np.random.default_rng(0)
    dark = (rng.random((60, 28, 28, 1)) < 0.1).astype(np.float32)
    bright = (rng.random((60, 28, 28, 1)) < 0.7).astype(np.float32)
    x = np.concatenate([dark, bright])
    y = np.full(120, -1)
    y[[0, 1, 2]], y[[60, 61, 62]] = 0, 1
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 2},
                            condition={"type": "class_label", "classes": 2},
                            classifier={"type": "mlp", "hidden_units": (8,)},
                            objective={"type": "semi_supervised", "alpha": 50.0}))
    model.compile(keras.optimizers.Adam(1e-2))
    history = model.fit(x, y, batch_size=20, epochs=10, verbose=0, shuffle=True).history
    assert set(history) >= {"loss", "reconstruction", "kl", "classification"}
    predicted = model.classify(x).numpy().argmax(-1)
    assert (predicted == np.repeat([0, 1], 60)).mean() > 0.95


def test_labelled_subset_is_balanced_and_fixed_by_the_seed():
    labels = np.repeat(np.arange(10), 50)
    chosen = balanced_subset(labels, 100, seed=3)
    assert len(chosen) == 100 and np.bincount(labels[chosen]).tolist() == [10] * 10
    np.testing.assert_array_equal(chosen, balanced_subset(labels, 100, seed=3))
    assert not np.array_equal(chosen, balanced_subset(labels, 100, seed=4))
    with pytest.raises(DataError, match="multiple of the 10 classes"):
        balanced_subset(labels, 105, seed=0)
    with pytest.raises(DataError, match="class 0 has only 50"):
        balanced_subset(labels, 510, seed=0)


def test_resident_batches_hide_labels_and_add_labelled_images():
    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(4, 1).repeat(4, 2)
    split = Split(images, np.arange(40) % 4, 256)
    data = ResidentImages(split, batch_size=8, binarization="none", seed=0, labelled=np.array([1, 2, 3, 4]),
                          labelled_batch_size=5)
    data.shuffle_for(tf.constant(0, tf.int64))
    x, y = data.batch(tf.constant(0, tf.int64))
    assert x.shape == (13, 4, 4, 1) and y.shape == (13,)
    assert (y[:8].numpy() == -1).all()  # the unlabelled part: every image, labels hidden
    labelled_ids = np.round(x[8:, 0, 0, 0].numpy() * 255).astype(int)
    assert set(labelled_ids) <= {1, 2, 3, 4}
    np.testing.assert_array_equal(y[8:].numpy(), labelled_ids % 4)  # their own labels


def test_label_refusals():  # the config's refusals: tests/test_config.py
    model = _m2()
    x, _ = _data(6)
    with pytest.raises(DataError, match="allowed 0..2, and -1 for unlabelled"):
        model.fit(x, np.array([0, 1, 2, 3, -1, -1]), epochs=1, verbose=0)
    assert isinstance(model, SemiSupervisedVAE)


@pytest.mark.heavy
def test_export_has_classify_and_matches_python_without_zoo(driven):
    """The driver's M2 (tests/driver.py: reloaded without zoo, every output compared with
    Python's): `classify` served beside the VAE's signatures, `sample` taking labels and
    `elbo` images alone (y is summed out)."""
    result = driven("m2_conv_classifier")
    inputs = result.reload_report["inputs"]
    assert inputs["classify"] == ["x"] and inputs["sample"] == ["seed", "y"] and inputs["elbo"] == ["x"]
    np.testing.assert_allclose(result.served["classify/probabilities"], result.model.classify(result.inputs["x"]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.served["classify/label"], np.argmax(result.served["classify/probabilities"], -1))
