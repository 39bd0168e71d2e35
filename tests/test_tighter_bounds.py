"""MIWAE, PIWAE, CIWAE (Rainforth et al. 2018) and the capacity-annealed beta-VAE (Burgess et
al. 2018): each loss against plain loops (tests/tighter_bounds_by_hand.py), PIWAE's two
gradients against the single objectives', the capacity schedule across a `.keras` round trip,
and one compiled training step of each."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tighter_bounds_by_hand import capacity_at, grouped_bound, losses_by_hand
from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.models.builder import build
from zoo.objectives import CIWAE, IWAE, MIWAE, PIWAE, Capacity, negative_bound

SEED = tf.constant([3, 7])
TIGHTER = {"iwae": {"type": "iwae", "samples": 6}, "miwae": {"type": "miwae", "M": 2, "K": 3},
           "piwae": {"type": "piwae", "M": 3, "K": 2}, "ciwae": {"type": "ciwae", "samples": 6, "elbo_weight": 0.3}}


def _model(objective, posterior=None):
    keras.utils.set_random_seed(0)
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior=posterior or {"type": "diagonal_normal", "latent_dim": 3}, objective=objective))


def _binary_images(n=4, seed=0):
    return (np.random.default_rng(seed).random((n, 8, 8, 1)) < 0.3).astype(np.float32)


@pytest.mark.parametrize("objective", [IWAE(samples=6), MIWAE(M=2, K=3), MIWAE(M=6, K=1), PIWAE(M=3, K=2),
                                       CIWAE(samples=6, elbo_weight=0.3), CIWAE(samples=6, elbo_weight=1.0)],
                         ids=["iwae", "miwae", "miwae_k1", "piwae", "ciwae", "ciwae_elbo"])
def test_losses_from_given_log_weights_equal_the_loops(objective):
    log_w = np.random.default_rng(1).normal(-90.0, 3.0, size=(6, 5))
    found = {name: value.numpy() for name, value in objective.losses(tf.constant(log_w, tf.float64)).items()}
    expected = losses_by_hand(objective, log_w)
    assert found.keys() == expected.keys()
    for name in expected:
        np.testing.assert_allclose(found[name], expected[name], rtol=1e-12)
    # the groupings differ: a bound of 6 draws is tighter than 2 of 3, than 6 of 1 (Jensen)
    assert np.all(-grouped_bound(log_w, 1) < -grouped_bound(log_w, 2)) and np.all(
        -grouped_bound(log_w, 2) < -grouped_bound(log_w, 6))


@pytest.mark.parametrize("kind", TIGHTER)
def test_model_terms_equal_the_loops_from_q_p_and_the_likelihood(kind):
    """log w = log p(x|z) + log p(z) - log q(z|x) from the model's own draws, then the loops;
    `kl` and `reconstruction` stay the averages over the draws, as IWAE's."""
    model, x = _model(TIGHTER[kind]), _binary_images()
    samples = model.objective.samples
    q, z, log_px = model.draw(x, samples, training=False, seed=SEED)
    log_q = q.log_prob(z).numpy().astype(np.float64)
    log_p = model.prior.distribution().log_prob(z).numpy().astype(np.float64)
    log_px = log_px.numpy().astype(np.float64)
    terms = model.terms(x, training=False, seed=SEED)
    for name, expected in losses_by_hand(model.objective, log_px + log_p - log_q).items():
        np.testing.assert_allclose(terms[name], expected, rtol=1e-5)
    np.testing.assert_allclose(terms["reconstruction"], -log_px.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], (log_q - log_p).mean(axis=0), rtol=1e-4, atol=1e-4)


def _gradients(model, x, objective, loss="loss"):
    """{variable name: gradient} of the batch mean of `loss` under `objective` (the same draws)."""
    model.objective = objective
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(model.terms(x, training=True, seed=SEED)[loss])
    return {v.name: g.numpy() for v, g in zip(model.trainable_variables, tape.gradient(value, model.trainable_variables))}


def test_piwae_steps_the_encoder_by_miwae_and_the_decoder_by_iwae():
    """One `VAE.update` with plain SGD (lr 1): each weight moves by minus its gradient (then
    its constraint, if any), the
    encoder's and the IAF posterior's from the MIWAE bound, the decoder's from the IWAE bound of
    all M * K draws, each taken from the single objective on the same draws."""
    model = _model({"type": "piwae", "M": 3, "K": 2},
                   posterior={"type": "iaf", "latent_dim": 3, "hidden_units": (8,), "context_size": 2})
    x = _binary_images()
    piwae = model.objective
    miwae = _gradients(model, x, MIWAE(M=3, K=2))
    iwae = _gradients(model, x, IWAE(samples=6))
    model.objective = piwae
    inference = {v.name for v in model.encoder.trainable_variables + model.posterior.trainable_variables}
    decoder = {v.name for v in model.decoder.trainable_variables}
    assert model.posterior.trainable_variables and decoder and not inference & decoder
    before = {v.name: v.numpy() for v in model.trainable_variables}
    model.compile(keras.optimizers.SGD(1.0))
    model.update(tf.constant(x), seed=SEED)
    for variable in model.trainable_variables:
        gradient = (miwae if variable.name in inference else iwae)[variable.name]
        expected = before[variable.name] - gradient
        if variable.constraint is not None:  # the MADE's masks, kept after every step
            expected = variable.constraint(tf.constant(expected)).numpy()
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4, atol=1e-6, err_msg=variable.name)
    # the two bounds pull the encoder differently, so a step from the wrong one would show
    assert any(not np.allclose(miwae[name], iwae[name], rtol=1e-3) for name in inference)


def test_piwae_reports_both_bounds():
    model = _model({"type": "piwae", "M": 2, "K": 2})
    model.compile(keras.optimizers.Adam(1e-3))
    logs = model.evaluate(_binary_images(8), batch_size=8, verbose=0, return_dict=True)
    assert logs["loss"] <= logs["encoder_loss"]  # the IWAE bound of 4 draws is tighter than 2 of 2
    assert PIWAE.split_gradients and not MIWAE.split_gradients and not IWAE.split_gradients


def test_capacity_schedule_and_penalty_by_hand():
    objective = Capacity(gamma=100.0, c_max=10.0, c_min=2.0, capacity_epochs=4)
    assert float(objective.capacity) == 2.0  # C starts at c_min
    assert [objective.capacity_after(e) for e in range(6)] == [capacity_at(e, 2.0, 10.0, 4) for e in range(6)] \
        == [2.0, 4.0, 6.0, 8.0, 10.0, 10.0]
    assert objective.on_epoch(3) == {"capacity": 8.0} and float(objective.capacity) == 8.0
    assert Capacity(c_max=5.0, capacity_epochs=0).capacity_after(0) == 5.0  # no schedule: C is c_max

    model, x = _model({"type": "capacity", "gamma": 100.0, "c_max": 10.0, "capacity_epochs": 4}), _binary_images()
    model.objective.on_epoch(1)  # C = 2.5
    q, z, log_px = model.draw(x, 1, training=False, seed=SEED)
    kl = model.prior.kl(q, z).numpy()  # analytic for Normal q and p
    terms = model.terms(x, training=False, seed=SEED)
    reconstruction = -log_px.numpy()[0]
    expected = [reconstruction[b] + 100.0 * abs(kl[b] - 2.5) for b in range(len(x))]
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-6)  # the true KL, not |KL - C|
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-6)


def test_capacity_schedule_continues_across_a_keras_round_trip(tmp_path):
    model, x = _model({"type": "capacity", "gamma": 10.0, "c_max": 8.0, "capacity_epochs": 4}), _binary_images(20)
    model.compile(keras.optimizers.Adam(1e-3))
    assert model.fit(x, batch_size=10, epochs=2, verbose=0).history["capacity"] == [0.0, 2.0]
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    assert type(loaded.objective) is Capacity and float(loaded.objective.capacity) == 2.0
    assert loaded.objective.get_config() == model.objective.get_config()
    loaded.compile(keras.optimizers.Adam(1e-3))
    assert loaded.fit(x, batch_size=10, epochs=3, verbose=0).history["capacity"] == [4.0, 6.0, 8.0]


@pytest.mark.parametrize("objective", [pytest.param(TIGHTER["miwae"], marks=pytest.mark.slow), TIGHTER["piwae"],
                                       pytest.param(TIGHTER["ciwae"], marks=pytest.mark.slow),
                                       {"type": "capacity", "capacity_epochs": 2}], ids=lambda o: o["type"])
def test_one_compiled_step_trains(objective):
    """Through the loop `zoo train` runs: `compile(jit_compile=True, steps_per_execution=...)`.
    PIWAE (two gradients) and the capacity (a scheduled weight) in the default tier; MIWAE and
    CIWAE only regroup IWAE's log weights, as PIWAE's do, so they run with `-m slow`."""
    from zoo.data import ResidentImages, Split

    model = _model(objective)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=2)
    before = [v.numpy() for v in model.trainable_variables]
    images = (np.random.default_rng(0).random((8, 8, 8, 1)) * 256).astype(np.uint8)
    history = model.fit(ResidentImages(Split(images, None, 256), 4, "dynamic"), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


def test_refusals_are_one_line():
    with pytest.raises(ConfigError, match="samples.*M \\* K = 6"):
        MIWAE(M=2, K=3, samples=5)
    with pytest.raises(ConfigError, match="elbo_weight"):
        CIWAE(elbo_weight=1.5)
    with pytest.raises(ConfigError, match="beta.*gamma"):
        Capacity(beta=4.0)
    with pytest.raises(ConfigError, match="c_min"):
        Capacity(c_min=30.0, c_max=25.0)
    with pytest.raises(ConfigError, match="objective.*'miwae'.*'elbo'"):
        VAEConfig(posterior={"type": "categorical", "latent_dim": 3, "categories": 4}, prior="uniform_categorical",
                  objective={"type": "miwae", "M": 2, "K": 2}).check()
    assert negative_bound(tf.zeros([4, 2]), groups=2).shape == (2,)
