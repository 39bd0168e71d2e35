"""Every combination of blocks that makes sense trains, reports its objective honestly and exports.

"Makes sense" is decided by `VAEConfig` itself: a combination it refuses (a Gaussian prior
for categorical latents, IWAE with relaxed one-hot draws, ...) is left out. The default
run covers every pair of block choices at least once (a pairwise covering set, so any
two blocks that clash would show); `pytest -m slow` runs the full product.
"""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from harness import assert_export_matches_model
from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.data import DATASETS
from zoo.errors import ConfigError
from zoo.export import export
from zoo.likelihoods import LIKELIHOODS
from zoo.model import VAE
from zoo.networks import NETWORKS
from zoo.objectives import OBJECTIVES
from zoo.posteriors import POSTERIORS
from zoo.priors import PRIORS
from zoo.signatures import ELBO_SEED

OBJECTIVE_SETTINGS = {  # objective block x its coefficients
    "elbo": {"objective": "elbo"},
    "elbo_beta_free_bits": {"objective": "elbo", "beta": 0.5, "free_bits": 0.05},
    "iwae": {"objective": "iwae", "samples": 3},
}
BLOCKS = {
    "network": NETWORKS.names(),
    "latent": POSTERIORS.names(),
    "prior": PRIORS.names(),
    "likelihood": LIKELIHOODS.names(),
    "objective": list(OBJECTIVE_SETTINGS),
}
TINY = dict(hidden_units=(16,), conv_filters=(4, 8), latent_dim=3, categories=4, prior_components=3,
            log_likelihood_samples=20)
EXAMPLES, BATCH, EPOCHS = 64, 32, 8


def variant(combination):
    fields = {**TINY, **{k: v for k, v in combination.items() if k != "objective"},
              **OBJECTIVE_SETTINGS[combination["objective"]]}
    fields.pop("log_likelihood_samples")
    return VAEConfig(**fields)


def sensible_combinations():
    combinations = []
    for values in itertools.product(*BLOCKS.values()):
        combination = dict(zip(BLOCKS, values))
        try:
            variant(combination)
        except ConfigError:
            continue
        combinations.append(combination)
    return combinations


def pairwise_cover(combinations):
    """A greedy subset in which every pair of block choices seen in `combinations` occurs."""
    def pairs(c):
        return set(itertools.combinations(sorted(c.items()), 2))
    uncovered = set().union(*map(pairs, combinations))
    chosen = []
    while uncovered:
        best = max(combinations, key=lambda c: len(pairs(c) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


def name(combination):
    return "-".join(combination[k] for k in BLOCKS)


ALL = sensible_combinations()
COVER = pairwise_cover(ALL)
SLOW_ONLY = [c for c in ALL if c not in COVER]


@pytest.fixture(scope="module")
def mnist_images(mnist_dir):
    return DATASETS.get("mnist").load("train", mnist_dir).scaled()[:EXAMPLES]


def data_for(likelihood, images):
    if likelihood == "bernoulli":  # binarized once, as the Bernoulli model needs 0/1 pixels
        return (np.random.default_rng(0).random(images.shape) < images).astype(np.float32)
    return images  # k / 255 grey levels: valid for the continuous and the 8-bit models


def hand_objective(model, x, seed):
    """The objective from its definition, with z drawn as the model draws it (inference form)."""
    v = model.variant
    q = model.posterior.inference(model.encoder(x))
    z = q.sample(v.samples, seed=seed)  # [S, B, ...]
    flat = tf.reshape(z, [-1, *model.code_shape])
    log_px = tf.reshape(model.likelihood.distribution(model.decoder(flat)).log_prob(
        tf.tile(x, [v.samples, 1, 1, 1])), [v.samples, -1]).numpy().astype(np.float64)
    p = model.prior.distribution()
    log_q, log_p = q.log_prob(z).numpy().astype(np.float64), p.log_prob(z).numpy().astype(np.float64)
    if v.objective == "iwae":
        log_w = log_px - v.beta * (log_q - log_p)
        return math.log(v.samples) - np.logaddexp.reduce(log_w, axis=0)
    try:
        kl = tfp.distributions.kl_divergence(q, p).numpy()
    except NotImplementedError:
        kl = (log_q - log_p).mean(axis=0)
        if isinstance(q, tfp.distributions.MultivariateNormalTriL) and v.prior == "standard_normal":
            kl = tfp.distributions.kl_divergence(
                q, tfp.distributions.MultivariateNormalDiag(tf.zeros([v.latent_dim]))).numpy()
    penalty = kl
    if v.free_bits:
        per_variable = model.prior.kl_per_variable(q)
        penalty = (np.maximum(kl, v.free_bits * v.latent_dim) if per_variable is None
                   else np.maximum(per_variable.numpy(), v.free_bits).sum(-1))
    return -log_px.mean(axis=0) + v.beta * penalty


def check_combination(combination, images, tmp_path, reload):
    keras.utils.set_random_seed(0)
    x = data_for(combination["likelihood"], images)
    model = VAE(variant(combination))
    model.compile(keras.optimizers.Adam(3e-3))
    before = model.evaluate(x, batch_size=EXAMPLES, verbose=0, return_dict=True)
    history = model.fit(x, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=False)
    after = model.evaluate(x, batch_size=EXAMPLES, verbose=0, return_dict=True)
    assert all(map(math.isfinite, history.history["loss"])), history.history["loss"]
    assert after["loss"] < before["loss"], (before, after)
    expected = hand_objective(model, x, ELBO_SEED).mean()
    assert after["loss"] == pytest.approx(expected, rel=1e-4, abs=1e-3)
    if reload:
        binarization = "dynamic" if combination["likelihood"] == "bernoulli" else "none"
        recipe = Recipe(name="combination", description="test", model=model.variant,
                        train=TrainConfig(dataset="mnist", log_likelihood_samples=TINY["log_likelihood_samples"],
                                          binarization=binarization))
        assert_export_matches_model(model, export(model, recipe, str(tmp_path / "exports"), {}), tmp_path,
                                    rtol=1e-4, atol=1e-4)


def reloaded(combinations):
    """The (slower) export check runs once per latent x prior pair, on an MLP where the cover
    has one; tests/test_export.py checks every likelihood with the default latent and prior."""
    chosen = {}
    for c in sorted(combinations, key=lambda c: c["network"] != "mlp"):
        pair = (c["latent"], c["prior"])
        if pair != ("diagonal_normal", "standard_normal") and pair not in chosen:
            chosen[pair] = name(c)
    return set(chosen.values())


RELOADED = reloaded(COVER)


def test_the_cover_is_pairwise_complete_and_smaller():
    pairs = lambda c: set(itertools.combinations(sorted(c.items()), 2))  # noqa: E731
    assert set().union(*map(pairs, ALL)) == set().union(*map(pairs, COVER))
    assert len(COVER) < len(ALL)
    assert {c["latent"] for c in ALL} == set(POSTERIORS.names())
    assert {c["likelihood"] for c in ALL} == set(LIKELIHOODS.names())


@pytest.mark.parametrize("combination", COVER, ids=name)
def test_combination_trains_reports_its_objective_and_exports(combination, mnist_images, tmp_path,
                                                              monkeypatch):
    monkeypatch.setattr("zoo.signatures.log_likelihood.__defaults__", (TINY["log_likelihood_samples"],))
    check_combination(combination, mnist_images, tmp_path, reload=name(combination) in RELOADED)


@pytest.mark.slow
@pytest.mark.parametrize("combination", SLOW_ONLY, ids=name)
def test_every_other_combination(combination, mnist_images, tmp_path, monkeypatch):
    monkeypatch.setattr("zoo.signatures.log_likelihood.__defaults__", (TINY["log_likelihood_samples"],))
    check_combination(combination, mnist_images, tmp_path, reload=True)
