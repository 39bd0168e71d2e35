"""Which blocks go together: the one place the zoo's compatibility rules live.

The rules read the block objects (their class attributes: `continuous`, `conditional`,
`one_pass_density`, `point_mass`, `prior_type`, `posterior_type`, an objective's `needs_density`) and their
registered names, so the config
path (`VAEConfig.blocks`) and a model composed from objects can ask the same function.
"""

from zoo.errors import ConfigError


def check_vae_blocks(posterior, prior, objective, condition=None, classifier=None, samplers=(),
                     samplers_field=("samplers", None)):
    """Refuse, in one line naming the field, blocks of a VAE that do not fit together.
    `samplers`: the kinds of its post-hoc samplers; `samplers_field`: (field, value) that
    named them, for the message ("aggregate_posterior_components" names a Gaussian mixture)."""
    from zoo.config.blocks import registries

    roles = registries()
    posterior_name, prior_name = roles["posterior"].name_of(posterior), roles["prior"].name_of(prior)
    objective_name = roles["objective"].name_of(objective)
    condition_name = roles["condition"].name_of(condition) if condition is not None else None
    _check_labels(prior, prior_name, objective_name, condition, condition_name, classifier)
    _check_point_mass(posterior, posterior_name, objective, objective_name, roles["objective"])
    if samplers:
        _check_samplers(posterior, posterior_name, condition, samplers, *samplers_field)
    if condition is not None and posterior.fits_after_training:
        raise ConfigError("condition", condition_name, f"none for the posterior '{posterior_name}' (it keeps the "
                                                       "training codes of an unconditional encoder after training)")
    priors = roles["prior"]
    if posterior.continuous != prior.continuous:
        allowed = [name for name in priors.names() if priors.get(name).continuous == posterior.continuous]
        raise ConfigError("prior", prior_name, f"a prior for posterior '{posterior_name}' ({', '.join(allowed)})")
    if getattr(posterior, "prior_type", None) not in (None, prior_name):
        raise ConfigError("prior", prior_name, f"'{posterior.prior_type}' for the posterior '{posterior_name}'"
                                               f"{posterior.prior_note}")
    if prior_name == "vamp" and not posterior.one_pass_density:
        raise ConfigError("prior", "vamp", f"standard_normal or mixture for the posterior '{posterior_name}' "
                          "(a VampPrior scores codes under q(z|u) at its pseudo-inputs; this posterior scores codes "
                          "it did not draw itself in one pass per latent, or not at all)")
    wanted = getattr(prior, "posterior_type", None) or ()  # a name, or a tuple of names
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    if wanted and posterior_name not in wanted:
        raise ConfigError("posterior", posterior_name, f"{' or '.join(map(repr, wanted))} for the prior '{prior_name}'")


def _check_point_mass(posterior, posterior_name, objective, objective_name, objectives):
    """A point-mass q(z|x) has no density: only objectives that use the draws alone take it."""
    if posterior.point_mass and objective.needs_density:
        allowed = [name for name in objectives.names() if not objectives.get(name).needs_density]
        raise ConfigError("objective", objective_name, f"one that uses only the codes for the posterior "
                          f"'{posterior_name}' (a point mass has no density or KL): {', '.join(allowed)}")


def _check_samplers(posterior, posterior_name, condition, samplers, field, value):
    """Post-hoc samplers are densities over one vector of continuous codes, fitted to all of them."""
    value = value if value is not None else list(samplers)
    if not posterior.euclidean:
        raise ConfigError(field, value, f"none for the posterior '{posterior_name}': its codes lie in part of R^d (a "
                                        f"sphere, a ball, z > 0) and a sampler ({', '.join(samplers)}) fits Euclidean codes")
    if not posterior.continuous or len(posterior.code_shape) != 1:
        raise ConfigError(field, value, f"none for the posterior '{posterior_name}': a sampler ({', '.join(samplers)}) "
                                        "needs continuous codes in one vector")
    if condition is not None:
        raise ConfigError(field, value, "none for a conditional VAE (its codes are fitted per condition: "
                                        "sample it from its prior p(z|y))")


def _check_labels(prior, prior_name, objective_name, condition, condition_name, classifier):
    """The conditional and semi-supervised choices fit together."""
    semi_supervised = objective_name == "semi_supervised"
    if prior.conditional and condition is None:
        raise ConfigError("prior", prior_name, "an unconditional prior, or set condition "
                          '(e.g. condition={"type": "class_label"}): it is p(z|y)')
    if condition is not None and prior_name == "vamp":
        raise ConfigError("prior", "vamp", "standard_normal, mixture or conditional_normal for a conditional "
                          "VAE (the VampPrior's pseudo-inputs have no labels)")
    if condition is not None and prior_name == "top_down":
        raise ConfigError("condition", condition_name, "None for a ladder VAE (its layers take no y)")
    if semi_supervised != (classifier is not None):
        raise ConfigError("classifier" if semi_supervised else "objective", None if semi_supervised else objective_name,
                          "a classifier network together with the objective 'semi_supervised' (M2), or neither")
    if classifier is not None and condition_name != "class_label":
        raise ConfigError("condition", condition_name, "a 'class_label' condition for the semi-supervised M2")


def check_vq_vae_blocks(network):
    """A VQ-VAE's network must give a grid of codes."""
    from zoo.config.blocks import registry

    if not hasattr(network, "grid_encoder"):
        networks = registry("network")
        grids = [name for name in networks.names() if hasattr(networks.get(name), "grid_encoder")]
        raise ConfigError("network", networks.name_of(network), f"a network with a grid of codes for a VQ-VAE "
                                                                f"({', '.join(grids)})")


def check_adversary(adversary, posterior, objective, condition=None):
    """An adversary (`zoo.layers.adversaries`) judges one vector of continuous codes of an
    unconditional model; one that replaces the KL (the AAE's) needs an objective charging none;
    one that judges images (the VAE-GAN's) reconstructs in its features inside the ELBO, so it
    needs the ELBO objective and a posterior with a density (its KL is charged)."""
    from zoo.config.blocks import registries

    roles = registries()
    name, posterior_name = roles["adversary"].name_of(adversary), roles["posterior"].name_of(posterior)
    if condition is not None:
        raise ConfigError("condition", roles["condition"].name_of(condition), f"None with the adversary '{name}'")
    if not (posterior.continuous and posterior.euclidean and len(posterior.code_shape) == 1):
        raise ConfigError("posterior", posterior_name, f"a posterior of one vector of Euclidean codes (e.g. "
                                                       f"diagonal_normal) for the adversary '{name}'")
    objective_name = roles["objective"].name_of(objective)
    if adversary.replaces_kl and (objective_name != "elbo" or objective.beta != 0):
        raise ConfigError("objective", objective_name if objective_name != "elbo" else f"elbo, beta {objective.beta:g}",
                          f'{{"type": "elbo", "beta": 0.0}} for the adversary \'{name}\' (its discriminator takes '
                          "the KL's place)")
    if adversary.looks_at == "images":
        if posterior.point_mass:
            raise ConfigError("posterior", posterior_name, f"one with a density (e.g. diagonal_normal) for the "
                                                           f"adversary '{name}' (its encoder's loss charges the KL)")
        if objective_name != "elbo":
            raise ConfigError("objective", objective_name, f"elbo for the adversary '{name}' (its reconstruction in the "
                                                           "discriminator's features takes -log p(x|z)'s place in the ELBO)")
