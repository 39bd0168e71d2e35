"""Name -> block registries, so adding a block touches one file and the CLI finds it."""

from zoo.errors import ConfigError


class Registry:
    """A named table of builders, filled by the `register` decorator.

    Example:
        LIKELIHOODS = Registry("likelihood")

        @LIKELIHOODS.register("bernoulli")
        class BernoulliLikelihood(...): ...

        LIKELIHOODS.get("bernoulli")  # -> BernoulliLikelihood
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
        if name not in self._entries:
            raise ConfigError(self.field, name, ", ".join(self.names()))
        return self._entries[name]

    def names(self):
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries
