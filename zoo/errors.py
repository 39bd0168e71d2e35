"""Errors the CLI turns into one readable line instead of a traceback."""


class ZooError(Exception):
    """Base class for problems a user can fix (bad config, bad data, bad arguments)."""


class ConfigError(ZooError, ValueError):
    """A config field holds a value the zoo cannot use."""

    def __init__(self, field, value, allowed):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"config field '{field}': got {value!r}; allowed: {allowed}")


class DataError(ZooError):
    """A dataset cannot be found, read or understood."""
