"""The benchmark starts: `benchmarks/mlp_vs_pytorch.py --smoke` trains the zoo side and runs
the PyTorch reference in its own process, or says in one line how to install torch; the
ladder benchmark's reference computes the zoo's model."""

import importlib.util
import pathlib
import types
import subprocess
import sys
import venv

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
INSTALL = "-m pip install torch==2.13.0 numpy --index-url https://download.pytorch.org/whl/cpu"


def assert_says_how_to_install(done, python):
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if "the PyTorch reference cannot import" in line]
    assert len(lines) == 1 and lines[0].endswith(f"{python} {INSTALL}"), done.stderr


@pytest.mark.slow
def test_the_benchmark_starts(mnist_dir, tmp_path):
    """Both sides and the comparison with torch installed here (`pip install -e ".[benchmark]"`);
    without it (the default test environment) the zoo side, and the install line. The XLA
    cache gets the compiled programs (TF_XLA_FLAGS was set before TensorFlow read it)."""
    cache = tmp_path / "xla"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "mlp_vs_pytorch.py"), "--smoke", "--data-dir", mnist_dir,
                           "--xla-cache", str(cache)], capture_output=True, text=True, timeout=300)
    assert "  zoo epoch 2: " in done.stdout, done.stdout + done.stderr
    assert "test -ELBO after 2 epochs: zoo " in done.stdout
    assert "the networks alone" in done.stdout
    programs = len(list(cache.iterdir()))
    assert programs >= 3 and f"XLA cache {cache}: 0 programs before this run, {programs} after" in done.stdout
    if importlib.util.find_spec("torch") is None:
        assert_says_how_to_install(done, sys.executable)
        assert "no PyTorch figures: the reference exited with status 1" in done.stdout
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  pytorch epoch 2: " in done.stderr
    assert "(its own process)" in done.stdout and ", pytorch " in done.stdout
    assert "ratio: zoo " in done.stdout


@pytest.mark.slow
def test_the_ladder_reference_is_the_zoos_model():
    """benchmarks/ladder_reference_check.py: the PyTorch ladder VAE at the zoo's weights and
    draw gives the zoo's -log p(x|z) and KL (the ladder benchmark compares the same model);
    without torch, the install line."""
    done = subprocess.run([sys.executable, str(BENCHMARKS / "ladder_reference_check.py")],
                          capture_output=True, text=True, timeout=180)
    if importlib.util.find_spec("torch") is None:
        assert_says_how_to_install(done, sys.executable)
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the same model" in done.stdout, done.stdout


def test_the_reference_without_torch_says_how_to_install_it(tmp_path):
    venv.create(tmp_path, with_pip=False)  # a Python without torch (or numpy)
    python = str(tmp_path / "bin" / "python")
    done = subprocess.run([python, str(BENCHMARKS / "torch_reference.py"), "mlp", "arrays.npz"],
                          capture_output=True, text=True, timeout=60)
    assert_says_how_to_install(done, python)


@pytest.mark.slow
def test_the_harness_never_imports_torch():
    """TensorFlow and torch never share a process (a CUDA torch crashed next to TensorFlow)."""
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); "
                           "import harness; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_ratio_measured_under_load_is_flagged_not_given():
    """Issue 25: each side's run records the load (other processes' CPU time while it ran); a
    ratio measured while they held the cores is marked so on its line and in the summary,
    with no ratio given as a result (fake load figures)."""
    sys.path.insert(0, str(BENCHMARKS))
    from load import Load, ratio_report  # (not harness: tests/ has a harness.py of its own)

    quiet, busy = Load(0.05, 10.0), Load(1.2, 10.0)
    line, summary = ratio_report(44_819, 3_540, 2, quiet, busy)
    assert "UNDER LOAD" in line and "pytorch: other processes held 1.20 of" in line and "not a result" in line
    assert summary.startswith("summary: no ratio") and "12.66" not in summary
    line, summary = ratio_report(44_819, 21_000, 2, quiet, quiet)
    assert "UNDER LOAD" not in line and line.startswith("ratio: zoo 44,819 images/s / pytorch 21,000 images/s = 2.13x")
    assert summary == "summary: zoo/pytorch 2.13x on a quiet machine"


def test_the_load_of_a_run_is_the_busy_time_less_its_own(monkeypatch):
    """Other processes' load = all cores' busy time over the run less this process's and its
    waited children's CPU time, per second of the run (fake clocks: 3 busy core-seconds, 1 of
    them its own, over 2 s = 1 core held by others)."""
    sys.path.insert(0, str(BENCHMARKS))
    import load

    clocks = {"busy": iter([100.0, 103.0]), "own": iter([5.0, 6.0]), "wall": iter([10.0, 12.0])}
    monkeypatch.setattr(load, "busy_seconds", lambda: next(clocks["busy"]))
    monkeypatch.setattr(load, "own_seconds", lambda: next(clocks["own"]))
    monkeypatch.setattr(load, "perf_counter", lambda: next(clocks["wall"]))
    with load.Measured() as measured:
        pass
    assert measured.result.other_cores == 1.0 and measured.result.seconds == 2.0 and measured.result.loaded


@pytest.mark.slow  # a measuring tool; the benchmark harness itself starts in the default suite
def test_the_check_cost_benchmark_starts(mnist_dir):
    """benchmarks/check_cost.py --smoke: interleaved pairs with and without the batch checks,
    on the tf.data path that checks inside each step; the median, the spread and the load."""
    done = subprocess.run([sys.executable, str(BENCHMARKS / "check_cost.py"), "--smoke", "--pairs", "2", "--tf-data",
                           "--data-dir", mnist_dir], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pair 1, checks on : " in done.stdout and "pair 2, checks off: " in done.stdout
    assert "checks cost " in done.stdout and "(median of 2 pairs; ratios from " in done.stdout
    assert "under load" in done.stdout


def _same_budget():
    spec = importlib.util.spec_from_file_location("same_budget", BENCHMARKS / "same_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_same_budget_comparison_resumes_and_tabulates_every_seed(tmp_path):
    """Runs whose figures exist are not run again; the table gives each recipe's mean and its
    spread over the seeds that finished, and leaves out a recipe with none."""
    import json

    same_budget = _same_budget()
    for seed, (elbo, nll) in enumerate([(100.0, 95.0), (102.0, 97.0)]):
        for path, part in ((same_budget.export_metrics(tmp_path, "a", seed), {
                "test_neg_elbo": elbo, "train_seconds": 10, "train_images_per_second": 5000, "epochs": 3}),
                (same_budget.eval_metrics(tmp_path, "a", seed), {"evaluation": {
                    "neg_log_likelihood": nll, "neg_log_likelihood_stderr": 0.5, "neg_elbo": elbo,
                    "kl": 20.0, "active_units": 20}})):
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(path).write_text(json.dumps(part))
    said = []
    results = same_budget.run_all(["a"], [0, 1], str(tmp_path), 3, 10, 10, None, say=said.append)
    assert said == [] and set(results) == {("a", 0), ("a", 1)}
    row = same_budget.table(results, ["a", "b"]).splitlines()[2:]
    assert row == ["| `a` | 2 | 3 | 101.00 ± 1.41 | 96.00 ± 1.41 | 0.50 ± 0.00 | 101.00 ± 1.41 | 20.00 ± 0.00 |  | 20 ± 0 | "
                   "10 ± 0 | 5000 ± 0 |"]


def test_the_same_budget_sample_quality_step_resumes_and_tabulates_each_sampler(tmp_path):
    """With sample quality asked, a run counts as done only once its samples are measured; the
    second table gives each sampler's (and floor's) FID, KID, precision and recall, and a model
    without a likelihood shows its reconstruction error in the first."""
    import json

    same_budget = _same_budget()
    paths = {"train": same_budget.export_metrics(tmp_path, "ae", 0), "eval": same_budget.eval_metrics(tmp_path, "ae", 0),
             "quality": same_budget.quality_metrics(tmp_path, "ae", 0)}
    contents = {"train": {"epochs": 3, "test_loss": 70.0},
                "eval": {"evaluation": {"reconstruction_mse": 0.0123456, "examples": 10}},
                "quality": {"evaluation": {"sample_quality": {"domain": {
                    "n_real": 10, "samplers": {"prior": {"fid": 40.0, "kid": 0.05, "precision": 0.5, "recall": 0.25},
                                               "gaussian_mixture": {"fid": 10.0, "kid": 0.01, "precision": 0.75,
                                                                    "recall": 0.5}},
                    "floors": {"training_images": {"fid": 1.0, "kid": 0.0, "precision": 1.0, "recall": 1.0}}}}}}}
    for part in ("train", "eval"):
        pathlib.Path(paths[part]).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(paths[part]).write_text(json.dumps(contents[part]))
    ran = []
    failing = types.SimpleNamespace(returncode=1)
    same_budget.subprocess = types.SimpleNamespace(STDOUT=subprocess.STDOUT,
                                                   run=lambda command, **kw: ran.append(command) or failing)
    said = []
    say = lambda line, **kwargs: said.append(line)  # noqa: E731
    assert same_budget.run_all(["ae"], [0], str(tmp_path), 3, 10, 10, None, say=say, quality_count=10) == {}
    assert len(ran) == 1 and "--sample-quality" in ran[0] and "--no-likelihood" in ran[0] and "failed" in said[-1]
    pathlib.Path(paths["quality"]).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(paths["quality"]).write_text(json.dumps(contents["quality"]))
    results = same_budget.run_all(["ae"], [0], str(tmp_path), 3, 10, 10, None, say=say, quality_count=10)
    lines = same_budget.table(results, ["ae"]).splitlines()
    assert "| 0.01235 |" in lines[2]
    assert lines[-3:] == ["| `ae` | 1 | domain | prior | 40.00 | 0.0500 | 0.500 | 0.250 |",
                          "| `ae` | 1 | domain | gaussian_mixture | 10.00 | 0.0100 | 0.750 | 0.500 |",
                          "| `ae` | 1 | domain | floor: training_images | 1.00 | 0.0000 | 1.000 | 1.000 |"]
