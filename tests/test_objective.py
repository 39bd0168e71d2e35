"""The loss Keras reports is the negative ELBO computed by hand, with the KL counted once."""

import numpy as np
import pytest
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.models.builder import build
from zoo.objectives import ELBO


def negative_elbo(model, x, seed):
    """The objective's per-example terms (`VAE.terms`: the ELBO objective over `model.draw`)."""
    return model.terms(x, seed=seed)


def _model(beta=1.0, likelihood="bernoulli"):
    keras.utils.set_random_seed(3)
    likelihood = {"type": "gaussian", "sigma": 0.5} if likelihood == "gaussian" else {"type": likelihood}
    model = build(VAEConfig(network={"type": "mlp", "hidden_units": (32,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 4},
                            objective={"type": "elbo", "beta": beta}, likelihood=likelihood))
    assert isinstance(model.objective, ELBO) and float(model.objective.kl_weight) == beta
    return model


def _binary_images(n, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) < 0.3).astype(np.float32)


def _hand_terms(model, x, seed):
    """-log p(x|z) and KL(q || N(0, I)) from the formulas, z drawn from q with `seed`."""
    q = model.encode(x)
    mu, sd = q.mean().numpy(), q.stddev().numpy()
    z = q.sample(seed=seed)
    logits = model.decoder(z).numpy().astype(np.float64)
    log_p = np.sum(x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits), axis=(1, 2, 3))
    kl = 0.5 * np.sum(mu ** 2 + sd ** 2 - 1 - 2 * np.log(sd), axis=1)
    return -log_p, kl


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_objective_terms_equal_hand_computation(beta):
    model, x = _model(beta), _binary_images(8)
    terms = negative_elbo(model, x, seed=(5, 6))
    reconstruction, kl = _hand_terms(model, x, seed=(5, 6))
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(terms["loss"], reconstruction + beta * kl, rtol=1e-5)
    # the same terms from the objective over the model's draws: draw returns +log p(x|z)
    q, z, log_likelihood = model.draw(x, seed=(5, 6))
    assert z.shape == (1, 8, 4) and log_likelihood.shape == (1, 8)
    np.testing.assert_allclose(-log_likelihood[0], reconstruction, rtol=1e-5)
    direct = model.objective.terms(q, z, log_likelihood, model.prior)
    for key in ("loss", "reconstruction", "kl"):
        np.testing.assert_allclose(direct[key], terms[key], rtol=1e-6, err_msg=key)


def test_evaluate_reports_negative_elbo_with_kl_once():
    model, x = _model(), _binary_images(400, seed=1)
    model.compile(keras.optimizers.Adam(1e-3))
    reported = model.evaluate(x, batch_size=100, return_dict=True, verbose=0)

    draws = [_hand_terms(model, x, seed=(s, 0)) for s in range(20)]
    reconstruction = np.stack([d[0] for d in draws])  # [draws, examples]
    kl = draws[0][1]
    assert reported["kl"] == pytest.approx(kl.mean(), rel=1e-4)  # analytic: no sampling noise
    assert reported["loss"] == pytest.approx(reported["reconstruction"] + reported["kl"], rel=1e-5)
    # evaluate draws one z per example: compare with the hand average within 5 standard errors
    standard_error = reconstruction.std(axis=0).mean() / np.sqrt(x.shape[0])
    assert abs(reported["reconstruction"] - reconstruction.mean()) < 5 * standard_error + 1e-3


def test_training_minimises_the_reported_loss():
    model, x = _model(), _binary_images(200, seed=2)
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=50, epochs=5, verbose=0).history
    assert set(history) == {"loss", "reconstruction", "kl"}
    assert history["loss"][-1] < history["loss"][0]
    for loss, rec, kl in zip(history["loss"], history["reconstruction"], history["kl"]):
        assert loss == pytest.approx(rec + kl, rel=1e-5)


def test_gaussian_objective_is_a_log_density_not_mse():
    model = _model(likelihood="gaussian")
    x = np.random.default_rng(3).random((4, 28, 28, 1)).astype(np.float32)
    q = model.encode(x)
    z = q.sample(seed=(1, 1))
    loc = model.decoder(z).numpy()
    expected = np.sum(0.5 * ((x - loc) / 0.5) ** 2 + np.log(0.5) + 0.5 * np.log(2 * np.pi), axis=(1, 2, 3))
    np.testing.assert_allclose(negative_elbo(model, x, seed=(1, 1))["reconstruction"], expected, rtol=1e-5)


def test_every_objective_says_what_its_loss_is_and_the_model_writes_it_beside_its_figures():
    """A loss that is not the -ELBO (IWAE's family, the capacity, the disentangling penalties)
    is named for what it is: each objective's own words, which the VAE reports as its `loss_is`
    and `zoo train` writes into metrics.json beside the -ELBO."""
    from zoo.objectives import OBJECTIVES, Objective

    said = {name: OBJECTIVES.get(name).loss_is for name in OBJECTIVES.names()}
    assert Objective.loss_is not in said.values() and len(set(said.values())) == len(said), said
    assert "not a bound" in said["capacity"] and "MIWAE" in said["piwae"] and "negative ELBO" in said["elbo"]
    vae = build(VAEConfig(network={"type": "mlp", "hidden_units": (8,)},
                          posterior={"type": "diagonal_normal", "latent_dim": 2},
                          objective={"type": "miwae", "M": 2, "K": 1}, image_shape=(4, 4, 1)))
    assert vae.loss_is == said["miwae"]
    assert vae.kind_figures(None, {}, None) == {"loss_is": said["miwae"]}
