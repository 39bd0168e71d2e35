"""A training step under the mixed-precision policies on CPU: hidden layers in 16 bits,
distribution parameters and distributions in float32, a finite loss."""

import numpy as np
import pytest
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.data import ResidentImages, Split
from zoo.models.builder import build
from zoo.training.train import precision_policy

TORSOS = {"mlp": {"type": "mlp", "hidden_units": (16,)}, "conv": {"type": "conv", "conv_filters": (8,)}}


@pytest.mark.parametrize("network", ["mlp", "conv"])
@pytest.mark.parametrize("policy,half", [("mixed_float16", "float16"),
                                         pytest.param("mixed_bfloat16", "bfloat16", marks=pytest.mark.slow)])
def test_a_step_runs_under_the_policy(policy, half, network):
    with precision_policy(policy):
        model = build(VAEConfig(network=TORSOS[network], image_shape=(8, 8, 1), likelihood="gaussian",
                                posterior={"type": "diagonal_normal", "latent_dim": 2}))
        model.compile(keras.optimizers.Adam(1e-3), jit_compile=True, steps_per_execution=2)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored afterwards
    hidden = [layer for layer in model.encoder.layers + model.decoder.layers if layer.weights][:-1]
    assert hidden and all(layer.compute_dtype == half for layer in hidden if "params" not in layer.name)
    assert model.encoder.layers[-1].compute_dtype == "float32"
    assert (policy == "mixed_float16") == isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)

    split = Split((np.random.default_rng(0).random((32, 8, 8, 1)) * 256).astype(np.uint8), None, 256)
    history = model.fit(ResidentImages(split, 8, "none"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    images = split.scaled()[:4]
    p, q = model(images), model.encode(images)
    assert p.dtype == q.dtype == "float32"
    assert p.mean().dtype == q.sample().dtype == "float32"
    assert model.trainable_variables[0].dtype == "float32"
