"""One `train(recipe)` for every variant: data, model, fit, test evaluation, export."""

import contextlib
import dataclasses
import math
import os
import platform
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import data as zoo_data
from zoo.data.training_data import TrainingData
from zoo.evaluation import disentanglement
from zoo.export import serving, signatures
from zoo.export.savedmodel import export
from zoo.layers.aggregate_posterior import fit_to_training_set
from zoo.models.builder import build
from zoo.models.presets import presets_dir
from zoo.models.vae import VAE
from zoo.training import strategies, workdirs
from zoo.training.callbacks import CompactProgress, FiniteBackup, PictureLogger, all_finite


@dataclasses.dataclass
class TrainResult:
    model: VAE
    metrics: dict
    export_path: str


def train(recipe, data_dir=None, export_dir="saved_models", workdir=None, download=False,
          command=None, verbose=True, strategy=None):
    """Train `recipe`, evaluate the test negative ELBO, export, and return what happened.

    `workdir` (if given) keeps a resumable backup (the last finite epoch, deleted once
    exported: the same call resumes a killed run), the recipe it was started with (another
    is refused while a backup is there), a CSV history and TensorBoard logs (scalars, and
    pictures of reconstructions, samples and interpolations 10 times a run).
    `strategy` is a `tf.distribute.Strategy` or a name in `zoo.training.strategies.STRATEGIES`
    (default: the current one); `batch_size` is the global batch, split across replicas.
    Only the chief of a multi-worker cluster writes the export and the workdir's logs.
    `verbose` prints a start line, about ten progress lines and the result.
    """
    if strategy is None or isinstance(strategy, str):
        strategy = strategies.build(strategy) if strategy else tf.distribute.get_strategy()
    chief = strategies.is_chief(strategy)
    source = zoo_data.resolve(recipe.train.dataset, data_dir, recipe.train.image_size, recipe.train.channels)
    recipe = recipe.for_data(source.image_shape, source.levels, source.name)
    if workdir:
        workdirs.claim(workdir, recipe, write=chief)
    config = recipe.train
    keras.utils.set_random_seed(config.seed)
    binarize = config.binarization != "none"
    labels = ("semi" if getattr(recipe.model, "classifier", None) else "all" if getattr(recipe.model, "condition", None)
              else "none")
    data = TrainingData(source, config, data_dir, download, resident=strategies.is_default(strategy), labels=labels)
    recipe = recipe.for_training_set(data.train_count)  # an objective that weighs examples 1/N learns N here
    train_data, test_data = data.train, data.test
    steps_per_epoch = data.steps_per_epoch

    with precision_policy(config.precision), strategy.scope():
        model = build(recipe.model, name=recipe.name)
        model.compile(keras.optimizers.Adam(config.learning_rate),
                      jit_compile=config.jit_compile and strategies.xla_ok(strategy),
                      steps_per_execution=config.steps_per_execution)

    callbacks = [keras.callbacks.TerminateOnNaN()]
    if workdir and chief:
        callbacks += [keras.callbacks.CSVLogger(os.path.join(workdir, "history.csv"), append=True),
                      keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
                      PictureLogger(os.path.join(workdir, "logs"), data.test_images(), data.test_labels(),
                                    every_n_epochs=max(1, config.epochs // 10),
                                    seed=config.seed)]
    backup = FiniteBackup(workdirs.backup_dir(workdir)) if workdir else None  # every worker keeps its state
    callbacks += [backup] if backup else []
    if verbose:
        callbacks.append(CompactProgress(config.epochs))
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    known = f" ({len(data.labelled)} of them labelled)" if labels == "semi" else " with labels" if labels == "all" else ""
    print(f"Training {recipe.name}: {data.train_count} {source.name} images{known} {data.how}, {epochs} of "
          f"{steps_per_epoch} steps (batches of {config.batch_size} over {strategy.num_replicas_in_sync} "
          "replica(s))", flush=True)
    if workdir and workdirs.has_backup(workdir):
        print(f"Resuming from the backup in {workdirs.backup_dir(workdir)}", flush=True)
    start = time.perf_counter()
    history = model.fit(train_data, epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=callbacks, verbose=0)
    train_seconds = time.perf_counter() - start
    losses = history.history.get("loss", [])  # empty if a backup of the last epoch was restored
    if not all(map(math.isfinite, losses)) or not all_finite(model.variables):
        raise FloatingPointError(diverged(recipe, history.epoch, workdir))
    if getattr(recipe.model, "aggregate_posterior_components", 0):
        print(f"Fitting a {recipe.model.aggregate_posterior_components}-component Gaussian mixture "
              "to the encoded training set", flush=True)
        fit_to_training_set(model, data.train_images(), seed=config.seed)
    prior_stage = fit_code_prior(model, recipe, data, verbose, workdir) if hasattr(model, "fit_prior") else {}
    test = model.evaluate(test_data, return_dict=True, verbose=0)
    metrics = {
        "test_neg_elbo": test["reconstruction"] + test["kl"],
        "test_reconstruction": test["reconstruction"],
        "test_kl": test["kl"],
        "test_loss": test["loss"],
        "test_slice": measure_test_slice(model, data.test_images(TEST_SLICE_EXAMPLES),
                                         data.test_labels() if labels == "all" else None),
        "test_examples": data.test_count,
        "test_binarization": "fixed (seed 0)" if binarize else "none",
        "data": data.how,
        "final_train_loss": losses[-1] if losses else None,
        "epochs": config.epochs,
        "train_seconds": round(train_seconds, 1),  # of this process, if it resumed a backup
        "train_images_per_second": round(steps_per_epoch * config.batch_size * len(losses) / train_seconds),
        "replicas": strategy.num_replicas_in_sync,
        "hardware": hardware(),
        "command": command or " ".join(sys.argv),
    }
    metrics.update(label_metrics(model, data, labels, config.seed, verbose))
    metrics.update(code_metrics(model, data, source, metrics, prior_stage, verbose) if prior_stage else {})
    metrics.update(disentanglement.scores(model, source))  # {} unless the data's factors are known
    if verbose and "mig" in metrics:
        print(disentanglement.report(metrics), flush=True)
    with strategies.chief_dir(strategy, export_dir) as directory:
        path = export(model, os.path.join(directory, recipe.name), config=recipe.to_dict(), metrics=metrics,
                      name=recipe.name)
        serving.write_models_config(directory)
    if backup:
        backup.delete()  # only now: a run killed while evaluating or exporting resumes after training
    print(f"Test -ELBO {metrics['test_neg_elbo']:.2f} nats (reconstruction "
          f"{metrics['test_reconstruction']:.2f} + KL {metrics['test_kl']:.2f}); trained in "
          f"{train_seconds:.0f} s; " + (f"exported to {path}" if chief else "the chief exports"), flush=True)
    if chief and _shadows_a_shipped_preset(path):
        print(f"{path} now shadows the shipped version 1 for from_preset('{recipe.name}')", flush=True)
    return TrainResult(model, metrics, path if chief else None)


def fit_code_prior(model, recipe, data, verbose=True, workdir=None):
    """A VQ-VAE's second stage: its prior fitted to the codes of the training images (binarized
    once, if binary), for the recipe's `prior_epochs`, backed up each epoch inside the
    workdir's backup (deleted with it); returns what it took."""
    epochs = recipe.model.prior_epochs
    images = data.train_images()
    print(f"Training the prior over the codes of {len(images)} training images: {epochs} "
          f"epoch{'s' if epochs != 1 else ''}", flush=True)
    start = time.perf_counter()
    backup_dir = os.path.join(workdirs.backup_dir(workdir), "prior") if workdir else None
    if backup_dir and tf.io.gfile.exists(backup_dir):
        print(f"Resuming the prior from the backup in {backup_dir}", flush=True)
    history = model.fit_prior(images, epochs=epochs, batch_size=recipe.train.batch_size,
                              learning_rate=recipe.train.learning_rate,
                              callbacks=[CompactProgress(epochs)] if verbose else None, verbose=0,
                              backup_dir=backup_dir)
    losses = history.history.get("loss", [])  # empty if the backup held the last epoch
    return {"prior_epochs": epochs, "prior_train_seconds": round(time.perf_counter() - start, 1),
            **({"prior_final_train_loss": losses[-1]} if losses else {})}


def code_metrics(model, data, source, metrics, prior_stage, verbose=True):
    """What a VQ-VAE is judged on besides its bound in nats: the bound in bits per pixel value,
    and how it uses its codebook on the test images (perplexity, dead codes)."""
    usage = model.codebook_usage(data.test_images())
    levels = source.levels or 256
    result = {**prior_stage, "test_bits_per_dim": model.to_bits_per_dim(metrics["test_neg_elbo"], levels),
              "test_codebook_perplexity": usage["perplexity"], "test_dead_codes": usage["dead_codes"],
              "codebook_size": model.codebook_size,
              "loss_is": "the autoencoder's training loss: -log p(x|z_q) + codebook + beta * commitment (no bound)",
              "test_neg_elbo_is": "-log p(x|z_q(x)) - log p_prior(k(x)), the learned prior's bound"}
    if verbose:
        print(f"Bound {result['test_bits_per_dim']:.4f} bits/dim; codebook perplexity "
              f"{usage['perplexity']:.1f} of {model.codebook_size} codes, {usage['dead_codes']} unused on the "
              "test images", flush=True)
    return result


def label_metrics(model, data, labels, seed, verbose=True):
    """What a model with labels is judged on: a conditional model's conditional accuracy
    (`zoo.evaluation.conditional_accuracy`), a semi-supervised model's test error."""
    from zoo.evaluation import conditional_accuracy as accuracy

    if labels == "semi":
        error = accuracy.classification_error(model, data.test_images(), data.test_labels())
        if verbose:
            print(f"Test error of q(y|x) with {len(data.labelled)} labels: {100 * error:.2f}%", flush=True)
        return {"test_error": error, "labelled": len(data.labelled)}
    if labels != "all" or not hasattr(model.condition, "classes"):
        return {}
    if verbose:
        print("Training the judge (a conv classifier of the real training images) for the conditional "
              "accuracy", flush=True)
    result = accuracy.judged(model, data.train_split, data.test_split, seed=seed)
    if verbose:
        print(f"Conditional accuracy {100 * result['conditional_accuracy']:.1f}% (the judge labels "
              f"{100 * result['judge_test_accuracy']:.1f}% of real test images correctly)", flush=True)
    return result


def diverged(recipe, epochs_run, workdir):
    """The one-line error of a run whose loss or weights went NaN or Inf: `TerminateOnNaN`
    stopped it within the compiled call (`steps_per_execution` steps) where it happened."""
    message = f"training of {recipe.name} diverged (loss or weights NaN or Inf)"
    if epochs_run:
        message += f" in epoch {epochs_run[-1] + 1} of {recipe.train.epochs}"
    message += "; nothing was exported"
    if workdir and workdirs.has_backup(workdir):
        message += (f"; {workdirs.backup_dir(workdir)} keeps the last finite epoch (resuming it repeats "
                    "the same steps: use a new --workdir with a lower learning_rate)")
    return message


@contextlib.contextmanager
def precision_policy(name):
    """Build under the Keras dtype policy `name` ("mixed_float16", ...), then restore the old one."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


TEST_SLICE_EXAMPLES, TEST_SLICE_BATCH = 1000, 500


def _shadows_a_shipped_preset(path):
    """Whether the version `path` was written beside a shipped version 1 in the presets folder,
    so that the preset's name now loads it instead of the shipped model."""
    recipe_dir = os.path.dirname(path)
    return (os.path.basename(path) != "1" and os.path.isdir(os.path.join(recipe_dir, "1"))
            and os.path.realpath(os.path.dirname(recipe_dir)) == os.path.realpath(presets_dir()))


def measure_test_slice(model, images, labels=None):
    """-ELBO of the `elbo` signature (fixed seed, no XLA) on the first 1000 test images in
    batches of 500 (at their `labels` for a conditional model): recorded in metrics.json, so
    a test can replay it on the export and check that the shipped weights are the ones that
    were measured."""
    images = images[:TEST_SLICE_EXAMPLES]
    if labels is None:
        elbo = tf.function(lambda x: signatures.elbo(model, x)["elbo"])
        values = np.concatenate([elbo(images[i:i + TEST_SLICE_BATCH]).numpy()
                                 for i in range(0, len(images), TEST_SLICE_BATCH)])
    else:
        labels = np.asarray(labels[:TEST_SLICE_EXAMPLES], np.int64)
        elbo = tf.function(lambda x, y: signatures.elbo(model, x, y)["elbo"])
        values = np.concatenate([elbo(images[i:i + TEST_SLICE_BATCH], labels[i:i + TEST_SLICE_BATCH]).numpy()
                                 for i in range(0, len(images), TEST_SLICE_BATCH)])
    return {"examples": len(images), "batch_size": TEST_SLICE_BATCH, "neg_elbo": -float(values.mean())}


def hardware():
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    return (f"{platform.machine()} {os.cpu_count()} CPU cores, "
            f"{', '.join(f'{devices.count(k)} {k}' for k in sorted(set(devices)))}; "
            f"TensorFlow {tf.__version__}")
