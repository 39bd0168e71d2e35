"""How disentangled a model's codes are, on data whose generative factors are known (`shapes`,
`dsprites`).

`scores` gives these five and, through `other_metrics`, the rest of disentanglement_lib's (each
in its own module: modularity.py, irs.py, downstream.py, fairness.py, unsupervised_scores.py;
UDR, which compares models, in udr.py).

Five metrics, as disentanglement_lib computes them (Locatello et al. 2019), from factor
indices [N, K] and codes [N, D] of the same N images:

- MIG, the mutual information gap (Chen et al. 2018): each code dimension is cut into 20
  equal-width bins; for each factor, the gap between the two latents that tell most about it,
  I(z_top; v) - I(z_second; v), divided by its entropy H(v), averaged over factors. 1: every
  factor is read off one latent alone; 0: none is, or two latents share it. With 20 bins a
  factor of more than 20 values cannot reach 1 (a perfect code of dSprites' grid scores 0.88).
- The FactorVAE score (Kim & Mnih 2018): codes are divided by their standard deviation over
  the data and latents whose deviation is under 0.05 are pruned (collapsed to the prior);
  each vote fixes one factor at random over a batch of 64 images, the others varying, and
  names the latent that varies least; a latent's class is the factor it got most votes for,
  and the score is the share of fresh votes that this majority-vote classifier gets right. A
  random code scores about 1/K (chance), not 0.

Three more fit a predictor of the factors from the codes, trained on one sample and scored on
a second one drawn apart (disentanglement_lib's defaults unless said):

- The BetaVAE score (Higgins et al. 2017): each point fixes one factor at random over 64 pairs
  of images that share its value and takes the mean |z1 - z2| per latent; a logistic
  regression (scikit-learn's, default settings) learns which factor was fixed from 10,000
  points; the score is its accuracy on 5,000 points of the held-out sample. Chance is 1/K.
- SAP (Kumar et al. 2018): for each latent and factor, a linear SVM (C = 0.01, balanced
  classes) on that one latent predicts the factor (a learned threshold per value); the
  accuracy on the held-out sample fills a [D, K] matrix, and the score is the mean over
  factors of the gap between its two best latents. 0 for a random code and for a factor
  shared by two latents.
- DCI (Eastwood & Williams 2018): one gradient-boosted classifier per factor (scikit-learn's
  defaults) gives each latent's importance R[d, k]; disentanglement is 1 - H_K(R[d, :]) per
  latent, weighted by its share of the importance; completeness 1 - H_D(R[:, k]) per factor,
  weighted likewise; informativeness is the classifiers' mean held-out accuracy.

The votes and pairs come from the N images encoded once (the BetaVAE score's evaluation pairs
from the held-out ones): the rows sharing the fixed factor's value are, for a uniform sample of
the grid, a uniform sample of the rest, so no image is encoded twice (disentanglement_lib draws and encodes ~1M fresh images). The classifiers train
on the N = 5,000 images (DCI's trees on 1,000 of them), not disentanglement_lib's 10,000: DCI's
trees take minutes on 10,000 (docs/disentanglement.md).
"""

import time

import numpy as np
import tensorflow as tf

from zoo.data.factor_grid import FactorGrid
from zoo.data.sources import Split
from zoo.errors import ZooError
from zoo.evaluation.downstream import PREDICTORS, downstream_task, fit
from zoo.evaluation.fairness import fairness
from zoo.evaluation.factor_codes import (BINS, checked, checked_held_out, discretize, entropy, fitting,
                                         information_matrix, mutual_information, varying)
from zoo.evaluation.irs import irs
from zoo.evaluation.modularity import modularity_explicitness
from zoo.evaluation.unsupervised_scores import unsupervised_scores

MIG_BINS = BINS
VOTE_BATCH, TRAIN_VOTES, EVAL_VOTES = 64, 10000, 5000  # disentanglement_lib's factor_vae settings
PRUNE_STDDEV = 0.05
PAIR_BATCH, TRAIN_POINTS, EVAL_POINTS = 64, 10000, 5000  # disentanglement_lib's beta_vae_sklearn settings
SAP_C = 0.01  # disentanglement_lib's LinearSVC for discrete factors
DCI_POINTS = 1000  # the gradient-boosted trees train on the first 1,000 of the N images, not 10,000: speed
DOWNSTREAM_SIZES = (10, 100, DCI_POINTS)  # the downstream task's training sizes (zoo.evaluation.downstream)
EXAMPLES, SEED, ENCODE_BATCH = 5000, 0, 500  # what `scores` encodes (twice: seeds 0 and 1), the same for every model


def mig(factors, codes, bins=MIG_BINS):
    """{"mig": mean over factors, "mig_per_factor": [K]} of factor indices [N, K] and codes [N, D].

    A factor that does not vary in the sample (entropy 0) has no gap: nan, left out of the mean.
    """
    factors, codes = checked(factors, codes)
    binned = discretize(codes, bins)
    information = information_matrix(binned, factors)  # [D, K]
    ranked = np.sort(information, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros_like(ranked[0])
    entropies = np.array([entropy(factors[:, k]) for k in range(factors.shape[1])])
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(entropies > 0, (ranked[0] - second) / entropies, np.nan)
    if np.isnan(gaps).all():
        raise ZooError("MIG: no factor varies over these examples")
    return {"mig": float(np.nanmean(gaps)), "mig_per_factor": [float(g) for g in gaps]}


def factor_vae_score(factors, codes, seed=SEED, batch_size=VOTE_BATCH, train_votes=TRAIN_VOTES,
                     eval_votes=EVAL_VOTES, prune_stddev=PRUNE_STDDEV):
    """{"factor_vae_score": accuracy of the majority-vote classifier on `eval_votes` fresh votes,
    "factor_vae_train_accuracy", "active_dims"} of factor indices [N, K] and codes [N, D].

    Each vote fixes the value of one factor (a random one, at the value of a random example)
    and takes `batch_size` examples that share it; `seed` fixes every draw.
    """
    factors, codes = checked(factors, codes)
    variances = codes.var(axis=0, ddof=1)
    active = np.sqrt(variances) >= prune_stddev
    if not active.any():
        return {"factor_vae_score": 0.0, "factor_vae_train_accuracy": 0.0, "active_dims": 0}
    codes, variances = codes[:, active], variances[active]
    rng = np.random.default_rng(seed)
    sharing = [_rows_by_value(column) for column in factors.T]  # per factor: value -> rows with it

    def votes(count):
        table = np.zeros((factors.shape[1], codes.shape[1]), np.int64)
        for factor in rng.integers(factors.shape[1], size=count):
            rows = sharing[factor][factors[rng.integers(len(factors)), factor]]
            batch = rng.choice(rows, batch_size, replace=len(rows) < batch_size)
            table[factor, np.argmin(codes[batch].var(axis=0, ddof=1) / variances)] += 1
        return table

    trained = votes(train_votes)
    classifier = trained.argmax(axis=0)  # each latent's factor
    fresh = votes(eval_votes)
    columns = np.arange(codes.shape[1])
    return {"factor_vae_score": float(fresh[classifier, columns].sum() / fresh.sum()),
            "factor_vae_train_accuracy": float(trained[classifier, columns].sum() / trained.sum()),
            "active_dims": int(active.sum())}


def beta_vae_score(factors, codes, held_out=None, seed=SEED, batch_size=PAIR_BATCH, train_points=TRAIN_POINTS,
                   eval_points=EVAL_POINTS):
    """{"beta_vae_score": held-out accuracy of the logistic regression, "beta_vae_train_accuracy"} of
    factor indices [N, K] and codes [N, D]; the evaluation points pair the rows of `held_out`, a
    second (factors, codes) sample (None: the same rows). `seed` fixes every draw."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    rng = np.random.default_rng(seed)
    train_features, train_labels = pair_differences(factors, codes, train_points, batch_size, rng)
    test_features, test_labels = pair_differences(test_factors, test_codes, eval_points, batch_size, rng)
    from sklearn.linear_model import LogisticRegression

    with fitting():
        classifier = LogisticRegression(random_state=seed).fit(train_features, train_labels)
    return {"beta_vae_score": float(classifier.score(test_features, test_labels)),
            "beta_vae_train_accuracy": float(classifier.score(train_features, train_labels))}


def pair_differences(factors, codes, count, batch_size, rng):
    """`count` points of the BetaVAE score: each fixes a random factor k and is the mean over
    `batch_size` pairs (a random row, and a random row with its value of k) of |z1 - z2| [D];
    returns the points [count, D] and their factors [count]."""
    labels = rng.integers(factors.shape[1], size=count)
    first = rng.integers(len(factors), size=(count, batch_size))
    second = np.empty_like(first)
    for factor in range(factors.shape[1]):
        fixed = labels == factor
        _, group = np.unique(factors[:, factor], return_inverse=True)
        order, sizes = np.argsort(group, kind="stable"), np.bincount(group)
        starts, wanted = np.cumsum(sizes) - sizes, group[first[fixed]]
        second[fixed] = order[starts[wanted] + (rng.random(wanted.shape) * sizes[wanted]).astype(np.int64)]
    points = np.concatenate([np.abs(codes[first[rows]] - codes[second[rows]]).mean(axis=1)
                             for rows in np.array_split(np.arange(count), max(1, count // 1000))])
    return points, labels


def sap(factors, codes, held_out=None, continuous=False):
    """{"sap": mean over factors of the gap between the two best latents' scores, "sap_per_factor"}
    of factor indices [N, K] and codes [N, D]. A score is the held-out accuracy of a linear SVM on
    that latent alone (`held_out`: a second (factors, codes) sample; None: the same rows), or with
    `continuous` the squared correlation on the first sample. A factor that does not vary: nan,
    left out of the mean."""
    matrix = sap_matrix(factors, codes, held_out, continuous)  # [D, K]
    ranked = np.sort(matrix, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros_like(ranked[0])
    gaps = ranked[0] - second
    return {"sap": float(np.nanmean(gaps)), "sap_per_factor": [float(g) for g in gaps]}


def sap_matrix(factors, codes, held_out=None, continuous=False):
    """[D, K] how well each latent alone predicts each factor (see `sap`)."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    matrix = np.full((codes.shape[1], factors.shape[1]), np.nan)
    from sklearn.svm import LinearSVC

    for k in varying(factors):
        for d in range(codes.shape[1]):
            if continuous:
                covariance = np.cov(codes[:, d], factors[:, k], ddof=1)
                matrix[d, k] = (covariance[0, 1] ** 2 / (covariance[0, 0] * covariance[1, 1])
                                if covariance[0, 0] > 1e-12 else 0.0)
                continue
            with fitting():
                svm = LinearSVC(C=SAP_C, class_weight="balanced").fit(codes[:, [d]], factors[:, k])
            matrix[d, k] = np.mean(svm.predict(test_codes[:, [d]]) == test_factors[:, k])
    return matrix


def dci(factors, codes, held_out=None, seed=SEED, trees=None):
    """{"dci_disentanglement", "dci_completeness", "dci_informativeness" (held-out accuracy),
    "dci_train_accuracy", "importance" [D, K]} of factor indices [N, K] and codes [N, D], from one
    gradient-boosted classifier per factor that varies (`held_out`: see `sap`; `trees`: those
    classifiers, {factor: fitted}, if `boosted_trees` made them already)."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    trees = boosted_trees(factors, codes, seed) if trees is None else trees
    importance = np.stack([np.abs(tree.feature_importances_) for tree in trees.values()], axis=1)
    train = [np.mean(tree.predict(codes) == factors[:, k]) for k, tree in trees.items()]
    test = [np.mean(tree.predict(test_codes) == test_factors[:, k]) for k, tree in trees.items()]
    return {"dci_disentanglement": dci_disentanglement(importance), "dci_completeness": dci_completeness(importance),
            "dci_informativeness": float(np.mean(test)), "dci_train_accuracy": float(np.mean(train)),
            "importance": importance, "test_accuracy": dict(zip(trees, test))}


def boosted_trees(factors, codes, seed=SEED):
    """{factor: scikit-learn's GradientBoostingClassifier (default settings, as
    disentanglement_lib's) fitted to predict it from codes [N, D]} for each factor that varies.
    DCI, the boosted-trees downstream task and fairness share them: the costliest fits here."""
    return {k: fit("boosted_trees", factors[:, k], codes, seed) for k in varying(factors)}


def dci_disentanglement(importance):
    """Sum over latents of (1 - entropy of its row of importance [D, K], base K) times the
    latent's share of all importance: 1 when each latent matters to one factor at most."""
    return _weighted_certainty(np.asarray(importance, np.float64))


def dci_completeness(importance):
    """The same over factors (columns, entropy base D): 1 when each factor rests on one latent."""
    return _weighted_certainty(np.asarray(importance, np.float64).T)


def _weighted_certainty(rows):
    if rows.shape[1] == 1:
        return 1.0  # one column: nothing to share
    offset = rows + 1e-11  # disentanglement_lib's offset: an all-zero row counts as uniform
    p = offset / offset.sum(axis=1, keepdims=True)
    certainty = 1 + np.sum(p * np.log(p), axis=1) / np.log(rows.shape[1])
    weights = rows.sum(axis=1) if rows.sum() > 0 else np.ones(len(rows))
    return float(np.sum(certainty * weights / weights.sum()))


def _rows_by_value(column):
    values, inverse = np.unique(column, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return dict(zip(values.tolist(), np.split(order, np.cumsum(np.bincount(inverse))[:-1])))


def knows_factors(source):
    """Whether `source` declares the generative factors of its images (a `FactorGrid`)."""
    return isinstance(source, FactorGrid)


def scores(model, source, examples=EXAMPLES, seed=SEED):
    """Every factor-based metric of `model` (these five, and disentanglement_lib's others: see
    `OTHER_METRICS`) on `examples` images drawn uniformly from the grid of `source` with `seed`,
    and as many more with seed + 1 held out for the classifiers (the same images for every
    model); {} for a source whose factors are unknown (not a `FactorGrid`). UDR compares
    models, so it is not here (`zoo.evaluation.udr`)."""
    if not knows_factors(source) or not model.embeds:
        return {}
    start = time.perf_counter()

    def embedded(drawn):
        return model.embed(drawn.scaled(), drawn.labels if model.label_use == "condition" else None, ENCODE_BATCH)

    def encoded(draw_seed):
        drawn = source.sample(examples, draw_seed)
        return drawn.factors, embedded(drawn)

    def represent(factors):  # the codes of the images of any factor tuples (fairness's interventions)
        return embedded(Split(source.render(factors), factors[:, 0].astype(np.int64), source.levels, factors))

    factors, codes = encoded(seed)
    held_out = encoded(seed + 1)
    information = mig(factors, codes)
    votes = factor_vae_score(factors, codes, seed=seed)
    pairs = beta_vae_score(factors, codes, held_out, seed=seed)
    separated = sap(factors, codes, held_out)
    trees = boosted_trees(factors[:DCI_POINTS], codes[:DCI_POINTS], seed=seed)
    importance = dci(factors[:DCI_POINTS], codes[:DCI_POINTS], held_out, seed=seed, trees=trees)
    others = other_metrics(factors, codes, held_out, trees, source.factor_sizes, represent, seed)
    return {"mig": information["mig"], "factor_vae_score": votes["factor_vae_score"],
            "beta_vae_score": pairs["beta_vae_score"], "sap": separated["sap"],
            **{key: importance[key] for key in ("dci_disentanglement", "dci_completeness", "dci_informativeness")},
            **{key: others[key] for key in OTHER_METRICS},
            "disentanglement": {
                "examples": examples, "seed": seed, "held_out_seed": seed + 1, "factors": list(source.factor_names),
                "mig_per_factor": _by_factor(source, information["mig_per_factor"]), "mig_bins": MIG_BINS,
                "factor_vae_train_accuracy": votes["factor_vae_train_accuracy"],
                "active_dims": votes["active_dims"], "votes": [TRAIN_VOTES, EVAL_VOTES], "vote_batch": VOTE_BATCH,
                "beta_vae_train_accuracy": pairs["beta_vae_train_accuracy"],
                "beta_vae_points": [TRAIN_POINTS, EVAL_POINTS], "pair_batch": PAIR_BATCH,
                "sap_per_factor": _by_factor(source, separated["sap_per_factor"]),
                "dci_train_accuracy": importance["dci_train_accuracy"], "dci_train_examples": DCI_POINTS,
                "dci_importance": np.round(importance["importance"], 4).tolist(),
                "explicitness_per_factor": _by_factor(source, others["explicitness_per_factor"]),
                **{key: others[key] for key in ("explicitness_train", "irs_active_dims", "unfairness_max",
                                                "gaussian_wasserstein_correlation", "downstream")},
                "unfairness_matrix": [[None if np.isnan(v) else round(float(v), 4) for v in row]
                                      for row in others["unfairness_matrix"]],  # target by sensitive factor
                "seconds": round(time.perf_counter() - start, 1)}}


OTHER_METRICS = ("modularity", "explicitness", "irs", "gaussian_total_correlation",
                 "gaussian_wasserstein_correlation_norm", "mutual_info_score", "downstream_logistic_regression",
                 "downstream_boosted_trees", "unfairness")


def other_metrics(factors, codes, held_out, trees, factor_sizes, represent, seed=SEED):
    """disentanglement_lib's metrics beyond the five, each from its own module: the keys of
    `OTHER_METRICS` and their details. `trees`: DCI's, fitted on the first `DCI_POINTS` rows,
    which the boosted-trees downstream task at that size and fairness reuse."""
    downstream = {predictor: downstream_task(factors, codes, held_out, DOWNSTREAM_SIZES, predictor, seed=seed,
                                             fitted={DCI_POINTS: trees} if predictor == "boosted_trees" else None)
                  for predictor in PREDICTORS}
    unfair = fairness(trees, factor_sizes, represent, seed=seed)
    return {**modularity_explicitness(factors, codes, held_out), **unsupervised_scores(codes),
            **{key: value for key, value in irs(factors, codes).items() if key != "irs_per_latent"},
            **{f"downstream_{predictor}": results[max(results)]["mean_test_accuracy"]
               for predictor, results in downstream.items()},
            "downstream": {predictor: {str(size): _rounded(result) for size, result in results.items()}
                           for predictor, results in downstream.items()},
            "unfairness": unfair["unfairness"], "unfairness_max": unfair["unfairness_max"],
            "unfairness_matrix": unfair["mean_matrix"]}


def _rounded(result):
    return {key: [round(v, 4) for v in value] if isinstance(value, list) else round(value, 4)
            for key, value in result.items()}


def _by_factor(source, values):
    return {name: None if np.isnan(value) else round(value, 4) for name, value in zip(source.factor_names, values)}


def report(result):
    """One line for people from a result holding `scores`' keys."""
    details = result["disentanglement"]
    return (f"MIG {result['mig']:.3f}, FactorVAE score {result['factor_vae_score']:.3f}, BetaVAE score "
            f"{result['beta_vae_score']:.3f}, SAP {result['sap']:.3f}, DCI disentanglement "
            f"{result['dci_disentanglement']:.3f} / completeness {result['dci_completeness']:.3f} / informativeness "
            f"{result['dci_informativeness']:.3f}, modularity {result['modularity']:.3f}, explicitness "
            f"{result['explicitness']:.3f}, IRS {result['irs']:.3f}, unfairness {result['unfairness']:.3f}, "
            f"downstream accuracy (logistic regression / boosted trees, {DCI_POINTS} images) "
            f"{result['downstream_logistic_regression']:.3f} / {result['downstream_boosted_trees']:.3f}, "
            f"Gaussian total correlation {result['gaussian_total_correlation']:.3f} nats, normalized Wasserstein "
            f"correlation {result['gaussian_wasserstein_correlation_norm']:.3f}, latent mutual information "
            f"{result['mutual_info_score']:.3f} nats ({details['active_dims']} active latents; {details['examples']} "
            f"images drawn from the grid, seed {details['seed']}; {details['seconds']:.0f} s)")
