"""Kinds of model config: `MODEL_CONFIGS` maps a kind name ("vae", "vq_vae") to its config
dataclass, so a kind defined outside the zoo (in a test, in a user's package) has a config
that recipes hold, `--set` changes and config.json files carry.

    @register_model_config
    @dataclasses.dataclass(frozen=True)
    class TinyConfig(ModelConfig):
        kind = "tiny"
        image_shape: tuple = (8, 8, 1)
        width: int = 4
"""

import dataclasses
import json

from zoo.errors import ConfigError
from zoo.registry import Registry

MODEL_CONFIGS = Registry("model kind")


def register_model_config(cls):
    """Class decorator: `cls` (a frozen dataclass with a class-level `kind`) becomes that kind's config."""
    MODEL_CONFIGS.register(cls.kind)(cls)
    return cls


class ModelConfig:
    """Base of the model-config dataclasses. A subclass sets `kind` and has an `image_shape`
    field; its `BLOCKS` (and `OPTIONAL_BLOCKS`, None unless given) are the fields holding
    block specs, which `--set ROLE=TYPE` and `--set ROLE.ARGUMENT=VALUE` change."""

    kind = None
    BLOCKS, OPTIONAL_BLOCKS = (), ()
    label_use = "none"  # what the model will do with labels (`ZooModel.label_use`), known before it is built
    likelihood = objective = None  # the specs of these blocks, for kinds that have them (fields of VAEConfig)

    @classmethod
    def roles(cls):
        return cls.BLOCKS + cls.OPTIONAL_BLOCKS

    def check(self):
        """This config, checked against the block registries (imports TensorFlow); what `zoo.build`
        relies on. A kind without blocks has nothing more to check."""
        return self

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def scaled(self, factor):
        """This config for a run `factor` times longer (its epoch-based schedules stretched)."""
        return self

    def to_dict(self):
        return {"kind": self.kind, **json.loads(json.dumps(dataclasses.asdict(self)))}

    @classmethod
    def from_dict(cls, config):
        """The config `to_dict` describes (lists read back as tuples)."""
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "kind"}
        return cls(**fields)


def model_config_from_dict(config):
    """The model config a dict describes, by its "kind" (`upgrade_model_dict` first names the
    kind of a dict written before kinds existed)."""
    from zoo.config.upgrade import upgrade_model_dict

    config = upgrade_model_dict(config)
    return MODEL_CONFIGS.get(config["kind"]).from_dict(config)


def checked_image_shape(image_shape):
    """(height, width, channels) as a tuple of positive ints, or a ConfigError."""
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_shape):
        raise ConfigError("image_shape", image_shape, "a tuple of 3 positive integers")
    return tuple(image_shape)
