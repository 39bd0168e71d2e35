"""Errors the CLI turns into one readable line instead of a traceback."""


def first_line(error, limit=None):
    """The first line of `error`'s message (its type's name if it has none), at most `limit`
    characters: what a one-line error quotes of the error under it."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line[:limit] if limit else line


def os_reason(error):
    """What an OSError (or a TensorFlow error) says went wrong, without its path: "No space
    left on device"."""
    return first_line(getattr(error, "strerror", None) or getattr(error, "message", None) or error)


class ZooError(Exception):
    """Base class for problems a user can fix (bad config, bad data, bad arguments)."""


class ConfigError(ZooError, ValueError):
    """A config field holds a value the zoo cannot use."""

    def __init__(self, field, value, allowed):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"config field '{field}': got {value!r}; allowed: {allowed}")


class DataError(ZooError):
    """A dataset cannot be found, read or understood."""
