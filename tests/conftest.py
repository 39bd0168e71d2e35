"""Fixtures: the real datasets in ../shared/data (or $ZOO_DATA_DIR) and the shipped exports
in saved_models/, found in one place.

Without them the tests that need them skip and say why; with ZOO_REQUIRE_DATA=1 (as
`.ci/run` sets) their absence fails those tests instead, so CI always runs them.

Two digits runs are trained once per session and shared (each costs a compile, an
evaluation and an export): `digits_cli_run` in a real `zoo` process, `digits_long_run` through
`cli.main` in this one.

`make test` runs the suite in two pytest-xdist workers (`--dist loadgroup`); `xdist_groups`
keeps together what shares a fixture, so no worker trains or exports it a second time.
"""

import contextlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

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


def _tracked_versions():
    """The version folders git tracks under saved_models/ (the shipped ones), or None outside a
    git checkout."""
    try:
        listed = subprocess.run(["git", "ls-files", "--", "saved_models/*/*/saved_model.pb"], cwd=ROOT,
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    return {pathlib.PurePosixPath(line).parent.as_posix() for line in listed.stdout.split()}


def shipped_exports():
    """recipe -> saved_models/<recipe>/<shipped version>, for complete exports only.

    Shipped means what git tracks (version 1 of each recipe, as .gitignore says; outside a git
    checkout, the folders named 1), never "the highest version": `make demo` and a user's own
    `zoo train` add versions 2, 3, ... beside them, and those must not change what the tests check."""
    tracked = _tracked_versions()
    versions = {}
    for pb in sorted(SAVED_MODELS.glob("*/*/saved_model.pb")):
        relative = pb.parent.relative_to(ROOT).as_posix()
        if (relative in tracked) if tracked else pb.parent.name == "1":
            versions[pb.parent.parent.name] = str(pb.parent)
    return dict(sorted(versions.items()))


def pytest_configure(config):
    """Presets by name resolve to the shipped versions only, in this process and in the `zoo`
    processes tests start: `$ZOO_PRESETS` points at a folder of links to them."""
    view = pathlib.Path(tempfile.mkdtemp(prefix="zoo_shipped_presets_"))
    for recipe, export in shipped_exports().items():
        (view / recipe).mkdir()
        (view / recipe / pathlib.Path(export).name).symlink_to(export, target_is_directory=True)
    os.environ["ZOO_PRESETS"] = str(view)
    config.add_cleanup(lambda: shutil.rmtree(view, ignore_errors=True))


# Session fixtures that train or export: every test that takes one runs in the same worker.
SHARED_RUNS = ("digits_cli_run", "digits_long_run")
DRIVER = "driven"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Each test's xdist group: "shared_runs" for the tests of SHARED_RUNS, "driver" for those
    of `driven` (the driver's exports are made and reloaded once per process), else its file
    (module-scoped fixtures are made once)."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        if any(name in item.fixturenames for name in SHARED_RUNS):
            group = "shared_runs"
        elif DRIVER in item.fixturenames:
            group = "driver"
        else:
            group = item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session):
    """A worker of `--dist loadgroup` whose node ids lost their groups (pytest-xdist cannot
    mark them under pytest 9.2: pytest-dev/pytest-xdist#1386) would make every shared run once
    per worker, silently: stop instead."""
    if (os.environ.get("PYTEST_XDIST_WORKER") and session.config.getvalue("loadgroup") and session.items
            and not any("@" in item.nodeid for item in session.items)):
        raise pytest.UsageError("pytest-xdist's --dist loadgroup lost the test groups with pytest "
                                f"{pytest.__version__}: install the versions setup.cfg pins (make install)")


NO_SHIPPED = (f"no exports in {SAVED_MODELS}/<recipe>/<version>: the project ships them there "
              "(or run `zoo train <recipe>` to make one)")


def serving_family(export):
    """What shapes an export's serving interface, the signatures and their inputs that serving
    paths carry: the model's kind (codes or a latent vector), its label input, a classifier,
    a fitted sampler. The blocks inside change the graph's ops, which the driver serves for
    every block (tests/driver_cases.py), not the requests."""
    with open(os.path.join(export, "config.json")) as f:
        model = json.load(f)["model"]
    kind = lambda block: block.get("type") if isinstance(block, dict) else block  # noqa: E731
    return ("quantizer" in model, kind(model.get("condition")), model.get("classifier") is not None,
            bool(sampler_signatures(export)))


def sampler_signatures(export):
    """The export signatures of the post-hoc samplers an export's config.json declares."""
    from zoo.config import Recipe, VAEConfig
    from zoo.layers.samplers import signature_name

    with open(os.path.join(export, "config.json")) as f:
        model = Recipe.from_dict(json.load(f)).model
    specs = model.sampler_specs() if isinstance(model, VAEConfig) else ()
    return sorted(signature_name(spec if isinstance(spec, str) else spec["type"]) for spec in specs)


def by_family(exports, family=serving_family):
    """The smallest export of each family (`family(export)`): the default tier's."""
    def size(export):
        return sum(f.stat().st_size for f in pathlib.Path(export).rglob("*") if f.is_file())
    representatives = {}
    for recipe, export in sorted(exports.items(), key=lambda item: size(item[1])):
        representatives.setdefault(family(export), recipe)
    return set(representatives.values())


DEFAULT_TIER = {  # fixture -> the shipped exports the default tier takes (`-m slow`: every one)
    "shipped_export": lambda exports: set(exports),
    "shipped_family_export": by_family,  # one per serving interface
    "shipped_smallest_export": lambda exports: by_family(exports, family=lambda export: None),  # the smallest
}


def pytest_generate_tests(metafunc):
    """One `shipped_export` test per shipped recipe (or one that skips or fails when none);
    `shipped_family_export`: the same, with all but one export per `serving_family` marked
    slow (the default tier serves each kind of graph once, `-m slow` every export);
    `shipped_smallest_export`: all but the smallest export marked slow."""
    for fixture, default_tier_of in DEFAULT_TIER.items():
        if fixture in metafunc.fixturenames:
            exports = shipped_exports()
            default_tier = default_tier_of(exports)
            params = [pytest.param(export, marks=() if recipe in default_tier else pytest.mark.slow)
                      for recipe, export in exports.items()]
            metafunc.parametrize(fixture, params or [None], indirect=True, ids=list(exports) or ["none_shipped"])


@pytest.fixture
def shipped_export(request):
    if request.param is None:
        _absent(NO_SHIPPED)
    return request.param


shipped_family_export = shipped_smallest_export = shipped_export


@pytest.fixture(scope="session")
def shipped_recipes():
    exports = shipped_exports()
    if not exports:
        _absent(NO_SHIPPED)
    return sorted(exports)


@pytest.fixture(scope="session")
def driven():
    """driven(case name) -> the shared driver's result for that case of tests/driver_cases.py,
    its served outputs checked (every case is driven at the first call, their exports reloaded
    in one process: tests/driver.py)."""
    from driver import drive
    from driver_cases import CASES, MODEL_CASES

    return lambda name: drive(CASES[name], MODEL_CASES)


DIGITS_CLI_RUN = ["train", "digits_mlp_bernoulli", "--epochs", "4", "--seed", "0", "--force-export"]


@pytest.fixture(scope="session")
def digits_cli_run(tmp_path_factory):
    """`zoo DIGITS_CLI_RUN --workdir ROOT/run --export-dir ROOT/exports` in a real process: the
    suite's one subprocess `zoo train`, whose exit code and output test_cli checks and which
    test_reliability takes as the reference its repeated and resumed runs must equal.
    Returns (the finished process, ROOT)."""
    root = tmp_path_factory.mktemp("digits_cli_run")
    done = subprocess.run([sys.executable, "-m", "zoo", *DIGITS_CLI_RUN, "--workdir", str(root / "run"),
                           "--export-dir", str(root / "exports")], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=600)
    return done, root


@pytest.fixture(scope="session")
def digits_long_run(tmp_path_factory):
    """`zoo train digits_mlp_bernoulli --epochs 30 --set log_likelihood_samples=64` through
    `cli.main` in this process: (exit code, stdout, the export's version folder). test_cli
    counts its progress lines; test_evaluate scores its export (64 importance samples)."""
    from zoo import cli

    root = tmp_path_factory.mktemp("digits_long_run")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["train", "digits_mlp_bernoulli", "--epochs", "30", "--set", "log_likelihood_samples=64",
                         "--export-dir", str(root)])
    return code, out.getvalue(), str(root / "digits_mlp_bernoulli" / "1")
