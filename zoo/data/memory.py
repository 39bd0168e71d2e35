"""How much memory a dataset would take resident, and how much this machine allows, so
training can stream from disk what would not fit."""

import math
import os
import re

from zoo.errors import ConfigError

BUDGET_VARIABLE = "ZOO_MEMORY_BUDGET"
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
FLOAT32_BYTES = 4


def memory_budget():
    """Bytes a dataset may take resident: $ZOO_MEMORY_BUDGET ("2G", "500M", "123456"; binary
    units) if set, else half of this machine's physical memory."""
    value = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not value:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([KMGT]?)(?:i?B)?", value, re.IGNORECASE)
    if not match:
        raise ConfigError(BUDGET_VARIABLE, value, "bytes, or a number with K, M, G or T (e.g. 2G, 500M)")
    return int(float(match[1]) * UNITS[match[2].upper()])


class MemoryEstimate:
    """`estimated_bytes` and `fits_in_memory` for a source with `image_shape` and `count(split)`
    (the number of images in a split, or None where it is unknown before loading)."""

    def estimated_bytes(self, split):
        """Bytes of `split` as float32 [N, H, W, C] (None if its size is unknown)."""
        count = self.count(split)
        return None if count is None else count * math.prod(self.image_shape) * FLOAT32_BYTES

    def fits_in_memory(self, budget_bytes=None, split="train"):
        """Whether `split` as float32 fits in `budget_bytes` (default `memory_budget()`);
        True where its size is unknown (such sources are loaded resident anyway)."""
        needed = self.estimated_bytes(split)
        budget = memory_budget() if budget_bytes is None else budget_bytes
        return needed is None or needed <= budget
