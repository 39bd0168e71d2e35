"""The same-budget table of docs/results.md: each likelihood model of the zoo trained with the
same networks, data, epochs and seed as the plain VAE, scored the same way, beside the
figure its paper reports and pythae's reproduction, each with its own protocol.

The figures are read from benchmarks/results/same_budget_mnist.json, which
`benchmarks/same_budget.py` writes (its runs are not shipped exports: they are trained for the
comparison alone); the published figures and their protocols are the literal text below, each
with where it was found.
"""

import json
import pathlib
import statistics

from results_exports import MissingFigure

FOLDER_FLAGS = ("--export-dir", "--workdir", "--output-dir", "--data-dir")
FILE = pathlib.Path("benchmarks/results/same_budget_mnist.json")
HEADER = ("| model (recipe) | what changes | seeds | test -ELBO, all {test_examples:,} | -log p(x) <=, first "
          "{examples:,} (K = {samples:,}) | paper: -log p(x) (its protocol) | pythae's reproduction (its protocol) |",
          "| --- | --- | --- | --- | --- | --- | --- |")

# recipe -> (what changes against the plain VAE, the paper's figure, pythae's), in table order.
MODELS = {
    "mnist_mlp_bernoulli": ("nothing: the diagonal-Gaussian VAE, ELBO", "", ""),
}


def _mean(values, digits):
    values = [v for v in values if v is not None]
    spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.{digits}f}{spread}"


def runs_by_recipe(root):
    """{recipe: [run records]} from the committed results file."""
    path = pathlib.Path(root) / FILE
    if not path.exists():
        raise MissingFigure(f"{FILE}: missing; `python benchmarks/same_budget.py ... --root DIR` writes "
                            "DIR/same_budget.json, to be copied there")
    found = {}
    for name, run in sorted(json.loads(path.read_text()).items()):
        found.setdefault(name.split("/")[0], []).append(run)
    return found


def table(root):
    """The block's lines: the shared protocol, then one row per model (mean ± std over seeds)."""
    runs = runs_by_recipe(root)
    shared = protocol(runs)
    lines = [f"Each run: `{shared['train']}`, then `{shared['eval']}` (both with `--data-dir`), made by "
             "`benchmarks/same_budget.py`.", "",
             HEADER[0].format(**shared), HEADER[1]]
    for recipe, (change, paper, pythae) in MODELS.items():
        if recipe not in runs:
            raise MissingFigure(f"docs/results.md [same_budget]: no run of {recipe} in {FILE}")
        done = runs[recipe]
        elbo = _mean([r["train"]["test_neg_elbo"] for r in done], 2)
        nll = _mean([r["eval"]["neg_log_likelihood"] for r in done], 2)
        stderr = max(r["eval"]["neg_log_likelihood_stderr"] for r in done)
        lines.append(f"| `{recipe}` | {change} | {len(done)} | {elbo} | {nll} (s.e. {stderr:.2f}) | {paper} | {pythae} |")
    return lines


def protocol(runs):
    """What every run shares (epochs, test images, K), read from the runs themselves, and the
    shape of their commands (the recipe's name in place of each one's); a run at another budget
    is an error, not a row."""
    every = [run for done in runs.values() for run in done]
    shared = {}
    for name, part, key in (("epochs", "train", "epochs"), ("test_examples", "train", "test_examples"),
                            ("examples", "eval", "examples"), ("samples", "eval", "samples")):
        values = sorted({run[part][key] for run in every})
        if len(values) != 1:
            raise MissingFigure(f"{FILE}: runs at different budgets ({name}: {values})")
        shared[name] = values[0]
    for part in ("train", "eval"):
        shapes = {_command_shape(recipe, run[part]["command"]) for recipe, done in runs.items() for run in done}
        shared[part] = " / ".join(sorted(shapes))
    return shared


def _command_shape(recipe, command):
    """A run's command without its folders (they differ per run and machine), the recipe named
    RECIPE: `zoo train RECIPE --seed 0 --epochs 30`, `zoo evaluate EXPORT --examples 1000 ...`."""
    words, shape = command.split(), []
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif word in FOLDER_FLAGS:
            skip = True
        elif index and words[index - 1] == "evaluate":
            shape.append("EXPORT")
        else:
            shape.append("RECIPE" if word == recipe else word)
    return " ".join(shape)
