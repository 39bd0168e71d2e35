"""`Recipe`: a named model config trained on one dataset, and its round trip through JSON."""

import dataclasses
import json

from zoo.checks import check_number
from zoo.config.blocks import block_arguments
from zoo.config.kinds import ModelConfig, model_config_from_dict
from zoo.config.train import TrainConfig, check_dataset
from zoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named model config (any kind in `MODEL_CONFIGS`: a `VAEConfig`, a `VQVAEConfig`, ...)
    trained on one dataset; `smoke` holds tiny overrides for tests (the keys `--set` takes).

    Making a recipe imports no TensorFlow, so `zoo list` and the CLI's refusals answer at once;
    `check()` checks its blocks and its dataset (what `with_overrides` and `zoo train` run)."""

    name: str
    description: str
    model: ModelConfig
    train: TrainConfig
    smoke: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ConfigError("model", type(self.model).__name__, "a model config (zoo.config.MODEL_CONFIGS)")
        if not isinstance(self.train, TrainConfig):
            raise ConfigError("train", type(self.train).__name__, "a TrainConfig")

    def check(self):
        """This recipe, checked: its dataset exists, a known dataset sets its image shape and
        fits its likelihood (`for_data`), and its blocks are known and fit together."""
        check_dataset(self.train.dataset)
        from zoo import data

        recipe = self
        if self.train.dataset in data.DATASETS:
            dataset = data.DATASETS.get(self.train.dataset)
            recipe = self.for_data(dataset.image_shape, dataset.levels, dataset.name)
        recipe.model.check()
        return recipe

    def for_data(self, image_shape, levels, name):
        """This recipe for data of `image_shape` with `levels` pixel values, or a ConfigError
        when its model cannot take them (an 8-bit likelihood on 2-level data, a conv network
        on sizes it cannot halve)."""
        recipe = self
        if self.model.image_shape != tuple(image_shape):
            recipe = dataclasses.replace(self, model=self.model.replace(image_shape=tuple(image_shape)))
        likelihood = self.model.likelihood
        if likelihood is None:  # a kind of model without one
            return recipe
        from zoo import data
        from zoo.layers.likelihoods import LIKELIHOODS

        likelihood = likelihood["type"]
        needs = LIKELIHOODS.get(likelihood).levels
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
        objective = self.model.objective  # a VQ-VAE has none
        if objective is None or "dataset_size" not in block_arguments("objective", objective["type"]) or objective.get("dataset_size"):
            return self
        return dataclasses.replace(self, model=self.model.replace(objective={**objective, "dataset_size": count}))

    def with_overrides(self, overrides):
        """A copy with `{field: value}` applied (the `--set` path: `zoo.config.overrides`), checked."""
        from zoo.config.overrides import apply_overrides

        return apply_overrides(self, overrides).check()

    def scaled(self, factor):
        """The recipe trained `factor` times longer, for hardware faster than the 2 CPU cores
        the defaults are sized for: epochs and the epoch-based schedules (KL warm-up,
        temperature decay; a VQ-VAE's prior epochs) stretch together."""
        check_number("--scale", factor, positive=True)
        train = dataclasses.replace(self.train, epochs=max(1, round(self.train.epochs * factor)))
        return dataclasses.replace(self, model=self.model.scaled(factor), train=train)

    @classmethod
    def from_dict(cls, config):
        """The recipe `to_dict` (and an export's config.json, a workdir's recipe.json) describes,
        from this zoo or an earlier one (`upgrade_recipe_dict`); missing fields take defaults."""
        from zoo.config.upgrade import upgrade_recipe_dict

        config = upgrade_recipe_dict(config)
        return cls(name=config["name"], description=config.get("description", ""),
                   model=model_config_from_dict(config["model"]), train=TrainConfig.from_dict(config["train"]))

    def to_dict(self):
        return {"name": self.name, "description": self.description,
                "model": self.model.to_dict(), "train": json.loads(json.dumps(dataclasses.asdict(self.train)))}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)
