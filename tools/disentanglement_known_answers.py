"""The figures of docs/disentanglement.md's known-answer table for disentanglement_lib's other
metrics: synthetic codes of 5,000 draws of the `shapes` grid (seed 1) and 5,000 held out
(seed 2), at `scores`' settings (the downstream task trained on 1,000 codes).

    python tools/disentanglement_known_answers.py
"""

import numpy as np

from zoo.data import DATASETS
from zoo.evaluation.disentanglement import boosted_trees
from zoo.evaluation.downstream import downstream_task
from zoo.evaluation.fairness import fairness
from zoo.evaluation.irs import irs
from zoo.evaluation.modularity import modularity_explicitness
from zoo.evaluation.unsupervised_scores import unsupervised_scores

SIZES = DATASETS.get("shapes").factor_sizes


def draw(count, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(n, size=count) for n in SIZES], axis=1)


def codes_of(kind, factors):
    """Deterministic codes of factor tuples (fairness encodes new tuples with the same rule)."""
    noise = np.random.default_rng(int(np.sum(factors[:5])) + len(factors))
    if kind == "copied":
        return factors + 0.05 * noise.standard_normal(factors.shape)
    if kind == "noise":
        return noise.standard_normal((len(factors), 10))
    codes = factors + 0.05 * noise.standard_normal(factors.shape)
    codes[:, 3] = factors[:, 3] + factors[:, 4]  # x + y in one latent, y in none of its own
    return np.concatenate([codes[:, :4], noise.standard_normal((len(factors), 3))], axis=1)


def main():
    train, test = draw(5000, 1), draw(5000, 2)
    print("| code | modularity | explicitness | IRS | downstream LR / GBT (1,000) | unfairness | Gaussian TC | "
          "Wasserstein / tr | latent MI |")
    for kind in ("copied", "noise", "mixed"):
        codes, held_out = codes_of(kind, train), (test, codes_of(kind, test))
        trees = boosted_trees(train[:1000], codes[:1000])
        accuracy = {p: downstream_task(train, codes, held_out, (1000,), p, fitted={1000: trees})[1000]
                    ["mean_test_accuracy"] for p in ("logistic_regression", "boosted_trees")}
        parts = {**modularity_explicitness(train, codes, held_out), **irs(train, codes), **unsupervised_scores(codes),
                 **fairness(trees, SIZES, lambda f: codes_of(kind, f))}
        print(f"| {kind} | {parts['modularity']:.2f} | {parts['explicitness']:.2f} | {parts['irs']:.2f} | "
              f"{accuracy['logistic_regression']:.2f} / {accuracy['boosted_trees']:.2f} | {parts['unfairness']:.3f} | "
              f"{parts['gaussian_total_correlation']:.3f} | {parts['gaussian_wasserstein_correlation_norm']:.4f} | "
              f"{parts['mutual_info_score']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
