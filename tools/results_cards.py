"""A short model card for each shipped version (saved_models/<name>/<version>/MODEL_CARD.md),
from its metrics.json and config.json: the data, the protocol, the figures with their units
and the command that measured them, the hardware and time, and the limits. TF Serving and
the zoo ignore the file; the tables' tool writes it and checks it like a table."""

import results_sample_quality

DATASETS = {  # (what it is, training images, test images), as zoo.data.sources registers them
    "digits": ("scikit-learn's 8x8 handwritten digits (embedded)", 1500, 297),
    "mnist": ("MNIST handwritten digits, 28x28", 60000, 10000),
    "fashion_mnist": ("Fashion-MNIST clothing images, 28x28", 60000, 10000),
    "shapes": ("dSprites-style 64x64 binary shapes drawn by the zoo", 41472, 4608),
}

UNITS = {  # likelihood -> what its nats are, and what they cannot be compared with
    "bernoulli": ("nats per image of binarized pixels",
                  "comparable with Bernoulli figures on test images binarized the same way, not directly with "
                  "published figures on another binarization (Larochelle's fixed one, or one drawn afresh)"),
    "gaussian": ("nats per image, a density of [0, 1] pixels that can be negative",
                 "comparable only with Gaussian densities on the same pixels: not with Bernoulli nats, "
                 "discrete bits/dim or another likelihood"),
    "continuous_bernoulli": ("nats per image, a continuous-Bernoulli density of [0, 1] pixels",
                             "comparable only with itself: its density grows without bound at pixels of exactly "
                             "0 or 1, so it is not comparable with Bernoulli nats or Gaussian densities"),
    "discretized_logistic": ("nats per image, a discrete likelihood of 8-bit pixels",
                             "comparable with other discrete 8-bit figures (bits/dim), not with densities"),
}


def _blocks(model):
    """"posterior diagonal_normal, prior vamp, ..." from config.json's model blocks."""
    return ", ".join(f"{key} {value['type']}" for key, value in sorted(model.items())
                     if isinstance(value, dict) and "type" in value)


def _objective(model):
    objective = model.get("objective") or {}
    details = ", ".join(f"{key} {value}" for key, value in sorted(objective.items()) if key != "type")
    return f"{objective.get('type', 'the autoencoder loss with the prior trained after it')}" + (
        f" ({details})" if details else "")


def _pixels(training, test):
    trained = {"dynamic": "binarized afresh every epoch in training", "none": "grey levels, not binarized"}
    tested = "test images not binarized" if test == "none" else f"test images binarized once, {test}"
    return f"{trained.get(training, f'training binarization {training}')}; {tested}"


def _density(evaluation):
    """"-log p(x)" or "-log p(x\\|y)": what the evaluation bounds (its "density" field)."""
    density = (evaluation.get("density") or "log p(x)").split(",")[0].split(" at ")[0]
    return "-" + density.replace("|", "\\|")


def _images(count, total):
    return f"all {count:,}" if count == total else f"the first {count:,}"


def _drawn(figures, images):
    return f"{figures.get('conditional_samples_per_class', '?')} drawn per class"


def _grid(figures, images):
    return f"{(figures.get('disentanglement') or {}).get('examples', '?'):,} drawn from the factor grid"


EXTRAS = (  # key, name, format, which images it was measured on (given the figures and the test images)
    ("test_bits_per_dim", "bits/dim", "{:.4f}", None),
    ("test_codebook_perplexity", "codebook perplexity", "{:.1f}", None),
    ("conditional_accuracy", "conditional accuracy (the judge on generated images)", "{:.1%}", _drawn),
    ("judge_test_accuracy", "the judge's accuracy on real test images", "{:.1%}", None),
    ("test_error", "test error of q(y\\|x)", "{:.2%}", None),
    ("mig", "MIG", "{:.3f}", _grid),
    ("factor_vae_score", "FactorVAE score", "{:.3f}", _grid))


def _extras(figures, images, training=None):
    """Rows for the figures beyond the bound that `figures` holds (some kinds of model have
    them); an evaluation's figure equal to the training one (`training`) is not repeated."""
    return [f"| {name} | {form.format(figures[key])} | {where(figures, images) if where else images} | the same |"
            for key, name, form, where in EXTRAS
            if figures.get(key) is not None and (training is None or training.get(key) != figures[key])]


def _training_figures(metrics, units):
    test = _images(metrics["test_examples"], metrics["test_examples"])
    return [f"| test -ELBO ({units}) | {metrics['test_neg_elbo']:.2f} (reconstruction "
            f"{metrics['test_reconstruction']:.2f} + KL {metrics['test_kl']:.2f}) | {test} | `{metrics['command']}` |",
            *_extras(metrics, test)]


def _evaluation_figures(export):
    rows, total = [], export.metrics["test_examples"]
    for evaluation in export.evaluations():
        images, command = _images(evaluation["examples"], total), f"`{evaluation['command']}`"
        if "neg_log_likelihood" in evaluation:
            rows.append(f"| {_density(evaluation)}, importance sampled, K={evaluation['samples']} (an upper bound) | "
                        f"{evaluation['neg_log_likelihood']:.2f} ± {evaluation['neg_log_likelihood_stderr']:.2f} | "
                        f"{images} | {command} ({evaluation['seconds']:.0f} s) |")
            rows.append(f"| -ELBO on the same draws; gap; bits/dim | {evaluation['neg_elbo']:.2f}; "
                        f"{evaluation['gap']:.2f}; {evaluation['bits_per_dim']:.3f} | {images} | the same |")
            rows += _extras(evaluation, images, export.metrics)
        elif "neg_elbo" in evaluation:
            rows.append(f"| -ELBO (exact bound of the learned prior); bits/dim | {evaluation['neg_elbo']:.2f}; "
                        f"{evaluation['bits_per_dim']:.4f} | {images} | {command} ({evaluation['seconds']:.0f} s) |")
    for (sampler, space), figures in sorted(results_sample_quality.figures_of(export).items()):
        rows.append(f"| FID; KID; precision; recall ({sampler}, {space} space, {figures['n_fake']:,} drawn) | "
                    f"{figures['fid']:.2f}; {figures['kid']:.4f}; {figures['precision']:.3f}; "
                    f"{figures['recall']:.3f} | {figures['n_real']:,} | "
                    + (f"`{figures['command']}` |" if figures.get("command") else "see metrics.json |"))
    return rows


def _limits(export, likelihood):
    metrics, evaluations = export.metrics, export.evaluations()
    seed = export.config["train"].get("seed")
    limits = [f"Units: {UNITS[likelihood][1]}." if likelihood in UNITS else
              "Units: this likelihood's own; compare only with the same likelihood on the same pixels.",
              "CPU only: trained and measured on the hardware above; no GPU or TPU was tested, and times on "
              "shared cores are upper bounds.",
              f"One training run (seed {seed}): no spread across seeds is measured; ± is a standard error over "
              "test images only.",
              f"Tested on the {export.config['train']['dataset']} test split only: nothing was measured on other "
              "data or on out-of-distribution images."]
    if not evaluations:
        limits.append("Not scored by `zoo evaluate`: no log-likelihood, no pictures.")
    elif all(e["examples"] < metrics["test_examples"] for e in evaluations):
        limits.append(f"The log-likelihood is on the first {max(e['examples'] for e in evaluations):,} test images "
                      "only, not the whole test set.")
    if not results_sample_quality.figures_of(export):
        limits.append("Sample quality (FID, KID, precision/recall) is not measured for this version.")
    return [f"- {line}" for line in limits]


def card(export, latest):
    """The text of `export`'s MODEL_CARD.md (30-60 lines)."""
    metrics, config = export.metrics, export.config
    train, model = config["train"], config["model"]
    what, train_images, test_images = DATASETS.get(train["dataset"], (train["dataset"], None, None))
    likelihood = (model.get("likelihood") or {}).get("type", "")
    units = UNITS.get(likelihood, ("nats per image",))[0]
    newest = export.name in latest and latest[export.name].version == export.version
    labels = ("all training labels" if train.get("labelled") is None else f"{train['labelled']:,} training labels")
    lines = [
        f"# {export.name}, version {export.version}",
        "",
        f"{config.get('description', export.name)}. "
        + ("The version served by default." if newest else "A later version is served by default."),
        "Written by `python tools/write_results.py` from this folder's `metrics.json` and `config.json`:",
        "change those, not this file.",
        "",
        "## Data",
        "",
        f"- {what} (`{train['dataset']}`): "
        + (f"{train_images:,} training images, " if train_images else "")
        + f"{metrics['test_examples']:,} test images"
        + (f" of {test_images:,}" if test_images and test_images != metrics["test_examples"] else "") + ".",
        f"- Pixels: {_pixels(train['binarization'], metrics['test_binarization'])}.",
        f"- Labels: {labels if _uses_labels(model) else 'none used'}.",
        "",
        "## Protocol",
        "",
        f"- Blocks: {_blocks(model)}.",
        f"- Objective: {_objective(model)}.",
        f"- Training: {metrics['epochs']} epochs"
        + (f" + {metrics['prior_epochs']} of the prior" if "prior_epochs" in metrics else "")
        + f", batch {train['batch_size']}, learning rate {train['learning_rate']}, seed {train.get('seed')}, "
        f"{train.get('precision', 'float32')}.",
        "",
        "## Figures",
        "",
        "| figure | value | test images | measured by |",
        "| --- | --- | --- | --- |",
        *_training_figures(metrics, units),
        *_evaluation_figures(export),
        "",
        "## Hardware and time",
        "",
        f"- Trained on {metrics['hardware']}: {metrics['train_seconds']:.0f} s of `model.fit`"
        + (f" ({metrics['train_images_per_second']:,} images/s)" if "train_images_per_second" in metrics else "")
        + (f", then {metrics['prior_train_seconds']:.0f} s for the prior" if "prior_train_seconds" in metrics else "")
        + ".",
        *[f"- Scored on {e['hardware']}: {e['seconds']:.0f} s for {e['examples']:,} test images."
          for e in export.evaluations() if "hardware" in e and "seconds" in e],
        *[f"- Sample quality measured on {e['hardware']}: {_quality_seconds(e):.0f} s for "
          f"{len(next(iter(e['sample_quality'].values()))['samplers'])} samplers and 2 floors."
          for e in export.evaluations() if "hardware" in e and e.get("sample_quality")],
        *_samplers_fitted(metrics),
        "",
        "## Limits",
        "",
        *_limits(export, likelihood),
    ]
    return "\n".join(lines) + "\n"


def _quality_seconds(evaluation):
    """The seconds a sample-quality run spent drawing and scoring, over its spaces."""
    return sum(figures.get("seconds", 0) + figures.get("sampling_seconds", 0)
               for measured in evaluation["sample_quality"].values()
               for figures in {**measured["samplers"], **measured["floors"]}.values())


def _samplers_fitted(metrics):
    """A line for the post-hoc samplers `zoo fit-samplers` fitted, when it did."""
    fitted = metrics.get("samplers_fitted_to")
    if not fitted:
        return []
    return [f"- Post-hoc samplers ({', '.join(sorted(metrics.get('samplers', {})))}) fitted to the codes of "
            f"{fitted['train_images']:,} training images in {fitted['seconds']:.0f} s by `{fitted['command']}`; "
            "the network weights are version 1's."]


def _uses_labels(model):
    return bool(model.get("condition") or model.get("classifier")
                or (model.get("objective") or {}).get("type") == "semi_supervised")
