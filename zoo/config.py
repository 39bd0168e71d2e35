"""Validated configs: a variant (`VAEConfig`, or `VQVAEConfig` for a VQ-VAE), how to train it
(`TrainConfig`), and a `Recipe`.

A `VAEConfig` names each block with its own arguments, `{"type": "vamp", "components": 200}`,
and `zoo.build` turns it into the same objects a user would pass to `zoo.VAE`. Every field
is checked when the object is made (the blocks are constructed once to check them), so a bad
value fails before any data is loaded, with a `ConfigError` naming the field, the value and
what is allowed.
"""

import dataclasses
import inspect
import json
import typing
from typing import Optional

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError
from zoo.registry import Registry

BLOCKS = ("network", "posterior", "prior", "likelihood", "objective")
OPTIONAL_BLOCKS = ("condition", "classifier")  # None unless the model is conditional / semi-supervised
BINARIZATIONS = ("dynamic", "static", "none")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Names older configs and commands used for a block's argument (`--set beta=4` still works).
ALIASES = {"latent": "posterior.type", "prior_components": "prior.components",
           "kl_warmup_epochs": "objective.warmup_epochs"}


def registries():
    """Block role -> the registry of its types (imported here: they import TensorFlow)."""
    from zoo.layers.conditions import CONDITIONS
    from zoo.layers.likelihoods import LIKELIHOODS
    from zoo.layers.networks import NETWORKS
    from zoo.layers.posteriors import POSTERIORS
    from zoo.layers.priors import PRIORS
    from zoo.objectives import OBJECTIVES

    return {"network": NETWORKS, "posterior": POSTERIORS, "prior": PRIORS, "likelihood": LIKELIHOODS,
            "objective": OBJECTIVES, "condition": CONDITIONS, "classifier": NETWORKS}


def vq_registries():
    """The roles only a VQ-VAE has -> the registries of their types."""
    from zoo.layers.code_prior import CODE_PRIORS
    from zoo.layers.quantizer import QUANTIZERS

    return {"quantizer": QUANTIZERS, "code_prior": CODE_PRIORS}


def registry(role):
    """The registry of the block types of `role` (a VAE's or a VQ-VAE's)."""
    return {**registries(), **vq_registries()}[role]


def block_arguments(role, kind):
    """{argument: default} of the constructor of block type `kind` in `role`."""
    cls = registry(role).get(kind)
    arguments = {}
    for klass in cls.__mro__:  # subclasses pass **kwargs on to their base, up to Keras' (and TFP's) own
        if not klass.__module__.startswith("zoo.") or "__init__" not in vars(klass):
            continue
        for name, parameter in inspect.signature(klass.__init__).parameters.items():
            if name != "self" and parameter.kind == parameter.POSITIONAL_OR_KEYWORD:
                arguments.setdefault(name, parameter.default)
        if not any(p.kind == p.VAR_KEYWORD for p in inspect.signature(klass.__init__).parameters.values()):
            break
    return arguments


def normalize_block(role, value):
    """A block spec as {"type": name, **arguments}: a name alone is its type with defaults.
    Unknown types and arguments are refused with what is allowed."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict) or "type" not in value:
        raise ConfigError(role, value, f'a {role} type name or {{"type": name, ...arguments}}')
    kind = value["type"]
    registry(role).get(kind)  # a ConfigError listing the types
    allowed = block_arguments(role, kind)
    spec = {"type": kind}
    for name, argument in value.items():
        if name == "type":
            continue
        if name not in allowed:
            raise ConfigError(f"{role}.{name}", argument, f"an argument of {role} '{kind}': {', '.join(sorted(allowed))}")
        spec[name] = tuple(argument) if isinstance(argument, list) else argument
    for name, default in allowed.items():
        if default is inspect.Parameter.empty and name not in spec:
            raise ConfigError(f"{role}.{name}", None, f"a value: {role} '{kind}' needs it "
                                                      f'(e.g. {{"type": "{kind}", "{name}": ...}})')
    return spec


def make_block(role, spec):
    """The block object `spec` describes; its constructor's ConfigError names `role.field`."""
    arguments = {k: v for k, v in spec.items() if k != "type"}
    try:
        return registry(role).get(spec["type"])(**arguments)
    except ConfigError as error:
        field = error.field if error.field.startswith(f"{role}.") or error.field == "image_shape" else f"{role}.{error.field}"
        raise ConfigError(field, error.value, error.allowed) from None


@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """One VAE variant: which block sits at each arrow of the model, each with its arguments.

    Args:
        image_shape: (height, width, channels) of the data; recipes take it from the dataset.
        network: the encoder/decoder torsos, e.g. {"type": "mlp", "hidden_units": (400,)}
            (`zoo.layers.networks`).
        posterior: q(z|x), e.g. {"type": "diagonal_normal", "latent_dim": 20} (`zoo.layers.posteriors`).
        prior: p(z), e.g. {"type": "vamp", "components": 200} (`zoo.layers.priors`).
        likelihood: p(x|z), e.g. {"type": "gaussian", "sigma": "learned"} (`zoo.layers.likelihoods`).
        objective: e.g. {"type": "elbo", "beta": 1.0, "warmup_epochs": 10} (`zoo.objectives`).
        aggregate_posterior_components: if > 0, fit a Gaussian mixture with this many
            components to the encoded training set after training and export a sampler
            from it (`sample_aggregate_posterior`).
        condition: None, or what y is for a conditional VAE, e.g. {"type": "class_label",
            "classes": 10} (`zoo.layers.conditions`): the networks and the signatures take y.
        classifier: None, or the network of q(y|x) for the semi-supervised M2 (with the
            objective "semi_supervised" and a "class_label" condition), e.g. {"type": "mlp"}.

    A block may be given by its type name alone ("vamp"): its arguments take their defaults.

    Example:
        VAEConfig(network={"type": "conv"}, posterior={"type": "diagonal_normal", "latent_dim": 16},
                  likelihood={"type": "gaussian", "sigma": "learned"})
    """

    image_shape: tuple = (28, 28, 1)
    network: dict = dataclasses.field(default_factory=lambda: {"type": "mlp"})
    posterior: dict = dataclasses.field(default_factory=lambda: {"type": "diagonal_normal", "latent_dim": 20})
    prior: dict = dataclasses.field(default_factory=lambda: {"type": "standard_normal"})
    likelihood: dict = dataclasses.field(default_factory=lambda: {"type": "bernoulli"})
    objective: dict = dataclasses.field(default_factory=lambda: {"type": "elbo"})
    aggregate_posterior_components: int = 0
    condition: Optional[dict] = None
    classifier: Optional[dict] = None

    BLOCKS, OPTIONAL_BLOCKS = BLOCKS, OPTIONAL_BLOCKS
    kind: typing.ClassVar[str] = "vae"

    @property
    def label_use(self):
        """What the model does with labels (`zoo.models.base.ZooModel.label_use`), known before it is built."""
        return "semi_supervised" if self.classifier else "condition" if self.condition else "none"

    def __post_init__(self):
        object.__setattr__(self, "image_shape", _checked_image_shape(self.image_shape))
        for role in BLOCKS:
            object.__setattr__(self, role, normalize_block(role, getattr(self, role)))
        for role in OPTIONAL_BLOCKS:
            if getattr(self, role) is not None:
                object.__setattr__(self, role, normalize_block(role, getattr(self, role)))
        self._check_labels()
        count = self.aggregate_posterior_components
        check_count("aggregate_posterior_components", count, minimum=0)
        import tensorflow as tf

        with tf.Graph().as_default():  # constructed only to be checked: no TensorFlow runtime started
            self.blocks()  # every constructor checks its arguments; then the blocks fit together
        from zoo.layers.posteriors import POSTERIORS
        from zoo.layers.priors import PRIORS

        posterior, prior = POSTERIORS.get(self.posterior["type"]), PRIORS.get(self.prior["type"])
        if posterior.continuous != prior.continuous:
            allowed = [name for name in PRIORS.names() if PRIORS.get(name).continuous == posterior.continuous]
            raise ConfigError("prior", self.prior["type"], f"a prior for posterior '{self.posterior['type']}' "
                                                           f"({', '.join(allowed)})")
        if getattr(posterior, "prior_type", None) not in (None, self.prior["type"]):
            raise ConfigError("prior", self.prior["type"], f"'{posterior.prior_type}' for the posterior "
                              f"'{self.posterior['type']}', with the prior of your choice on top: "
                              '{"type": "top_down", "top": "vamp"}')
        if self.prior["type"] == "vamp" and not posterior.one_pass_density:
            raise ConfigError("prior", "vamp", f"standard_normal or mixture for the posterior '{self.posterior['type']}' "
                              "(a VampPrior scores codes under q(z|u) at its pseudo-inputs; this posterior's density "
                              "at codes it did not draw takes one pass per latent)")
        if getattr(prior, "posterior_type", None) not in (None, self.posterior["type"]):
            raise ConfigError("posterior", self.posterior["type"], f"'{prior.posterior_type}' for the prior "
                              f"'{self.prior['type']}'")
        if count and not posterior.continuous:
            raise ConfigError("aggregate_posterior_components", count,
                              f"0 for the discrete posterior '{self.posterior['type']}' (a Gaussian mixture "
                              "needs continuous codes)")

    def _check_labels(self):
        """The conditional and semi-supervised choices fit together (before anything is built)."""
        from zoo.layers.priors import PRIORS

        condition, classifier = self.condition, self.classifier
        semi_supervised = self.objective["type"] == "semi_supervised"
        if PRIORS.get(self.prior["type"]).conditional and condition is None:
            raise ConfigError("prior", self.prior["type"], "an unconditional prior, or set condition "
                              '(e.g. condition={"type": "class_label"}): it is p(z|y)')
        if condition is not None and self.prior["type"] == "vamp":
            raise ConfigError("prior", "vamp", "standard_normal, mixture or conditional_normal for a conditional "
                              "VAE (the VampPrior's pseudo-inputs have no labels)")
        if condition is not None and self.prior["type"] == "top_down":
            raise ConfigError("condition", condition, "None for a ladder VAE (its layers take no y)")
        if semi_supervised != (classifier is not None):
            raise ConfigError("classifier" if semi_supervised else "objective",
                              classifier if not semi_supervised else None,
                              "a classifier network together with the objective 'semi_supervised' (M2), or neither")
        if condition is not None and self.aggregate_posterior_components:
            raise ConfigError("aggregate_posterior_components", self.aggregate_posterior_components,
                              "0 for a conditional VAE (its codes are fitted per condition)")
        if classifier is not None and (condition is None or condition["type"] != "class_label"):
            raise ConfigError("condition", condition, "a 'class_label' condition for the semi-supervised M2")

    def blocks(self):
        """{role: block object} (the network as its factory), checked: what `zoo.build` composes."""
        made = {role: make_block(role, getattr(self, role)) for role in BLOCKS}
        made.update({role: make_block(role, getattr(self, role)) for role in OPTIONAL_BLOCKS
                     if getattr(self, role) is not None})
        made["network"].check(self.image_shape)
        made["objective"].check(made["posterior"])
        return made

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def scaled(self, factor):
        """This variant's epoch-based schedules (KL warm-up, temperature decay) stretched `factor` times."""
        objective, posterior = dict(self.objective), dict(self.posterior)
        if objective.get("warmup_epochs"):
            objective["warmup_epochs"] = round(objective["warmup_epochs"] * factor)
        if "temperature_decay" in posterior or posterior["type"] == "categorical":
            decay = posterior.get("temperature_decay", block_arguments("posterior", posterior["type"])["temperature_decay"])
            posterior["temperature_decay"] = decay / factor
        return self.replace(objective=objective, posterior=posterior)

    def to_dict(self):
        return {"kind": self.kind, **json.loads(json.dumps(dataclasses.asdict(self)))}

    @classmethod
    def from_dict(cls, config):
        """The config `to_dict` describes."""
        return cls(**{key: value for key, value in config.items() if key != "kind"})


@dataclasses.dataclass(frozen=True)
class VQVAEConfig:
    """One VQ-VAE variant (van den Oord et al. 2017): the blocks of `zoo.VQVAE`, each with its
    arguments, and the second training stage that fits the prior over the codes.

    Args:
        image_shape: (height, width, channels) of the data; recipes take it from the dataset.
        network: the encoder/decoder torsos, a network with a grid form: {"type": "conv",
            "conv_filters": (32, 64)} (each stride-2 layer halves the grid of codes: 28x28
            images give a 7x7 grid).
        quantizer: {"type": "vector_quantizer", "codebook_size": 512, "code_dim": 64,
            "beta": 0.25} or "vector_quantizer_ema" (with "decay") (`zoo.layers.quantizer`).
        likelihood: p(x|z_q), e.g. "bernoulli" or "discretized_logistic" (`zoo.layers.likelihoods`).
        code_prior: the prior over code grids, {"type": "pixelcnn", "filters": 64, "blocks": 5}
            (`zoo.layers.code_prior`).
        prior_epochs: epochs of the second stage (the prior on the training set's codes, after
            the autoencoder's `epochs`).

    Example:
        VQVAEConfig(quantizer={"type": "vector_quantizer_ema", "codebook_size": 64, "code_dim": 16},
                    code_prior={"type": "pixelcnn", "filters": 32}, prior_epochs=10)
    """

    BLOCKS, OPTIONAL_BLOCKS = ("network", "quantizer", "likelihood", "code_prior"), ()
    kind: typing.ClassVar[str] = "vq_vae"
    label_use = "none"

    image_shape: tuple = (28, 28, 1)
    network: dict = dataclasses.field(default_factory=lambda: {"type": "conv", "conv_filters": (32, 64)})
    quantizer: dict = dataclasses.field(default_factory=lambda: {"type": "vector_quantizer"})
    likelihood: dict = dataclasses.field(default_factory=lambda: {"type": "bernoulli"})
    code_prior: dict = dataclasses.field(default_factory=lambda: {"type": "pixelcnn"})
    prior_epochs: int = 10

    def __post_init__(self):
        object.__setattr__(self, "image_shape", _checked_image_shape(self.image_shape))
        for role in self.BLOCKS:
            object.__setattr__(self, role, normalize_block(role, getattr(self, role)))
        check_count("prior_epochs", self.prior_epochs)
        import tensorflow as tf

        with tf.Graph().as_default():  # constructed only to be checked: no TensorFlow runtime started
            self.blocks()

    def blocks(self):
        """{role: block object} (the network as its factory), checked: what `zoo.build` composes."""
        made = {role: make_block(role, getattr(self, role)) for role in self.BLOCKS}
        if not hasattr(made["network"], "grid_encoder"):
            grids = [name for name in registry("network").names() if hasattr(registry("network").get(name), "grid_encoder")]
            raise ConfigError("network", self.network["type"], f"a network with a grid of codes for a VQ-VAE "
                                                               f"({', '.join(grids)})")
        made["network"].check(self.image_shape)
        return made

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def scaled(self, factor):
        """Both stages trained `factor` times longer (the autoencoder's epochs are the recipe's)."""
        return self.replace(prior_epochs=max(1, round(self.prior_epochs * factor)))

    def to_dict(self):
        return {"kind": self.kind, **json.loads(json.dumps(dataclasses.asdict(self)))}

    @classmethod
    def from_dict(cls, config):
        return cls(**{key: value for key, value in config.items() if key != "kind"})


MODEL_CONFIGS = Registry("model kind")  # a model config's `kind` -> its class
MODEL_CONFIGS.register("vae")(VAEConfig)
MODEL_CONFIGS.register("vq_vae")(VQVAEConfig)


def model_config_from_dict(config):
    """The model config a dict describes: the class of its "kind" (`MODEL_CONFIGS`); a dict
    written before kinds were named is a `VQVAEConfig` if it has a quantizer, else a `VAEConfig`."""
    config = dict(config)
    kind = config.pop("kind", "vq_vae" if "quantizer" in config else "vae")
    return MODEL_CONFIGS.get(kind).from_dict(config)


def _checked_image_shape(image_shape):
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_shape):
        raise ConfigError("image_shape", image_shape, "a tuple of 3 positive integers")
    return tuple(image_shape)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a recipe trains: data, schedule and optimizer.

    Args:
        dataset: a name in `zoo.data.DATASETS`, "folder" (a folder of image files given as
            --data-dir), "npz" (a .npz file) or "tfds:NAME" (any TFDS image dataset).
        image_size: (height, width) to resize images to (folders, npz, TFDS); None keeps them.
        channels: 1 or 3 to convert images to (None keeps them).
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
        labelled: for the semi-supervised M2, how many training labels it may use (a
            balanced subset chosen with `seed`; the other labels are hidden); None: all.
        labelled_batch_size: labelled images added to each M2 batch of `batch_size`
            unlabelled ones, so a few labels are seen at every step.
        labelled_shift: M2's labelled images are moved by up to this many pixels at random
            at every step (augmentation, not in Kingma et al.: it regularizes q(y|x) on few
            labels); 0: none.
    """

    dataset: str = "mnist"
    image_size: Optional[tuple] = None
    channels: Optional[int] = None
    binarization: str = "dynamic"
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    jit_compile: bool = True
    steps_per_execution: int = 100
    precision: str = "float32"
    seed: int = 0
    log_likelihood_samples: int = 5000
    labelled: Optional[int] = None
    labelled_batch_size: int = 100
    labelled_shift: int = 0

    def __post_init__(self):
        _check_dataset(self.dataset)
        from zoo.data.images import parse_image_size  # "64x64", (64, 64) or 64, as the CLI takes it

        object.__setattr__(self, "image_size", parse_image_size(self.image_size))
        if self.channels not in (None, 1, 3):
            raise ConfigError("channels", self.channels, "1 (grey) or 3 (RGB)")
        _check_choice("binarization", self.binarization, BINARIZATIONS)
        check_count("epochs", self.epochs)
        check_count("batch_size", self.batch_size)
        check_number("learning_rate", self.learning_rate, positive=True)
        if not isinstance(self.jit_compile, bool):
            raise ConfigError("jit_compile", self.jit_compile, "true or false")
        check_count("steps_per_execution", self.steps_per_execution)
        _check_choice("precision", self.precision, PRECISIONS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", self.seed, "an integer >= 0")
        check_count("log_likelihood_samples", self.log_likelihood_samples)
        if self.labelled is not None:
            check_count("labelled", self.labelled)
        check_count("labelled_batch_size", self.labelled_batch_size)
        check_count("labelled_shift", self.labelled_shift, minimum=0)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named variant (a `VAEConfig` or a `VQVAEConfig`) trained on one dataset; `smoke`
    holds tiny overrides for tests."""

    name: str
    description: str
    model: VAEConfig
    train: TrainConfig
    smoke: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        from zoo import data

        dataset = data.DATASETS.get(self.train.dataset) if self.train.dataset in data.DATASETS else None
        if dataset is not None:  # a known dataset fixes the shape; folders and TFDS say it when loaded
            object.__setattr__(self, "model", self.for_data(dataset.image_shape, dataset.levels, dataset.name).model)

    def for_data(self, image_shape, levels, name):
        """This recipe for data of `image_shape` with `levels` pixel values, or a ConfigError
        when its model cannot take them (an 8-bit likelihood on 2-level data, a conv network
        on sizes it cannot halve)."""
        recipe = self
        if self.model.image_shape != tuple(image_shape):
            recipe = dataclasses.replace(self, model=self.model.replace(image_shape=tuple(image_shape)))
        from zoo import data
        from zoo.layers.likelihoods import LIKELIHOODS

        likelihood = (self.model.to_dict().get("likelihood") or {}).get("type")  # a model without one: any data
        needs = LIKELIHOODS.get(likelihood).levels if likelihood else None
        if needs is not None and levels != needs:
            fitting = [n for n in data.DATASETS.names() if data.DATASETS.get(n).levels == needs]
            raise ConfigError("likelihood", likelihood,
                              f"a likelihood for '{name}' ({levels} pixel values); "
                              f"'{likelihood}' needs {needs}-level data ({', '.join(fitting)})")
        if needs is not None and self.train.binarization != "none":
            raise ConfigError("binarization", self.train.binarization,
                              f"'none' for the {needs}-level likelihood '{likelihood}' "
                              "(binarized pixels would throw its levels away)")
        return recipe

    def for_training_set(self, count):
        """This recipe with its objective's `dataset_size` set to `count`, the number of training
        examples, where the objective takes one (beta-TCVAE's estimate of q(z)) and the recipe
        leaves it out."""
        objective = self.model.to_dict().get("objective")  # a VQ-VAE has none
        if objective is None or "dataset_size" not in block_arguments("objective", objective["type"]) or objective.get("dataset_size"):
            return self
        return dataclasses.replace(self, model=self.model.replace(objective={**objective, "dataset_size": count}))

    def with_overrides(self, overrides):
        """A copy with `{field: value}` applied. A field is a TrainConfig field, a block role
        ("prior=vamp": its type), "role.argument" ("prior.components=200"), or an argument name
        alone when one block takes it ("beta=4"). String values are parsed by the field's type."""
        model, train = self.model.to_dict(), dataclasses.asdict(self.train)
        kind = type(self.model)
        roles = kind.BLOCKS + kind.OPTIONAL_BLOCKS
        numbers = {f.name for f in dataclasses.fields(kind)} - set(roles) - {"image_shape"}  # e.g. prior_epochs
        image_shape = None
        for key, value in overrides.items():
            if key in train:
                train[key] = parse_value(key, value, train[key]) if isinstance(value, str) else value
            elif key == "image_shape":
                image_shape = parse_value(key, value, model["image_shape"]) if isinstance(value, str) else value
            elif key in numbers:
                model[key] = parse_value(key, value, model[key]) if isinstance(value, str) else value
            else:
                role, argument = resolve_field(key, model, roles)
                if argument == "type" and role in kind.OPTIONAL_BLOCKS and value in ("none", "None", None):
                    model[role] = None
                elif argument == "type":
                    model[role] = retype(role, model[role] or {}, value)
                elif model[role] is None:
                    raise ConfigError(f"--set {key}", value, f"set {role}=TYPE first: this recipe has no {role}")
                else:
                    current = model[role].get(argument, block_arguments(role, model[role]["type"]).get(argument))
                    model[role][argument] = parse_value(key, value, current) if isinstance(value, str) else value
        train = TrainConfig(**train)
        if image_shape is not None:  # the dataset sets it: refuse, don't ignore, another
            from zoo import data

            if train.dataset in data.DATASETS and tuple(image_shape) != data.DATASETS.get(train.dataset).image_shape:
                expected = data.DATASETS.get(train.dataset).image_shape
                raise ConfigError("image_shape", tuple(image_shape),
                                  f"{expected}, the shape of '{train.dataset}' images (it follows the dataset)")
            model["image_shape"] = tuple(image_shape)
        return dataclasses.replace(self, model=model_config_from_dict(model), train=train)

    def scaled(self, factor):
        """The recipe trained `factor` times longer, for hardware faster than the 2 CPU cores
        the defaults are sized for: epochs and the epoch-based schedules (KL warm-up,
        temperature decay; a VQ-VAE's prior epochs) stretch together."""
        check_number("--scale", factor, positive=True)
        train = dataclasses.replace(self.train, epochs=max(1, round(self.train.epochs * factor)))
        return dataclasses.replace(self, model=self.model.scaled(factor), train=train)

    @classmethod
    def from_dict(cls, config):
        """The recipe `to_dict` (and an export's config.json) describes; missing fields take defaults."""
        train = {k: tuple(v) if isinstance(v, list) else v for k, v in config["train"].items()}
        return cls(name=config["name"], description=config.get("description", ""),
                   model=model_config_from_dict(config["model"]), train=TrainConfig(**train))

    def to_dict(self):
        return {"name": self.name, "description": self.description,
                "model": self.model.to_dict(), "train": json.loads(json.dumps(dataclasses.asdict(self.train)))}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)


def resolve_field(key, model, roles=BLOCKS + OPTIONAL_BLOCKS):
    """(role, argument) a --set key names in `model` (a config dict with these block `roles`);
    see `with_overrides`."""
    key = ALIASES.get(key, key)
    if key in roles:
        return key, "type"
    role, dot, argument = key.partition(".")
    if dot:
        if role not in roles:
            raise ConfigError("--set", key, f"ROLE.ARGUMENT with ROLE one of {', '.join(roles)}")
        return role, argument
    present = [role for role in roles if model.get(role) is not None]
    owners = [role for role in present if key in block_arguments(role, model[role]["type"])]
    if len(owners) == 1:
        return owners[0], key
    fields = sorted({f"{role}.{name}" for role in present for name in block_arguments(role, model[role]["type"])}
                    | {f.name for f in dataclasses.fields(TrainConfig)} | set(roles))
    if owners:
        raise ConfigError("--set", key, f"one of {', '.join(f'{r}.{key}' for r in owners)} (several blocks take it)")
    raise ConfigError("--set", key, ", ".join(fields))


def retype(role, spec, kind):
    """`spec` with its type changed to `kind`, keeping the arguments the new type also takes."""
    registry(role).get(kind)
    allowed = block_arguments(role, kind)
    return {"type": kind, **{k: v for k, v in spec.items() if k != "type" and k in allowed}}


def parse_value(field, text, current):
    """Parse `text` to the type of the field's current value (tuples as 'a,b,c')."""
    try:
        if isinstance(current, bool):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if isinstance(current, (tuple, list)):
            return tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float) or field.endswith("sigma"):
            return float(text)
        if current is None and text.strip().lstrip("-").isdigit():
            return int(text)
        if current is None:  # an argument whose default is None (e.g. dip_vae's lambda_d) may take a number
            try:
                return float(text)
            except ValueError:
                return text
    except ValueError:
        if field.endswith("sigma"):  # "learned", "per_pixel": the likelihood says what is allowed
            return text
        kind = "comma-separated integers" if isinstance(current, (tuple, list)) else type(current).__name__
        raise ConfigError(field, text, f"a value of type {kind}") from None
    return text


def _check_dataset(name):
    from zoo.data import DATASETS

    if name in DATASETS or name in ("folder", "npz") or (isinstance(name, str) and name.startswith("tfds:") and name[5:]):
        return
    raise ConfigError("dataset", name, ", ".join(DATASETS.names()) + ", folder, npz, tfds:NAME")


def _check_choice(field, value, allowed):
    if value not in allowed:
        raise ConfigError(field, value, ", ".join(allowed))
