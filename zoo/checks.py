"""One-line refusals of bad block arguments, shared by every block's constructor, so a bad
value fails where the block is made (from Python or from a config) with the field named."""

import math
import re

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


def check_choice(field, value, allowed):
    """Refuse a `field` that is not one of `allowed`, listing them."""
    if value not in allowed:
        raise ConfigError(field, value, ", ".join(map(str, allowed)))


IMAGE_SIZE_ALLOWED = "HxW (height x width, e.g. 64x64), a (height, width) pair or one int for a square"


def parse_image_size(image_size):
    """(height, width) from None, an int, a pair or a "HxW" string; ConfigError otherwise.
    Here, not beside the image readers, so the CLI checks --image-size before TensorFlow loads."""
    if image_size is None:
        return None
    size = image_size
    if isinstance(size, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", size)
        size = (int(match[1]), int(match[2])) if match else None
    elif isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    try:
        size = tuple(size)
    except TypeError:
        size = None
    if not (size and len(size) == 2 and all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                            for s in size)):
        raise ConfigError("image_size", image_size, IMAGE_SIZE_ALLOWED)
    return size
