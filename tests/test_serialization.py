"""Every registered block and the VAE round-trip `get_config`/`from_config` and `.keras`
saving (keras-hub's `run_serialization_test`), so a model composed of them reloads as it was."""

import json

import numpy as np
import pytest
import tf_keras as keras

import zoo
from harness import assert_config_round_trip
from zoo.config import VAEConfig, block_arguments, registries
from zoo.layers.aggregate_posterior import AggregatePosterior
from zoo.models.builder import build

# The smallest arguments each registered block type needs (the rest take their defaults).
ARGUMENTS = {("posterior", "diagonal_normal"): {"latent_dim": 3}, ("posterior", "full_normal"): {"latent_dim": 3},
             ("posterior", "categorical"): {"latent_dim": 3, "categories": 4},
             ("posterior", "ladder"): {"latent_dim": 3, "hidden_units": (8,)},
             ("prior", "top_down"): {"top": {"type": "vamp", "components": 2}},
             ("posterior", "iaf"): {"latent_dim": 3, "hidden_units": (8,), "context_size": 2},
             ("prior", "mixture"): {"components": 2}, ("prior", "vamp"): {"components": 2},
             ("likelihood", "gaussian"): {"sigma": "per_pixel"}, ("objective", "iwae"): {"samples": 2},
             ("objective", "beta_tcvae"): {"dataset_size": 6}, ("objective", "dip_vae"): {"kind": "ii"}}
LAYER_BLOCKS = [(role, kind) for role, registry in registries().items() if role not in ("network", "classifier")
                for kind in registry.names()]
NETWORK_ROLES = ("network", "classifier")


def test_every_registered_block_is_covered():
    assert len(LAYER_BLOCKS) == sum(len(registries()[r].names()) for r in registries()
                                    if r not in NETWORK_ROLES) >= 19
    assert {("objective", "beta_tcvae"), ("objective", "dip_vae")} <= set(LAYER_BLOCKS)


@pytest.mark.parametrize("role, kind", LAYER_BLOCKS, ids=[f"{r}-{k}" for r, k in LAYER_BLOCKS])
def test_block_config_round_trip(role, kind):
    block = registries()[role].get(kind)(**ARGUMENTS.get((role, kind), {}))
    again = assert_config_round_trip(block)
    for argument in block_arguments(role, kind):
        attribute = argument if argument != "temperature" else "initial_temperature"
        values = [getattr(b, attribute, None) for b in (again, block)]
        if isinstance(values[0], keras.layers.Layer):  # a block inside a block (TopDown's top prior)
            values = [type(v).__name__ + repr(v.get_config()) for v in values]
        assert values[0] == values[1], argument


def test_vamp_prior_from_its_own_config():
    prior = zoo.VampPrior(components=7)
    again = zoo.VampPrior.from_config(prior.get_config())
    assert again.components == 7 and again.get_config() == prior.get_config()


def test_aggregate_posterior_round_trip():
    assert_config_round_trip(AggregatePosterior(components=3))


def _variant(role, kind):
    """A tiny config with `role` set to `kind` and the other blocks chosen to fit it."""
    spec = {"type": kind, **ARGUMENTS.get((role, kind), {})}
    config = {"network": {"type": "mlp", "hidden_units": [8]}, "posterior": {"type": "diagonal_normal", "latent_dim": 3},
              "prior": "standard_normal", "likelihood": "bernoulli", "objective": "elbo", role: spec}
    if config["posterior"]["type"] == "categorical" or config["prior"] == {"type": "uniform_categorical"}:
        config["posterior"] = {"type": "categorical", "latent_dim": 3, "categories": 4}
        config["prior"] = "uniform_categorical"
    if (role, kind) in (("posterior", "ladder"), ("prior", "top_down")):  # the ladder's pair
        config["posterior"] = {"type": "ladder", **ARGUMENTS[("posterior", "ladder")]}
        config["prior"] = {"type": "top_down", **ARGUMENTS[("prior", "top_down")]}
    if (role, kind) in (("prior", "conditional_normal"), ("objective", "semi_supervised")):
        config["condition"] = {"type": "class_label", "classes": 3}
    if (role, kind) == ("objective", "semi_supervised"):
        config["classifier"] = {"type": "mlp", "hidden_units": [8]}
    return VAEConfig(**config)


def _labels(model):
    """What `fit`, `elbo` and `sample` take as y for `model` (None: unconditional)."""
    if model.condition is None:
        return None, None
    y = model.condition.example(np.random.default_rng(1), 6)
    if hasattr(model, "classify"):  # M2: half the labels hidden
        return np.where(np.arange(6) % 2, y, -1), y[:2]
    return y, y[:2]


@pytest.mark.parametrize("role, kind", LAYER_BLOCKS, ids=[f"{r}-{k}" for r, k in LAYER_BLOCKS])
def test_vae_with_each_block_saves_and_reloads_with_identical_outputs(role, kind, tmp_path):
    keras.utils.set_random_seed(0)
    model = build(_variant(role, kind))
    x = np.random.default_rng(0).random((6, 28, 28, 1)).astype(np.float32)
    x = (x < 0.4).astype(np.float32) if kind not in ("categorical256", "discretized_logistic") else np.round(x * 255) / 255
    model.compile(keras.optimizers.Adam(1e-2))
    y, y_sample = _labels(model)
    elbo_y = None if y is None or hasattr(model, "classify") else y
    model.fit(x, y, batch_size=3, epochs=1, verbose=0)  # weights off their initial values
    assert_config_round_trip(model)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert json.dumps(reloaded.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    for a, b in zip(model.weights, reloaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    np.testing.assert_array_equal(reloaded.elbo(x, elbo_y).numpy(), model.elbo(x, elbo_y).numpy())
    np.testing.assert_array_equal(reloaded.sample(2, seed=3, y=y_sample).numpy(),
                                  model.sample(2, seed=3, y=y_sample).numpy())
    reloaded.fit(x, y, batch_size=3, epochs=1, verbose=0)  # `fit` continues: the optimizer came back too
    assert reloaded.optimizer.iterations.numpy() == 2 * model.optimizer.iterations.numpy()
