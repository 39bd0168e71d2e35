"""JointVAE (zoo/layers/joint.py, zoo.objectives.JointCapacity): the KL of each part and the
loss against numpy, the capacities' schedule and the discrete one's cap at log K, the codes
(relaxed while training, one-hot to score and encode), the prior's draws and the one-line
refusals. The shared driver's vae_mlp_joint_capacity case trains, reloads and serves it."""

import math

import numpy as np
import pytest
import tensorflow as tf

from joint_by_hand import joint_capacity_loss_by_hand, kl_parts_by_hand
from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.models.builder import build
from zoo.objectives import JointCapacity

RNG = np.random.default_rng(0)
SEED = tf.constant([4, 2])
JOINT = {"type": "joint", "latent_dim": 3, "categories": 4}


def _model(objective=None, posterior=JOINT, prior="joint"):
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)}, posterior=posterior,
                           prior=prior, objective=objective or {"type": "joint_capacity", "capacity_epochs": 4}))


def _images(n=6):
    return (RNG.random((n, 8, 8, 1)) < 0.3).astype(np.float32)


def test_the_kl_of_each_part_and_the_loss_equal_numpy():
    model = _model()
    model.objective.on_epoch(2)  # C_z = C_c = 2.5 nats; the discrete one capped at log 4 = 1.39
    x = _images()
    terms = model.terms(x, seed=SEED)
    q, z, log_px = model.draw(x, 1, seed=SEED)
    gaussian, categorical = q.distributions
    parts = kl_parts_by_hand(gaussian.mean(), gaussian.stddev(), categorical.probs_parameter())
    np.testing.assert_allclose(terms["kl_continuous"], parts[:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["kl_discrete"], parts[:, 1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["kl"], parts.sum(-1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["loss"], joint_capacity_loss_by_hand(model.objective, q, log_px), rtol=1e-4)
    assert float(model.objective.discrete_capacity) == 2.5 and math.log(4) < 2.5  # the cap is what the loss used


def test_the_capacities_rise_over_the_epochs_and_stop():
    objective = JointCapacity(c_max=5.0, discrete_c_max=2.0, capacity_epochs=4)
    assert [objective.on_epoch(e)["capacity"] for e in (0, 2, 4, 8)] == [0.0, 2.5, 5.0, 5.0]
    assert [objective.on_epoch(e)["discrete_capacity"] for e in (0, 2, 4, 8)] == [0.0, 1.0, 2.0, 2.0]


def test_codes_are_relaxed_while_training_and_one_hot_to_score():
    model = _model()
    params = model.posterior_params(_images(4))
    relaxed = model.posterior.sample(params, 2, seed=SEED, training=True).numpy()
    hard = model.posterior.sample(params, 2, seed=SEED).numpy()
    assert relaxed.shape == hard.shape == (2, 4, 7)
    np.testing.assert_allclose(relaxed[..., 3:].sum(-1), 1.0, rtol=1e-5)
    assert not np.all(np.isin(relaxed[..., 3:], (0.0, 1.0)))
    assert np.all(np.isin(hard[..., 3:], (0.0, 1.0))) and np.all(hard[..., 3:].sum(-1) == 1)
    codes = model.embed(_images(4))
    assert codes.shape == (4, 7) and np.all(codes[:, 3:].sum(-1) == 1)
    assert set(model.signatures()) >= {"elbo", "log_likelihood", "encode"}  # a density model: bounds served


def test_the_prior_draws_a_standard_normal_and_a_uniform_category():
    model = _model()
    draws = model.prior.sample(4000, seed=SEED).numpy()
    assert draws.shape == (4000, 7)
    assert abs(draws[:, :3].mean()) < 0.05 and abs(draws[:, :3].std() - 1.0) < 0.05
    np.testing.assert_allclose(draws[:, 3:].mean(0), 0.25, atol=0.03)


@pytest.mark.parametrize("blocks, field", [
    ({"posterior": {"type": "diagonal_normal", "latent_dim": 3}, "prior": "standard_normal"}, "objective"),
    ({"prior": "standard_normal", "objective": {"type": "elbo"}}, "prior"),
    ({"posterior": {"type": "diagonal_normal", "latent_dim": 3}, "objective": {"type": "elbo"}}, "prior"),
    ({"objective": {"type": "iwae"}}, "objective")])
def test_blocks_that_do_not_fit_are_refused_in_one_line(blocks, field):
    arguments = {"objective": None, "posterior": JOINT, "prior": "joint", **blocks}
    with pytest.raises(ConfigError, match=field) as refused:
        _model(**arguments)
    assert "\n" not in str(refused.value)


def test_the_config_round_trip_keeps_the_settings():
    again = JointCapacity.from_config(JointCapacity(gamma=10.0, c_max=20.0, capacity_epochs=5, discrete_gamma=3.0,
                                                    discrete_c_max=1.5).get_config())
    assert (again.gamma, again.c_max, again.capacity_epochs, again.discrete_gamma, again.discrete_c_max) == (
        10.0, 20.0, 5, 3.0, 1.5)
    with pytest.raises(ConfigError, match="c_min"):
        JointCapacity(c_min=1.0)
