"""SWAE (zoo.objectives.SWAE): the sliced Wasserstein distance of a tiny batch against plain
Python loops (tests/swd_by_hand.py) along the same directions, the 1-D coupling against every
permutation, the stateless directions, the model's loss at its own seed, a compiled step and
the one-line refusals."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from swd_by_hand import (swae_loss_by_hand, swd_by_hand, wasserstein_1d_by_permutations,
                         wasserstein_1d_by_sorting)
from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.models.builder import build
from zoo.objectives import SWAE, random_directions, sliced_wasserstein

RNG = np.random.default_rng(0)
SEED = tf.constant([5, 9])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_the_distance_of_a_tiny_batch_equals_the_loops(p):
    codes, prior_codes = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    directions = random_directions(5, 3, SEED)
    expected = swd_by_hand(codes, prior_codes, directions.numpy(), p)
    assert sliced_wasserstein(codes, prior_codes, directions, p).numpy() == pytest.approx(expected, rel=1e-5)
    # the loops' sorted coupling is the cheapest of all 24 one-to-one couplings
    by_permutations = swd_by_hand(codes, prior_codes, directions.numpy(), p, coupling=wasserstein_1d_by_permutations)
    assert by_permutations == pytest.approx(expected, rel=1e-9)


def test_sorting_is_the_cheapest_coupling_in_one_dimension():
    for _ in range(5):
        a, b = RNG.standard_normal((2, 5))
        assert wasserstein_1d_by_sorting(a, b, 2.0) == pytest.approx(wasserstein_1d_by_permutations(a, b, 2.0))


def test_the_directions_are_unit_vectors_and_stateless():
    directions = random_directions(50, 4, SEED).numpy()
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(directions, random_directions(50, 4, SEED))
    assert not np.allclose(directions, random_directions(50, 4, tf.constant([5, 10])))
    assert random_directions(3, 4).shape == (3, 4)  # without a seed: stateful draws


def test_one_distribution_scores_far_below_a_shifted_or_rescaled_one():
    prior = RNG.standard_normal((500, 4))
    same, shifted, wide = RNG.standard_normal((500, 4)), RNG.standard_normal((500, 4)) + 1.0, 2.0 * RNG.standard_normal((500, 4))
    directions = random_directions(50, 4, SEED)
    near = sliced_wasserstein(same, prior, directions).numpy()
    assert near < 0.1 * sliced_wasserstein(shifted, prior, directions).numpy()
    assert near < 0.1 * sliced_wasserstein(wide, prior, directions).numpy()


def _model(objective, posterior=None, **blocks):
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior=posterior or {"type": "point_mass", "latent_dim": 3}, objective=objective,
                           **blocks))


def test_the_model_loss_equals_the_loops_at_its_stateless_seed():
    model = _model({"type": "swae", "lambda_swd": 10.0, "projections": 7})
    x = (RNG.random((6, 8, 8, 1)) < 0.3).astype(np.float32)
    first = model.terms(x, seed=SEED)
    np.testing.assert_array_equal(first["swd"], model.terms(x, seed=SEED)["swd"])
    assert not np.allclose(first["swd"], model.terms(x, seed=tf.constant([5, 10]))["swd"])
    q, z, log_px = model.draw(x, 1, seed=SEED)
    prior_z = model.prior_draws(model.prior, z, SEED)
    directions = model.objective.directions(3, model.objective_seed(SEED))
    assert directions.shape == (7, 3)
    expected = swae_loss_by_hand(model.objective, z.numpy(), prior_z.numpy(), log_px.numpy(), directions.numpy())
    np.testing.assert_allclose(first["loss"], expected, rtol=1e-4)
    assert "kl" not in first  # a point mass has no KL


def test_a_gaussian_encoder_reports_its_kl_beside_the_loss():
    model = _model({"type": "swae", "samples": 2}, {"type": "diagonal_normal", "latent_dim": 3})
    terms = model.terms((RNG.random((4, 8, 8, 1)) < 0.3).astype(np.float32), seed=SEED)
    assert np.all(np.isfinite(terms["kl"])) and np.all(terms["kl"] > 0)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction"] + 10.0 * terms["swd"], rtol=1e-5)


def test_one_compiled_step_trains():
    """Through the loop `zoo train` runs: XLA-compiled, two steps per call."""
    from zoo.data import ResidentImages, Split

    model = _model({"type": "swae"})
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=2)
    before = [v.numpy() for v in model.trainable_variables]
    images = (RNG.random((8, 8, 8, 1)) * 256).astype(np.uint8)
    history = model.fit(ResidentImages(Split(images, None, 256), 4, "dynamic"), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0]) and np.isfinite(history["swd"][0])
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


def test_the_config_round_trip_keeps_the_settings():
    again = SWAE.from_config(SWAE(lambda_swd=3.0, projections=20, p=1.0, samples=2).get_config())
    assert (again.lambda_swd, again.projections, again.p, again.samples) == (3.0, 20, 1.0, 2)
    assert not SWAE.needs_density and SWAE.prior_draws and SWAE.own_draws


@pytest.mark.parametrize("make, field", [
    (lambda: SWAE(p=0.5), "p"), (lambda: SWAE(projections=0), "projections"), (lambda: SWAE(lambda_swd=-1.0), "lambda_swd"),
    (lambda: SWAE(beta=2.0), "beta"), (lambda: SWAE(warmup_epochs=2), "warmup_epochs")])
def test_refusals_name_the_field_in_one_line(make, field):
    with pytest.raises(ConfigError, match=field) as refused:
        make()
    assert "\n" not in str(refused.value)


def test_a_hierarchical_posterior_is_refused():
    with pytest.raises(ConfigError, match="one stochastic layer"):
        _model({"type": "swae"}, {"type": "ladder", "latent_dim": 3, "layers": 2, "hidden_units": (8,)},
               prior={"type": "top_down", "top": "standard_normal"})


@pytest.mark.parametrize("objective", ["swae", "wae_mmd"])
def test_an_adversary_takes_an_objective_of_the_draws(objective):
    """FactorVAE's discriminator beside SWAE or WAE-MMD: the adversarial model gives the
    objective its prior draws and seed as the VAE does (`VAE.objective_terms`), and reports the
    Gaussian encoder's KL beside a loss without one."""
    model = _model({"type": objective}, {"type": "diagonal_normal", "latent_dim": 3},
                   adversary={"type": "total_correlation", "hidden_units": (8,)})
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit((RNG.random((8, 8, 8, 1)) < 0.3).astype(np.float32), batch_size=4, epochs=1, verbose=0).history
    penalty = "swd" if objective == "swae" else "mmd"
    assert all(np.isfinite(history[name][0]) for name in ("loss", "kl", penalty, "total_correlation"))
