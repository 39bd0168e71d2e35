"""Text from the command line (`--set field=value`) read as the value its field declares.

The type comes from the field's annotation (a dataclass field, or a block constructor's
parameter) or, for a parameter without one, from its default's type; never from the field's
name. A parameter with neither (a default of None or a string, or none at all) takes the
text's own form: a number if it reads as one, else the text, which the block then checks.
"""

import inspect
import types
import typing

from zoo.errors import ConfigError

NONE_WORDS = ("none", "None", "null")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no")


def parameter_type(parameter):
    """The type a constructor parameter declares: its annotation, else its default's type
    (bool, int, float, a tuple of its first item's type); None when it declares none."""
    if parameter.annotation is not inspect.Parameter.empty:
        return parameter.annotation
    default = parameter.default
    if isinstance(default, (bool, int, float)):
        return type(default)
    if isinstance(default, tuple):
        return typing.Tuple[(type(default[0]) if default else int), ...]
    return None


def parse_text(field, text, kind):
    """`text` as a value of `kind` (a type or annotation; None: untyped), or a ConfigError
    naming `field` and what it takes."""
    try:
        return _parse(text.strip(), kind)
    except ValueError:
        raise ConfigError(field, text, describe(kind)) from None


def describe(kind):
    """A type as a user reads it: "an integer", "true or false", "a number or one of 'learned', 'per_pixel'"."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        return "true or false"
    if kind in (int, float, str):
        return {int: "an integer", float: "a number", str: "a text"}[kind]
    if _is_tuple(kind):
        return "comma-separated integers (e.g. 512,256)"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in arguments)
    if _is_union(kind):
        return " or ".join(describe(a) for a in arguments if a is not type(None)) + (
            " or none" if type(None) in arguments else "")
    return f"a value of type {getattr(kind, '__name__', kind)}"


def _parse(text, kind):
    if kind is None or kind is typing.Any:
        return _literal(text)
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if _is_union(kind):
        if type(None) in arguments and text in NONE_WORDS:
            return None
        for option in (a for a in arguments if a is not type(None)):
            try:
                return _parse(text, option)
            except ValueError:
                continue
        raise ValueError(text)
    if origin is typing.Literal:
        if text not in arguments:
            raise ValueError(text)
        return text
    if kind is bool:
        if text.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError(text)
        return text.lower() in TRUE_WORDS
    if _is_tuple(kind):
        item = arguments[0] if arguments and arguments[0] is not Ellipsis else int
        parts = [part for part in text.replace("x", ",").split(",") if part.strip()]
        if not parts:
            raise ValueError(text)
        return tuple(_parse(part.strip(), item) for part in parts)
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    if kind is str:
        return text
    return _literal(text)


def _literal(text):
    """An untyped value: None, an int, a float, or the text itself."""
    if text in NONE_WORDS:
        return None
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


def _is_union(kind):
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


def _is_tuple(kind):
    return kind is tuple or typing.get_origin(kind) is tuple
