"""Every combination of blocks that makes sense trains and reports its objective honestly (and,
under `-m slow`, exports; the default tier exports each block once in the driver's model cases).

"Makes sense" is decided by the rules `VAEConfig.check` applies (`zoo.config.rules` and the
objective's own check): a combination they refuse (a Gaussian prior for categorical latents,
IWAE with relaxed one-hot draws, ...) is left out. The default run covers every block choice
and every pair of block choices at least once, the objectives and the posteriors that share
their code paired by family (`FAMILIES`, `POSTERIOR_FAMILIES`), so any two blocks that clash
would show; `pytest -m slow` runs the full product.
"""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from harness import assert_export_matches_model, beta_tcvae_parts_by_hand, dip_penalty_by_hand
import autoencoders_by_hand
from mmd_by_hand import mmd_loss_by_hand
from joint_by_hand import joint_capacity_loss_by_hand
from swd_by_hand import swae_loss_by_hand
from tighter_bounds_by_hand import TINY_ARGUMENTS, losses_by_hand
from zoo.config import Recipe, TrainConfig, VAEConfig, block_arguments
from zoo.config.blocks import make_block
from zoo.config.rules import check_vae_blocks
from zoo.data import DATASETS
from zoo.errors import ConfigError
from zoo.export.savedmodel import export
from zoo.layers.likelihoods import LIKELIHOODS
from zoo.layers.networks import NETWORKS
from zoo.layers.posteriors import POSTERIORS
from zoo.layers.priors import PRIORS, StandardNormal
from zoo.models.builder import build
from zoo.seeds import ELBO_SEED
from zoo.objectives import DIPVAE, IWAE, OBJECTIVES, RAE, Autoencoder, BetaTCVAE, Capacity, JointCapacity

# per objective type: its tiny settings (beta-TCVAE's N: the examples each combination trains on)
OBJECTIVE_ARGUMENTS = {"iwae": {"samples": 3}, "beta_tcvae": {"dataset_size": 64}, **TINY_ARGUMENTS}
OBJECTIVE_SETTINGS = {  # objective block x its coefficients: every registered objective, and one ELBO variant
    **{kind: {"type": kind, **OBJECTIVE_ARGUMENTS.get(kind, {})} for kind in OBJECTIVES.names()},
    "elbo_beta_free_bits": {"type": "elbo", "beta": 0.5, "free_bits": 0.05},
}
BLOCKS = {
    "network": NETWORKS.names(),
    "posterior": POSTERIORS.names(),
    "prior": PRIORS.names(),
    "likelihood": LIKELIHOODS.names(),
    "objective": list(OBJECTIVE_SETTINGS),
}
# Blocks that need labels (a condition y), combined in tests/test_conditional.py and
# tests/test_semi_supervised.py instead: VAEConfig refuses them in an unconditional model.
LABEL_BLOCKS = {"conditional_normal", "semi_supervised"}
TINY = dict(hidden_units=(16,), conv_filters=(4, 8), latent_dim=3, categories=4, components=3, context_size=4,
            flows=("planar", "radial"), leapfrog_steps=1, fixed_point_steps=1)
LOG_LIKELIHOOD_SAMPLES = 20
EXAMPLES, BATCH, EPOCHS = 64, 32, 8


def tiny_block(role, kind):
    """{"type": kind} with the TINY arguments this block type takes."""
    arguments = block_arguments(role, kind)
    return {"type": kind, **{k: v for k, v in TINY.items() if k in arguments}}


def variant(combination):
    blocks = {role: tiny_block(role, kind) for role, kind in combination.items() if role != "objective"}
    return VAEConfig(**blocks, objective=OBJECTIVE_SETTINGS[combination["objective"]]).check()


def sensible_combinations():
    """Every combination whose posterior, prior and objective the rules accept, asked once per
    triple on blocks built once (the networks and likelihoods take part in no rule; each test
    builds its combination through `VAEConfig`, which asks the same rules again)."""
    roles = ("posterior", "prior", "objective")
    with tf.Graph().as_default():  # blocks made only to be asked: no TensorFlow runtime state
        made = {role: {kind: make_block(role, OBJECTIVE_SETTINGS[kind] if role == "objective" else tiny_block(role, kind))
                       for kind in BLOCKS[role]} for role in roles}
    sensible = set()
    for triple in itertools.product(*(BLOCKS[role] for role in roles)):
        posterior, prior, objective = (made[role][kind] for role, kind in zip(roles, triple))
        try:
            check_vae_blocks(posterior, prior, objective)
            objective.check(posterior)
        except ConfigError:
            continue
        sensible.add(triple)
    combinations = (dict(zip(BLOCKS, values)) for values in itertools.product(*BLOCKS.values()))
    return [c for c in combinations if tuple(c[role] for role in roles) in sensible]


# The objectives by family, for the default cover's pairs (each objective still appears): the
# ELBO's (the ELBO with beta and free bits, the capacity, DIP-VAE's and InfoVAE's penalties on
# it), the importance-weighted bounds (one bound over grouped log weights), and the objectives
# that use the draws alone (the autoencoder's cost, RAE's, WAE's and SWAE's penalties on it).
FAMILIES = {"elbo_beta_free_bits": "elbo", "capacity": "elbo", "dip_vae": "elbo", "info_vae": "elbo",
            "miwae": "iwae", "piwae": "iwae", "ciwae": "iwae", "rae": "autoencoder", "wae_mmd": "autoencoder",
            "swae": "autoencoder", "joint_capacity": "elbo"}
# Posteriors that share their code, likewise: the RHVAE is the HVAE's flow under a metric, the
# power spherical shares the vMF's draws on the sphere.
POSTERIOR_FAMILIES = {"riemannian_hamiltonian": "hamiltonian", "power_spherical": "von_mises_fisher"}
# JointVAE's joint posterior and prior (only with each other) are Blockwise pairs of the diagonal
# Normal's and the categorical's distributions, with the categorical's relaxed draws in training
# and one-hot draws to score: the categorical latents' pairs stand for theirs. Their own tests are
# tests/test_joint_vae.py and the driver's vae_mlp_joint_capacity.
POSTERIOR_FAMILIES["joint"] = "categorical"
PRIOR_FAMILIES = {"joint": "uniform_categorical"}
# Likelihoods whose pairs another's stand for: the reconstruction costs MS-SSIM and log-cosh read
# sigmoid(logits) as the continuous Bernoulli does and take part in no rule; their own tests are
# tests/test_ms_ssim.py and tests/test_log_cosh.py.
LIKELIHOOD_FAMILIES = {"ms_ssim": "continuous_bernoulli", "log_cosh": "continuous_bernoulli"}


def cover_items(combination):
    """What the default cover must hold: each block choice, and each pair with the objective
    taken by its family."""
    family = {**combination, "objective": FAMILIES.get(combination["objective"], combination["objective"]),
              "posterior": POSTERIOR_FAMILIES.get(combination["posterior"], combination["posterior"]),
              "prior": PRIOR_FAMILIES.get(combination["prior"], combination["prior"]),
              "likelihood": LIKELIHOOD_FAMILIES.get(combination["likelihood"], combination["likelihood"])}
    return set(combination.items()) | set(itertools.combinations(sorted(family.items()), 2))


# What makes a combination slow to train in the test (conv networks most: their tf.function
# traces take seconds), for the cover's ties: of combinations that hold as many new items, it
# takes the cheapest, so a block is paired with the conv network only as often as its pairs need.
COSTS = {("network", "conv"): 3, ("posterior", "hamiltonian"): 2, ("posterior", "riemannian_hamiltonian"): 2,
         ("posterior", "von_mises_fisher"): 2,
         ("posterior", "ladder"): 2, ("likelihood", "categorical256"): 1, ("likelihood", "discretized_logistic"): 1}


def cost(combination):
    return sum(COSTS.get(item, 0) for item in combination.items())


def pairwise_cover(combinations, items=cover_items):
    """A greedy subset that holds every item (`cover_items`) seen in `combinations`, the
    cheapest of equally good candidates first."""
    uncovered = set().union(*map(items, combinations))
    chosen = []
    while uncovered:
        best = max(combinations, key=lambda c: (len(items(c) & uncovered), -cost(c)))
        chosen.append(best)
        uncovered -= items(best)
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
    """The objective from its definition, with z drawn as the model draws it (inference form):
    q, z and log p(x|z) from `model.draw`, p(z) from the prior, coefficients from the objective."""
    objective = model.objective
    samples, beta = objective.samples, objective.beta
    q, z, log_px = model.draw(x, samples, training=False, seed=seed)  # z [S, B, ...], log p(x|z) [S, B]
    if isinstance(objective, (Autoencoder, RAE)):  # objectives of the draws alone (a point mass has no log q)
        return autoencoders_by_hand.loss(model, x, seed)
    log_px = log_px.numpy().astype(np.float64)
    prior_z = model.prior_draws(model.prior, z, seed).numpy() if objective.prior_draws else None  # MMD objectives, SWAE
    if objective.own_draws:  # SWAE: the SWD in loops, along the directions the model's seed gives the objective
        directions = objective.directions(int(np.prod(z.shape[2:])), model.objective_seed(seed)).numpy()
        return swae_loss_by_hand(objective, z.numpy(), prior_z, log_px, directions)
    if objective.prior_draws and not objective.needs_density:  # WAE-MMD: the MMD in loops, no KL (a point mass has none)
        return mmd_loss_by_hand(objective, z.numpy(), prior_z, log_px, kl=None)
    if isinstance(objective, JointCapacity):  # each part's KL in numpy against its own capacity
        return joint_capacity_loss_by_hand(objective, q, log_px)
    p = model.prior.distribution()
    log_q, log_p = q.log_prob(z).numpy().astype(np.float64), p.log_prob(z).numpy().astype(np.float64)
    if isinstance(objective, IWAE):
        return losses_by_hand(objective, log_px - beta * (log_q - log_p))["loss"]  # IWAE, MIWAE, PIWAE, CIWAE
    if isinstance(objective, BetaTCVAE):  # the minibatch is the whole of x here
        parts = beta_tcvae_parts_by_hand(q.distribution.loc.numpy(), q.distribution.scale.numpy(), z.numpy(), log_p,
                                         objective.dataset_size)
        return (-log_px.mean(axis=0) + objective.alpha * parts["mutual_information"]
                + beta * parts["total_correlation"] + objective.gamma * parts["dimension_wise_kl"])
    try:
        kl = tfp.distributions.kl_divergence(q, p).numpy()
    except NotImplementedError:
        kl = (log_q - log_p).mean(axis=0)
        if isinstance(q, tfp.distributions.MultivariateNormalTriL) and isinstance(model.prior, StandardNormal):
            kl = tfp.distributions.kl_divergence(
                q, tfp.distributions.MultivariateNormalDiag(tf.zeros([model.prior.latent_dim]))).numpy()
    np.testing.assert_allclose(model.prior.kl(q, z), kl, rtol=1e-5, atol=1e-5)  # the prior's own KL agrees
    if objective.prior_draws:  # InfoVAE: the weighted KL and the MMD in loops
        return mmd_loss_by_hand(objective, z.numpy(), prior_z, log_px, kl)
    penalty = np.abs(kl - float(objective.capacity)) if isinstance(objective, Capacity) else kl
    if objective.free_bits:
        per_variable = model.prior.kl_per_variable(q)
        penalty = (np.maximum(kl, objective.free_bits * model.prior.latent_dim) if per_variable is None
                   else np.maximum(per_variable.numpy(), objective.free_bits).sum(-1))
    if isinstance(objective, DIPVAE):  # the ELBO's, plus DIP's penalty on the whole of x
        covariances = (q.covariance().numpy() if isinstance(q, tfp.distributions.MultivariateNormalTriL)
                       else np.stack([np.diag(v) for v in q.variance().numpy()]))
        penalty_dip = dip_penalty_by_hand(q.mean().numpy(), covariances, objective.kind, objective.lambda_od,
                                          objective.diagonal_weight)
        return -log_px.mean(axis=0) + beta * penalty + penalty_dip
    return -log_px.mean(axis=0) + beta * penalty


def check_combination(combination, images, tmp_path, reload):
    keras.utils.set_random_seed(0)
    x = data_for(combination["likelihood"], images)
    config = variant(combination)
    model = build(config)
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
        recipe = Recipe(name="combination", description="test", model=config,
                        train=TrainConfig(dataset="mnist", log_likelihood_samples=LOG_LIKELIHOOD_SAMPLES,
                                          binarization=binarization))
        path = export(model, str(tmp_path / "exports" / recipe.name), config=recipe.to_dict(), metrics={},
                      name=recipe.name)
        assert_export_matches_model(model, path, tmp_path, samples=LOG_LIKELIHOOD_SAMPLES, rtol=1e-4, atol=1e-4)


def pair_exports(combinations):
    """One combination per posterior x prior pair (an MLP where there is one), but the default
    pair, which the driver's model cases export with several likelihoods."""
    chosen = {}
    for c in sorted(combinations, key=lambda c: c["network"] != "mlp"):
        pair = (c["posterior"], c["prior"])
        if pair != ("diagonal_normal", "standard_normal") and pair not in chosen:
            chosen[pair] = name(c)
    return set(chosen.values())


PAIRS_RELOADED = [c for c in COVER if name(c) in pair_exports(COVER)]


def test_the_cover_is_pairwise_complete_and_smaller():
    assert set().union(*map(cover_items, ALL)) == set().union(*map(cover_items, COVER))
    assert len(COVER) < len(ALL)
    refused = [dict(zip(BLOCKS, values)) for values in itertools.product(*BLOCKS.values())
               if dict(zip(BLOCKS, values)) not in ALL]
    for index in np.random.default_rng(0).choice(len(refused), 10, replace=False):  # the rules, asked as VAEConfig asks
        with pytest.raises(ConfigError):
            variant(refused[index])
    for role, registry in (("network", NETWORKS), ("posterior", POSTERIORS), ("prior", PRIORS),
                           ("likelihood", LIKELIHOODS)):
        assert {c[role] for c in ALL} == set(registry.names()) - LABEL_BLOCKS, role
    assert {OBJECTIVE_SETTINGS[c["objective"]]["type"] for c in ALL} == set(OBJECTIVES.names()) - LABEL_BLOCKS
    assert set(OBJECTIVE_SETTINGS) - set(OBJECTIVES.names()) == {"elbo_beta_free_bits"}


@pytest.mark.parametrize("combination", COVER, ids=name)
def test_combination_trains_and_reports_its_objective(combination, mnist_images, tmp_path):
    """Every block's export is checked once by the driver's model cases (tests/driver_cases.py)."""
    check_combination(combination, mnist_images, tmp_path, reload=False)


@pytest.mark.slow
@pytest.mark.parametrize("combination", SLOW_ONLY, ids=name)
def test_every_other_combination(combination, mnist_images, tmp_path):
    check_combination(combination, mnist_images, tmp_path, reload=True)


@pytest.mark.slow
@pytest.mark.parametrize("combination", PAIRS_RELOADED, ids=name)
def test_each_posterior_prior_pair_exports(combination, mnist_images, tmp_path):
    check_combination(combination, mnist_images, tmp_path, reload=True)
