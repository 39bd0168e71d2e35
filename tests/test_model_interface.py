"""zoo.models.base: what every kind of model shares and declares (embeddings, the refusals of
images and labels, `from_preset`'s class check, the compiled path of `log_likelihood`)."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.config import VAEConfig
from zoo.data import DATASETS
from zoo.errors import DataError, ZooError
from zoo.models import importance_sampling
from zoo.models.builder import build

DIGITS = DATASETS.get("digits").load("train")


def _vae(posterior, prior=None, **config):
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior=posterior, prior=prior or {"type": "standard_normal"}, **config))
    return model


def _binary(count=12):
    return (DIGITS.scaled()[:count] > 0.5).astype(np.float32)


@pytest.mark.parametrize("posterior, prior, size", [
    ({"type": "diagonal_normal", "latent_dim": 3}, None, 3),
    ({"type": "full_normal", "latent_dim": 3}, None, 3),
    ({"type": "iaf", "latent_dim": 3, "steps": 1}, None, 3),
    ({"type": "ladder", "latent_dim": 3, "layers": 2, "hidden_units": (8,)},
     {"type": "top_down", "top": {"type": "standard_normal"}}, 6),
    ({"type": "categorical", "latent_dim": 2, "categories": 3}, {"type": "uniform_categorical"}, 6),
], ids=["gaussian", "full_covariance", "iaf", "ladder", "categorical"])
def test_embed_gives_a_vector_code_per_image_for_every_vector_latent_model(posterior, prior, size):
    model = _vae(posterior, prior)
    x = _binary()
    codes = model.embed(x, batch_size=5)  # three batches, the last short
    assert isinstance(codes, np.ndarray) and codes.shape == (len(x), size) and np.isfinite(codes).all()
    expected = tf.reshape(model.posterior.code(model.encode(x)), [len(x), -1]).numpy()
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.embed(x, batch_size=5), codes)  # deterministic


def test_embed_of_a_conditional_model_is_at_the_labels():
    model = _vae({"type": "diagonal_normal", "latent_dim": 2}, condition={"type": "class_label", "classes": 3})
    x = _binary(6)
    first, second = model.embed(x, np.zeros(6, np.int64)), model.embed(x, np.full(6, 2, np.int64))
    assert first.shape == (6, 2) and not np.allclose(first, second)


def test_uint8_refusal_advises_the_scaling_of_the_data_at_hand():
    model = _vae({"type": "diagonal_normal", "latent_dim": 2})
    with pytest.raises(DataError, match=r"0\.\.16.*/ 16 \(17 grey levels\)"):
        model.check_images(DIGITS.images[:4])  # scikit-learn's digits: 17 levels
    with pytest.raises(DataError, match=r"/ 255 \(256 grey levels\)"):
        model.check_images(np.full((2, 8, 8, 1), 200, np.uint8))


def test_labels_given_to_a_model_without_labels_are_refused():
    model = _vae({"type": "diagonal_normal", "latent_dim": 2})
    model.compile("adam")
    with pytest.raises(DataError, match="takes no labels"):
        model.fit(_binary(4), np.zeros(4, np.int64), epochs=1, verbose=0)


def test_log_likelihood_takes_the_compiled_batches_of_zoo_evaluate(monkeypatch):
    model = _vae({"type": "diagonal_normal", "latent_dim": 2})
    x = _binary(7)
    traced = []
    original = importance_sampling.log_likelihood
    monkeypatch.setattr(importance_sampling, "log_likelihood",
                        lambda *args, **kwargs: traced.append(1) or original(*args, **kwargs))
    python = np.asarray(model.log_likelihood(x, samples=20, batch_size=3))  # batches of 3, 3 and 1
    assert len(traced) <= 2  # traced once per batch shape, not run eagerly per batch
    evaluated = model.importance_sampled_batches(x, samples=20, batch_size=3)
    np.testing.assert_array_equal(python, evaluated["log_likelihood"])
    assert python.shape == (7,) and (python >= evaluated["elbo"] - 1e-4).all()


def test_from_preset_checks_the_class_and_lists_the_shipped_presets():
    with pytest.raises(ZooError, match="holds a VQVAE, not a VAE: load it with zoo.VQVAE.from_preset"):
        zoo.VAE.from_preset("mnist_conv_vq")
    with pytest.raises(ZooError, match="digits_mlp_bernoulli"):
        zoo.VAE.from_preset("no_such_preset")
    vq = zoo.load_preset("mnist_conv_vq", compile=False)  # any kind, by name
    assert isinstance(vq, zoo.VQVAE) and not isinstance(vq, zoo.VAE)


def test_every_kind_declares_a_known_label_use_and_scoring():
    from zoo.models import base
    from zoo.models.kinds import KINDS

    for kind in KINDS:  # a class attribute, or a property the instance decides (VAE: has_likelihood)
        assert isinstance(kind.scoring, property) or kind.scoring in base.SCORINGS
    model = _vae({"type": "diagonal_normal", "latent_dim": 2}, condition={"type": "class_label", "classes": 3})
    assert (model.label_use, model.classes) == ("condition", 3)
    assert _vae({"type": "diagonal_normal", "latent_dim": 2}).label_use == "none"
