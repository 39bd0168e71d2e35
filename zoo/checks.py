"""One-line refusals of bad block arguments, shared by every block's constructor, so a bad
value fails where the block is made (from Python or from a config) with the field named."""

import math

from zoo.errors import ConfigError


def check_count(field, value, minimum=1):
    """Refuse a `field` that is not an integer >= `minimum`, with one line."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(field, value, f"an integer >= {minimum}")


def check_number(field, value, positive=False):
    """Refuse a `field` that is not a finite number > 0 (`positive`) or >= 0."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (0 < value if positive else 0 <= value) or not value < math.inf:
        raise ConfigError(field, value, f"a finite number {'>' if positive else '>='} 0")
