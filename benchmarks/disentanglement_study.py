"""The disentanglement study of docs/disentanglement.md: a VAE, beta-VAE at two betas and
beta-TCVAE on `shapes`, each with seeds 0, 1, 2, on the same network and epochs (the
recipe's), scored on MIG, the FactorVAE score, the BetaVAE score, SAP, DCI and the rest of
disentanglement_lib's metrics (modularity, explicitness, IRS, the downstream task, unfairness,
the unsupervised scores), and on UDR across each kind's seeds.

    python benchmarks/disentanglement_study.py --out runs/study [--seeds 0 1 2] [--kinds vae ...]
        [--epochs N] [--smoke] [--pictures docs/disentanglement] [--rescore]

Each run is `zoo train RECIPE --seed S --set ...` in its own process, one at a time, exported
under OUT/<kind>/seed<S>/; its log is OUT/<kind>/seed<S>.log. A run whose metrics.json
exists is skipped, so the same command resumes a stopped study. At the end the table (mean
+- std over seeds, then every run) is printed and written to OUT/study.md; with `--pictures`
the latent traversals of each kind's best run (highest MIG) are written there as
<kind>_traversals.png, from the first test image. `--rescore` trains nothing: it scores the finished runs
with this checkout's metrics (`zoo.evaluation.disentanglement.scores` on their exports), into
OUT/<kind>/seed<S>.scores.json, which the table reads over metrics.json: runs trained before a
metric existed gain it without training again (a scores file missing one of today's metrics is
scored again).

UDR (zoo.evaluation.udr) compares the runs of a kind with each other: once two or more seeds of
a kind have finished (trained or rescored), their codes of the same 1,000 images are compared
and each run's UDR, the median of its pairs' scores, is written to OUT/<kind>/udr.json (again
when the set of seeds changes); the table's UDR of a kind is the mean of its runs'.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

RECIPE = "shapes_mlp_beta_tcvae"
KINDS = {  # kind -> (what it is, --set overrides of the recipe)
    "vae": ("VAE (ELBO, beta = 1)", ["objective=elbo", "objective.beta=1"]),
    "beta_vae_4": ("beta-VAE, beta = 4", ["objective=elbo", "objective.beta=4"]),
    "beta_vae_16": ("beta-VAE, beta = 16", ["objective=elbo", "objective.beta=16"]),
    "beta_tcvae": ("beta-TCVAE, beta = 6 (the recipe)", []),
    "beta_tcvae_mss": ("beta-TCVAE, beta = 6, stratified sampling", ["objective.estimator=mss"]),
    "factor_vae": ("FactorVAE, gamma = 10 (shapes_mlp_factor_vae)",
                   ["objective=elbo", "objective.beta=1", "adversary=total_correlation", "adversary.gamma=10"]),
}
COLUMNS = (  # (heading, metrics.json key or a function of it, digits)
    ("MIG", "mig", 3),
    ("FactorVAE score", "factor_vae_score", 3),
    ("BetaVAE score", "beta_vae_score", 3),
    ("SAP", "sap", 3),
    ("DCI disent.", "dci_disentanglement", 3),
    ("DCI compl.", "dci_completeness", 3),
    ("DCI inform.", "dci_informativeness", 3),
    ("test -ELBO (nats)", "test_neg_elbo", 2),
    ("reconstruction", "test_reconstruction", 2),
    ("KL", "test_kl", 2),
    ("active latents", lambda m: m["disentanglement"]["active_dims"], 1),
    ("train s", "train_seconds", 0),
    ("modularity", "modularity", 3),
    ("explicitness", "explicitness", 3),
    ("IRS", "irs", 3),
    ("downstream LR", "downstream_logistic_regression", 3),  # accuracy from 1,000 images' codes
    ("downstream GBT", "downstream_boosted_trees", 3),
    ("unfairness", "unfairness", 3),
    ("Gaussian TC", "gaussian_total_correlation", 3),
    ("Wasserstein corr. / tr", "gaussian_wasserstein_correlation_norm", 4),
    ("latent MI", "mutual_info_score", 3),
    ("UDR", "udr", 3),
)
SCORED = [key for _, key, _ in COLUMNS if isinstance(key, str) and not key.startswith(("test_", "train_"))
          and key != "udr"]  # the columns `zoo.evaluation.disentanglement.scores` writes
UDR_EXAMPLES, UDR_SEED = 1000, 0


def value(metrics, key):
    """nan for a metric the run predates (see `--rescore`)."""
    return key(metrics) if callable(key) else metrics.get(key, float("nan"))


def run_dir(out, kind, seed):
    return os.path.join(out, kind, f"seed{seed}")


def metrics_path(out, kind, seed, recipe=RECIPE):
    return os.path.join(run_dir(out, kind, seed), recipe, "1", "metrics.json")


def scores_path(out, kind, seed):
    return run_dir(out, kind, seed) + ".scores.json"


def udr_path(out, kind):
    return os.path.join(out, kind, "udr.json")


def train_command(kind, seed, out, recipe=RECIPE, smoke=False, epochs=None):
    command = [sys.executable, "-m", "zoo", "train", recipe, "--seed", str(seed),
               "--export-dir", run_dir(out, kind, seed)]
    command += ["--smoke"] if smoke else []
    command += ["--epochs", str(epochs)] if epochs else []
    for override in KINDS[kind][1]:
        command += ["--set", override]
    return command


def run_all(out, seeds, kinds=tuple(KINDS), smoke=False, say=print, epochs=None):
    """Train every (kind, seed) not yet done, one at a time, seed by seed (a study stopped early
    has every kind at its first seeds); returns {(kind, seed): metrics}."""
    runs = [(kind, seed) for seed in seeds for kind in kinds]
    start = time.perf_counter()
    for number, (kind, seed) in enumerate(runs, 1):
        path = metrics_path(out, kind, seed)
        if os.path.exists(path):
            say(f"[{number}/{len(runs)}] {kind} seed {seed}: done before, skipped", flush=True)
            continue
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        log = run_dir(out, kind, seed) + ".log"
        say(f"[{number}/{len(runs)}] {kind} seed {seed}: training (log {log}), "
            f"{time.perf_counter() - start:.0f} s into the study", flush=True)
        began = time.perf_counter()
        with open(log, "w") as stream:
            done = subprocess.run(train_command(kind, seed, out, smoke=smoke, epochs=epochs), stdout=stream, stderr=subprocess.STDOUT)
        if done.returncode:
            say(f"  failed (exit status {done.returncode}); see {log}", flush=True)
            continue
        metrics = read(path)
        say(f"  {time.perf_counter() - began:.0f} s: MIG {metrics['mig']:.3f}, FactorVAE "
            f"{metrics['factor_vae_score']:.3f}, -ELBO {metrics['test_neg_elbo']:.2f}", flush=True)
    return collected(out, seeds, kinds)


def collected(out, seeds, kinds=tuple(KINDS)):
    """{(kind, seed): metrics} of the runs that finished."""
    return {(kind, seed): finished(out, kind, seed) for seed in seeds for kind in kinds
            if os.path.exists(metrics_path(out, kind, seed))}


def finished(out, kind, seed):
    """A run's metrics.json, with its `--rescore` scores over it where they exist."""
    metrics = read(metrics_path(out, kind, seed))
    if os.path.exists(scores_path(out, kind, seed)):
        rescored = read(scores_path(out, kind, seed))
        metrics.update(rescored, disentanglement={**metrics.get("disentanglement", {}), **rescored["disentanglement"]})
    if os.path.exists(udr_path(out, kind)):
        metrics["udr"] = read(udr_path(out, kind))["model_scores"].get(str(seed), float("nan"))
    return metrics


def rescored_before(out, kind, seed):
    """Whether the run has a scores file with every column `scores` writes."""
    path = scores_path(out, kind, seed)
    return os.path.exists(path) and all(key in read(path) for key in SCORED)


def rescore(out, results, say=print):
    """Scores each finished run not scored before again with this checkout's metrics and writes
    them beside it (delete OUT/*/*.scores.json to score again; a file missing a metric is)."""
    from zoo.data import DATASETS
    from zoo.evaluation import disentanglement
    from zoo.models.kinds import load_preset

    for kind, seed in sorted(results):
        if rescored_before(out, kind, seed):
            continue
        began = time.perf_counter()
        model = load_preset(os.path.dirname(metrics_path(out, kind, seed)), compile=False)
        scores = disentanglement.scores(model, DATASETS.get("shapes"))
        with open(scores_path(out, kind, seed), "w") as f:
            json.dump(scores, f, indent=1)
        results[kind, seed] = finished(out, kind, seed)
        say(f"{kind} seed {seed}: {disentanglement.report(scores)}; {time.perf_counter() - began:.0f} s", flush=True)
    return results


def udr_scores(out, results, say=print):
    """Each kind's UDR across its finished seeds (2 or more), written to OUT/<kind>/udr.json
    unless it holds these seeds already; returns `results` with each run's "udr"."""
    runs = {kind: sorted(seed for k, seed in results if k == kind) for kind, _ in results}
    todo = {kind: seeds for kind, seeds in sorted(runs.items()) if len(seeds) > 1 and not (
        os.path.exists(udr_path(out, kind)) and read(udr_path(out, kind))["seeds"] == seeds)}
    if not todo:
        return results
    from zoo.data import DATASETS
    from zoo.evaluation import udr
    from zoo.models.kinds import load_preset

    images = DATASETS.get("shapes").sample(UDR_EXAMPLES, UDR_SEED).scaled()
    for kind, seeds in todo.items():
        began = time.perf_counter()
        codes = [udr.model_codes(load_preset(os.path.dirname(metrics_path(out, kind, seed)), compile=False), images)
                 for seed in seeds]
        found = udr.udr([c for c, _ in codes], [kl for _, kl in codes])
        with open(udr_path(out, kind), "w") as f:
            json.dump({"seeds": seeds, "model_scores": dict(zip(map(str, seeds), found["model_scores"])),
                       "pairwise": [[None if v != v else round(float(v), 4) for v in row] for row in found["pairwise"]], "examples": UDR_EXAMPLES,
                       "images_seed": UDR_SEED, "correlation": "lasso"}, f, indent=1)
        for seed in seeds:
            results[kind, seed] = finished(out, kind, seed)
        say(f"{kind}: UDR {', '.join(f'seed {s} {v:.3f}' for s, v in zip(seeds, found['model_scores']))}; "
            f"{time.perf_counter() - began:.0f} s", flush=True)
    return results


def read(path):
    with open(path) as f:
        return json.load(f)


def table(results, kinds=tuple(KINDS)):
    """Markdown: mean +- std (sample std, over the seeds that finished) per kind, then every run."""
    heading = "| model | seeds | " + " | ".join(name for name, _, _ in COLUMNS) + " |"
    rule = "| --- " * (len(COLUMNS) + 2) + "|"
    lines = [heading, rule]
    for kind in kinds:
        runs = [metrics for (k, _), metrics in sorted(results.items()) if k == kind]
        if not runs:
            continue
        cells = []
        for _, key, digits in COLUMNS:
            values = [value(m, key) for m in runs]
            if any(math.isnan(v) for v in values):  # a run that predates the metric (statistics cannot say nan)
                cells.append("nan")
                continue
            spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.{digits}f}{spread}")
        lines.append(f"| {KINDS[kind][0]} | {len(runs)} | " + " | ".join(cells) + " |")
    lines += ["", "| model | seed | " + " | ".join(name for name, _, _ in COLUMNS) + " |", rule]
    for (kind, seed), metrics in sorted(results.items(), key=lambda item: (kinds.index(item[0][0]), item[0][1])):
        lines.append(f"| {kind} | {seed} | " + " | ".join(
            f"{value(metrics, key):.{digits}f}" for _, key, digits in COLUMNS) + " |")
    return "\n".join(lines)


def best_runs(results):
    """{kind: seed of its highest MIG}."""
    best = {}
    for (kind, seed), metrics in results.items():
        if kind not in best or metrics["mig"] > results[kind, best[kind]]["mig"]:
            best[kind] = seed
    return best


def write_traversals(out, results, folder, say=print):
    """Each kind's best run's latent traversals of the first test image, as PNG files."""
    from zoo.data import DATASETS, eval_images
    from zoo.evaluation import pictures
    from zoo.models.kinds import load_preset

    images = eval_images(DATASETS.get("shapes").load("test"), binarize=True)[:1000]
    for kind, seed in sorted(best_runs(results).items()):
        model = load_preset(os.path.dirname(metrics_path(out, kind, seed)), compile=False)
        path = pictures.write_png(folder, {f"{kind}_traversals": pictures.latent_traversals(model, images)})[0]
        say(f"Wrote {path} ({kind} seed {seed}, MIG {results[kind, seed]['mig']:.3f})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the study's folder (exports, logs, study.md)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--smoke", action="store_true", help="the recipe's smoke sizes (checks the script only)")
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of the recipe's")
    parser.add_argument("--pictures", help="a folder for each kind's best latent traversals")
    parser.add_argument("--rescore", action="store_true",
                        help="train nothing: score the finished runs with this checkout's metrics")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.rescore:
        results = rescore(args.out, collected(args.out, args.seeds, tuple(args.kinds)))
    else:
        results = run_all(args.out, args.seeds, tuple(args.kinds), args.smoke, epochs=args.epochs)
    results = udr_scores(args.out, results)
    text = table(results, tuple(args.kinds))
    print(text, flush=True)
    with open(os.path.join(args.out, "study.md"), "w") as f:
        f.write(text + "\n")
    print(f"{len(results)} of {len(args.kinds) * len(args.seeds)} runs done; {time.perf_counter() - start:.0f} s; "
          f"wrote {os.path.join(args.out, 'study.md')}", flush=True)
    if args.pictures and results:
        write_traversals(args.out, results, args.pictures)
    return 0 if len(results) == len(args.kinds) * len(args.seeds) else 1


if __name__ == "__main__":
    sys.exit(main())
