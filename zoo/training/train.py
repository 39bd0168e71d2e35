"""One `train(recipe)` for every variant: data, model, fit, test evaluation, export."""

import contextlib
import dataclasses
import math
import os
import sys
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import data as zoo_data
from zoo.data.training_data import TrainingData
from zoo.evaluation import disentanglement
from zoo.export import runs, serving
from zoo.export.baseline import baseline_figures
from zoo.export.savedmodel import export
from zoo.machine import hardware
from zoo.models.base import ZooModel
from zoo.models.builder import build
from zoo.models.callbacks import CompactProgress, FiniteBackup, all_finite
from zoo.models.presets import load_keras_file, presets_dir
from zoo.training import destinations, strategies, workdir_lock, workdirs
from zoo.training.callbacks import HistoryCSV, PictureLogger

# what TrainingData keeps of the labels, for each `label_use` a model declares
DATA_LABELS = {"none": "none", "condition": "all", "semi_supervised": "semi"}


@dataclasses.dataclass
class TrainResult:
    model: ZooModel
    metrics: dict
    export_path: str


def train(recipe, data_dir=None, export_dir="saved_models", workdir=None, download=False,
          command=None, verbose=True, strategy=None, force_export=False):
    """Train `recipe`, evaluate the test negative ELBO, export, and return what happened.

    `workdir` (if given) keeps a resumable backup (the last finite epoch, deleted once
    exported: the same call resumes a killed run), the recipe it was started with (another
    is refused while a backup is there), a CSV history and TensorBoard logs (scalars, and
    pictures of reconstructions, samples and interpolations 10 times a run).
    `strategy` is a `tf.distribute.Strategy` or a name in `zoo.training.strategies.STRATEGIES`
    (default: the current one); `batch_size` is the global batch, split across replicas.
    Only the chief of a multi-worker cluster writes the export and the workdir's logs.
    The export is refused (`zoo.export.gate`) unless `force_export`: NaN weights or figures,
    or a test -ELBO worse than the trivial baseline, recorded in metrics.json.
    `verbose` prints a start line, about ten progress lines and the result.
    """
    destinations.check_destinations(export_dir=export_dir, workdir=workdir)  # before any data is read
    if strategy is None or isinstance(strategy, str):
        strategy = strategies.build(strategy) if strategy else tf.distribute.get_strategy()
    with workdir_lock.owned(workdir if strategies.is_chief(strategy) else None):  # one run per workdir
        return _train(recipe, data_dir, export_dir, workdir, download, command, verbose, strategy, force_export)


def _train(recipe, data_dir, export_dir, workdir, download, command, verbose, strategy, force_export):
    chief = strategies.is_chief(strategy)
    source = zoo_data.resolve(recipe.train.dataset, data_dir, recipe.train.image_size, recipe.train.channels)
    recipe = recipe.for_data(source.image_shape, source.levels, source.name)
    if workdir:
        workdirs.claim(workdir, recipe, write=chief)
    run = runs.current(workdir) if workdir and chief else None  # its export carries it (zoo.export.runs)
    exported = runs.finish_if_exported(run, workdir, workdirs.backup_dir(workdir) if workdir else None, export_dir,
                                       recipe.name)
    if exported:  # killed after its export was published: finished now, not exported again
        return TrainResult(load_keras_file(exported), runs.read_metrics(exported), exported)
    config = recipe.train
    keras.utils.set_random_seed(config.seed)
    binarize = config.binarization != "none"
    labels = DATA_LABELS[recipe.model.label_use]
    data = TrainingData(source, config, data_dir, download, resident=strategies.is_default(strategy), labels=labels)
    recipe = recipe.for_training_set(data.train_count)  # an objective that weighs examples 1/N learns N here
    if workdir:
        workdirs.check_data(workdir, data.fingerprint(), config.epochs, write=chief)
    train_data, test_data = data.train, data.test
    steps_per_epoch = data.steps_per_epoch

    with precision_policy(config.precision), strategy.scope():
        model = build(recipe.model, name=recipe.name)
        model.compile(adam(config, config.epochs * steps_per_epoch),
                      jit_compile=config.jit_compile and strategies.xla_ok(strategy),
                      steps_per_execution=config.steps_per_execution)
    data.check_labels(model.classes)
    workdirs.check_backup_fits(workdir, model)

    callbacks = [keras.callbacks.TerminateOnNaN()]
    if workdir and chief:
        callbacks += [HistoryCSV(os.path.join(workdir, "history.csv"), append=True),
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
    stages = model.fit_after_training(data.train_images(), batch_size=config.batch_size,
                                      learning_rate=config.learning_rate, seed=config.seed,
                                      backup_dir=workdirs.backup_dir(workdir) if workdir else None, verbose=verbose)
    test = model.evaluate(test_data, return_dict=True, verbose=0)
    metrics = {
        **model.test_figures(test),
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
    metrics.update(stages)
    metrics.update(label_metrics(model, data, labels, config.seed, verbose))
    metrics.update(model.kind_figures(data.test_images(), metrics, source.levels, verbose))
    metrics.update(disentanglement.scores(model, source))  # {} unless the data's factors are known
    metrics.update(baseline_figures(model, data.train_images(), data.test_images()))  # what export's gate compares
    metrics.update({runs.RUN_KEY: run} if run else {})
    if verbose and "mig" in metrics:
        print(disentanglement.report(metrics), flush=True)
    with destinations.kept_if_export_fails(model, recipe.name, export_dir, workdir if chief else None,
                                           recipe.to_dict(), metrics, force_export), \
            strategies.chief_dir(strategy, export_dir) as directory:
        path = export(model, os.path.join(directory, recipe.name), config=recipe.to_dict(), metrics=metrics,
                      name=recipe.name, force=force_export)
        serving.write_models_config(directory)
    if backup:
        backup.delete()  # only now: a run killed while evaluating or exporting resumes after training
    if run:
        runs.forget(workdir)  # after the backup: killed in between, the rerun finds its export by the id
    print(f"{model.test_report(metrics)}; trained in {train_seconds:.0f} s; "
          + (f"exported to {path}" if chief else "the chief exports"), flush=True)
    if chief and _shadows_a_shipped_preset(path):
        print(f"{path} now shadows the shipped version 1 for from_preset('{recipe.name}')", flush=True)
    return TrainResult(model, metrics, path if chief else None)


def label_metrics(model, data, labels, seed, verbose=True):
    """What a model with labels is judged on: a conditional model's conditional accuracy
    (`zoo.evaluation.conditional_accuracy`), a semi-supervised model's test error."""
    from zoo.evaluation import conditional_accuracy as accuracy

    if labels == "semi":
        error = accuracy.classification_error(model, data.test_images(), data.test_labels())
        if verbose:
            print(f"Test error of q(y|x) with {len(data.labelled)} labels: {100 * error:.2f}%", flush=True)
        return {"test_error": error, "labelled": len(data.labelled)}
    if labels != "all" or model.classes is None:
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
    """The model's `slice_figure` (the -ELBO of its `elbo` signature: fixed seed, no XLA) on the
    first 1000 test images in batches of 500 (at their `labels` for a conditional model):
    recorded in metrics.json, so a test can replay it on the export and check that the shipped
    weights are the ones that were measured."""
    signature_name, output, sign, name = model.slice_figure
    function = tf.function(model.signatures()[signature_name].function)
    images = images[:TEST_SLICE_EXAMPLES]
    batches = [(images[i:i + TEST_SLICE_BATCH],) for i in range(0, len(images), TEST_SLICE_BATCH)]
    if labels is not None:
        labels = np.asarray(labels[:TEST_SLICE_EXAMPLES], np.int64)
        batches = [batch + (labels[i * TEST_SLICE_BATCH:(i + 1) * TEST_SLICE_BATCH],) for i, batch in enumerate(batches)]
    values = np.concatenate([function(*batch)[output].numpy() for batch in batches])
    return {"examples": len(images), "batch_size": TEST_SLICE_BATCH, name: sign * float(values.mean())}


def adam(config, steps):
    """Adam at the recipe's learning rate, decayed over `steps` as `learning_rate_decay` says
    (a schedule of the optimizer's step count, which a backup restores: a resumed run goes on
    at the rate it stopped at)."""
    rate = config.learning_rate
    if config.learning_rate_decay == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps)
    return keras.optimizers.Adam(rate)

