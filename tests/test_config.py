"""Configs as plain data (`zoo.config`) and the command line's refusals: every config refusal
lives here. Most cases run in this process; a subprocess only where the point is what a
fresh process imports or prints (TensorFlow not loaded, no C++ start-up lines)."""

import copy
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Literal, Optional, Union

import pytest

from recipes import RECIPES
from zoo import cli, tensorflow_logs
from zoo.config import (MODEL_CONFIGS, ModelConfig, Recipe, TrainConfig, VAEConfig, VQVAEConfig, model_config_from_dict,
                        register_model_config, upgrade_recipe_dict)
from zoo.config.overrides import apply_overrides, parse_assignments, train_with
from zoo.config.values import parse_text
from zoo.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "saved_models"
EIGHT_BIT = ["categorical256", "discretized_logistic"]


def run_python(code, env=None):
    """`python -c code` in a fresh process from the checkout, with the user's environment
    minus any TensorFlow log level (so the zoo's own default is what is tested)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | (env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def assert_refused_in_one_line(argv, fragments, capsys):
    """`zoo ARGV`, run in this process, exits 2 with one stderr line holding every fragment."""
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(fragment in err[0] for fragment in fragments), (argv, err)


# Plain data: no TensorFlow until a block is checked or built. --------------------------------

def test_configs_recipes_and_training_overrides_import_no_tensorflow():
    done = run_python(
        "import importlib, pkgutil, sys, recipes, zoo.config\n"
        "from zoo.config.overrides import parse_assignments, train_with\n"
        "for module in pkgutil.iter_modules(recipes.__path__):\n"
        "    importlib.import_module('recipes.' + module.name)\n"
        "recipe = recipes.RECIPES.get('mnist_mlp_m2_3000')\n"
        "train_with(recipe.train, parse_assignments(['epochs=3', 'image_size=32x32', 'jit_compile=false']))\n"
        "print(len(recipes.RECIPES.names()), 'tensorflow' in sys.modules)")
    assert done.returncode == 0, done.stderr
    count, imported = done.stdout.split()
    assert int(count) == len(RECIPES.names()) and imported == "False", done.stdout


def test_a_wrong_recipe_name_is_answered_at_once_without_tensorflow():
    start = time.perf_counter()
    done = run_python("import sys\nfrom zoo import cli\ncode = cli.main(['train', 'no_such_recipe'])\n"
                      "print(code, 'tensorflow' in sys.modules)")
    seconds = time.perf_counter() - start
    assert done.stdout.split() == ["2", "False"], (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no_such_recipe" in lines[0] and "mnist_mlp_bernoulli" in lines[0], lines
    assert seconds < 5, f"{seconds:.1f} s"  # 0.2 s alone on 2 cores; TensorFlow alone takes 7 s to import


@pytest.mark.parametrize("argv, fragments", [
    (["train", "digits_mlp_bernoulli", "--set", "latent=categorical"], ["latent", "posterior"]),
    (["train", "digits_mlp_bernoulli", "--set", "prior_components=5"], ["prior_components", "prior.components"]),
    (["train", "digits_mlp_bernoulli", "--set", "kl_warmup_epochs=5"], ["kl_warmup_epochs", "objective.warmup_epochs"]),
    (["train", "digits_mlp_bernoulli", "--image-size", "64by64"], ["image_size", "64by64", "HxW"]),
    (["train", "digits_mlp_bernoulli", "--epochs", "1.5"], ["epochs", "1.5", "an integer"]),
    (["train", "digits_mlp_bernoulli", "--set", "jit_compile=maybe"], ["jit_compile", "maybe", "true or false"]),
    (["train", "digits_mlp_bernoulli", "--channels", "2"], ["channels", "2", "1 (grey) or 3"]),
    (["train", "digits_mlp_bernoulli", "--data-dir", "no/such/folder"], ["--data-dir", "no such folder"]),
    (["train", "digits_mlp_bernoulli", "--workdir", "README.md"], ["--workdir", "README.md", "a file"]),
    (["train", "digits_mlp_bernoulli", "--export-dir", "README.md"], ["--export-dir", "a file"]),
    (["train", "digits_mlp_bernoulli", "--scale", "0"], ["--scale", "0", "> 0"]),
    (["evaluate", "no/such/export"], ["no/such/export", "not a folder"]),
])
def test_names_flags_paths_and_sizes_are_refused_before_tensorflow(argv, fragments, capsys):
    """Checked in this process, so the assertion on sys.modules holds only if the test runs
    before anything imported TensorFlow; the subprocess test above checks that independently."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert_refused_in_one_line(argv, fragments, capsys)
    finally:
        os.chdir(cwd)


def test_tensorflow_start_up_lines_are_hidden_unless_asked_for():
    code = ("import zoo, tensorflow as tf\nzoo.VAE\nprint(float(tf.constant(1.0) + 1))\n"
            "import sys; print('warning kept', file=sys.stderr)")
    quiet = run_python(code)
    assert quiet.returncode == 0 and quiet.stdout.split() == ["2.0"], quiet.stderr
    assert quiet.stderr.splitlines() == ["warning kept"], quiet.stderr  # Python's own lines still pass
    loud = run_python(code, env={"TF_CPP_MIN_LOG_LEVEL": "0"})  # the user's choice wins
    assert any(tensorflow_logs.STARTUP_LINE.match(line) for line in loud.stderr.splitlines()), loud.stderr
    listing = run_python("from zoo import cli; cli.main(['list'])")
    assert listing.returncode == 0 and listing.stderr == "", listing.stderr


def test_the_start_up_filter_drops_only_tensorflow_lines(capfd):
    lines = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
             "I0000 00:00:1796612853.809801    6032 port.cc:153] oneDNN custom operations are on.\n",
             "E0000 00:00:1796612919.069417    7651 cuda_platform.cc:52] failed call to cuInit\n",
             "a Python warning\n", "I like this line\n"]
    with tensorflow_logs.filtered_stderr():
        for line in lines:
            os.write(2, line.encode())
    assert capfd.readouterr().err == "a Python warning\nI like this line\n"


def test_debug_shows_tensorflow_lines_and_the_traceback(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")  # as `import zoo` sets it (restored after the test)
    monkeypatch.setattr(tensorflow_logs, "_state", {"set_level": True})
    monkeypatch.setattr(sys, "meta_path", [tensorflow_logs._QuietImport(), *sys.meta_path])
    with pytest.raises(ConfigError, match="latent_dim"):
        cli.main(["--debug", "train", "digits_mlp_bernoulli", "--latent-dim", "0"])
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert not any(isinstance(f, tensorflow_logs._QuietImport) for f in sys.meta_path)


# --set: values typed by annotations and signatures. -------------------------------------------

def test_set_values_take_the_type_their_field_declares():
    digits = RECIPES.get("digits_mlp_bernoulli")
    train = train_with(digits.train, {"learning_rate": "1", "image_size": "512,256", "labelled": "none",
                                      "jit_compile": "false", "channels": "3"})
    assert (train.learning_rate, type(train.learning_rate)) == (1.0, float)  # a float field given "1"
    assert train.image_size == (512, 256) and train.labelled is None and train.jit_compile is False
    with pytest.raises(ConfigError, match="'jit_compile': got 'maybe'; allowed: true or false"):
        train_with(digits.train, {"jit_compile": "maybe"})
    model = apply_overrides(digits, {"hidden_units": "512,256", "beta": "1", "latent_dim": "4"}).model
    assert model.network["hidden_units"] == (512, 256)  # the signature's default is a tuple of ints
    assert (model.objective["beta"], type(model.objective["beta"])) == (1.0, float)  # its default is a float
    assert (model.posterior["latent_dim"], type(model.posterior["latent_dim"])) == (4, int)  # no default: its form


def test_a_union_annotation_parses_each_of_its_forms():
    sigma = Union[float, Literal["learned", "per_pixel"]]
    assert parse_text("sigma", "0.25", sigma) == 0.25 and parse_text("sigma", "1", sigma) == 1.0
    assert parse_text("sigma", "per_pixel", sigma) == "per_pixel"
    with pytest.raises(ConfigError, match="a number or one of 'learned', 'per_pixel'"):
        parse_text("sigma", "per-pixel", sigma)
    assert parse_text("sigma", "0.25", str) == "0.25"  # the type, not the name "sigma", decides
    assert parse_text("width", "none", Optional[int]) is None and parse_text("width", "7", Optional[int]) == 7
    # The Gaussian's sigma declares no type: a number or a word, which the block then checks.
    recipe = Recipe("r", "", VAEConfig(likelihood={"type": "gaussian"}), TrainConfig(dataset="digits"))
    assert recipe.with_overrides({"sigma": "per_pixel"}).model.likelihood["sigma"] == "per_pixel"
    assert recipe.with_overrides({"sigma": "0.25"}).model.likelihood["sigma"] == 0.25
    with pytest.raises(ConfigError, match="per_pixel"):
        recipe.with_overrides({"sigma": "per-pixel"})


def test_shorthand_flags_are_set_assignments_on_the_same_path():
    parse = cli.build_parser().parse_args
    short = parse(["train", "digits_mlp_bernoulli", "--epochs", "3", "--batch-size", "10", "--latent-dim", "4",
                   "--seed", "2", "--image-size", "8x8", "--channels", "1", "--dataset", "digits"])
    long = parse(["train", "digits_mlp_bernoulli", "--set", "epochs=3", "--set", "batch_size=10", "--set",
                  "latent_dim=4", "--set", "seed=2", "--set", "image_size=8x8", "--set", "channels=1",
                  "--set", "dataset=digits"])
    assert short.set == long.set
    recipe = RECIPES.get("digits_mlp_bernoulli")
    assert cli.checked_before_tensorflow(short) == cli.checked_before_tensorflow(long)
    epochs = recipe.with_overrides(parse_assignments(parse(["train", "x", "--epochs", "3"]).set))
    assert epochs == recipe.with_overrides(parse_assignments(parse(["train", "x", "--set", "epochs=3"]).set))
    assert epochs.train.epochs == 3
    later = parse(["train", "x", "--set", "epochs=5", "--epochs", "3"])  # the later one wins, as for --set
    assert parse_assignments(later.set) == {"epochs": "3"}


def test_scale_stretches_epochs_and_schedules_together():
    vamp = RECIPES.get("mnist_mlp_vampprior").scaled(2)
    assert (vamp.train.epochs, vamp.model.objective["warmup_epochs"]) == (200, 20)
    assert vamp.model.blocks()["objective"].warmup_epochs == 20
    categorical = RECIPES.get("mnist_mlp_categorical")
    decay = categorical.model.blocks()["posterior"].temperature_decay
    assert categorical.scaled(3).model.blocks()["posterior"].temperature_decay * 3 == decay
    assert categorical.scaled(0.01).train.epochs == 1
    capacity = RECIPES.get("mnist_mlp_beta_vae_capacity")
    stretched = capacity.scaled(2)
    assert stretched.train.epochs == 2 * capacity.train.epochs
    assert stretched.model.blocks()["objective"].capacity_epochs == 2 * capacity.model.objective["capacity_epochs"]


# Recipes: one spec form, checked, and every smoke size valid. ----------------------------------

def test_every_recipe_writes_its_blocks_as_type_dicts_and_checks_with_its_smoke_sizes():
    for name in RECIPES.names():
        recipe = RECIPES.get(name)
        source = (ROOT / "recipes" / f"{name}.py").read_text()
        for role in ("network", "posterior", "prior", "likelihood", "objective", "quantizer", "code_prior"):
            assert f'{role}="' not in source, f"recipes/{name}.py names its {role} by a bare string"
        assert recipe.check().model.image_shape == recipe.model.image_shape, name  # the recipe says its shape
        smoke = recipe.with_overrides(recipe.smoke)
        assert smoke.train.epochs <= 2, name


def test_a_block_spec_has_one_form():
    config = VAEConfig(prior="vamp", likelihood={"type": "gaussian", "sigma": 0.5})  # a name: the shorthand
    assert config.prior == {"type": "vamp"} and config.to_dict()["likelihood"] == {"type": "gaussian", "sigma": 0.5}
    with pytest.raises(ConfigError, match="'prior': got 3"):
        VAEConfig(prior=3)
    with pytest.raises(ConfigError, match="block spec"):
        VAEConfig(prior={"components": 3})


# Old files load; old names are refused with the new one. ---------------------------------------

def test_exports_and_workdirs_written_before_kinds_and_renames_still_load():
    old = json.loads((SHIPPED / "mnist_mlp_vampprior" / "1" / "config.json").read_text())
    assert "kind" not in old["model"]  # as the shipped files were written
    recipe = Recipe.from_dict(old)
    assert isinstance(recipe.model, VAEConfig) and recipe.model.prior == {"type": "vamp", "components": 200}
    written = recipe.to_dict()["model"]
    assert written["kind"] == "vae" and {field: written[field] for field in old["model"]} == old["model"]
    vq = Recipe.from_dict(json.loads((SHIPPED / "mnist_conv_vq" / "1" / "config.json").read_text()))
    assert isinstance(vq.model, VQVAEConfig)
    # The names earlier zoos used beside the blocks, moved into the blocks by the upgrade.
    renamed = copy.deepcopy(old)
    renamed["model"]["latent"] = renamed["model"].pop("posterior")["type"]
    renamed["model"]["prior"] = {"type": "vamp"}
    renamed["model"]["prior_components"] = 200
    renamed["model"]["kl_warmup_epochs"] = renamed["model"]["objective"].pop("warmup_epochs")
    upgraded = upgrade_recipe_dict(renamed)["model"]
    assert upgraded["posterior"] == {"type": "diagonal_normal"} and upgraded["prior"] == old["model"]["prior"]
    assert upgraded["objective"]["warmup_epochs"] == old["model"]["objective"]["warmup_epochs"] and upgraded["kind"] == "vae"
    # A workdir's recipe.json from before: resuming with the same recipe finds no difference.
    from zoo.training import workdirs

    assert list(workdirs.differences(old, recipe.to_dict())) == []


# Kinds of model config: a kind defined outside zoo/. --------------------------------------------

@register_model_config
@dataclasses.dataclass(frozen=True)
class TinyConfig(ModelConfig):
    """A kind of model this test defines: no blocks, two numbers."""

    kind = "tiny_test_kind"
    image_shape: tuple = (8, 8, 1)
    width: int = 4
    rate: float = 0.5


def test_a_kind_registered_outside_the_zoo_round_trips_through_a_recipe():
    assert MODEL_CONFIGS.get("tiny_test_kind") is TinyConfig
    recipe = Recipe("tiny", "a test kind", TinyConfig(), TrainConfig(dataset="folder"))
    data = json.loads(recipe.to_json())
    assert data["model"] == {"kind": "tiny_test_kind", "image_shape": [8, 8, 1], "width": 4, "rate": 0.5}
    assert Recipe.from_dict(data) == recipe and model_config_from_dict(data["model"]) == TinyConfig()
    changed = recipe.with_overrides({"width": "16", "rate": "1", "epochs": "2"})
    assert (changed.model.width, changed.model.rate, changed.train.epochs) == (16, 1.0, 2)
    assert type(changed.model.rate) is float and Recipe.from_dict(changed.to_dict()) == changed
    with pytest.raises(ConfigError, match="'--set': got 'depth'.*width"):
        recipe.with_overrides({"depth": "3"})
    with pytest.raises(ConfigError, match="'model kind': got 'nope'.*tiny_test_kind.*vae, vq_vae"):
        model_config_from_dict({"kind": "nope"})


# Block refusals: every field named, in one line. ------------------------------------------------

@pytest.mark.parametrize("config, fragments", [
    (dict(prior={"type": "vamp", "size": 3}), ["prior.size", "components"]),
    (dict(prior="vamp_prior"), ["prior", "vamp_prior", "standard_normal, top_down, uniform_categorical, vamp"]),
    (dict(posterior={"type": "diagonal_normal", "latent_dim": 0}), ["posterior.latent_dim", "integer >= 1"]),
    (dict(posterior={"type": "diagonal_normal"}), ["posterior.latent_dim", "needs it"]),
    (dict(likelihood={"type": "gaussian", "sigma": -1}), ["likelihood.sigma", "learned"]),
    (dict(objective={"type": "elbo", "beta": -1.0}), ["objective.beta", ">= 0"]),
    (dict(network={"type": "conv", "conv_filters": [8, 8, 8]}), ["image_shape", "divisible by 8"]),
    (dict(posterior={"type": "iaf", "latent_dim": 4, "steps": 0}), ["posterior.steps"]),
    (dict(condition={"type": "class_label", "classes": 1}), ["condition.classes"]),
    (dict(classifier={"type": "mlp", "hidden_units": (0,)}, condition={"type": "class_label"},
          objective={"type": "semi_supervised"}), ["classifier.hidden_units"]),
    (dict(prior={"type": "top_down", "top": {"type": "vamp", "size": 3}}, posterior={"type": "ladder", "latent_dim": 4}),
     ["prior.top.size", "components"]),
])
def test_block_configs_are_checked_with_the_field_named(config, fragments):
    with pytest.raises(ConfigError) as error:
        VAEConfig(**config).check()
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


CATEGORICAL = {"type": "categorical", "latent_dim": 3}
DIAGONAL, FULL = {"type": "diagonal_normal", "latent_dim": 3}, {"type": "full_normal", "latent_dim": 3}
LADDER = {"type": "ladder", "latent_dim": 4}


@pytest.mark.parametrize("fields, field, match", [
    ({"posterior": CATEGORICAL, "prior": "standard_normal"}, "prior", "uniform_categorical"),
    ({"posterior": CATEGORICAL, "prior": "mixture"}, "prior", "uniform_categorical"),
    ({"posterior": DIAGONAL, "prior": "uniform_categorical"}, "prior", "standard_normal"),
    ({"posterior": FULL, "prior": "uniform_categorical"}, "prior", "vamp"),
    ({"posterior": CATEGORICAL, "prior": "uniform_categorical", "objective": "iwae"}, "objective", "elbo"),
    ({"objective": {"type": "iwae", "free_bits": 0.5}}, "objective.free_bits", "samples"),
    ({"posterior": CATEGORICAL, "prior": "uniform_categorical", "aggregate_posterior_components": 2},
     "aggregate_posterior_components", "continuous codes"),
    ({"prior": "conditional_normal"}, "prior", r"p\(z\|y\)"),
    ({"prior": "vamp", "condition": "class_label"}, "prior", "pseudo-inputs have no labels"),
    ({"condition": "class_label", "aggregate_posterior_components": 2}, "aggregate_posterior_components",
     "per condition"),
    ({"condition": "class_label", "classifier": {"type": "mlp"}}, "objective",
     "together with the objective 'semi_supervised'"),
    ({"objective": "semi_supervised"}, "classifier", "together with the objective 'semi_supervised'"),
    ({"condition": {"type": "vector", "size": 3}, "classifier": {"type": "mlp"}, "objective": "semi_supervised"},
     "condition", "class_label"),
    ({"posterior": LADDER}, "prior", "'top_down' for the posterior 'ladder'"),
    ({"prior": "top_down"}, "posterior", "'ladder' for the prior 'top_down'"),
    ({"posterior": LADDER, "prior": "top_down", "condition": {"type": "class_label", "classes": 3}}, "condition",
     "ladder VAE"),
    ({"posterior": {"type": "iaf", "latent_dim": 4}, "prior": "vamp"}, "prior", "one pass per latent"),
])
def test_blocks_that_do_not_fit_together_are_refused_with_the_field_named(fields, field, match):
    with pytest.raises(ConfigError, match=match) as error:
        VAEConfig(**fields).check()
    assert error.value.field == field
    assert f"'{field}'" in str(error.value)


@pytest.mark.parametrize("posterior, prior, objective, named", [
    ({"type": "full_normal", "latent_dim": 3}, "standard_normal", "beta_tcvae", "FullCovarianceNormal"),
    ({"type": "iaf", "latent_dim": 3}, "standard_normal", "beta_tcvae", "InverseAutoregressiveFlow"),
    ({"type": "iaf", "latent_dim": 3}, "standard_normal", "dip_vae", "InverseAutoregressiveFlow"),
    ({"type": "categorical", "latent_dim": 3}, "uniform_categorical", "beta_tcvae", "RelaxedCategorical"),
    ({"type": "categorical", "latent_dim": 3}, "uniform_categorical", "dip_vae", "RelaxedCategorical"),
    ({"type": "ladder", "latent_dim": 3}, {"type": "top_down", "top": "standard_normal"}, "beta_tcvae",
     "several stochastic layers"),
])
def test_disentangling_objectives_refuse_posteriors_they_cannot_score(posterior, prior, objective, named):
    """(from tests/test_disentangling_objectives.py, which keeps the objectives' own refusals)"""
    with pytest.raises(ConfigError) as error:
        VAEConfig(posterior=posterior, prior=prior, objective={"type": objective, "dataset_size": 10}
                  if objective == "beta_tcvae" else objective).check()
    assert named in str(error.value) and "'elbo'" in str(error.value) and "\n" not in str(error.value)


def test_blocks_that_fit_are_accepted():
    VAEConfig(posterior=CATEGORICAL, prior="uniform_categorical").check()
    VAEConfig(posterior=FULL, prior="mixture", objective={"type": "iwae", "samples": 3}).check()
    VAEConfig(posterior=DIAGONAL, prior="vamp", aggregate_posterior_components=2,
              objective={"type": "elbo", "free_bits": 0.5}).check()
    VAEConfig(posterior=LADDER, prior={"type": "top_down", "top": {"type": "vamp", "components": 3}}).check()
    VAEConfig(condition="class_label", classifier={"type": "mlp"}, objective="semi_supervised").check()
    VAEConfig(prior="conditional_normal", condition={"type": "vector", "size": 2}).check()
    VAEConfig(posterior={"type": "full_normal", "latent_dim": 3}, objective="dip_vae").check()


def test_eight_bit_likelihoods_need_eight_bit_data():
    for likelihood in EIGHT_BIT:
        spec = {"type": likelihood}
        Recipe("r", "", VAEConfig(likelihood=spec), TrainConfig(dataset="mnist", binarization="none")).check()
        with pytest.raises(ConfigError, match="'digits' \\(17 pixel values\\).*256-level data"):
            Recipe("r", "", VAEConfig(likelihood=spec), TrainConfig(dataset="digits", binarization="none")).check()
        with pytest.raises(ConfigError, match="binarization.*'none'"):
            Recipe("r", "", VAEConfig(likelihood=spec), TrainConfig(dataset="mnist")).check()
    recipe = Recipe("r", "", VAEConfig(likelihood={"type": "gaussian"}), TrainConfig(dataset="digits"))
    with pytest.raises(ConfigError, match="likelihood"):
        recipe.with_overrides({"likelihood": "categorical256"})
    with pytest.raises(ConfigError, match="'dataset': got 'no_such_data'.*digits.*tfds:NAME"):
        Recipe("r", "", VAEConfig(), TrainConfig(dataset="no_such_data")).check()


# The command line's config refusals (what tests/test_cli.py's end-to-end runs do not cover). -----

def test_bad_configs_exit_with_one_readable_line(tmp_path, capsys):
    cases = [
        (["train", "no_such_recipe"], ["recipe", "no_such_recipe", "mnist_mlp_bernoulli"]),
        (["train", "digits_mlp_bernoulli", "--latent-dim", "0"], ["posterior.latent_dim", "0", "an integer >= 1"]),
        (["train", "digits_mlp_bernoulli", "--set", "likelihood=poisson"], ["likelihood", "poisson", "bernoulli"]),
        (["train", "digits_mlp_bernoulli", "--set", "likelihood=gaussian", "--set", "sigma=-1"],
         ["sigma", "-1", "learned"]),
        (["train", "digits_mlp_bernoulli", "--set", "sigma=-1"], ["--set", "'sigma'", "likelihood, "]),
        (["train", "digits_mlp_bernoulli", "--set", "colour=red"], ["colour", "latent_dim"]),
        (["train", "digits_mlp_bernoulli", "--set", "beta"], ["FIELD=VALUE"]),
        (["train", "digits_mlp_bernoulli", "--set", "epochs=many"], ["epochs", "many", "int"]),
        (["train", "mnist_conv_bernoulli", "--set", "conv_filters=8,8,8"], ["image_shape", "divisible by 8"]),
        (["train", "mnist_mlp_bernoulli", "--data-dir", str(tmp_path / "missing")], ["missing", "no such folder"]),
        (["train", "mnist_mlp_categorical", "--set", "prior=standard_normal"], ["prior", "uniform_categorical"]),
        (["train", "mnist_mlp_categorical", "--set", "objective=iwae"], ["objective", "iwae", "elbo"]),
        (["train", "digits_mlp_bernoulli", "--set", "network=transformer"], ["network", "transformer", "conv, mlp"]),
        (["train", "digits_mlp_bernoulli", "--set", "posterior=spherical"], ["posterior", "spherical", "diagonal_normal"]),
        (["train", "digits_mlp_bernoulli", "--set", "latent_dim=-3"], ["posterior.latent_dim", "-3", "an integer >= 1"]),
        (["train", "digits_mlp_bernoulli", "--set", "likelihood=gaussian", "--set", "sigma=0"],
         ["sigma", "0", "a finite number > 0"]),
        (["train", "digits_mlp_bernoulli", "--set", "learning_rate=inf"], ["learning_rate", "inf", "a finite number > 0"]),
        (["train", "digits_mlp_bernoulli", "--set", "beta=nan"], ["beta", "nan", "a finite number >= 0"]),
        (["train", "digits_mlp_bernoulli", "--set", "learning_rate_decay=step"],
         ["learning_rate_decay", "step", "none, cosine"]),
        (["train", "digits_mlp_bernoulli", "--set", "image_shape=28,28,1"], ["image_shape", "(28, 28, 1)", "(8, 8, 1)", "digits"]),
        (["train", "digits_mlp_bernoulli", "--set", "network=conv", "--set", "conv_filters=4,4,4,4"],
         ["image_shape", "divisible by 16"]),
        (["train", "digits_mlp_bernoulli", "--set", "condition.classes=3"], ["set condition=TYPE first"]),
        (["train", "mnist_conv_vq", "--set", "network=mlp"], ["network", "mlp", "a grid of codes"]),
        (["train", "mnist_conv_vq", "--set", "codebook_size=1"], ["codebook_size", "an integer >= 2"]),
        (["train", "mnist_conv_vq", "--set", "quantizer=vector_quantizer", "--set", "decay=0.5"],
         ["decay", "quantizer.beta"]),
        (["train", "mnist_conv_vq", "--set", "kernel_size=4"], ["kernel_size", "odd"]),
        (["train", "mnist_conv_vq", "--latent-dim", "4"], ["latent_dim", "quantizer.codebook_size"]),
        (["train", "mnist_conv_vq", "--set", "prior_epochs=0"], ["prior_epochs", "an integer >= 1"]),
    ]
    for args, fragments in cases:
        assert_refused_in_one_line([*args, "--export-dir", str(tmp_path)], fragments, capsys)
    assert not any(p.is_dir() and p.name != "missing" for p in tmp_path.iterdir())


def test_a_refusal_seen_by_a_user_is_one_line_with_exit_code_2():
    """Once as a real process: the exit code and stderr a user sees, no traceback, no TensorFlow line."""
    done = subprocess.run([sys.executable, "-m", "zoo", "train", "digits_mlp_bernoulli", "--latent-dim", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "zoo: error: config field 'posterior.latent_dim': got 0; allowed: an integer >= 1"], done.stderr


def test_argparse_errors_are_short():
    done = subprocess.run([sys.executable, "-m", "zoo", "train", "--epochs"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "expected one argument" in done.stderr
