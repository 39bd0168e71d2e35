"""Fixtures: the real datasets in ../shared/data (or $ZOO_DATA_DIR) and the shipped exports
in saved_models/, found in one place.

Without them the tests that need them skip and say why; with ZOO_REQUIRE_DATA=1 (as
`.ci/run` sets) their absence fails those tests instead, so CI always runs them.
"""

import json
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAVED_MODELS = ROOT / "saved_models"


def _absent(message):
    if os.environ.get("ZOO_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _data_root():
    return pathlib.Path(os.environ.get("ZOO_DATA_DIR") or ROOT.parent / "shared" / "data")


def _dataset_dir(name):
    path = _data_root() / name
    if not (path / "train-images-idx3-ubyte.gz").exists() and not (path / "train-images-idx3-ubyte").exists():
        message = (f"no {name} IDX files in {path}: set ZOO_DATA_DIR to a folder holding "
                   f"{name}/train-images-idx3-ubyte.gz and the other three files")
        _absent(message)
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
    return {"digits": None, "shapes": None, "mnist": _dataset_dir("mnist"), "fashion_mnist": _dataset_dir("fashion_mnist")}


def shipped_exports():
    """recipe -> saved_models/<recipe>/<highest integer version>, for complete exports only."""
    versions = {}
    for pb in SAVED_MODELS.glob("*/*/saved_model.pb"):
        if pb.parent.name.isdigit():
            recipe = pb.parent.parent.name
            versions[recipe] = max(versions.get(recipe, 0), int(pb.parent.name))
    return {recipe: str(SAVED_MODELS / recipe / str(v)) for recipe, v in sorted(versions.items())}


NO_SHIPPED = (f"no exports in {SAVED_MODELS}/<recipe>/<version>: the project ships them there "
              "(or run `zoo train <recipe>` to make one)")


def serving_family(export):
    """What shapes an export's serving graph: the model's kind and its latent, prior, label and
    sampler blocks (the likelihood and the network only change weights and one output)."""
    with open(os.path.join(export, "config.json")) as f:
        model = json.load(f)["model"]
    kind = lambda block: block.get("type") if isinstance(block, dict) else block  # noqa: E731
    return tuple(kind(model.get(role)) for role in ("posterior", "prior", "condition", "classifier", "quantizer",
                                                    "code_prior")) + (bool(model.get("aggregate_posterior_components")),)


def by_family(exports):
    """The smallest export of each serving family first in its family: the default tier's."""
    def size(export):
        return sum(f.stat().st_size for f in pathlib.Path(export).rglob("*") if f.is_file())
    representatives = {}
    for recipe, export in sorted(exports.items(), key=lambda item: size(item[1])):
        representatives.setdefault(serving_family(export), recipe)
    return set(representatives.values())


def pytest_generate_tests(metafunc):
    """One `shipped_export` test per shipped recipe (or one that skips or fails when none);
    `shipped_family_export`: the same, with all but one export per `serving_family` marked
    slow (the default tier serves each kind of graph once, `-m slow` every export)."""
    for fixture in ("shipped_export", "shipped_family_export"):
        if fixture in metafunc.fixturenames:
            exports = shipped_exports()
            default_tier = by_family(exports) if fixture == "shipped_family_export" else set(exports)
            params = [pytest.param(export, marks=() if recipe in default_tier else pytest.mark.slow)
                      for recipe, export in exports.items()]
            metafunc.parametrize(fixture, params or [None], indirect=True, ids=list(exports) or ["none_shipped"])


@pytest.fixture
def shipped_export(request):
    if request.param is None:
        _absent(NO_SHIPPED)
    return request.param


shipped_family_export = shipped_export


@pytest.fixture(scope="session")
def shipped_recipes():
    exports = shipped_exports()
    if not exports:
        _absent(NO_SHIPPED)
    return sorted(exports)
