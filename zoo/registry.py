"""Name -> block registries, so adding a block touches one file and the CLI finds it.

A registry also reads what a block takes from its constructor's signature (`arguments`),
turns a config's `{"type": name, **arguments}` into the block (`make`), and refuses unknown
names and arguments in one line. It imports nothing heavy: the blocks' modules fill it.
"""

import inspect

from zoo.errors import ConfigError

# Constructors are read up the class tree while they pass **kwargs on; these packages' own
# base classes (Keras' Layer, TFP's) end the walk.
FRAMEWORKS = ("keras", "tf_keras", "tensorflow", "tensorflow_probability", "builtins", "abc")


class Registry:
    """A named table of builders, filled by the `register` decorator.

    Example:
        LIKELIHOODS = Registry("likelihood")

        @LIKELIHOODS.register("bernoulli")
        class BernoulliLikelihood(...): ...

        LIKELIHOODS.get("bernoulli")                      # -> BernoulliLikelihood
        LIKELIHOODS.make({"type": "gaussian", "sigma": 0.1})
    """

    def __init__(self, field):
        self.field = field
        self._entries = {}

    def register(self, name):
        def decorator(obj):
            if name in self._entries:
                raise KeyError(f"{self.field} '{name}' is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name):
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(self.field, name, ", ".join(self.names()))
        return self._entries[name]

    def names(self):
        return sorted(self._entries)

    def name_of(self, block):
        """The registered name of `block` (an object or a class), or None."""
        cls = block if isinstance(block, type) else type(block)
        return next((name for name, entry in self._entries.items() if entry is cls), None)

    def __contains__(self, name):
        return name in self._entries

    def parameters(self, name):
        """{argument: inspect.Parameter} of the constructor of `name`, through the bases it passes
        **kwargs to (the annotation and default of each say what a value may be)."""
        found = {}
        for klass in self.get(name).__mro__:
            if klass.__module__.split(".")[0] in FRAMEWORKS:
                break
            if "__init__" not in vars(klass):
                continue
            signature = inspect.signature(klass.__init__).parameters
            for argument, parameter in signature.items():
                if argument != "self" and parameter.kind == parameter.POSITIONAL_OR_KEYWORD:
                    found.setdefault(argument, parameter)
            if not any(p.kind == p.VAR_KEYWORD for p in signature.values()):
                break
        return found

    def arguments(self, name):
        """{argument: default} of the constructor of `name` (`inspect.Parameter.empty`: required)."""
        return {argument: parameter.default for argument, parameter in self.parameters(name).items()}

    def spec(self, value, field=None):
        """`value` (a {"type": name, **arguments} dict, or a name alone) checked against this
        registry: the type exists, every argument is one it takes, none it needs is missing.
        Errors name `field` (default: the registry's), e.g. "classifier" for a network."""
        field = field or self.field
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict) or "type" not in value:
            raise ConfigError(field, value, f'{{"type": name, ...arguments}} with name one of {", ".join(self.names())}')
        kind = value["type"]
        if not isinstance(kind, str) or kind not in self:
            raise ConfigError(field, kind, ", ".join(self.names()))
        allowed = self.arguments(kind)
        spec = {"type": kind}
        for argument, given in value.items():
            if argument == "type":
                continue
            if argument not in allowed:
                raise ConfigError(f"{field}.{argument}", given,
                                  f"an argument of {field} '{kind}': {', '.join(sorted(allowed))}")
            spec[argument] = tuple(given) if isinstance(given, list) else given
        for argument, default in allowed.items():
            if default is inspect.Parameter.empty and argument not in spec:
                raise ConfigError(f"{field}.{argument}", None, f"a value: {field} '{kind}' needs it "
                                                                    f'(e.g. {{"type": "{kind}", "{argument}": ...}})')
        return spec

    def make(self, value, field=None):
        """The block `value` describes (see `spec`); its constructor's ConfigError names `field.argument`."""
        field = field or self.field
        spec = self.spec(value, field)
        try:
            return self.get(spec["type"])(**{k: v for k, v in spec.items() if k != "type"})
        except ConfigError as error:
            named = error.field if error.field.startswith(f"{field}.") or error.field == "image_shape" \
                else f"{field}.{error.field}"
            raise ConfigError(named, error.value, error.allowed) from None
