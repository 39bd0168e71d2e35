"""`--set FIELD=VALUE`: changes to a recipe, by name, with values read as their fields declare.

A FIELD is a `TrainConfig` field ("epochs"), a model config field ("prior_epochs",
"image_shape"), a block role ("prior=vamp": its type; the arguments the new type also takes
are kept), "ROLE.ARGUMENT" ("prior.components=200"), or an argument alone when one block
takes it ("beta=4"). A text value is read as the field's annotation or the block
constructor's signature says (`zoo.config.values`). The command line's shorthands
(`--epochs 3`) are `--set` assignments too, so both reach the same recipe.

`train_with` reads the `TrainConfig` part without TensorFlow, so the CLI refuses a bad
training value at once; the block part needs the block registries.
"""

import dataclasses
import typing

from zoo.config.blocks import block_arguments, block_parameters, registry, spec_form
from zoo.config.train import TrainConfig
from zoo.config.upgrade import renamed_key
from zoo.config.values import parameter_type, parse_text
from zoo.errors import ConfigError

TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def parse_assignments(items):
    """{field: text} from `--set` items "FIELD=VALUE" (a later item wins)."""
    assignments = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise ConfigError("--set", item, "FIELD=VALUE, e.g. --set epochs=5")
        assignments[field.strip()] = value.strip()
    return assignments


def apply_overrides(recipe, overrides):
    """`recipe` with `overrides` ({field: value}; text is parsed) applied, not yet checked."""
    train = train_with(recipe.train, overrides)
    model_changes = {k: v for k, v in overrides.items() if k not in TRAIN_FIELDS}
    model = model_with(recipe.model, model_changes, train.dataset) if model_changes else recipe.model
    return dataclasses.replace(recipe, model=model, train=train)


def train_with(train, overrides):
    """`train` (a TrainConfig) with the overrides of its fields applied and checked; also
    refuses the names earlier zoos took. Imports no TensorFlow."""
    for key in overrides:
        if renamed_key(key):
            raise ConfigError(f"--set {key}", overrides[key], f"{renamed_key(key)} (the new name of '{key}')")
    types = typing.get_type_hints(TrainConfig)
    fields = dataclasses.asdict(train)
    for key, value in overrides.items():
        if key in TRAIN_FIELDS:
            fields[key] = parse_text(key, value, types[key]) if isinstance(value, str) else value
    return TrainConfig.from_dict(fields)


def model_with(model, overrides, dataset):
    """`model` (any model config) with `overrides` applied: its own fields, its blocks' types and
    their arguments."""
    kind = type(model)
    config, roles = model.to_dict(), kind.roles()
    types = typing.get_type_hints(kind)
    fields = [f.name for f in dataclasses.fields(kind) if f.name not in roles]  # image_shape, prior_epochs, ...
    for key, value in overrides.items():
        if key in fields:
            config[key] = parse_text(key, value, types[key]) if isinstance(value, str) else value
            if key == "image_shape":
                _check_image_shape_of(dataset, config[key])
            continue
        role, argument = resolve_field(key, config, roles, fields)
        if argument == "type" and role in kind.OPTIONAL_BLOCKS and value in ("none", "None", None):
            config[role] = None
        elif argument == "type":
            config[role] = retype(role, config[role] or {}, value)
        elif config[role] is None:
            raise ConfigError(f"--set {key}", value, f"set {role}=TYPE first: this recipe has no {role}")
        else:
            spec = config[role]
            parameter = block_parameters(role, spec["type"]).get(argument)
            declared = parameter_type(parameter) if parameter is not None else None
            spec[argument] = parse_text(key, value, declared) if isinstance(value, str) else value
    return kind.from_dict(config)


def resolve_field(key, model, roles, fields=()):
    """(role, argument) a --set key names in `model` (a config dict with these block `roles`)."""
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
    if owners:
        raise ConfigError("--set", key, f"one of {', '.join(f'{r}.{key}' for r in owners)} (several blocks take it)")
    known = sorted({f"{role}.{name}" for role in present for name in block_arguments(role, model[role]["type"])}
                   | set(TRAIN_FIELDS) | set(roles) | set(fields))
    raise ConfigError("--set", key, ", ".join(known))


def retype(role, spec, kind):
    """`spec` with its type changed to `kind`, keeping the arguments the new type also takes
    (a whole spec dict replaces `spec`)."""
    if isinstance(kind, dict):
        return spec_form(role, kind)
    if kind not in registry(role):
        raise ConfigError(role, kind, ", ".join(registry(role).names()))
    allowed = block_arguments(role, kind)
    return {"type": kind, **{k: v for k, v in spec.items() if k != "type" and k in allowed}}


def _check_image_shape_of(dataset, image_shape):
    """A known dataset fixes the image shape: refuse, don't ignore, another."""
    from zoo import data

    if dataset in data.DATASETS and tuple(image_shape) != data.DATASETS.get(dataset).image_shape:
        expected = data.DATASETS.get(dataset).image_shape
        raise ConfigError("image_shape", tuple(image_shape),
                          f"{expected}, the shape of '{dataset}' images (it follows the dataset)")
