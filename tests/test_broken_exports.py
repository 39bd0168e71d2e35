"""A damaged export folder, or a `zoo evaluate` destination that cannot take the results, is
named in one line before anything is computed, and a write that fails after the evaluation
still prints its figures (issue 25, case 8)."""

import json
import shutil

import pytest

import zoo
from conftest import shipped_exports
from test_cli import assert_refused_in_one_line
from zoo.errors import ZooError
from zoo.evaluation import evaluate as evaluate_module
from zoo.evaluation.evaluate import evaluate
from zoo.models.kinds import load_preset

QUICK = dict(num_samples=4, examples=5, pictures=False, verbose=False)
CLI_QUICK = ["--samples", "4", "--examples", "5"]


@pytest.fixture
def digits(tmp_path, shipped_recipes):
    """A copy of the shipped digits export: (recipe folder, its version folder 1)."""
    recipe_folder = tmp_path / "digits_mlp_bernoulli"
    shutil.copytree(shipped_exports()["digits_mlp_bernoulli"], recipe_folder / "1")
    return recipe_folder, recipe_folder / "1"


@pytest.fixture
def nothing_computed(monkeypatch):
    """Fails the test if `zoo evaluate` starts scoring."""
    def scorer(*args, **kwargs):
        raise AssertionError("the evaluation started before its inputs were checked")

    monkeypatch.setitem(evaluate_module.SCORERS, "importance_sampling", (scorer, evaluate_module.report))


def test_a_truncated_model_keras_is_named_in_one_line(digits, capsys, nothing_computed):
    _, version = digits
    keras_path = version / "model.keras"
    keras_path.write_bytes(keras_path.read_bytes()[:300])
    for load in (zoo.VAE.from_preset, load_preset):
        with pytest.raises(ZooError, match="model.keras is not a readable Keras file") as error:
            load(str(version))
        assert str(keras_path) in str(error.value) and "\n" not in str(error.value)
    assert_refused_in_one_line(["evaluate", str(version), *CLI_QUICK], [str(keras_path), "damaged or truncated"],
                               capsys)


def test_an_invalid_config_json_is_named_in_one_line(digits, capsys, nothing_computed):
    _, version = digits
    (version / "config.json").write_text('{"name": "digits_mlp_bernoulli", ')
    with pytest.raises(ZooError, match="config.json is not valid JSON") as error:
        zoo.VAE.from_preset(str(version))  # compiled as its recipe says: config.json is read
    assert str(version / "config.json") in str(error.value)
    assert_refused_in_one_line(["evaluate", str(version), *CLI_QUICK], [str(version / "config.json"), "not valid JSON"],
                               capsys)


def test_an_empty_higher_version_is_named_not_taken_for_an_older_export(digits, capsys, nothing_computed):
    recipe_folder, version = digits
    (recipe_folder / "2").mkdir()
    fragments = [str(recipe_folder / "2"), "not a complete export", f"pass the version folder {version}"]
    with pytest.raises(ZooError) as error:
        zoo.VAE.from_preset(str(recipe_folder))
    assert all(fragment in str(error.value) for fragment in fragments) and "older zoo" not in str(error.value)
    assert_refused_in_one_line(["evaluate", str(recipe_folder), *CLI_QUICK], fragments, capsys)
    assert zoo.VAE.from_preset(str(version)).image_shape == (8, 8, 1)  # the complete one, asked by name


def test_an_invalid_metrics_json_is_refused_before_the_evaluation(digits, capsys, nothing_computed):
    _, version = digits
    (version / "metrics.json").write_text("{not json")
    assert_refused_in_one_line(["evaluate", str(version), *CLI_QUICK],
                               [str(version / "metrics.json"), "not valid JSON"], capsys)
    (version / "metrics.json").write_text("[1, 2]")
    with pytest.raises(ZooError, match="metrics.json holds a list, not a JSON object"):
        evaluate(str(version), **QUICK)


def test_an_output_dir_that_cannot_be_written_is_refused_before_the_evaluation(digits, tmp_path, capsys,
                                                                               nothing_computed):
    _, version = digits
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert_refused_in_one_line(["evaluate", str(version), *CLI_QUICK, "--output-dir", str(a_file)],
                               [str(a_file), "this is a file"], capsys)  # the CLI's own check, already there
    with pytest.raises(ZooError, match="is a file, not a folder"):
        evaluate(str(version), output_dir=str(a_file), **QUICK)
    below = a_file / "results"
    assert_refused_in_one_line(["evaluate", str(version), *CLI_QUICK, "--output-dir", str(below)],
                               [str(below), f"{a_file} is a file"], capsys)  # the CLI's destination check


def test_a_write_that_fails_after_the_evaluation_prints_its_figures(digits, tmp_path, monkeypatch, capsys):
    _, version = digits
    before = (version / "metrics.json").read_text()

    def full_disk(path, value):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(evaluate_module, "write_json", full_disk)
    with pytest.raises(ZooError, match="finished .its figures are printed above. but writing failed") as failed:
        evaluate(str(version), **QUICK)
    out = capsys.readouterr().out
    assert "test -log p(x) <=" in out and "No space left on device" in str(failed.value)
    printed = json.loads(out.strip().splitlines()[-1])["evaluation"]
    assert printed["examples"] == 5
    assert printed["neg_log_likelihood"] == failed.value.result["neg_log_likelihood"]
    assert (version / "metrics.json").read_text() == before
