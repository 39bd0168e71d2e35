"""The command line, end to end as a user runs it: each command once in a real process (its
exit code, stdout and stderr), the rest through `cli.main` in this process, which runs the
same code without a TensorFlow start-up (about 6 s) per call."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli
from driver import VAE_SIGNATURES
from zoo.models.presets import presets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def recipes():
    """The recipe registry, loaded on first use: loading it builds every recipe's blocks, which
    starts TensorFlow's runtime, and tests/test_distribute.py imports this module in processes
    that must configure devices (or a multi-worker cluster) before TensorFlow starts."""
    from recipes import RECIPES

    return RECIPES


def zoo(*args, cwd=None, env=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)


def zoo_here(capsys, *args):
    """`zoo ARGS` through `cli.main` in this process: its exit code and output, as `zoo` gives
    them from a subprocess."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["zoo", *args], code, out, err)


def epoch_lines(stdout):
    """The progress lines of `zoo train` ("  epoch k/N: loss ..."), as (k, N)."""
    return [tuple(map(int, line.split()[1].rstrip(":").split("/"))) for line in stdout.splitlines()
            if line.startswith("  epoch ")]


def sections(stdout):
    """`zoo list`'s output as {section title: {name: description}}; every entry line is
    indented by two spaces under its title."""
    found, title = {}, None
    for line in stdout.splitlines():
        if line.startswith("  "):
            name, _, description = line.strip().partition(" ")
            found[title][name] = description.strip()
        elif line.strip():
            title = line.strip()
            found[title] = {}
    return found


def test_list_shows_every_recipe_and_preset_with_its_description_fast_and_without_tensorflow():
    start = time.perf_counter()
    done = zoo("list")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert seconds < 2, f"zoo list took {seconds:.1f} s"
    listed = sections(done.stdout)
    assert list(listed) == ["Recipes (zoo train NAME)", "Presets (zoo.VAE.from_preset(NAME), trained)"], done.stdout
    listed_recipes, shipped = listed.values()
    assert list(listed_recipes) == recipes().names()
    assert all(len(description.split()) > 2 for description in listed_recipes.values()), listed_recipes
    assert all(listed_recipes[name] == recipes().get(name).description for name in listed_recipes)
    assert shipped == presets() and len(shipped) > 0
    assert {"conv_bernoulli", "conv_gaussian", "mlp_gaussian", "conv_discretized_logistic"} <= set(listed_recipes)

    check = subprocess.run([sys.executable, "-c", "import sys, zoo.cli; zoo.cli.main(['list']); "
                            "print('tensorflow' in sys.modules)"], capture_output=True, text=True, cwd=ROOT,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().splitlines()[-1] == "False", "zoo list imported tensorflow"


def test_train_embedded_default_end_to_end(digits_cli_run):
    """`zoo train` of the embedded default in a real process (conftest's `digits_cli_run`)."""
    done, tmp_path = digits_cli_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert epoch_lines(done.stdout) == [(1, 4), (2, 4), (3, 4), (4, 4)], done.stdout
    assert "Test -ELBO" in done.stdout
    path = tmp_path / "exports" / "digits_mlp_bernoulli" / "1"
    metrics = json.load(open(path / "metrics.json"))
    config = json.load(open(path / "config.json"))
    assert config["train"]["epochs"] == 4 and config["train"]["seed"] == 0
    assert metrics["epochs"] == 4 and 0 < metrics["test_neg_elbo"] < 64 * 0.7  # beats coin flips
    assert metrics["command"].startswith("zoo train digits_mlp_bernoulli")
    assert (tmp_path / "run" / "history.csv").exists() and (tmp_path / "run" / "logs").is_dir()
    loaded = tf.saved_model.load(str(path))
    assert set(VAE_SIGNATURES) == set(loaded.signatures)
    pictures = list((tmp_path / "run" / "logs" / "pictures").iterdir())
    assert pictures, "the TensorBoard log has no pictures run"


def _assert_one_line_error(done, *fragments):
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


def assert_refused_in_one_line(argv, fragments, capsys):
    """`zoo ARGV` run in this process exits 2 with one stderr line holding every fragment
    (a real process per case would cost a TensorFlow start-up, ~6 s, each)."""
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(fragment in err[0] for fragment in fragments), (argv, err)


# The user's own images: a folder of PNG files. ----------------------------------------------

PNG_COUNT, PNG_HEIGHT, PNG_WIDTH = 200, 30, 40


def write_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(pixels).numpy())


def random_pixels(rng, height, width, channels):
    return tf.constant(rng.integers(0, 256, (height, width, channels), dtype=np.uint8))


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory):
    """200 RGB PNG files of 40x30 pixels (width x height) in two class subfolders."""
    folder = tmp_path_factory.mktemp("pngs")
    rng = np.random.default_rng(0)
    for i in range(PNG_COUNT):
        write_png(folder / ("cats" if i % 2 else "dogs") / f"{i:03d}.png",
                  random_pixels(rng, PNG_HEIGHT, PNG_WIDTH, 3))
    return folder


def train_on_folder(capsys, folder, export_dir):
    return zoo_here(capsys, "train", "conv_gaussian", "--data-dir", str(folder), "--image-size", "32x32", "--smoke", "--force-export",
                    "--epochs", "1", "--export-dir", str(export_dir))


def assert_exported_32x32_colour(export_dir):
    path = export_dir / "conv_gaussian" / "1"
    assert (path / "saved_model.pb").is_file() and (path / "model.keras").is_file()
    loaded = tf.saved_model.load(str(path))
    sampled = loaded.signatures["sample"](seed=tf.constant([1, 2, 3], tf.int64))
    assert sampled["x_mean"].shape == (3, 32, 32, 3)
    assert np.all(np.isfinite(sampled["x_mean"].numpy()))


def test_train_on_a_folder_of_png_files_resized_to_32x32(png_folder, tmp_path, capsys):
    done = train_on_folder(capsys, png_folder, tmp_path / "exports")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "held in memory" in done.stdout and "streamed from disk" not in done.stdout, done.stdout
    assert "Test -ELBO" in done.stdout
    assert_exported_32x32_colour(tmp_path / "exports")
    config = json.load(open(tmp_path / "exports" / "conv_gaussian" / "1" / "config.json"))
    assert config["model"]["image_shape"] == [32, 32, 3] and config["train"]["image_size"] == [32, 32]


@pytest.mark.slow
def test_a_folder_over_the_memory_budget_is_streamed_from_disk(png_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "1K")
    done = train_on_folder(capsys, png_folder, tmp_path / "exports")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "streamed from disk" in done.stdout, done.stdout
    metrics = json.load(open(tmp_path / "exports" / "conv_gaussian" / "1" / "metrics.json"))
    assert metrics["data"].startswith("streamed from disk") and np.isfinite(metrics["test_neg_elbo"])
    assert_exported_32x32_colour(tmp_path / "exports")


def bad_folders(root):
    """{case: (folder, the path the error must name, extra CLI arguments)}."""
    rng = np.random.default_rng(1)
    good = [random_pixels(rng, 32, 32, 3) for _ in range(3)]
    cases = {}

    empty = root / "empty"
    empty.mkdir(parents=True)
    cases["empty"] = empty, empty, []

    truncated = root / "truncated"
    for i, pixels in enumerate(good):
        write_png(truncated / f"{i}.png", pixels)
    whole = (truncated / "0.png").read_bytes()
    (truncated / "0.png").write_bytes(whole[:len(whole) // 2])
    cases["truncated"] = truncated, truncated / "0.png", []

    text = root / "text"
    for i, pixels in enumerate(good):
        write_png(text / f"{i}.png", pixels)
    (text / "notes.png").write_text("these are not pixels\n")
    cases["text"] = text, text / "notes.png", []

    mixed = root / "mixed"
    write_png(mixed / "colour.png", good[0])
    write_png(mixed / "grey.png", random_pixels(rng, 32, 32, 1))
    write_png(mixed / "more.png", good[1])
    cases["mixed"] = mixed, mixed / "grey.png", []

    small = root / "small"
    for i in range(3):
        write_png(small / f"{i}.png", random_pixels(rng, 10, 10, 3))
    cases["small"] = small, small / "0.png", ["--image-size", "32x32"]
    return cases


@pytest.mark.slow
def test_bad_image_folders_exit_2_in_one_line_naming_the_file_and_export_nothing(tmp_path, capsys):
    cases = bad_folders(tmp_path / "data")
    fragments = {"empty": ["no image files"], "truncated": ["corrupt or truncated PNG"],
                 "text": ["not an image"], "mixed": ["mixes grey and colour", "--channels"],
                 "small": ["10x10", "smaller than --image-size 32x32"]}
    # Once as a real process: the exit code and stderr a user sees, with no traceback.
    folder, named, extra = cases["truncated"]
    export_dir = tmp_path / "exports_subprocess"
    _assert_one_line_error(zoo("train", "conv_gaussian", "--smoke", "--data-dir", str(folder), *extra,
                               "--export-dir", str(export_dir)), str(named), *fragments["truncated"])
    assert not (export_dir / "conv_gaussian").exists()
    for case, (folder, named, extra) in cases.items():
        export_dir = tmp_path / f"exports_{case}"
        assert_refused_in_one_line(["train", "conv_gaussian", "--smoke", "--data-dir", str(folder), *extra,
                                    "--export-dir", str(export_dir)], [str(named), *fragments[case]], capsys)
        assert not (export_dir / "conv_gaussian").exists() or not any(
            p.name.isdigit() for p in (export_dir / "conv_gaussian").iterdir()), case


def test_progress_is_about_ten_lines_whatever_the_epochs(digits_long_run):
    """30 epochs through `cli.main` in this process (conftest's `digits_long_run`)."""
    code, out, _ = digits_long_run
    assert code == 0, out[-3000:]
    lines = epoch_lines(out)
    assert 1 <= len(lines) <= 12, lines
    assert lines[-1] == (30, 30) and all(total == 30 for _, total in lines)
    assert [k for k, _ in lines] == sorted({k for k, _ in lines})


def test_evaluate_says_where_it_wrote(digits_cli_run, tmp_path, capsys):
    done, root = digits_cli_run
    assert done.returncode == 0, done.stderr[-3000:]
    export = root / "exports" / "digits_mlp_bernoulli" / "1"
    assert cli.main(["evaluate", str(export), "--samples", "4", "--examples", "10", "--no-pictures",
                     "--output-dir", str(tmp_path / "evaluation")]) == 0, capsys.readouterr().err[-3000:]
    written = tmp_path / "evaluation" / "metrics.json"
    out = capsys.readouterr().out
    assert written.is_file() and str(written) in out.strip().splitlines()[-1], out
    assert json.load(open(written))["evaluation"]["examples"] == 10


# The slow tier: in the default suite, the driver's conditional and m2 cases, test_semi_supervised and the
# shipped conditional and M2 presets (test_shipped, test_serving_labels) check the same blocks.
@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["mnist_mlp_conditional", pytest.param("mnist_mlp_m2_100", marks=pytest.mark.slow)])
def test_label_recipes_train_and_evaluate_at_smoke_size(recipe, tmp_path, capsys):
    """A conditional recipe and an M2 recipe through `zoo train` and `zoo evaluate`, at smoke
    size on the embedded 8x8 digits (their labels; the judge trains on them in a second)."""
    sizes = ["hidden_units=16"] if "m2" not in recipe else ["network.hidden_units=16", "labelled_shift=0"]  # 8x8
    done = zoo_here(capsys, "train", recipe, "--smoke", "--force-export", "--dataset", "digits", *[f"--set={s}" for s in sizes],
                    "--epochs", "10", "--workdir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "exports"))
    assert done.returncode == 0, done.stderr[-3000:]
    path = tmp_path / "exports" / recipe / "1"
    metrics = json.load(open(path / "metrics.json"))
    loaded = tf.saved_model.load(str(path))
    if "m2" in recipe:
        assert "(100 of them labelled)" in done.stdout and "Test error of q(y|x) with 100 labels" in done.stdout
        assert 0 <= metrics["test_error"] < 0.8 and metrics["labelled"] == 100  # chance: 0.9
        assert "classify" in loaded.signatures
        probabilities = loaded.signatures["classify"](x=tf.zeros([2, 8, 8, 1]))["probabilities"].numpy()
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    else:
        assert "with labels" in done.stdout and "Conditional accuracy" in done.stdout
        assert 0 <= metrics["conditional_accuracy"] <= 1 and metrics["judge_test_accuracy"] > 0.5
    sample = loaded.signatures["sample"](seed=tf.constant([1, 2], tf.int64), y=tf.constant([3, 7], tf.int64))
    assert sample["x_mean"].shape == (2, 8, 8, 1)
    assert (tmp_path / "run" / "logs" / "pictures").is_dir()

    evaluated = zoo_here(capsys, "evaluate", str(path), "--samples", "10", "--examples", "60")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    result = json.load(open(path / "metrics.json"))["evaluation"]
    assert np.isfinite(result["neg_log_likelihood"]) and result["examples"] == 60
    assert ("test error of q(y|x)" in evaluated.stdout) == ("m2" in recipe)
    assert ("conditional accuracy" in evaluated.stdout) == ("m2" not in recipe)
    assert (path / "pictures" / "class_samples.png").exists()


@pytest.mark.slow  # per-layer figures in the default suite: test_importance_sampling, test_ladder
def test_ladder_recipe_trains_and_evaluates_each_layer_at_smoke_size(tmp_path, capsys):
    """The hierarchical recipe through `zoo train` and `zoo evaluate` at smoke size on the
    embedded 8x8 digits: the training log, the export and the evaluation report each layer."""
    recipe = "mnist_mlp_ladder_vampprior"
    done = zoo_here(capsys, "train", recipe, "--smoke", "--force-export", "--dataset", "digits", "--epochs", "3",
                    "--workdir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "exports"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "kl_z1" in done.stdout and "kl_z2" in done.stdout
    path = tmp_path / "exports" / recipe / "1"
    loaded = tf.saved_model.load(str(path))
    assert loaded.signatures["encode"](x=tf.zeros([2, 8, 8, 1]))["z_code"].shape == (2, 8)  # 2 layers of 4
    evaluated = zoo_here(capsys, "evaluate", str(path), "--samples", "10", "--examples", "40")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    result = json.load(open(path / "metrics.json"))["evaluation"]
    assert set(result["kl_per_layer"]) == set(result["active_units_per_layer"]) == {"z1", "z2"}
    assert sum(result["active_units_per_layer"].values()) == result["active_units"]
    assert "per layer (bottom first): z1: KL" in evaluated.stdout


@pytest.mark.slow  # both metrics through train and evaluate in the default suite: test_disentanglement
def test_shapes_recipe_scores_disentanglement_and_draws_latent_traversals_at_smoke_size(tmp_path, capsys):
    """The beta-TCVAE recipe on the drawn `shapes` through `zoo train` (N filled in from the
    data, MIG and the FactorVAE score in metrics.json) and `zoo evaluate` (the traversals)."""
    recipe = "shapes_mlp_beta_tcvae"
    done = zoo_here(capsys, "train", recipe, "--smoke", "--force-export", "--export-dir", str(tmp_path / "exports"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MIG " in done.stdout and "FactorVAE score " in done.stdout
    path = tmp_path / "exports" / recipe / "1"
    metrics = json.load(open(path / "metrics.json"))
    assert 0 <= metrics["mig"] <= 1 and 0 <= metrics["factor_vae_score"] <= 1
    assert set(metrics["disentanglement"]["mig_per_factor"]) == {"shape", "scale", "orientation", "x", "y"}
    objective = json.load(open(path / "config.json"))["model"]["objective"]
    assert objective == {**objective, "type": "beta_tcvae", "beta": 6.0, "dataset_size": 41472}  # 90% of 46,080
    evaluated = zoo_here(capsys, "evaluate", str(path), "--samples", "10", "--examples", "50")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "MIG " in evaluated.stdout
    traversals = tf.io.decode_png(tf.io.read_file(str(path / "pictures" / "latent_traversals.png"))).numpy()
    assert traversals.shape == (2 + 10 * 66, 2 + 9 * 66, 1)  # 10 latents x 9 steps of 64x64 tiles


def test_list_blocks_shows_every_registered_block_of_every_role(capsys):
    from zoo.config.blocks import registries, vq_registries
    from zoo.layers.samplers import SAMPLERS

    done = zoo_here(capsys, "list", "--blocks")  # `zoo list` in its own process: test_list_shows_every_recipe...
    assert done.returncode == 0, done.stderr
    listed = sections(done.stdout)
    roles = {**registries(), **vq_registries(), "samplers": SAMPLERS}
    roles.pop("classifier")
    for role, registry in roles.items():
        names = listed[f"Blocks: {role} (--set {role}=NAME)"]
        assert list(names) == registry.names()
        assert all(names.values()), names  # each with what it is
