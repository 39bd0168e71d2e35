"""Validated configs: a variant (`VAEConfig`), how to train it (`TrainConfig`), and a `Recipe`.

Every field is checked when the object is made, so a bad value fails before any data is
loaded, with a `ConfigError` naming the field, the value and what is allowed.
"""

import dataclasses
import json
import math
from typing import Union

from zoo.errors import ConfigError

ACTIVATIONS = ("relu", "elu", "gelu", "swish", "tanh", "softplus", "leaky_relu")
BINARIZATIONS = ("dynamic", "static", "none")
INITIALIZERS = ("glorot_uniform", "fan_in_uniform")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """One VAE variant: which block sits at each arrow of the model, and its sizes.

    Args:
        image_shape: (height, width, channels) of the data; recipes take it from the dataset.
        network: encoder/decoder torso, a name in `zoo.networks.NETWORKS`.
        hidden_units: widths of the MLP's hidden layers (encoder; the decoder mirrors them).
        conv_filters: filters of the conv encoder's stride-2 layers (the decoder mirrors them).
        activation: nonlinearity of every hidden layer.
        initializer: weights' initial distribution: "glorot_uniform" (Keras' default) or
            "fan_in_uniform" (U(+-1/sqrt(fan_in)), PyTorch's default for Linear and Conv;
            it trains the MNIST MLP ~2 nats further in 2 epochs, benchmarks/README.md).
        latent: posterior q(z|x), a name in `zoo.posteriors.POSTERIORS`.
        latent_dim: number of latent variables (for "categorical", of K-way variables).
        categories: K, the number of values of each categorical latent.
        temperature, min_temperature, temperature_decay: the relaxed one-hot (Gumbel-softmax)
            temperature of categorical latents, max(min, temperature * exp(-decay * epoch)).
        prior: p(z), a name in `zoo.priors.PRIORS`.
        prior_components: mixture components of the "mixture" prior, pseudo-inputs of
            the "vamp" prior.
        likelihood: observation model p(x|z), a name in `zoo.likelihoods.LIKELIHOODS`.
        sigma: Gaussian likelihood's scale: a positive number (fixed), "learned" (one
            trainable scale) or "per_pixel" (a trainable scale per pixel and channel).
        objective: training objective, a name in `zoo.objectives.OBJECTIVES`.
        beta: weight of the KL term (1.0 gives the ELBO).
        kl_warmup_epochs: ramp the KL weight linearly from 0 to beta over this many epochs.
        free_bits: nats of KL per latent variable that cost nothing (Kingma et al. 2016).
        samples: draws of z per example: averaged by "elbo", importance-weighted by "iwae".
        aggregate_posterior_components: if > 0, fit a Gaussian mixture with this many
            components to the encoded training set after training and export a sampler
            from it (`sample_aggregate_posterior`).

    Example:
        VAEConfig(network="conv", likelihood="gaussian", sigma="learned", latent_dim=16)
    """

    image_shape: tuple = (28, 28, 1)
    network: str = "mlp"
    hidden_units: tuple = (400,)
    conv_filters: tuple = (32, 64)
    activation: str = "relu"
    initializer: str = "glorot_uniform"
    latent: str = "diagonal_normal"
    latent_dim: int = 20
    categories: int = 10
    temperature: float = 1.0
    min_temperature: float = 0.5
    temperature_decay: float = 0.03
    prior: str = "standard_normal"
    prior_components: int = 10
    likelihood: str = "bernoulli"
    sigma: Union[float, str] = "learned"
    objective: str = "elbo"
    beta: float = 1.0
    kl_warmup_epochs: int = 0
    free_bits: float = 0.0
    samples: int = 1
    aggregate_posterior_components: int = 0

    def __post_init__(self):
        from zoo import likelihoods, networks, objectives, posteriors, priors

        _check_int_tuple("image_shape", self.image_shape, length=3)
        for registry, name in (
            (networks.NETWORKS, self.network),
            (posteriors.POSTERIORS, self.latent),
            (priors.PRIORS, self.prior),
            (likelihoods.LIKELIHOODS, self.likelihood),
            (objectives.OBJECTIVES, self.objective),
        ):
            registry.get(name)
        _check_int_tuple("hidden_units", self.hidden_units)
        _check_int_tuple("conv_filters", self.conv_filters)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("initializer", self.initializer, INITIALIZERS)
        _check_positive("latent_dim", self.latent_dim, int)
        if self.sigma not in likelihoods.Gaussian.LEARNED:
            _check_positive("sigma", self.sigma, float, allowed='a finite number > 0, "learned" or "per_pixel"')
        _check_positive("categories", self.categories, int)
        if self.categories < 2:
            raise ConfigError("categories", self.categories, "an integer >= 2")
        _check_positive("temperature", self.temperature, float)
        _check_positive("min_temperature", self.min_temperature, float)
        _check_nonnegative("temperature_decay", self.temperature_decay)
        _check_positive("prior_components", self.prior_components, int)
        _check_nonnegative("beta", self.beta)
        _check_nonnegative("kl_warmup_epochs", self.kl_warmup_epochs, int)
        _check_nonnegative("free_bits", self.free_bits)
        _check_positive("samples", self.samples, int)
        _check_nonnegative("aggregate_posterior_components", self.aggregate_posterior_components, int)
        networks.NETWORKS.get(self.network).check(self)
        priors.PRIORS.get(self.prior).check(self)
        objectives.OBJECTIVES.get(self.objective).check(self)
        if self.aggregate_posterior_components and not posteriors.POSTERIORS.get(self.latent).continuous:
            raise ConfigError("aggregate_posterior_components", self.aggregate_posterior_components,
                              f"0 for the discrete latent '{self.latent}' (a Gaussian mixture needs "
                              "continuous codes)")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a recipe trains: data, schedule and optimizer.

    Args:
        dataset: a name in `zoo.data.DATASETS`.
        binarization: "dynamic" (pixels resampled as Bernoulli draws every epoch, the
            usual choice for Bernoulli models), "static" (sampled once) or "none" (grey
            levels in [0, 1], for Gaussian models). Unless "none", the test set is binarized
            once with a fixed seed, so test numbers are comparable between runs.
        epochs, batch_size, learning_rate: Adam on the mean per-example loss.
        jit_compile: compile the training loop with XLA (about 2x faster on CPU).
        steps_per_execution: training steps run per call of the compiled loop, with no
            Python between them (Keras reports progress after each call).
        precision: "float32", or "mixed_float16" (GPU) / "mixed_bfloat16" (TPU, recent
            CPUs) to run the networks in 16 bits; distribution layers stay float32.
        seed: seeds weights, shuffling, binarization and latent samples.
        log_likelihood_samples: importance samples per example in the exported
            `log_likelihood` signature (5000 as in the IWAE paper's evaluation).
    """

    dataset: str = "mnist"
    binarization: str = "dynamic"
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    jit_compile: bool = True
    steps_per_execution: int = 100
    precision: str = "float32"
    seed: int = 0
    log_likelihood_samples: int = 5000

    def __post_init__(self):
        from zoo import data

        data.DATASETS.get(self.dataset)
        _check_choice("binarization", self.binarization, BINARIZATIONS)
        _check_positive("epochs", self.epochs, int)
        _check_positive("batch_size", self.batch_size, int)
        _check_positive("learning_rate", self.learning_rate, float)
        if not isinstance(self.jit_compile, bool):
            raise ConfigError("jit_compile", self.jit_compile, "true or false")
        _check_positive("steps_per_execution", self.steps_per_execution, int)
        _check_choice("precision", self.precision, PRECISIONS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", self.seed, "an integer >= 0")
        _check_positive("log_likelihood_samples", self.log_likelihood_samples, int)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named variant trained on one dataset; `smoke` holds tiny overrides for tests."""

    name: str
    description: str
    model: VAEConfig
    train: TrainConfig
    smoke: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        from zoo import data, likelihoods

        dataset = data.DATASETS.get(self.train.dataset)
        if self.model.image_shape != dataset.image_shape:
            object.__setattr__(self, "model", dataclasses.replace(self.model, image_shape=dataset.image_shape))
        levels = likelihoods.LIKELIHOODS.get(self.model.likelihood).levels
        if levels is not None and dataset.levels != levels:
            fitting = [name for name in data.DATASETS.names() if data.DATASETS.get(name).levels == levels]
            raise ConfigError("likelihood", self.model.likelihood,
                              f"a likelihood for '{dataset.name}' ({dataset.levels} pixel values); "
                              f"'{self.model.likelihood}' needs {levels}-level data ({', '.join(fitting)})")
        if levels is not None and self.train.binarization != "none":
            raise ConfigError("binarization", self.train.binarization,
                              f"'none' for the {levels}-level likelihood '{self.model.likelihood}' "
                              "(binarized pixels would throw its levels away)")

    def with_overrides(self, overrides):
        """A copy with `{field: value}` applied; string values are parsed by field type."""
        changes = {"model": {}, "train": {}}
        for key, value in overrides.items():
            section = _section_of(key)
            current = getattr(getattr(self, section), key)
            changes[section][key] = parse_value(key, value, current) if isinstance(value, str) else value
        train = dataclasses.replace(self.train, **changes["train"])
        if "image_shape" in changes["model"]:  # the dataset sets it: refuse, don't ignore, another
            from zoo import data

            expected = data.DATASETS.get(train.dataset).image_shape
            if tuple(changes["model"]["image_shape"]) != tuple(expected):
                raise ConfigError("image_shape", changes["model"]["image_shape"],
                                  f"{expected}, the shape of '{train.dataset}' images (it follows the dataset)")
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **changes["model"]), train=train)

    def scaled(self, factor):
        """The recipe trained `factor` times longer, for hardware faster than the 2 CPU cores
        the defaults are sized for: epochs and the epoch-based schedules (KL warm-up,
        temperature decay) stretch together."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
            raise ConfigError("--scale", factor, "a number > 0")
        model = dataclasses.replace(self.model, kl_warmup_epochs=round(self.model.kl_warmup_epochs * factor),
                                    temperature_decay=self.model.temperature_decay / factor)
        train = dataclasses.replace(self.train, epochs=max(1, round(self.train.epochs * factor)))
        return dataclasses.replace(self, model=model, train=train)

    @classmethod
    def from_dict(cls, config):
        """The recipe `to_dict` (and an export's config.json) describes; missing fields take defaults."""
        def build(kind, fields):
            return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        return cls(name=config["name"], description=config.get("description", ""),
                   model=build(VAEConfig, config["model"]), train=build(TrainConfig, config["train"]))

    def to_dict(self):
        return {"name": self.name, "description": self.description,
                "model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)


def field_names():
    return [f.name for f in dataclasses.fields(VAEConfig)] + [f.name for f in dataclasses.fields(TrainConfig)]


def _section_of(key):
    if key in {f.name for f in dataclasses.fields(VAEConfig)}:
        return "model"
    if key in {f.name for f in dataclasses.fields(TrainConfig)}:
        return "train"
    raise ConfigError("--set", key, ", ".join(field_names()))


def parse_value(field, text, current):
    """Parse `text` to the type of the field's current value (tuples as 'a,b,c')."""
    try:
        if isinstance(current, bool):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if isinstance(current, tuple):
            return tuple(int(part) for part in text.split(",") if part.strip())
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float) or field == "sigma":
            return float(text)
    except ValueError:
        if field == "sigma":  # "learned", "per_pixel": VAEConfig says what is allowed
            return text
        kind = "comma-separated integers" if isinstance(current, tuple) else type(current).__name__
        raise ConfigError(field, text, f"a value of type {kind}") from None
    return text


def _check_choice(field, value, allowed):
    if value not in allowed:
        raise ConfigError(field, value, ", ".join(allowed))


def _check_positive(field, value, kind, allowed=None):
    number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        number_ok = number_ok and isinstance(value, int)
    if not number_ok or not 0 < value < math.inf:
        raise ConfigError(field, value, allowed or f"{'an integer' if kind is int else 'a finite number'} > 0")


def _check_nonnegative(field, value, kind=float):
    bad_type = isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float))
    if bad_type or not 0 <= value < math.inf:
        raise ConfigError(field, value, "an integer >= 0" if kind is int else "a finite number >= 0")


def _check_int_tuple(field, value, length=None):
    ok = isinstance(value, tuple) and len(value) > 0 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok or (length is not None and len(value) != length):
        size = f"{length} " if length else "one or more "
        raise ConfigError(field, value, f"a tuple of {size}positive integers")
