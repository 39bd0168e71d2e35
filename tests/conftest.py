"""Fixtures: the real datasets in ../shared/data (or $ZOO_DATA_DIR), found in one place.

Without that data the tests that need it skip and say why; with ZOO_REQUIRE_DATA=1 (as
`.ci/run` sets) its absence fails them instead, so CI always runs them.
"""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _data_root():
    return pathlib.Path(os.environ.get("ZOO_DATA_DIR") or ROOT.parent / "shared" / "data")


def _dataset_dir(name):
    path = _data_root() / name
    if not (path / "train-images-idx3-ubyte.gz").exists() and not (path / "train-images-idx3-ubyte").exists():
        message = (f"no {name} IDX files in {path}: set ZOO_DATA_DIR to a folder holding "
                   f"{name}/train-images-idx3-ubyte.gz and the other three files")
        if os.environ.get("ZOO_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


@pytest.fixture(scope="session")
def mnist_dir():
    return _dataset_dir("mnist")


@pytest.fixture(scope="session")
def fashion_mnist_dir():
    return _dataset_dir("fashion_mnist")


@pytest.fixture(scope="session")
def data_dirs():
    """Recipe dataset name -> --data-dir (None for the embedded default)."""
    return {"digits": None, "mnist": _dataset_dir("mnist"), "fashion_mnist": _dataset_dir("fashion_mnist")}
