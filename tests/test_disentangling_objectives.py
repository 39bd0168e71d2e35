"""beta-TCVAE and DIP-VAE: their terms against the formulas by hand, the identities that hold
between them and the ELBO, training, the config path and the one-line refusals."""

import json
import math
import pathlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

import zoo
from harness import beta_tcvae_parts_by_hand, dip_penalty_by_hand, normal_log_density, tiny_recipe
from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.errors import ConfigError
from zoo.layers.posteriors import DiagonalNormal
from zoo.layers.priors import StandardNormal
from zoo.models.builder import build
from zoo.objectives import ELBO, BetaTCVAE, DIPVAE

tfd = tfp.distributions

# A tiny batch (B = 4 examples, D = 2 latents) with q and the draws z fixed by hand.
LOC = np.array([[0.0, 1.0], [0.5, -0.5], [-1.0, 0.2], [2.0, 0.0]], np.float32)
SCALE = np.array([[1.0, 0.5], [0.8, 1.2], [0.3, 0.9], [1.5, 0.7]], np.float32)
Z = np.array([[[0.1, 0.9], [0.4, -1.0], [-0.8, 0.0], [1.5, 0.3]],
              [[-0.2, 1.4], [1.1, -0.1], [-1.2, 0.6], [2.6, -0.4]]], np.float32)  # [S = 2, B, D]
LOG_LIKELIHOOD = np.array([[-10.0, -12.0, -9.0, -11.0], [-10.5, -11.0, -9.5, -12.5]], np.float32)  # [S, B]


def _q():
    return tfd.Independent(tfd.Normal(LOC, SCALE), reinterpreted_batch_ndims=1)


def _prior():
    prior = StandardNormal()
    prior.attach(DiagonalNormal(2))
    return prior


def _log_q_and_p(z=Z):
    return (normal_log_density(z, LOC, SCALE).sum(-1), normal_log_density(z, 0.0, 1.0).sum(-1))  # [S, B] each


def _analytic_kl():
    return 0.5 * np.sum(LOC.astype(np.float64) ** 2 + SCALE.astype(np.float64) ** 2 - 1
                        - 2 * np.log(SCALE.astype(np.float64)), axis=1)


def _parts_in_loops(weight, m=4):
    """beta-TCVAE's three parts per example [M], averaged over the 2 draws, in plain loops:
    each draw z_i (of example i) under every example's q, one latent at a time, with
    q(z_i) ~= sum_j weight(i, j) q(z_i|x_j) and each marginal alike."""
    mi, tc, dw = np.zeros(m), np.zeros(m), np.zeros(m)
    for s in range(2):
        for i in range(m):
            def q_of(j, d):
                return _normal(Z[s, i, d], LOC[j, d], SCALE[j, d])
            log_qz = math.log(sum(weight(i, j) * q_of(j, 0) * q_of(j, 1) for j in range(m)))
            log_marginals = sum(math.log(sum(weight(i, j) * q_of(j, d) for j in range(m))) for d in range(2))
            log_q, log_p = math.log(q_of(i, 0) * q_of(i, 1)), sum(math.log(_normal(Z[s, i, d], 0.0, 1.0)) for d in range(2))
            mi[i] += (log_q - log_qz) / 2
            tc[i] += (log_qz - log_marginals) / 2
            dw[i] += (log_marginals - log_p) / 2
    return mi, tc, dw


def test_mws_terms_against_a_hand_computation():
    objective = BetaTCVAE(dataset_size=10, alpha=0.5, beta=3.0, gamma=2.0, samples=2)
    terms = {k: v.numpy() for k, v in objective.terms(_q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD),
                                                        _prior()).items()}
    n, m = 10, 4
    mi, tc, dw = _parts_in_loops(lambda i, j: 1 / (n * m))  # minibatch-weighted sampling
    np.testing.assert_allclose(terms["total_correlation"], tc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["mutual_information"], mi, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["dimension_wise_kl"], dw, rtol=1e-5, atol=1e-5)
    reconstruction = -LOG_LIKELIHOOD.mean(0)
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-6)
    np.testing.assert_allclose(terms["loss"], reconstruction + 0.5 * mi + 3.0 * tc + 2.0 * dw, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(terms["kl"], _analytic_kl(), rtol=1e-5)  # the true KL, not the parts' sum
    np.testing.assert_allclose(terms["kl_per_layer"][:, 0], terms["kl"], rtol=1e-6)
    # the harness's vectorized formulas (used by tests/test_combinations.py) agree with the loops
    by_hand = beta_tcvae_parts_by_hand(LOC, SCALE, Z, _log_q_and_p()[1], n)
    for key, value in (("mutual_information", mi), ("total_correlation", tc), ("dimension_wise_kl", dw)):
        np.testing.assert_allclose(by_hand[key], value, rtol=1e-9, err_msg=key)
    assert tc.min() > 0  # the draws sit near their own example's q: dependent latents within the batch


def test_mss_terms_against_a_hand_computation():
    """Minibatch stratified sampling: q(z_i) ~= sum_j w_ij q(z_i|x_j) with w_ii = 1/N, w_i,i+1
    (mod M) = (N - M + 1) / (N (M - 1)) and 1 / (M - 1) elsewhere, in plain loops."""
    objective = BetaTCVAE(dataset_size=10, alpha=0.5, beta=3.0, gamma=2.0, samples=2, estimator="mss")
    terms = {k: v.numpy() for k, v in objective.terms(_q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD),
                                                        _prior()).items()}
    n, m = 10, 4

    def weight(i, j):
        return 1 / n if j == i else (n - m + 1) / (n * (m - 1)) if j == (i + 1) % m else 1 / (m - 1)

    assert all(math.isclose(sum(weight(i, j) for j in range(m)), 1.0) for i in range(m))
    mi, tc, dw = _parts_in_loops(weight)
    np.testing.assert_allclose(terms["mutual_information"], mi, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["total_correlation"], tc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["dimension_wise_kl"], dw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["loss"], -LOG_LIKELIHOOD.mean(0) + 0.5 * mi + 3.0 * tc + 2.0 * dw,
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_identical_posteriors_show_the_weighted_estimates_bias(estimator):
    """Every example with the same q: q(z) = q(z|x), so the true MI and TC are 0. MSS's weights
    sum to 1 and give exactly that; MWS's sum to 1/N and give MI = log N, TC = (D - 1) log N."""
    n = 1000
    same = tfd.Independent(tfd.Normal(np.repeat(LOC[:1], 4, 0), np.repeat(SCALE[:1], 4, 0)), 1)
    terms = BetaTCVAE(dataset_size=n, samples=2, estimator=estimator).terms(
        same, tf.constant(Z), tf.constant(LOG_LIKELIHOOD), _prior())
    bias = 0.0 if estimator == "mss" else math.log(n)
    np.testing.assert_allclose(terms["mutual_information"].numpy(), bias, atol=1e-4)
    np.testing.assert_allclose(terms["total_correlation"].numpy(), bias, atol=1e-4)  # (D - 1) log N, D = 2


def _normal(z, loc, scale):
    z, loc, scale = float(z), float(loc), float(scale)  # float64, not numpy's float32 scalars
    return math.exp(-0.5 * ((z - loc) / scale) ** 2) / (scale * math.sqrt(2 * math.pi))


def test_the_dataset_size_shifts_each_part_by_a_known_constant():
    """log q(z) and each log q(z_j) carry -log(N M): from N to N' the MI moves by +log(N'/N),
    the TC by (D - 1) log(N'/N) and the dimension-wise KL by -D log(N'/N), D = 2 here."""
    def parts(n):
        terms = BetaTCVAE(dataset_size=n, samples=2).terms(_q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD), _prior())
        return {k: terms[k].numpy() for k in BetaTCVAE.metric_names}

    small, large = parts(10), parts(10_000)
    shift = math.log(1000)
    np.testing.assert_allclose(large["mutual_information"] - small["mutual_information"], shift, rtol=1e-4)
    np.testing.assert_allclose(large["total_correlation"] - small["total_correlation"], shift, rtol=1e-4)
    np.testing.assert_allclose(large["dimension_wise_kl"] - small["dimension_wise_kl"], -2 * shift, rtol=1e-4)


def test_unit_weights_give_the_negative_elbo_with_the_kl_at_the_draws():
    """With alpha = beta = gamma = 1 the three parts telescope: loss = -log p(x|z) + log q(z|x)
    - log p(z) at each draw, whatever N (the MWS estimates cancel exactly). The ELBO objective
    takes the KL analytically instead, so the two losses differ by (log q - log p) - KL, whose
    mean over draws is 0."""
    log_q, log_p = _log_q_and_p()
    expected = (-LOG_LIKELIHOOD + log_q - log_p).mean(0)
    for n in (4, 60_000):
        terms = BetaTCVAE(dataset_size=n, alpha=1.0, beta=1.0, gamma=1.0, samples=2).terms(
            _q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD), _prior())
        np.testing.assert_allclose(terms["loss"], expected, rtol=1e-5, atol=1e-4)
        parts_sum = sum(terms[k].numpy() for k in BetaTCVAE.metric_names)
        np.testing.assert_allclose(parts_sum, (log_q - log_p).mean(0), rtol=1e-5, atol=1e-4)
        # beta alone above 1: the loss grows by (beta - 1) times the total correlation
        heavier = BetaTCVAE(dataset_size=n, beta=6.0, samples=2).terms(
            _q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD), _prior())
        np.testing.assert_allclose(heavier["loss"], expected + 5 * terms["total_correlation"].numpy(),
                                   rtol=1e-5, atol=1e-3)
    # over many draws the unit-weight loss meets the ELBO objective's (analytic KL)
    samples = 4000
    z = _q().sample(samples, seed=(1, 2))
    log_likelihood = tf.zeros([samples, 4])
    tc_loss = BetaTCVAE(dataset_size=100, beta=1.0, samples=samples).terms(_q(), z, log_likelihood, _prior())["loss"]
    elbo_loss = ELBO(samples=samples).terms(_q(), z, log_likelihood, _prior())["loss"]
    log_q, log_p = _log_q_and_p(z.numpy())
    standard_error = (log_q - log_p).std(0) / math.sqrt(samples)
    assert np.all(np.abs(tc_loss.numpy() - elbo_loss.numpy()) < 4 * standard_error), (tc_loss, elbo_loss)
    np.testing.assert_allclose(elbo_loss, _analytic_kl(), rtol=1e-5)


@pytest.mark.parametrize("kind", ["i", "ii"])
@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_dip_penalty_against_numpy_covariance(kind, covariance):
    rng = np.random.default_rng(0)
    means = rng.normal(size=(6, 3)).astype(np.float32)
    if covariance == "diagonal":
        scales = rng.uniform(0.2, 1.5, size=(6, 3)).astype(np.float32)
        q = tfd.Independent(tfd.Normal(means, scales), reinterpreted_batch_ndims=1)
        covariances = np.stack([np.diag(s ** 2) for s in scales])
    else:
        tril = np.tril(rng.normal(size=(6, 3, 3))).astype(np.float32) + 2 * np.eye(3, dtype=np.float32)
        q = tfd.MultivariateNormalTriL(means, tril)
        covariances = tril @ np.transpose(tril, (0, 2, 1))
    objective = DIPVAE(kind, lambda_od=3.0)
    lambda_d = 30.0 if kind == "i" else 3.0  # disentanglement_lib's lambda_d_factor: 10 for I, 1 for II
    assert objective.diagonal_weight == lambda_d
    expected = dip_penalty_by_hand(means, covariances, kind, 3.0, lambda_d)
    np.testing.assert_allclose(objective.regularizer(q).numpy(), expected, rtol=1e-5)
    explicit = DIPVAE(kind, lambda_od=3.0, lambda_d=0.5)
    np.testing.assert_allclose(explicit.regularizer(q).numpy(), dip_penalty_by_hand(means, covariances, kind, 3.0, 0.5),
                               rtol=1e-5)


def test_dip_loss_is_the_elbo_loss_plus_the_penalty():
    prior, z, log_likelihood = _prior(), tf.constant(Z[:1]), tf.constant(LOG_LIKELIHOOD[:1])
    dip = DIPVAE("ii", lambda_od=2.0, beta=0.5, free_bits=0.1)
    terms = dip.terms(_q(), z, log_likelihood, prior)
    elbo = ELBO(beta=0.5, free_bits=0.1).terms(_q(), z, log_likelihood, prior)
    penalty = dip_penalty_by_hand(LOC, np.stack([np.diag(s ** 2) for s in SCALE]), "ii", 2.0, 2.0)
    np.testing.assert_allclose(terms["loss"], elbo["loss"].numpy() + penalty, rtol=1e-5)
    np.testing.assert_allclose(terms["dip_regularizer"], np.full(4, penalty), rtol=1e-5)
    for key in ("reconstruction", "kl", "kl_per_layer"):
        np.testing.assert_allclose(terms[key], elbo[key], rtol=1e-6, err_msg=key)


def _binary_images(n, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) < 0.3).astype(np.float32)


@pytest.mark.parametrize("objective", [{"type": "beta_tcvae", "dataset_size": 128},
                                       {"type": "dip_vae", "kind": "i", "lambda_od": 5.0},
                                       {"type": "dip_vae", "kind": "ii"}],
                         ids=["beta_tcvae", "dip_vae_i", "dip_vae_ii"])
def test_training_lowers_the_loss_and_reports_every_term(objective):
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(network={"type": "mlp", "hidden_units": (32,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 4}, objective=objective))
    x = _binary_images(128)
    model.compile(keras.optimizers.Adam(3e-3))
    history = model.fit(x, batch_size=32, epochs=6, verbose=0).history
    assert set(history) == {"loss", "reconstruction", "kl", *model.objective.metric_names}
    assert history["loss"][-1] < history["loss"][0], history["loss"]
    assert all(math.isfinite(v) for v in history["loss"])
    reported = model.evaluate(x, batch_size=128, verbose=0, return_dict=True)
    reconstruction, kl = (t.numpy().mean() for t in model.elbo_terms(x, seed=(7, 7)))
    assert reported["kl"] == pytest.approx(kl, rel=1e-4)  # the true KL: analytic, no draw in it
    if objective["type"] == "dip_vae":  # beta = 1: loss = -ELBO + the batch's penalty
        assert reported["loss"] == pytest.approx(reported["reconstruction"] + reported["kl"]
                                                 + reported["dip_regularizer"], rel=1e-5)
    else:  # the parts add up to log q(z|x) - log p(z) at the draws, whose mean is near the KL
        parts = sum(reported[k] for k in BetaTCVAE.metric_names)
        assert parts == pytest.approx(reported["kl"], abs=1.0)


def test_config_path_builds_serializes_and_takes_set():
    config = VAEConfig(network={"type": "mlp", "hidden_units": (8,)},
                       posterior={"type": "diagonal_normal", "latent_dim": 3},
                       objective={"type": "beta_tcvae", "dataset_size": 500, "beta": 4.0, "alpha": 0.5})
    model = build(config)
    objective = model.objective
    assert isinstance(objective, BetaTCVAE) and (objective.dataset_size, objective.alpha, objective.beta,
                                                 objective.gamma) == (500, 0.5, 4.0, 1.0)
    assert float(objective.kl_weight) == 4.0  # the weight of the total correlation
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(objective))
    assert again.get_config() == objective.get_config()
    recipe = tiny_recipe("mlp", "bernoulli").with_overrides({"objective": "dip_vae", "kind": "ii", "lambda_d": "2.5"})
    assert recipe.model.objective == {"type": "dip_vae", "kind": "ii", "lambda_d": 2.5}
    dip = build(recipe.model).objective
    assert isinstance(dip, DIPVAE) and (dip.kind, dip.lambda_od, dip.diagonal_weight) == ("ii", 10.0, 2.5)
    tc = tiny_recipe("mlp", "bernoulli").with_overrides({"objective": "beta_tcvae", "beta": "8"})
    assert tc.model.objective == {"type": "beta_tcvae", "beta": 8.0}
    mss = tiny_recipe("mlp", "bernoulli").with_overrides({"objective": "beta_tcvae", "estimator": "mss"})
    assert mss.model.objective == {"type": "beta_tcvae", "estimator": "mss"}
    stratified = BetaTCVAE(dataset_size=50, estimator="mss")
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(stratified)).estimator == "mss"
    assert zoo.BetaTCVAE is BetaTCVAE and zoo.DIPVAE is DIPVAE


def test_zoo_train_sets_the_dataset_size_from_the_data():
    recipe = Recipe(name="t", description="t", train=TrainConfig(dataset="digits"),
                    model=VAEConfig(objective={"type": "beta_tcvae", "beta": 2.0}))
    assert recipe.model.objective.get("dataset_size") is None  # a config may leave it out ...
    filled = recipe.for_training_set(1203)
    assert filled.model.objective == {"type": "beta_tcvae", "beta": 2.0, "dataset_size": 1203}
    assert filled.to_dict()["model"]["objective"]["dataset_size"] == 1203  # ... the export's config.json has it
    given = recipe.with_overrides({"dataset_size": "77"})
    assert given.for_training_set(1203).model.objective["dataset_size"] == 77  # one the recipe gives stays
    elbo = tiny_recipe("mlp", "bernoulli")
    assert elbo.for_training_set(1203) is elbo


def _one_line(error):
    message = str(error.value)
    assert "\n" not in message and message, message
    return message


def test_one_line_refusals():
    small = dict(network={"type": "mlp", "hidden_units": (8,)}, posterior={"type": "diagonal_normal", "latent_dim": 3})
    with pytest.raises(ConfigError) as error:  # a model without N cannot train: refused when it is made
        build(VAEConfig(**small, objective="beta_tcvae"))
    assert "dataset_size" in _one_line(error) and "zoo train" in _one_line(error)
    for bad in (0, -5, 2.5, True, "many"):
        with pytest.raises(ConfigError) as error:
            BetaTCVAE(dataset_size=bad)
        assert "'dataset_size'" in _one_line(error)
    for bad in ({"alpha": -1.0}, {"gamma": math.inf}, {"beta": -2.0}, {"estimator": "exact"}):
        with pytest.raises(ConfigError) as error:
            BetaTCVAE(dataset_size=10, **bad)
        _one_line(error)
    with pytest.raises(ConfigError) as error:  # stratified sampling needs two examples in the batch
        BetaTCVAE(dataset_size=10, estimator="mss").terms(tfd.Independent(
            tfd.Normal(LOC[:1], SCALE[:1]), 1), tf.constant(Z[:, :1]), tf.constant(LOG_LIKELIHOOD[:, :1]), _prior())
    assert "'mws'" in _one_line(error)
    with pytest.raises(ConfigError) as error:
        DIPVAE(kind="iii")
    assert "'i'" in _one_line(error)
    for bad in ({"lambda_od": -1.0}, {"lambda_d": "x"}):
        with pytest.raises(ConfigError) as error:
            DIPVAE(**bad)
        _one_line(error)
    with pytest.raises(ConfigError) as error:  # N smaller than the batch: not the number of examples
        BetaTCVAE(dataset_size=3).terms(_q(), tf.constant(Z), tf.constant(LOG_LIKELIHOOD), _prior())
    assert "at least the batch of 4" in _one_line(error)
    with pytest.raises(ConfigError) as error:  # a q that is not Independent(Normal), from a posterior of one's own
        BetaTCVAE(dataset_size=10).terms(tfd.MultivariateNormalDiag(LOC, SCALE), tf.constant(Z),
                                         tf.constant(LOG_LIKELIHOOD), _prior())
    assert "Independent(Normal)" in _one_line(error)


@pytest.mark.heavy
def test_train_fills_the_dataset_size_and_exports_it(tmp_path):
    """`zoo train` on the embedded digits: the objective gets N = the training images, and the
    export's config.json records it, so the model rebuilt from it is the one trained."""
    from recipes import RECIPES

    recipe = RECIPES.get("digits_mlp_bernoulli").with_overrides(
        {"objective": "beta_tcvae", "hidden_units": "16", "epochs": "1", "log_likelihood_samples": "10"})
    result = zoo.train(recipe, export_dir=str(tmp_path), verbose=False, force_export=True)
    assert result.model.objective.dataset_size == 1500  # the digits' training split
    config = json.load(open(pathlib.Path(result.export_path) / "config.json"))
    assert config["model"]["objective"]["dataset_size"] == 1500
    assert math.isfinite(result.metrics["test_neg_elbo"])
    assert result.metrics["test_neg_elbo"] == pytest.approx(result.metrics["test_reconstruction"]
                                                            + result.metrics["test_kl"])
