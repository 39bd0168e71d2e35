"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzipped)."""

import gzip
import os

import numpy as np

from zoo.errors import DataError

# magic = 0x0000 (2 zero bytes), type 0x08 (uint8), number of dimensions
UINT8_TYPE = 0x08
EXPECTED_NDIM = {"images": 3, "labels": 1}


def read_idx(path, kind=None):
    """The uint8 array stored in an IDX file; `kind` ("images"/"labels") checks its rank.

    Raises `DataError` naming the file for a missing, empty, truncated or wrongly
    headed file.
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    try:
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: empty or shorter than an IDX header ({len(raw)} bytes)")
    zero, dtype, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    expected_ndim = EXPECTED_NDIM.get(kind)
    if zero != 0 or dtype != UINT8_TYPE or (expected_ndim and ndim != expected_ndim):
        want = f"0x0000080{expected_ndim}" if expected_ndim else "0x000008NN"
        raise DataError(f"{path}: wrong magic number 0x{raw[:4].hex()} (expected {want}, "
                        "a uint8 IDX file)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(f"{path}: truncated or padded: header says {shape} = {size} bytes, "
                        f"file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_idx_file(directory, stem):
    """`stem` or `stem.gz` inside `directory`, or None."""
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"
