"""What the shared driver (tests/driver.py) runs on: every registered block with the small
arguments it needs, and a few small models of every kind that between them hold every
registered block. tests/test_driver_coverage.py fails when a block or a kind of model has no
case here."""

import importlib
import inspect
import pkgutil

import numpy as np
import tf_keras as keras

from driver import ModelCase
from tighter_bounds_by_hand import TINY_ARGUMENTS
from zoo.config import VAEConfig, VQVAEConfig
from zoo.models.builder import build
from zoo.registry import Registry

# The smallest arguments each registered block type needs (the rest take their defaults).
BLOCK_ARGUMENTS = {
    ("posterior", "diagonal_normal"): {"latent_dim": 3}, ("posterior", "full_normal"): {"latent_dim": 3},
    ("posterior", "categorical"): {"latent_dim": 3, "categories": 4}, ("posterior", "joint"): {"latent_dim": 3, "categories": 4},
    ("posterior", "ladder"): {"latent_dim": 3, "hidden_units": (8,)},
    ("posterior", "von_mises_fisher"): {"latent_dim": 3}, ("posterior", "power_spherical"): {"latent_dim": 3},
    ("posterior", "poincare_wrapped_normal"): {"latent_dim": 2},
    ("posterior", "gamma"): {"latent_dim": 3},
    ("posterior", "iaf"): {"latent_dim": 3, "hidden_units": (8,), "context_size": 2},
    ("posterior", "normalizing_flow"): {"latent_dim": 3, "flows": ("planar", "radial")},
    ("posterior", "hamiltonian"): {"latent_dim": 3, "leapfrog_steps": 2}, ("posterior", "point_mass"): {"latent_dim": 3},
    ("posterior", "hamiltonian"): {"latent_dim": 3, "leapfrog_steps": 2},
    ("posterior", "riemannian_hamiltonian"): {"latent_dim": 2, "leapfrog_steps": 1, "fixed_point_steps": 2,
                                              "centroids": 4, "step_size": 0.05},
    ("prior", "top_down"): {"top": {"type": "vamp", "components": 2}},
    ("prior", "mixture"): {"components": 2}, ("prior", "vamp"): {"components": 2},
    ("likelihood", "gaussian"): {"sigma": "per_pixel"},
    ("objective", "iwae"): {"samples": 2}, ("objective", "beta_tcvae"): {"dataset_size": 6},
    ("objective", "dip_vae"): {"kind": "ii"},
    ("condition", "class_label"): {"classes": 3}, ("condition", "vector"): {"size": 3},
    ("quantizer", "vector_quantizer"): {"codebook_size": 6, "code_dim": 3},
    ("quantizer", "vector_quantizer_ema"): {"codebook_size": 6, "code_dim": 3},
    ("quantizer", "hierarchical_residual_quantizer"): {"codebook_size": 3, "code_dim": 3, "depth": 2},
    ("code_prior", "pixelcnn"): {"filters": 8, "blocks": 1},
    ("adversary", "total_correlation"): {"hidden_units": (8,)}, ("adversary", "prior_matching"): {"hidden_units": (8,)},
    ("adversary", "vae_gan"): {"hidden_units": (8,)},
}
BLOCK_ARGUMENTS.update({("objective", kind): arguments for kind, arguments in TINY_ARGUMENTS.items()})


def block_registries():
    """{role: Registry} of every registry of blocks in zoo.layers and zoo.objectives, found by
    walking the modules (a new registry is found without an edit here)."""
    import zoo.layers

    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(zoo.layers.__path__, "zoo.layers.")]
    modules.append(importlib.import_module("zoo.objectives"))
    found = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Registry):
                found[value.field] = value
    return found


def registered_blocks():
    """[(role, type name, class)] of every registered block."""
    return [(role, name, registry.get(name)) for role, registry in sorted(block_registries().items())
            for name in registry.names()]


def model_kinds():
    """The names of the zoo's kinds of model: every Keras model class in zoo.models that Keras
    can deserialize by name (a base class that is never built alone is not registered)."""
    import zoo.models

    kinds = set()
    for info in pkgutil.walk_packages(zoo.models.__path__, "zoo.models."):
        for cls in vars(importlib.import_module(info.name)).values():
            if (inspect.isclass(cls) and issubclass(cls, keras.Model) and cls.__module__.startswith("zoo.")
                    and keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is cls):
                kinds.add(cls.__name__)
    return kinds


def _blocks_of(config):
    """{(registry, type)} of a VAEConfig or VQVAEConfig, blocks inside blocks too (TopDown's top
    prior); M2's classifier is a network."""
    def specs(role, spec):
        yield role, spec["type"]
        for value in spec.values():
            if isinstance(value, dict) and "type" in value:
                yield from specs(role, value)

    roles = config.BLOCKS + getattr(config, "OPTIONAL_BLOCKS", ())
    samplers = config.sampler_specs() if isinstance(config, VAEConfig) else ()
    return frozenset([*(block for role in roles if getattr(config, role) is not None
                        for block in specs("network" if role == "classifier" else role, getattr(config, role))),
                      *(("samplers", spec["type"]) for spec in samplers)])


def _case(name, config, **options):
    kind = "VQVAE" if isinstance(config, VQVAEConfig) else "SemiSupervisedVAE" if config.classifier else \
        "AdversarialVAE" if config.adversary else "VAE"
    return ModelCase(name, kind, lambda: build(config), blocks=_blocks_of(config), **options)


MLP, CONV = {"type": "mlp", "hidden_units": (16,)}, {"type": "conv", "conv_filters": (4, 8)}
LATENT = {"type": "diagonal_normal", "latent_dim": 3}
SAMPLERS_CASE = VAEConfig(
    network=MLP, posterior=LATENT, likelihood={"type": "gaussian", "sigma": 0.3},
    objective={"type": "beta_tcvae", "dataset_size": 8},
    samplers=({"type": "gaussian_mixture", "components": 2}, {"type": "two_stage", "hidden_units": (8,), "epochs": 2},
              {"type": "flow", "layers": 2, "hidden_units": (8,), "epochs": 2}))


def _fitted_samplers(config):
    """The model of `config`, its samplers fitted to the codes of 16 random images: each
    sampler's weights then differ from their initial values, so a reload that lost them fails."""
    model = build(config)
    model.fit_samplers(np.random.default_rng(0).random((16, *model.image_shape)).astype("float32"), verbose=False)
    return model


def _fitted_metric(config):
    """The model of `config`, its RHVAE metric kept from 16 random images (`fit_after_training`):
    inference then uses the kept weights, so a reload that lost them fails."""
    model = build(config)
    model.fit_after_training(np.random.default_rng(0).random((16, *model.image_shape)).astype("float32"), 16, 1e-3, 0,
                             verbose=False)
    return model


RHVAE_CASE = VAEConfig(network=MLP, posterior={"type": "riemannian_hamiltonian",
                                               **BLOCK_ARGUMENTS[("posterior", "riemannian_hamiltonian")]})

# Few models, each holding several blocks, so that between them they hold every registered
# block (and each form of the Gaussian's sigma, both networks, both kinds of condition).
MODEL_CASES = (
    _case("vae_conv_ladder_vamp_bernoulli", VAEConfig(
        network=CONV, posterior={"type": "ladder", "latent_dim": 3, "layers": 2, "hidden_units": (8,)},
        prior={"type": "top_down", "top": {"type": "vamp", "components": 3}})),
    _case("vae_mlp_categorical_continuous_bernoulli", VAEConfig(
        network=MLP, posterior={"type": "categorical", "latent_dim": 3, "categories": 4}, prior="uniform_categorical",
        likelihood="continuous_bernoulli")),
    _case("vae_mlp_class_label_categorical256_dip_vae", VAEConfig(
        network=MLP, posterior=LATENT, prior="conditional_normal", likelihood="categorical256",
        condition={"type": "class_label", "classes": 3}, objective={"type": "dip_vae", "kind": "ii"})),
    _case("vae_conv_full_normal_mixture_gaussian_per_pixel_iwae", VAEConfig(
        network=CONV, posterior={"type": "full_normal", "latent_dim": 3}, prior={"type": "mixture", "components": 3},
        likelihood={"type": "gaussian", "sigma": "per_pixel"}, objective={"type": "iwae", "samples": 2})),
    _case("vae_conv_iaf_vector_discretized_logistic", VAEConfig(
        network=CONV, posterior={"type": "iaf", "latent_dim": 3, "hidden_units": (8,), "context_size": 2},
        likelihood="discretized_logistic", condition={"type": "vector", "size": 3})),
    # Issue 27's posteriors, each with one of its objectives (one objective per model).
    _case("vae_mlp_planar_radial_flow_miwae", VAEConfig(
        network=MLP, posterior={"type": "normalizing_flow", "latent_dim": 3, "flows": ("planar", "radial")},
        objective={"type": "miwae", **TINY_ARGUMENTS["miwae"]})),
    _case("vae_mlp_hamiltonian_mixture_piwae", VAEConfig(  # PIWAE: the mixture's weights take the decoder's bound
        network=MLP, posterior={"type": "hamiltonian", "latent_dim": 3, "leapfrog_steps": 2},
        prior={"type": "mixture", "components": 2}, objective={"type": "piwae", **TINY_ARGUMENTS["piwae"]})),
    _case("vae_mlp_von_mises_fisher_iwae", VAEConfig(
        network=MLP, posterior={"type": "von_mises_fisher", "latent_dim": 3}, prior="spherical_uniform",
        objective={"type": "iwae", "samples": 2})),
    _case("vae_mlp_power_spherical_class_label_capacity", VAEConfig(
        network=MLP, posterior={"type": "power_spherical", "latent_dim": 3}, prior="spherical_uniform",
        condition={"type": "class_label", "classes": 3}, objective={"type": "capacity", **TINY_ARGUMENTS["capacity"]})),
    _case("vae_mlp_poincare_ciwae", VAEConfig(
        network=MLP, posterior={"type": "poincare_wrapped_normal", "latent_dim": 2, "curvature": 0.5},
        prior={"type": "poincare_wrapped_normal", "curvature": 0.5},
        objective={"type": "ciwae", **TINY_ARGUMENTS["ciwae"]})),
    # Issue 29's Gamma latents (PyTorch-VAE's Gamma VAE), with free bits: the prior's KL per latent.
    _case("vae_mlp_gamma_free_bits", VAEConfig(
        network=MLP, posterior={"type": "gamma", "latent_dim": 3}, prior={"type": "gamma", "concentration": 2.0},
        objective={"type": "elbo", "free_bits": 0.1})),
    # Issue 28's MS-SSIM cost (8x8: two scales of a 3x3 filter), a likelihood that is not a density.
    _case("vae_mlp_ms_ssim", VAEConfig(network=MLP, posterior=LATENT, likelihood="ms_ssim")),
    ModelCase("vae_mlp_riemannian_hamiltonian_fitted", "VAE", lambda: _fitted_metric(RHVAE_CASE),
              blocks=_blocks_of(RHVAE_CASE)),
    # Issue 28's MMD objectives (one objective per model): WAE-MMD with a deterministic encoder
    # (the paper's) and a conditional prior (its draws of p(z|y)), InfoVAE with the VampPrior.
    _case("vae_mlp_point_mass_class_label_wae_mmd", VAEConfig(
        network=MLP, posterior={"type": "point_mass", "latent_dim": 3}, prior="conditional_normal",
        condition={"type": "class_label", "classes": 3}, objective={"type": "wae_mmd"})),
    _case("vae_mlp_vamp_info_vae", VAEConfig(
        network=MLP, posterior=LATENT, prior={"type": "vamp", "components": 2}, objective={"type": "info_vae"})),
    # Issue 29's models of PyTorch-VAE, in one case: SWAE's objective with a deterministic encoder
    # (the paper's) and the log-cosh reconstruction cost (no likelihood: no elbo signature).
    _case("vae_mlp_point_mass_log_cosh_swae", VAEConfig(
        network=MLP, posterior={"type": "point_mass", "latent_dim": 3}, likelihood="log_cosh",
        objective={"type": "swae", "projections": 5})),
    # JointVAE: the joint posterior and prior, and the capacity of each part.
    _case("vae_mlp_joint_capacity", VAEConfig(
        network=MLP, posterior={"type": "joint", "latent_dim": 3, "categories": 4}, prior="joint",
        objective={"type": "joint_capacity", "capacity_epochs": 2})),
    ModelCase("vae_mlp_gaussian_fixed_beta_tcvae_samplers", "VAE", lambda: _fitted_samplers(SAMPLERS_CASE),
              blocks=_blocks_of(SAMPLERS_CASE)),
    _case("m2_conv_classifier", VAEConfig(
        network=MLP, posterior=LATENT, condition={"type": "class_label", "classes": 3},
        classifier={"type": "conv", "conv_filters": (4, 8)}, objective="semi_supervised")),
    _case("vq_vae", VQVAEConfig(image_shape=(8, 8, 1), network=CONV, quantizer=BLOCK_ARGUMENTS[
        ("quantizer", "vector_quantizer")] | {"type": "vector_quantizer"}, code_prior={"type": "pixelcnn", "filters": 8,
                                                                                      "blocks": 1}),
          frozen=("prior",)),
    _case("vq_vae_ema", VQVAEConfig(image_shape=(8, 8, 1), network=CONV, quantizer=BLOCK_ARGUMENTS[
        ("quantizer", "vector_quantizer_ema")] | {"type": "vector_quantizer_ema"},
        likelihood="discretized_logistic", code_prior={"type": "pixelcnn", "filters": 8, "blocks": 1}),
          frozen=("prior",)),
    # Issue 29's adversaries: FactorVAE keeps the VAE's signatures, the AAE serves its generative ones only.
    _case("factor_vae_mlp", VAEConfig(network=MLP, posterior=LATENT, adversary={
        "type": "total_correlation", "hidden_units": (8,)})),
    _case("aae_mlp", VAEConfig(network=MLP, posterior=LATENT, objective={"type": "elbo", "beta": 0.0},
                               adversary={"type": "prior_matching", "hidden_units": (8,)})),
    # The VAE-GAN's discriminator looks at images: no likelihood, generative signatures only. Without its
    # balance (margin None), which may pause the decoder in the driver's one step (tests/test_vae_gan.py has it).
    _case("vae_gan_mlp", VAEConfig(network=MLP, posterior=LATENT, adversary={
        "type": "vae_gan", "hidden_units": (8,), "margin": None})),
    _case("hrq_vae", VQVAEConfig(image_shape=(8, 8, 1), network=CONV, quantizer=BLOCK_ARGUMENTS[
        ("quantizer", "hierarchical_residual_quantizer")] | {"type": "hierarchical_residual_quantizer"},
        code_prior={"type": "pixelcnn", "filters": 8, "blocks": 1}), frozen=("prior",)),
)

# Issue 28: a deterministic encoder (point mass, no likelihood: no elbo or log_likelihood
# signature) with RAE's gradient penalty and a fitted Gaussian mixture to sample from; and the
# plain autoencoder objective on a Gaussian posterior (a likelihood: the model reports the KL).
POINT_MASS_CASE = VAEConfig(network=MLP, posterior={"type": "point_mass", "latent_dim": 3},
                            objective={"type": "rae", "kind": "gp"},
                            samplers=({"type": "gaussian_mixture", "components": 2},))
MODEL_CASES += (ModelCase("vae_mlp_point_mass_rae_gp_samplers", "VAE", lambda: _fitted_samplers(POINT_MASS_CASE),
                          blocks=_blocks_of(POINT_MASS_CASE)),
                _case("vae_mlp_diagonal_normal_autoencoder", VAEConfig(network=MLP, posterior=LATENT,
                                                                       objective="autoencoder")))


def _user_networks_vae():
    """A VAE of a user's own conv networks (BatchNorm, a registered residual layer) on 32x32x3
    images, composed in Python as tests/test_composition.py composes it."""
    import user_networks
    import zoo

    posterior = zoo.DiagonalNormal(latent_dim=8)
    return zoo.VAE(user_networks.encoder(posterior.params_size), posterior, user_networks.decoder(8, 3),
                   zoo.Gaussian(sigma="learned"), prior=zoo.StandardNormal(), objective=zoo.ELBO(warmup_epochs=4))


MODEL_CASES += (ModelCase("vae_user_networks_32x32x3", "VAE", _user_networks_vae, blocks=frozenset({
    ("posterior", "diagonal_normal"), ("prior", "standard_normal"), ("likelihood", "gaussian"),
    ("objective", "elbo")})),)


def _toy(critic):
    """The kinds defined only in the tests (tests/toy_kinds.py), through their config and builder."""
    import toy_kinds

    return build(toy_kinds.AutoencoderConfig(critic=critic))


MODEL_CASES += (ModelCase("toy_autoencoder", "Autoencoder", lambda: _toy(False)),
                ModelCase("toy_critic_autoencoder", "CriticAutoencoder", lambda: _toy(True)))
CASES = {case.name: case for case in MODEL_CASES}
