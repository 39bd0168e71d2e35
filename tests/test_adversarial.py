"""Issue 29, adversarial models (FactorVAE, the AAE): a VAE with a discriminator on z and its
own optimizer, trained in one `fit`. The losses by hand in numpy, each group of weights moved
by its own loss and optimizer only, the compiled step, the signatures each exports, the rules,
and THE RESUME TEST: a run stopped after its first epoch resumes from its backup to the
uninterrupted run's weights and test figures."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.data import ResidentImages
from zoo.data.sources import DATASETS
from zoo.errors import ConfigError
from zoo.layers.adversaries import PriorMatching, TotalCorrelation, discriminator_cross_entropy, permute_dims
from zoo.layers.priors import StandardNormal
from zoo.models.builder import build
from zoo.models.callbacks import FiniteBackup

TINY = {"image_shape": (8, 8, 1), "network": {"type": "mlp", "hidden_units": (16,)},
        "posterior": {"type": "diagonal_normal", "latent_dim": 3}}
FACTOR_VAE = VAEConfig(**TINY, adversary={"type": "total_correlation", "gamma": 3.0, "hidden_units": (8,)})
AAE = VAEConfig(**TINY, objective={"type": "elbo", "beta": 0.0},
                adversary={"type": "prior_matching", "hidden_units": (8,)})


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def logits_by_hand(adversary, z):
    """The discriminator's logit of each code, from its weights in numpy (leaky ReLU of its slope)."""
    h = np.asarray(z, np.float64)
    dense = [layer for layer in adversary.discriminator.layers if layer.weights]
    for layer in dense[:-1]:
        kernel, bias = (w.numpy() for w in layer.weights)
        a = h @ kernel + bias
        h = np.where(a > 0, a, adversary.leaky_slope * a)
    kernel, bias = (w.numpy() for w in dense[-1].weights)
    return (h @ kernel + bias)[:, 0]


def codes(batch=6, dim=3, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, dim)).astype(np.float32)


def digits():
    return DATASETS.get("digits").load("train"), DATASETS.get("digits").load("test").scaled().astype(np.float32)


def test_permuting_keeps_each_dimensions_values_and_breaks_their_dependence():
    z = np.stack([np.arange(8.0), np.arange(8.0) * 10, -np.arange(8.0)], axis=1).astype(np.float32)
    permuted = permute_dims(tf.constant(z), tf.constant([3, 4])).numpy()
    np.testing.assert_array_equal(np.sort(permuted, axis=0), np.sort(z, axis=0))  # each marginal kept
    assert not np.array_equal(permuted, z)
    assert abs(np.corrcoef(permuted[:, 0], permuted[:, 1])[0, 1]) < 0.99  # the columns were perfectly correlated
    orders = [np.argsort(permuted[:, j] / [1, 10, -1][j]) for j in range(3)]
    assert not (np.array_equal(orders[0], orders[1]) and np.array_equal(orders[1], orders[2]))  # one per dimension
    np.testing.assert_array_equal(permute_dims(tf.constant(z), tf.constant([3, 4])).numpy(), permuted)  # seeded


def test_the_discriminators_cross_entropy_by_hand():
    positive, negative = np.array([2.0, -1.0, 0.5]), np.array([0.3, -2.0])
    expected = 0.5 * (np.mean(-np.log(sigmoid(positive))) + np.mean(-np.log(1 - sigmoid(negative))))
    assert float(discriminator_cross_entropy(tf.constant(positive), tf.constant(negative))) == pytest.approx(expected)


def test_factor_vae_pays_gamma_times_the_log_odds_and_its_discriminator_tells_codes_from_permuted_ones():
    adversary = TotalCorrelation(gamma=3.0, hidden_units=(5, 4))
    adversary.attach(3)
    z, other, seed = codes(), codes(seed=1), tf.constant([5, 6])
    d = sigmoid(logits_by_hand(adversary, z))
    np.testing.assert_allclose(adversary.penalty(tf.constant(z)).numpy(), 3.0 * np.log(d / (1 - d)), rtol=1e-4)
    shuffled = permute_dims(tf.constant(other), seed).numpy()
    d_shuffled = sigmoid(logits_by_hand(adversary, shuffled))
    expected = 0.5 * (np.mean(-np.log(d)) + np.mean(-np.log(1 - d_shuffled)))
    got = adversary.discriminator_loss(tf.constant(z), tf.constant(other), StandardNormal(), seed)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_the_aae_pays_minus_log_d_and_its_discriminator_tells_prior_draws_from_codes():
    adversary = PriorMatching(scale=0.25, hidden_units=(5,))
    adversary.attach(3)
    prior = StandardNormal()
    prior.attach(_DiagonalStub(), (8, 8, 1), None)
    z, seed = codes(), tf.constant([7, 8])
    d = sigmoid(logits_by_hand(adversary, z))
    np.testing.assert_allclose(adversary.penalty(tf.constant(z)).numpy(), -0.25 * np.log(d), rtol=1e-4)
    draws = prior.distribution().sample(6, seed=seed).numpy()
    d_prior = sigmoid(logits_by_hand(adversary, draws))
    expected = 0.5 * (np.mean(-np.log(d_prior)) + np.mean(-np.log(1 - d)))
    assert float(adversary.discriminator_loss(tf.constant(z), None, prior, seed)) == pytest.approx(expected, rel=1e-5)


class _DiagonalStub:
    """What `StandardNormal.attach` reads of a posterior: 3 continuous latents."""
    code_shape, latent_dim, layer_names, continuous = (3,), 3, (), True


@pytest.mark.parametrize("config", [FACTOR_VAE, AAE], ids=["factor_vae", "aae"])
def test_the_models_loss_is_its_objectives_weighted_plus_the_penalty_at_the_same_codes(config):
    model = build(config)
    x, seed = digits()[1][:5], tf.constant([1, 2])
    terms = model.terms(tf.constant(x), seed=seed)
    _, z, _ = model.draw(tf.constant(x), 1, seed=seed)
    d = sigmoid(logits_by_hand(model.adversary, z[0].numpy()))
    reconstruction, kl = terms["reconstruction"].numpy(), terms["kl"].numpy()
    if config is FACTOR_VAE:
        expected = reconstruction + kl + 3.0 * np.log(d / (1 - d))
    else:
        expected = 0.5 * reconstruction + 0.5 * -np.log(d)
    np.testing.assert_allclose(terms["loss"].numpy(), expected, rtol=1e-4)


def test_each_group_of_weights_moves_by_its_own_loss_and_optimizer():
    x = tf.constant(digits()[1][:8])

    def step(model_rate, discriminator_rate):
        keras.utils.set_random_seed(0)
        model = build(FACTOR_VAE)
        model.compile(keras.optimizers.Adam(model_rate))
        model.adversary_optimizer.learning_rate.assign(discriminator_rate)
        groups = (model.adversary.trainable_variables, model.model_variables())
        before = [[v.numpy() for v in group] for group in groups]
        logs = model.update(x, seed=tf.constant([1, 2]))
        moved = [any(not np.array_equal(b, v.numpy()) for b, v in zip(old, group)) for old, group in zip(before, groups)]
        return tuple(moved), logs

    assert step(1e-2, 0.0)[0] == (False, True)  # the model's optimizer never moves the discriminator
    assert step(0.0, 1e-2)[0] == (True, False)  # the discriminator's optimizer moves nothing else
    logs = step(1e-2, 1e-2)[1]
    assert {"total_correlation", "discriminator_loss"} <= set(logs)
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_one_compiled_step_changes_both_groups_with_a_finite_loss():
    train, _ = digits()
    model = build(AAE)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=2)
    before = [v.numpy() for v in model.trainable_variables]
    history = model.fit(ResidentImages(train, 750, "dynamic", seed=0), epochs=1, verbose=0)  # 2 steps, one call
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
    assert int(model.optimizer.iterations) == int(model.adversary_optimizer.iterations) == 2


STEPS = 15  # an epoch of the digits' 1500 training images in batches of 100: one call of the compiled loop


def fit(epochs, backup=None, callbacks=()):
    keras.utils.set_random_seed(0)
    model = build(FACTOR_VAE)
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=STEPS)  # the compiled loop, no XLA: fast to trace
    history = model.fit(ResidentImages(digits()[0], 100, "dynamic", seed=0), epochs=epochs, verbose=0,
                        callbacks=[*([backup] if backup else []), *callbacks])
    return model, history


@pytest.fixture(scope="module")
def uninterrupted():
    return fit(2)[0]


class Killed(Exception):
    pass


def kill_at_epoch(epoch):
    def kill(index, logs):
        if index == epoch:
            raise Killed
    return keras.callbacks.LambdaCallback(on_epoch_begin=kill)


def test_a_run_stopped_mid_training_resumes_to_the_uninterrupted_runs_weights_and_test_figures(uninterrupted, tmp_path):
    """THE RESUME TEST. Both optimizers' state and the step count (the seed of every random
    draw) are in the backup, so the resumed run computes what the uninterrupted one did:
    weights within 1e-5 and test figures within 1e-4 relative (float summation order aside)."""
    test = digits()[1]
    with pytest.raises(Killed):
        fit(2, FiniteBackup(str(tmp_path / "backup")), [kill_at_epoch(1)])  # killed as epoch 2 begins
    resumed, history = fit(2, FiniteBackup(str(tmp_path / "backup")))
    assert history.epoch == [1]  # epoch 1 came from the backup
    assert int(resumed.adversary_optimizer.iterations) == int(uninterrupted.adversary_optimizer.iterations) == 2 * STEPS
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    figures = [model.evaluate(test, verbose=0, return_dict=True) for model in (uninterrupted, resumed)]
    for name in ("loss", "reconstruction", "kl", "total_correlation", "discriminator_loss"):
        assert figures[1][name] == pytest.approx(figures[0][name], rel=1e-4), name


@pytest.mark.slow
def test_a_run_whose_discriminator_optimizer_forgets_its_state_ends_elsewhere(uninterrupted):
    """The resume test's control: the backup must keep D's optimizer, or the run goes elsewhere."""
    def forget(index, logs):
        if index == 1:
            for variable in forgetting.model.adversary_optimizer.variables():
                variable.assign(tf.zeros_like(variable))
    forgetting = keras.callbacks.LambdaCallback(on_epoch_begin=forget)
    forgetful = fit(2, callbacks=[forgetting])[0]
    assert not all(np.allclose(a, b, rtol=1e-5, atol=1e-6)
                   for a, b in zip(forgetful.adversary.get_weights(), uninterrupted.adversary.get_weights()))


def test_the_keras_file_keeps_the_discriminators_optimizer(uninterrupted, tmp_path):
    model = uninterrupted
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(reloaded.adversary_optimizer.iterations) == 2 * STEPS
    for a, b in zip(model.adversary_optimizer.variables(), reloaded.adversary_optimizer.variables()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_aae_exports_its_generative_signatures_only_and_factor_vae_keeps_its_bound():
    aae, factor_vae = build(AAE), build(FACTOR_VAE)
    assert set(aae.signatures()) == {"serving_default", "reconstruct", "encode", "decode", "sample"}
    assert aae.scoring == "reconstruction_error" and aae.pixel_marginal(digits()[1]) is None
    assert {"elbo", "log_likelihood"} <= set(factor_vae.signatures()) and factor_vae.scoring == "importance_sampling"
    assert "gamma * TC" in factor_vae.loss_is and "no bound" in aae.loss_is


@pytest.mark.parametrize("change, field", [
    ({"objective": "elbo"}, "objective"),  # beta 1: the AAE's discriminator takes the KL's place
    ({"condition": {"type": "class_label", "classes": 3}, "prior": "conditional_normal"}, "condition"),
    ({"posterior": {"type": "categorical", "latent_dim": 3, "categories": 4}, "prior": "uniform_categorical"},
     "posterior"),
])
def test_blocks_an_adversary_cannot_judge_are_refused_in_one_line(change, field):
    with pytest.raises(ConfigError) as refused:
        AAE.replace(**change).check()
    assert refused.value.field == field and "\n" not in str(refused.value)
