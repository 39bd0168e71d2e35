"""`VAEConfig`: which block sits at each arrow of a VAE, each with its own arguments."""

import dataclasses
import typing
from typing import Optional

from zoo.checks import check_count
from zoo.config.blocks import block_arguments, make_block, normalize_block, spec_form
from zoo.config.kinds import ModelConfig, checked_image_shape, register_model_config
from zoo.config.rules import check_adversary, check_vae_blocks
from zoo.errors import ConfigError

PRIOR = "prior"  # the model's own p(z), always a VAE's sampler: needs no spec

BLOCKS = ("network", "posterior", "prior", "likelihood", "objective")
OPTIONAL_BLOCKS = ("condition", "classifier", "adversary")  # None unless conditional / semi-supervised / adversarial


@register_model_config
@dataclasses.dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """One VAE variant: which block sits at each arrow of the model, each with its arguments.

    Args:
        image_shape: (height, width, channels) of the data; recipes take it from the dataset.
        network: the encoder/decoder torsos, e.g. {"type": "mlp", "hidden_units": (400,)}
            (`zoo.layers.networks`).
        posterior: q(z|x), e.g. {"type": "diagonal_normal", "latent_dim": 20} (`zoo.layers.posteriors`).
        prior: p(z), e.g. {"type": "vamp", "components": 200} (`zoo.layers.priors`).
        likelihood: p(x|z), e.g. {"type": "gaussian", "sigma": "learned"} (`zoo.layers.likelihoods`).
        objective: e.g. {"type": "elbo", "beta": 1.0, "warmup_epochs": 10} (`zoo.objectives`).
        samplers: post-hoc samplers fitted to the encoded training set after training, each
            served as its own signature, e.g. ({"type": "gaussian_mixture", "components": 10},
            "two_stage", "flow") (`zoo.layers.samplers`; "prior", the model's own, is always there).
        aggregate_posterior_components: the earlier way to ask for one sampler: if > 0, a
            {"type": "gaussian_mixture", "components": N} beside `samplers`.
        condition: None, or what y is for a conditional VAE, e.g. {"type": "class_label",
            "classes": 10} (`zoo.layers.conditions`): the networks and the signatures take y.
        classifier: None, or the network of q(y|x) for the semi-supervised M2 (with the
            objective "semi_supervised" and a "class_label" condition), e.g. {"type": "mlp"}.
        adversary: None, or a discriminator on z or x trained in the same `fit` (`zoo.layers.adversaries`):
            {"type": "total_correlation", "gamma": 10.0} (FactorVAE), "prior_matching" (the AAE) or
            "vae_gan" (the VAE-GAN: a discriminator of images, reconstruction in its features).

    A block spec is `{"type": name, **arguments}`; a name alone ("vamp") is the shorthand for
    `{"type": "vamp"}` (its arguments take their defaults). Making the config checks its form
    without TensorFlow; `check()` (which `zoo.build` and `zoo train` run) checks the blocks
    against their registries and against each other (`zoo.config.rules`).

    Example:
        VAEConfig(network={"type": "conv"}, posterior={"type": "diagonal_normal", "latent_dim": 16},
                  likelihood={"type": "gaussian", "sigma": "learned"})
    """

    kind = "vae"
    BLOCKS, OPTIONAL_BLOCKS = BLOCKS, OPTIONAL_BLOCKS

    @property
    def label_use(self):
        """"semi_supervised" with a classifier (M2), "condition" with a condition, else "none"."""
        return "semi_supervised" if self.classifier else "condition" if self.condition else "none"

    image_shape: tuple = (28, 28, 1)
    network: dict = dataclasses.field(default_factory=lambda: {"type": "mlp"})
    posterior: dict = dataclasses.field(default_factory=lambda: {"type": "diagonal_normal", "latent_dim": 20})
    prior: dict = dataclasses.field(default_factory=lambda: {"type": "standard_normal"})
    likelihood: dict = dataclasses.field(default_factory=lambda: {"type": "bernoulli"})
    objective: dict = dataclasses.field(default_factory=lambda: {"type": "elbo"})
    aggregate_posterior_components: int = 0
    samplers: typing.Union[tuple, str] = ()  # str: kinds separated by commas (`--set samplers=two_stage,flow`)
    condition: Optional[dict] = None
    classifier: Optional[dict] = None
    adversary: Optional[dict] = None

    def __post_init__(self):
        object.__setattr__(self, "image_shape", checked_image_shape(self.image_shape))
        for role in self.roles():
            if getattr(self, role) is not None or role in BLOCKS:
                object.__setattr__(self, role, spec_form(role, getattr(self, role)))
        check_count("aggregate_posterior_components", self.aggregate_posterior_components, minimum=0)
        samplers = tuple(self.samplers.split(",")) if isinstance(self.samplers, str) else \
            (self.samplers,) if isinstance(self.samplers, dict) else self.samplers
        if not isinstance(samplers, (tuple, list)):
            raise ConfigError("samplers", samplers, 'a list of sampler specs, e.g. ("gaussian_mixture", "flow")')
        object.__setattr__(self, "samplers", tuple(spec_form("samplers", spec) for spec in samplers
                                                   if spec != PRIOR and spec != {"type": PRIOR}))

    def sampler_specs(self):
        """Every sampler asked for: `samplers`, and a Gaussian mixture if `aggregate_posterior_components`."""
        extra = ({"type": "gaussian_mixture", "components": self.aggregate_posterior_components},) \
            if self.aggregate_posterior_components else ()
        return self.samplers + extra

    def make_samplers(self):
        """The sampler objects of `sampler_specs()` (unfitted), checked against their registry."""
        from zoo.layers.samplers import SAMPLERS

        return [SAMPLERS.make(spec, "samplers") for spec in self.sampler_specs()]

    def check(self):
        import tensorflow as tf

        with tf.Graph().as_default():  # constructed only to be checked: no TensorFlow runtime started
            self.blocks()
        return self

    def blocks(self):
        """{role: block object} (the network as its factory), checked: what `zoo.build` composes."""
        specs = {role: normalize_block(role, getattr(self, role)) for role in self.roles() if getattr(self, role) is not None}
        made = {role: make_block(role, spec) for role, spec in specs.items()}
        samplers = [sampler.kind for sampler in self.make_samplers()]
        field = ("samplers", list(self.samplers)) if self.samplers else (
            "aggregate_posterior_components", self.aggregate_posterior_components)
        check_vae_blocks(made["posterior"], made["prior"], made["objective"], made.get("condition"),
                         made.get("classifier"), samplers, field)
        if "adversary" in made:
            check_adversary(made["adversary"], made["posterior"], made["objective"], made.get("condition"))
        made["network"].check(self.image_shape)
        made["objective"].check(made["posterior"])
        return made

    def scaled(self, factor):
        """This variant's epoch-based schedules (KL warm-up, capacity, temperature decay) stretched `factor` times."""
        objective, posterior = dict(self.objective), dict(self.posterior)
        for schedule in ("warmup_epochs", "capacity_epochs"):  # the KL weight's ramp, the capacity's
            if objective.get(schedule):
                objective[schedule] = round(objective[schedule] * factor)
        if "temperature_decay" in posterior or posterior["type"] == "categorical":
            decay = posterior.get("temperature_decay", block_arguments("posterior", posterior["type"])["temperature_decay"])
            posterior["temperature_decay"] = decay / factor
        return self.replace(objective=objective, posterior=posterior)
