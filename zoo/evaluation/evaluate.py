"""`zoo evaluate`: how good an export is as a density model, on its dataset's test split.

Reports the test negative ELBO and the importance-sampled negative log-likelihood (IWAE
bound, K samples, as in Burda et al. 2016 Table 1), their gap (the KL from q(z|x) to the
true posterior), the analytic KL per latent dimension, the number of active units, and
bits/dim. Every figure is in nats per example unless named otherwise. A conditional model is
scored on log p(x|y) at the test labels and on its conditional accuracy; a semi-supervised
model (M2) on log p(x) with the class summed out and on the test error of q(y|x). On data
whose generative factors are known (`shapes`, `dsprites`), the codes are also scored on MIG
and the FactorVAE score (`zoo.evaluation.disentanglement`).

How a model is scored is what it declares (`model.scoring`): "importance_sampling" here,
"exact_bound" (a VQ-VAE's point-mass q) by `zoo.evaluation.codes`, "reconstruction_error"
(no likelihood) by `zoo.evaluation.reconstruction_error`.
"""

import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import data as zoo_data
from zoo.atomic import write_json
from zoo.config import Recipe
from zoo.errors import ConfigError, ZooError, first_line
from zoo.evaluation import codes, disentanglement, inference_gaps, reconstruction_error, records
from zoo.evaluation.sample_quality import SampleQuality
from zoo.machine import hardware
from zoo.models.kinds import load_preset
from zoo.models.presets import preset_path, read_json

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al.: Cov_x(E_q[z_d]) above this counts as active


def evaluate(export_path, data_dir=None, num_samples=5000, examples=None, batch_size=50,
             output_dir=None, pictures=True, download=False, command=None, verbose=True, sample_quality=None,
             gaps=None, gap_flow=False, likelihood=True):
    """Evaluate an export on its test split; write metrics.json (and PNGs) to `output_dir`.

    `output_dir` defaults to the export's version folder, whose metrics.json gains an
    "evaluation" entry. Returns that entry. Every input (config.json, model.keras, the
    metrics.json to extend, a writable `output_dir`) is checked before anything is computed,
    so a bad one costs seconds, not the evaluation; if writing still fails afterwards, the
    figures are printed and the error says so. `sample_quality`: the options of
    `zoo.evaluation.sample_quality.SampleQuality` (samples, space, ...) to measure FID, KID
    and precision/recall of samples too, or None. `gaps`: also the approximation and amortization
    gaps of the first N test images (`zoo.evaluation.inference_gaps`; a per-image flow as well
    with `gap_flow`). `likelihood=False` scores no test image (no -ELBO, log p(x), labels or
    disentanglement): only the sample quality and gaps asked for. An earlier evaluation in
    the metrics.json that measured something else is kept under "evaluations".
    """
    if num_samples < 1 or batch_size < 1 or (examples is not None and examples < 1):
        raise ZooError("--samples, --examples and --batch-size must be positive integers")
    path = preset_path(export_path)
    recipe = export_recipe(path)
    model = load_preset(path, compile=False)
    quality = SampleQuality(model, recipe.train, **sample_quality) if sample_quality is not None else None
    if gaps is not None or gap_flow:
        inference_gaps.check(model, gaps if gaps is not None else 0)  # before anything is computed
    if not likelihood and quality is None and not gaps:
        raise ZooError("--no-likelihood leaves nothing to measure: add --sample-quality or --gaps N")
    output_dir = output_dir or path
    writable_output(output_dir)
    images, labels = evaluation_images(recipe, data_dir, download, examples)
    say = print if verbose else (lambda *args, **kwargs: None)
    command = command or " ".join(sys.argv)
    if model.label_use == "condition" and labels is None:
        raise ZooError(f"{path} is a conditional model and the test images of {recipe.train.dataset} have no labels")
    if likelihood:
        scorer, reporter = SCORERS[model.scoring]
        say(f"Evaluating {path}: {len(images)} test images of {recipe.train.dataset}"
            + (f", {num_samples} importance samples each" if model.scoring == "importance_sampling" else ""),
            flush=True)
        result = scorer(model, recipe, images, labels if model.label_use == "condition" else None,
                        num_samples=num_samples, batch_size=batch_size, progress=verbose)
        result.update(label_scores(model, recipe, images, labels, data_dir, download, say))
        result.update(disentanglement_scores(model, recipe, data_dir, say))
        text = reporter(result)
    else:
        say(f"Evaluating {path} on {len(images)} test images of {recipe.train.dataset} (none scored: "
            "--no-likelihood)", flush=True)
        result, text = {"dataset": recipe.train.dataset, "examples": len(images),
                        "scores": records.SAMPLE_QUALITY_ONLY}, ""
    if gaps:  # Cremer et al.'s approximation and amortization gaps of the first `gaps` images
        result["inference_gaps"] = inference_gaps.measure(model, images[:gaps], flow=gap_flow, say=say)
        text += "\n" + inference_gaps.report(result["inference_gaps"])
    if quality is not None:
        result["sample_quality"] = quality.measure(data_dir, download, examples, say)
        text += SampleQuality.report(result)
    result.update(hardware=hardware(), command=command)
    return record(result, text.lstrip("\n"), model, images, labels, output_dir, pictures, say)


def importance_sampled(model, recipe, images, labels, num_samples, batch_size, progress=True):
    """A VAE's scores: log p(x) (log p(x|y) at the test `labels` if conditional) by importance
    sampling, the test -ELBO and its parts from the same draws, active units, bits/dim."""
    start = time.perf_counter()
    estimates = model.importance_sampled_batches(images, labels, num_samples, batch_size=batch_size,
                                                 progress=Progress(len(images)) if progress else None)
    seconds = time.perf_counter() - start
    z_mean, kl_per_dim = posterior_statistics(model, images, batch_size, labels=labels)
    result = summarize(model, recipe, estimates, z_mean, kl_per_dim)
    result.update(layer_statistics(model, estimates, result["posterior_mean_variance"]))
    result["density"] = "log p(x|y) at the test labels" if labels is not None else "log p(x)"
    result.update(samples=num_samples, examples=len(images), seconds=round(seconds, 1))
    return result


def export_recipe(path):
    """The recipe in the version folder `path`'s config.json; one line naming the file if not."""
    try:
        return Recipe.from_dict(read_json(path, "config.json"))
    except (KeyError, TypeError) as error:
        raise ZooError(f"{path}/config.json does not describe a recipe this zoo knows (written by an older zoo?): "
                       f"{error}") from None
    except ConfigError as error:
        raise ZooError(f"{path}/config.json: {error}") from None


def writable_output(output_dir):
    """Refuse, before any computation, an `output_dir` that cannot take the results: not a
    folder, not creatable, not writable, or holding a metrics.json that is not a JSON object."""
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ZooError(f"--output-dir {output_dir} is a file, not a folder")
    try:
        os.makedirs(output_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as error:
        raise ZooError(f"--output-dir {output_dir} is not a writable folder: {error.strerror or error}") from None
    read_json(output_dir, "metrics.json", default={})


def record(result, text, model, images, labels, output_dir, pictures, say):
    """Say `text` (the report), then write the model's pictures (with `pictures`) and `result`
    as the "evaluation" entry of `output_dir`/metrics.json (atomically) and say what was
    written. If writing fails, the figures are printed even when not `verbose` and the
    ZooError says so; it carries `result`."""
    say(text, flush=True)
    failures = []
    if pictures:
        from zoo.evaluation import pictures as zoo_pictures

        try:
            written = zoo_pictures.write_png(os.path.join(output_dir, "pictures"),
                                             zoo_pictures.make(model, images, labels))
            result["pictures"] = [os.path.relpath(p, output_dir) for p in written]
        except (OSError, tf.errors.OpError) as error:
            failures.append(f"the pictures ({first_line(error)})")
    file = os.path.join(output_dir, "metrics.json")
    try:
        write_json(file, records.with_evaluation(read_json(output_dir, "metrics.json", default={}), result))
    except (OSError, ZooError) as error:
        failures.append(f"{file} ({first_line(error)})")
    if failures:
        if say is not print:
            print(text, flush=True)
        print(json.dumps({"evaluation": result}, sort_keys=True), flush=True)
        error = ZooError(f"the evaluation finished (its figures are printed above) but writing failed: "
                         f"{'; '.join(failures)}")
        error.result = result
        raise error
    say(f"Wrote {file}" + (f" and {os.path.join(output_dir, 'pictures')}/" if pictures else ""), flush=True)
    return result


def evaluation_images(recipe, data_dir, download, examples):
    """The test split as the recipe was tested on it (binarized once with a fixed seed if binary)."""
    train = recipe.train
    split = zoo_data.resolve(train.dataset, data_dir, train.image_size, train.channels).load("test", data_dir, download)
    images = zoo_data.eval_images(split, binarize=recipe.train.binarization != "none")
    labels = split.labels
    if examples is not None:
        images, labels = images[:examples], None if labels is None else labels[:examples]
    return images, labels


def label_scores(model, recipe, images, labels, data_dir, download, say):
    """A semi-supervised model's test error; a conditional model's conditional accuracy (the
    judge trained on the training split, `zoo.evaluation.conditional_accuracy`)."""
    from zoo.evaluation import conditional_accuracy as accuracy

    if model.label_use == "semi_supervised" and labels is not None:
        return {"test_error": accuracy.classification_error(model, images, labels)}
    if model.label_use != "condition" or model.classes is None:
        return {}
    train = recipe.train
    source = zoo_data.resolve(train.dataset, data_dir, train.image_size, train.channels)
    say("Training the judge (a conv classifier of the real training images) for the conditional accuracy", flush=True)
    return accuracy.judged(model, source.load("train", data_dir, download), source.load("test", data_dir, download),
                           seed=train.seed)


def disentanglement_scores(model, recipe, data_dir, say):
    """MIG and the FactorVAE score, where the dataset knows its generative factors (`shapes`,
    `dsprites`): on images drawn from its whole grid with a fixed seed, the same for every model."""
    train = recipe.train
    source = zoo_data.resolve(train.dataset, data_dir, train.image_size, train.channels)
    if not disentanglement.knows_factors(source):
        return {}
    say(f"Measuring MIG, the FactorVAE and BetaVAE scores, SAP and DCI on {disentanglement.EXAMPLES} images "
        f"drawn from the {source.name} grid", flush=True)
    return disentanglement.scores(model, source)


class Progress:
    """A progress bar on a terminal; in a log file, a line every tenth of the way."""

    def __init__(self, total):
        self.total, self.start, self.next_line = total, time.perf_counter(), 0.1
        self.bar = keras.utils.Progbar(total, unit_name="image") if sys.stdout.isatty() else None

    def __call__(self, log_likelihoods):
        seen, running = len(log_likelihoods), -float(log_likelihoods.mean())
        if self.bar:
            self.bar.update(seen, values=[("-log p(x)", running)], finalize=seen == self.total)
        elif seen >= self.next_line * self.total or seen == self.total:
            self.next_line = math.floor(10 * seen / self.total) / 10 + 0.1
            print(f"  {seen}/{self.total} images, -log p(x) {running:.2f} so far, "
                  f"{time.perf_counter() - self.start:.0f} s", flush=True)


def posterior_statistics(model, images, batch_size, labels=None):
    """Posterior means per latent variable [N, latent_dim, values] (for active units) and the
    analytic KL per latent variable per example (None unless q and p both factorize)."""
    means, kls = [], []
    for first in range(0, len(images), batch_size):
        batch = images[first:first + batch_size]
        y = None if labels is None else np.asarray(labels[first:first + batch_size], np.int64)
        if model.label_use == "semi_supervised":  # M2: q(z|x,y) at its own most probable class
            y = np.argmax(model.classify(batch), axis=-1)
        q = model.encode(batch, y)
        means.append(tf.reshape(model.posterior.location(q), [len(batch), model.code_shape[0], -1]))
        kl = model.prior.given(model.condition_vector(y)).kl_per_variable(q)
        kls.append(None if kl is None else kl.numpy())
    return np.concatenate(means), None if kls[0] is None else np.concatenate(kls)


def layer_statistics(model, estimates, variance):
    """For hierarchical latents: each layer's active units and its share of the KL, from the
    same importance samples as the total KL (so they sum to it), bottom layer first; {} for
    one layer."""
    names = model.posterior.layer_names
    if not names:
        return {}
    per_layer = np.split(np.asarray(variance), len(names))
    kl = estimates["kl_per_layer"].mean(axis=0)
    return {"active_units_per_layer": {name: int((v > ACTIVE_UNIT_THRESHOLD).sum()) for name, v in zip(names, per_layer)},
            "kl_per_layer": {name: round(float(value), 4) for name, value in zip(names, kl)}}


def summarize(model, recipe, estimates, z_mean, kl_per_dim):
    log_likelihood = estimates["log_likelihood"]
    variance = z_mean.var(axis=0).sum(axis=-1)  # a one-hot latent: summed over its values
    pixels = math.prod(model.image_shape)
    nll = -float(log_likelihood.mean())
    result = {
        "neg_log_likelihood": nll,
        "neg_log_likelihood_stderr": float(log_likelihood.std(ddof=1) / math.sqrt(len(log_likelihood)))
        if len(log_likelihood) > 1 else None,
        "neg_elbo": -float(estimates["elbo"].mean()),
        "reconstruction": float(estimates["reconstruction"].mean()),
        "kl": float(estimates["kl"].mean()),
        "gap": float((log_likelihood - estimates["elbo"]).mean()),
        "active_units": int((variance > ACTIVE_UNIT_THRESHOLD).sum()),
        "active_unit_threshold": ACTIVE_UNIT_THRESHOLD,
        "posterior_mean_variance": [round(float(v), 6) for v in variance],
        "kl_per_dimension": None if kl_per_dim is None else [round(float(v), 6) for v in kl_per_dim.mean(axis=0)],
        "dataset": recipe.train.dataset,
        "test_binarization": "fixed (seed 0)" if recipe.train.binarization != "none" else "none",
    }
    result.update(bits_per_dim(model, recipe, nll, pixels))
    return result


def bits_per_dim(model, recipe, nll, pixels):
    """nll / (D ln 2) for a discrete likelihood; a density on [0, 1] pixels is first moved to
    the 0..levels-1 integer scale (+ D ln(levels - 1)), as is usual for 8-bit data."""
    if model.likelihood.discrete:
        return {"bits_per_dim": nll / (pixels * math.log(2)), "bits_per_dim_scale": "discrete pixels"}
    levels = 256 if recipe.train.dataset not in zoo_data.DATASETS else zoo_data.DATASETS.get(recipe.train.dataset).levels
    return {"bits_per_dim": (nll / pixels + math.log(levels - 1)) / math.log(2),
            "bits_per_dim_scale": f"density on [0, 1] moved to the 0..{levels - 1} scale (no dequantization)"}


def report(result):
    lines = [
        f"test -{result.get('density', 'log p(x)').split(' at ')[0]} <= {result['neg_log_likelihood']:.2f} nats "
        f"(IWAE bound, K={result['samples']}; "
        f"s.e. {result['neg_log_likelihood_stderr'] or 0:.2f} over {result['examples']} images)",
        f"test -ELBO {result['neg_elbo']:.2f} = reconstruction {result['reconstruction']:.2f} + KL {result['kl']:.2f}; "
        f"gap {result['gap']:.2f}",
        f"active units {result['active_units']} of {len(result['posterior_mean_variance'])}; "
        f"{result['bits_per_dim']:.4f} bits/dim; {result['seconds']:.0f} s",
    ]
    if "kl_per_layer" in result:
        lines.append("per layer (bottom first): " + "; ".join(
            f"{name}: KL {kl:.2f}, {result['active_units_per_layer'][name]} active"
            for name, kl in result["kl_per_layer"].items()))
    if "mig" in result:
        lines.append(disentanglement.report(result))
    if "test_error" in result:
        lines.append(f"test error of q(y|x) {100 * result['test_error']:.2f}%")
    if "conditional_accuracy" in result:
        lines.append(f"conditional accuracy {100 * result['conditional_accuracy']:.1f}% (judge: "
                     f"{100 * result['judge_test_accuracy']:.1f}% on real test images)")
    return "\n".join(lines)


SCORERS = {  # model.scoring -> (scores of the test images, their report)
    "importance_sampling": (importance_sampled, report),
    "exact_bound": (codes.score_codes, codes.report),
    "reconstruction_error": (reconstruction_error.score, reconstruction_error.report),
}
