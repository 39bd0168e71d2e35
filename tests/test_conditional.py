"""The conditional VAE: p(x|z,y) q(z|x,y) and p(z) or a learned p(z|y), composed with
`condition=...`; its objective against the formulas, its errors, its export and serving."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import zoo
from harness import serve_requests
from zoo.config import VAEConfig
from zoo.errors import DataError, ZooError
from zoo.evaluation import pictures
from zoo.evaluation.conditional_accuracy import conditional_accuracy
from zoo.export.savedmodel import export
from zoo.export.serving import warmup_requests
from zoo.layers.conditions import ClassLabel, ConditionVector
from zoo.layers.priors import ConditionalNormal
from zoo.models.builder import build

CLASSES = 3


def _model(prior="standard_normal", network="mlp", likelihood="bernoulli", latent_dim=4):
    keras.utils.set_random_seed(3)
    network = {"type": "mlp", "hidden_units": (16,)} if network == "mlp" else {"type": "conv", "conv_filters": (4, 8)}
    return build(VAEConfig(network=network, posterior={"type": "diagonal_normal", "latent_dim": latent_dim},
                           prior=prior, likelihood=likelihood,
                           condition={"type": "class_label", "classes": CLASSES}))


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) < 0.3).astype(np.float32), np.arange(n) % CLASSES


def _hand_terms(model, x, y, seed, prior_loc=None, prior_scale=None):
    """-log p(x|z,y) and KL(q(z|x,y) || p) from the formulas: one-hot y concatenated into the
    networks' inputs, z drawn from q with `seed`, p = N(prior_loc, prior_scale) or N(0, I)."""
    one_hot = np.eye(CLASSES, dtype=np.float32)[y]
    params = model.encoder([x, one_hot]).numpy().astype(np.float64)
    mu, raw = np.split(params, 2, axis=-1)
    sd = np.logaddexp(0, raw) + 1e-5
    z = model.posterior.distribution(params.astype(np.float32)).sample(seed=seed)  # the draw terms makes
    logits = model.decoder([z, one_hot]).numpy().astype(np.float64)
    log_p = np.sum(x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits), axis=(1, 2, 3))
    loc = np.zeros_like(mu) if prior_loc is None else prior_loc
    scale = np.ones_like(sd) if prior_scale is None else prior_scale
    kl = np.sum(np.log(scale / sd) + (sd ** 2 + (mu - loc) ** 2) / (2 * scale ** 2) - 0.5, axis=1)
    return -log_p, kl


def test_conditional_terms_equal_hand_computation():
    model = _model()
    x, y = _data(6)
    terms = model.terms(x, seed=(5, 6), y=y)
    reconstruction, kl = _hand_terms(model, x, y, seed=(5, 6))
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.elbo(x, y, seed=(5, 6)), -(reconstruction + kl), rtol=1e-5)
    other = model.terms(x, seed=(5, 6), y=(y + 1) % CLASSES)  # the label changes the bound
    assert not np.allclose(other["reconstruction"], terms["reconstruction"])


def test_learned_prior_given_y_equals_hand_computation():
    model = _model(prior="conditional_normal")
    prior = model.prior
    assert isinstance(prior, ConditionalNormal)
    loc = np.arange(CLASSES * 4, dtype=np.float32).reshape(CLASSES, 4) / 10
    log_scale = -np.arange(CLASSES * 4, dtype=np.float32).reshape(CLASSES, 4) / 20
    prior.loc_kernel.assign(loc)
    prior.log_scale_kernel.assign(log_scale)
    x, y = _data(6)
    terms = model.terms(x, seed=(1, 2), y=y)
    reconstruction, kl = _hand_terms(model, x, y, (1, 2), loc[y], np.exp(log_scale[y]))
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4, atol=1e-4)
    samples = prior.given(tf.one_hot(np.full(4000, 2), CLASSES)).sample(seed=(3, 4)).numpy()
    np.testing.assert_allclose(samples.mean(0), loc[2], atol=0.05)
    np.testing.assert_allclose(samples.std(0), np.exp(log_scale[2]), rtol=0.05)


def test_fit_on_images_and_labels_then_sample_a_class():
    model = _model()
    x, y = _data(30)
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0).history
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    seven = model.sample(4, seed=1, y=2)
    assert seven.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(seven, model.sample(4, seed=1, y=[2, 2, 2, 2]))
    assert not np.allclose(seven, model.sample(4, seed=1, y=0))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    assert np.isfinite(model.evaluate(dataset, verbose=0)).all()


def test_bad_conditions_are_one_line_errors():
    model = _model()
    x, y = _data(6)
    with pytest.raises(DataError, match="labels run from 0 to 3; this model has 3 classes"):
        model.elbo(x, np.array([0, 1, 2, 3, 0, 1]))
    with pytest.raises(DataError, match="integer class labels"):
        model.elbo(x, np.full(6, 0.5))
    with pytest.raises(ZooError, match="conditional .*pass y"):
        model.sample(2)
    with pytest.raises(DataError, match="pass the labels"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(DataError, match="6 images but 5 labels"):
        model.fit(x, y[:5], epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"\(images, labels\) pairs"):
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(3), epochs=1, verbose=0)
    with pytest.raises(DataError, match="sample\\(4\\): y holds 2 conditions"):
        model.sample(4, y=[1, 2])
    with pytest.raises(ZooError, match="not conditional"):
        zoo.VAE.sample(build(VAEConfig(network={"type": "mlp", "hidden_units": (8,)})), 2, y=1)


def test_composition_refusals():  # the config's refusals: tests/test_config.py
    with pytest.raises(ZooError, match="an unconditional prior, or set condition"):
        net = zoo.layers.networks.MLP((8,))
        zoo.VAE(net.encoder((28, 28, 1), 8), zoo.DiagonalNormal(4), net.decoder((28, 28, 1), (4,), 1),
                zoo.Bernoulli(), prior=ConditionalNormal())


def test_own_two_input_networks_and_a_condition_vector():
    """A user's own networks take [x, c] and [z, c]; a ConditionVector carries any floats."""
    image, condition = keras.Input((8, 8, 1)), keras.Input((5,))
    hidden = keras.layers.Concatenate()([keras.layers.Flatten()(image), condition])
    encoder = keras.Model([image, condition], keras.layers.Dense(6)(keras.layers.Dense(16, "relu")(hidden)))
    code = keras.Input((3,))
    hidden = keras.layers.Dense(16, "relu")(keras.layers.Concatenate()([code, condition]))
    decoder = keras.Model([code, condition], keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64)(hidden)))
    vae = zoo.VAE(encoder, zoo.DiagonalNormal(3), decoder, zoo.Bernoulli(), condition=ConditionVector(5),
                  image_shape=(8, 8, 1))
    x = (np.random.default_rng(0).random((10, 8, 8, 1)) < 0.5).astype(np.float32)
    c = np.random.default_rng(1).standard_normal((10, 5)).astype(np.float32)
    vae.compile(keras.optimizers.Adam(1e-3))
    vae.fit(x, c, batch_size=5, epochs=1, verbose=0)
    assert vae.sample(10, seed=0, y=c).shape == (10, 8, 8, 1)
    with pytest.raises(DataError, match="shape \\[batch, 5\\]"):
        vae.elbo(x, c[:, :4])
    with pytest.raises(ZooError, match="encoder cannot take images of shape \\(8, 8, 1\\) and condition vectors"):
        zoo.VAE(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(6)]),
                zoo.DiagonalNormal(3), decoder, zoo.Bernoulli(), condition=ConditionVector(5), image_shape=(8, 8, 1))


@pytest.mark.heavy
@pytest.mark.parametrize("case", ["vae_mlp_class_label_categorical256_dip_vae", "vae_conv_iaf_vector_discretized_logistic"])
def test_export_takes_y_and_matches_python_without_zoo(case, driven):
    """The driver's conditional cases (class labels with a conditional prior and an MLP; a
    condition vector with conv networks): their exports, reloaded without zoo, take `y` in every
    signature and serve Python's outputs (tests/driver.py compares both), as do the warm-up requests."""
    result = driven(case)
    assert all("y" in inputs for inputs in result.reload_report["inputs"].values()), result.reload_report["inputs"]
    requests = warmup_requests(result.model, "cvae")
    assert all("y" in log.predict_log.request.inputs for log in requests)


@pytest.mark.heavy
def test_serving_refuses_bad_labels_and_answers_rest(tmp_path):
    model = _model()
    path = export(model, str(tmp_path / "exports" / "cvae"), name="cvae")
    x, _ = _data(2)
    good = json.dumps({"signature_name": "sample", "inputs": {"seed": [1, 2], "y": [2, 0]}})
    out_of_range = json.dumps({"signature_name": "elbo", "inputs": {"x": x.tolist(), "y": [0, 3]}})
    uneven = json.dumps({"signature_name": "elbo", "inputs": {"x": x.tolist(), "y": [0]}})
    code, answers, stderr = serve_requests(path, [good, out_of_range, uneven])
    assert code == 0, stderr
    assert np.asarray(answers[0]["outputs"]["x_mean"]).shape == (2, 28, 28, 1)
    np.testing.assert_allclose(answers[0]["outputs"]["x_mean"][0],
                               tf.saved_model.load(path).signatures["sample"](
                                   seed=tf.constant([1], tf.int64), y=tf.constant([2], tf.int64))["x_mean"][0],
                               rtol=1e-5, atol=1e-6)
    assert "outside 0..2" in answers[1]["error"]
    assert "must hold the same number of rows" in answers[2]["error"]


def test_pictures_show_one_row_per_class():
    model = _model()
    x, y = _data(40)
    made = pictures.make(model, x, y)
    assert set(made) == {"reconstructions", "interpolations", "class_samples"}
    expected = pictures.grid(np.zeros((CLASSES, pictures.SAMPLE_GRID, 28, 28, 1), np.float32))
    assert made["class_samples"].shape == expected.shape  # one row per class
    z_noise = pictures.class_samples(model)  # z shared along columns: a column changes with the class only
    assert not np.array_equal(z_noise[:28], z_noise[-28:])


class _Judge:
    """Labels an image by its mean pixel: 0.1 -> 0, 0.5 -> 1, 0.9 -> 2."""

    def __call__(self, images, training=False):
        means = np.asarray(images).mean(axis=(1, 2, 3))
        return np.eye(CLASSES)[np.digitize(means, [0.3, 0.7])]


class _Painter:
    """A fake conditional model whose samples of class k have mean pixel (0.1, 0.5, 0.9)[k],
    except that it draws class 2 wrong half the time."""

    classes = CLASSES  # what the zoo asks of a model with class labels

    def sample(self, n, seed=None, y=None):
        level = (0.1, 0.5, 0.9)[y]
        images = np.full((n, 4, 4, 1), level, np.float32)
        if y == 2:
            images[: n // 2] = 0.1
        return images


def test_conditional_accuracy_counts_what_the_judge_says():
    result = conditional_accuracy(_Painter(), _Judge(), per_class=10)
    assert result["conditional_accuracy_per_class"] == [1.0, 1.0, 0.5]
    np.testing.assert_allclose(result["conditional_accuracy"], 2.5 / 3)


LIKELIHOODS = ["bernoulli", {"type": "gaussian", "sigma": "learned"}, "continuous_bernoulli", "categorical256",
               "discretized_logistic"]
LATENTS = [({"type": "diagonal_normal", "latent_dim": 3}, "standard_normal"),
           ({"type": "diagonal_normal", "latent_dim": 3}, {"type": "mixture", "components": 2}),
           ({"type": "diagonal_normal", "latent_dim": 3}, "conditional_normal"),
           ({"type": "full_normal", "latent_dim": 3}, "conditional_normal"),
           ({"type": "categorical", "latent_dim": 3, "categories": 4}, "uniform_categorical")]


# Each likelihood and each latent x prior at least once by default; `pytest -m slow` runs all 25.
COVER = [(LIKELIHOODS[i], *LATENTS[i]) for i in range(len(LIKELIHOODS))]
PRODUCT = [(likelihood, *latent) for likelihood in LIKELIHOODS for latent in LATENTS]
_ID = lambda v: v if isinstance(v, str) else v["type"]  # noqa: E731


def _conditional_variant_trains(likelihood, posterior, prior):
    """`condition=` makes any variant conditional (the VampPrior is the one prior refused:
    test_config_refusals); one step of fit, then a finite bound and a sample per class."""
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (8,)}, posterior=posterior,
                            prior=prior, likelihood=likelihood, condition={"type": "class_label", "classes": 3}))
    rng = np.random.default_rng(0)
    levels = 256 if isinstance(likelihood, str) and likelihood in ("categorical256", "discretized_logistic") else 2
    x = (np.round(rng.random((6, 8, 8, 1)) * (levels - 1)) / (levels - 1)).astype(np.float32)
    y = np.arange(6) % 3
    model.compile(keras.optimizers.Adam(1e-3))
    assert np.isfinite(model.fit(x, y, batch_size=6, epochs=1, verbose=0).history["loss"]).all()
    assert np.isfinite(model.elbo(x, y)).all()
    assert model.sample(3, seed=0, y=[0, 1, 2]).shape == (3, 8, 8, 1)


@pytest.mark.parametrize("likelihood,posterior,prior", COVER, ids=_ID)
def test_each_likelihood_latent_and_prior_can_be_conditional(likelihood, posterior, prior):
    _conditional_variant_trains(likelihood, posterior, prior)


@pytest.mark.slow
@pytest.mark.parametrize("likelihood,posterior,prior", [c for c in PRODUCT if c not in COVER], ids=_ID)
def test_every_other_conditional_combination(likelihood, posterior, prior):
    _conditional_variant_trains(likelihood, posterior, prior)
