"""Configs as plain data: which blocks a model has (`VAEConfig`, `VQVAEConfig`, any kind in
`MODEL_CONFIGS`), how it trains (`TrainConfig`), and a `Recipe` holding both.

    blocks.py     block specs, {"type": name, **arguments}, and the registries that check them
    values.py     `--set` text read as the type a field or a block argument declares
    kinds.py      MODEL_CONFIGS: kind name -> model config dataclass; `model_config_from_dict`
    vae.py        VAEConfig            vq_vae.py   VQVAEConfig
    rules.py      which blocks go together (the one place these rules live)
    train.py      TrainConfig          recipe.py   Recipe
    overrides.py  `--set FIELD=VALUE` and the command line's shorthands
    upgrade.py    files written by earlier zoos (config.json, recipe.json)

Importing this package, making configs and recipes, and reading `--set` for training
fields import no TensorFlow: the block registries are reached only to check or build blocks.
"""

from zoo.config.blocks import block_arguments, make_block, normalize_block, registries, registry, spec_form
from zoo.config.kinds import MODEL_CONFIGS, ModelConfig, model_config_from_dict, register_model_config
from zoo.config.recipe import Recipe
from zoo.config.rules import check_vae_blocks, check_vq_vae_blocks
from zoo.config.train import TrainConfig
from zoo.config.upgrade import RENAMED, upgrade_recipe_dict
from zoo.config.vae import BLOCKS, OPTIONAL_BLOCKS, VAEConfig
from zoo.config.vq_vae import VQVAEConfig

__all__ = ["BLOCKS", "MODEL_CONFIGS", "ModelConfig", "OPTIONAL_BLOCKS", "RENAMED", "Recipe", "TrainConfig", "VAEConfig",
           "VQVAEConfig", "block_arguments", "check_vae_blocks", "check_vq_vae_blocks", "make_block",
           "model_config_from_dict", "normalize_block", "register_model_config", "registries", "registry", "spec_form",
           "upgrade_recipe_dict"]
