"""Reading files an earlier zoo wrote: the one place old forms are turned into today's.

Exports' `config.json` and workdirs' `recipe.json` hold `Recipe.to_dict()`. Earlier zoos
wrote a model dict without "kind" (a VQ-VAE's is the one with a quantizer) and, before block
specs had their arguments, the names in `RENAMED` beside the blocks. `Recipe.from_dict`
reads every file through `upgrade_recipe_dict`; the command line takes only today's names
and says which one replaced an old one.
"""

import copy

RENAMED = {"latent": "posterior", "prior_components": "prior.components",
           "kl_warmup_epochs": "objective.warmup_epochs"}


def upgrade_recipe_dict(config):
    """A recipe dict as this zoo writes it, from one this zoo or an earlier one wrote."""
    config = copy.deepcopy(config)
    config["model"] = upgrade_model_dict(config["model"])
    return config


def upgrade_model_dict(model):
    """A model config dict with its "kind" and today's names (see `RENAMED`)."""
    model = copy.deepcopy(model)
    for old, new in RENAMED.items():
        if old not in model:
            continue
        value = model.pop(old)
        role, _, argument = new.partition(".")
        spec = model.get(role) or {}
        spec = {"type": spec} if isinstance(spec, str) else dict(spec)
        if argument:
            spec[argument] = value
        else:
            spec["type"] = value
        model[role] = spec
    model.setdefault("kind", "vq_vae" if "quantizer" in model else "vae")
    return model


def renamed_key(key):
    """Today's name for a `--set` key an earlier zoo took, or None."""
    return RENAMED.get(key)
