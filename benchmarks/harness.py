"""What both benchmarks share: the data, the machine's matmul rate, FLOP counting, timing
the zoo's `model.fit`, the PyTorch reference (in its own process, on the same arrays) and
the report."""

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load import Measured, ratio_report  # noqa: E402
from recipes import RECIPES  # noqa: E402
from zoo.models import compiled_loop  # noqa: E402
from zoo import data as zoo_data  # noqa: E402
from zoo.models.builder import build  # noqa: E402
from zoo.training.train import precision_policy  # noqa: E402

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_reference.py")
SMOKE_IMAGES = (1280, 500)  # train, test: 10 steps of 128 per epoch

# The zoo's training paths, cumulative: each row adds one lever to the one above it.
ABLATION = (
    ("tf.data, one step per call, no XLA", dict(resident=False, jit_compile=False, steps_per_execution=1)),
    ("+ XLA-compiled step", dict(resident=False, jit_compile=True, steps_per_execution=1)),
    ("+ 100 steps per call (steps_per_execution)", dict(resident=False, jit_compile=True, steps_per_execution=100)),
    ("+ images resident, batched inside the compiled loop", dict(resident=True, jit_compile=True, steps_per_execution=100)),
    ("+ one call per epoch", dict(resident=True, jit_compile=True, steps_per_execution=None)),
)


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR", DEFAULT_DATA_DIR),
                        help="MNIST IDX folder (default: $ZOO_DATA_DIR or ../shared/data/mnist)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--precision", default="float32", help="the zoo's dtype policy (e.g. mixed_float16 on GPU)")
    parser.add_argument("--ablation", action="store_true",
                        help="also time each of the zoo's training paths (the table in benchmarks/README.md)")
    parser.add_argument("--kl-warmup-epochs", type=int,
                        help="the zoo's KL warm-up (objective.warmup_epochs), followed by the reference too "
                             "(default: the benchmark's own setting)")
    parser.add_argument("--seed", type=int, help="the seed of both sides (default: the recipe's)")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="the Python that runs the PyTorch reference (default: this one); it needs torch and numpy")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                        help="the reference's threads (default: all cores; with other jobs on the cores, fewer "
                             "threads can be much faster: see benchmarks/README.md)")
    parser.add_argument("--xla-cache", metavar="DIR",
                        help="save the compiled XLA programs in DIR and load them from there in later runs "
                             "(TensorFlow's --tf_xla_persistent_cache_directory); the first run still compiles")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_IMAGES[0]} training and {SMOKE_IMAGES[1]} test images, tiny timings: "
                             "checks that everything starts (tests/test_benchmarks.py); its figures mean nothing")
    return parser.parse_args()


def best_seconds(run, trials=5):
    """Fewest seconds of `trials` calls of `run` (after one untimed call that compiles it);
    `run` must wait for its result."""
    run()
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rate(size=2048, repeats=20, trials=5):
    """Float32 GFLOP/s of one large matrix product, best of `trials`: what this machine can do."""
    a = tf.random.normal([size, size])
    product = tf.function(lambda m: tf.matmul(m, m), jit_compile=True)

    def products():
        for _ in range(repeats):
            result = product(a)
        result.numpy()

    return 2 * size ** 3 * repeats / best_seconds(products, trials) / 1e9


def flops_per_step(model, batch_size):
    """Matmul and convolution FLOPs of one training step: the forward pass, and twice that
    backward (gradients of weights and of inputs), less the first layer's input gradient,
    which is never computed. Elementwise work is not counted."""
    def layer_flops(layer):
        if isinstance(layer, keras.layers.Dense):
            return 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        if isinstance(layer, keras.layers.Conv2DTranspose):
            height, width = layer.input_shape[1:3]
            return 2 * height * width * int(np.prod(layer.kernel.shape))
        if isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output_shape[1:3]
            return 2 * height * width * int(np.prod(layer.kernel.shape))
        return 0

    networks = [model.encoder, model.decoder, *getattr(model.posterior, "top_down", ())]  # a ladder's p(z_l|z_l+1)
    forward = [layer_flops(layer) for network in networks for layer in network.layers]
    first = next(f for f in forward if f)
    return batch_size * (3 * sum(forward) - first)


def networks_alone_rate(model, batch_size, steps=100, trials=5):
    """Images/s of the model's encoder and decoder alone: forward, backward and a plain SGD
    update on one fixed batch, `steps` per call, compiled as the zoo's loop is (XLA or not);
    no distributions, random numbers, Adam or metrics. It bounds what any training loop of
    these networks reaches here. It nudges the model's weights, so it runs last."""
    x = tf.random.uniform([batch_size, *model.image_shape])
    latent = model.decoder.input_shape[-1]
    variables = model.encoder.trainable_variables + model.decoder.trainable_variables

    def step(i):
        with tf.GradientTape() as tape:
            out = model.decoder(model.encoder(x, training=True)[:, :latent], training=True)
            loss = tf.reduce_mean(tf.square(out))
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            variable.assign_sub(1e-9 * gradient)
        return i + 1

    run_steps = tf.function(lambda: tf.while_loop(lambda i: i < steps, step, [tf.constant(0)]),
                            jit_compile=compiled_loop.xla_pays(model))
    return steps * batch_size / best_seconds(lambda: run_steps()[0].numpy(), trials)


def use_xla_cache(folder):
    """Make TensorFlow save each XLA program it compiles in `folder` and load it from there
    when a later run compiles the same program: it then skips XLA's own compilation, not
    tracing. TensorFlow reads TF_XLA_FLAGS once, when it first sets up its devices, so this
    must run before that. Returns how many programs `folder` holds."""
    os.makedirs(folder, exist_ok=True)
    flags = os.environ.get("TF_XLA_FLAGS", "")
    os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={folder}".strip()
    return len(os.listdir(folder))


def load(data_dir, smoke=False):
    mnist = zoo_data.DATASETS.get("mnist")
    splits = mnist.load("train", data_dir), mnist.load("test", data_dir)
    if not smoke:
        return splits
    return tuple(dataclasses.replace(split, images=split.images[:n], labels=split.labels[:n])
                 for split, n in zip(splits, SMOKE_IMAGES))


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch, and the machine's load while it ran (`load.Load`, or None)."""

    def __init__(self, examples, label):
        super().__init__()
        self.examples, self.label, self.seconds, self.loads = examples, label, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.load = Measured().__enter__()
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        self.load.__exit__(None, None, None)
        self.loads.append(self.load.result)
        print(f"  {self.label} epoch {epoch + 1}: {self.examples / self.seconds[-1]:,.0f} images/s, "
              f"loss {logs['loss']:.2f}" + (f" ({self.loads[-1]})" if self.loads[-1] else ""), flush=True)


def zoo_overrides(args, overrides=None):
    """The recipe's settings that the comparison fixes: the batch size, PyTorch's default
    initialization (the reference uses it; see benchmarks/README.md), the benchmark's own
    `overrides`, and the KL warm-up and the seed if `--kl-warmup-epochs` and `--seed` name them."""
    chosen = {key: value for key, value in (("warmup_epochs", args.kl_warmup_epochs), ("seed", args.seed))
              if value is not None}
    return {"batch_size": args.batch_size, "initializer": "fan_in_uniform", **(overrides or {}), **chosen}


def kl_warmup_epochs(recipe):
    """The recipe's KL warm-up, which the reference follows. The reference trains the plain
    ELBO (beta 1, no free bits, one draw): refuse another objective rather than compare
    two different losses."""
    objective = recipe.model.to_dict()["objective"]
    plain = {"type": "elbo", "beta": 1.0, "free_bits": 0.0, "samples": 1}
    if any(plain.get(key) != value for key, value in objective.items() if key != "warmup_epochs"):
        sys.exit(f"the PyTorch reference trains the plain ELBO; recipe {recipe.name} has objective {objective}")
    return objective.get("warmup_epochs", 0)


def train_zoo(recipe_name, train_split, test_split, args, resident=True, jit_compile=True,
              steps_per_execution=100, label="zoo", callbacks=(), overrides=None, checks=True, timer=None):
    """The zoo's recipe with `zoo_overrides` through `model.fit` (batch size and epochs from
    `args`): seconds per epoch, the test -ELBO (fixed binarization, one z draw per image)
    and the model. `callbacks` see both the training and the test pass. `checks=False`
    turns off the check of every batch (only to measure its cost: benchmarks/check_cost.py);
    `timer`: an `EpochTimer` to use (it keeps each epoch's load too)."""
    recipe = RECIPES.get(recipe_name).with_overrides(zoo_overrides(args, overrides))
    config = recipe.train
    keras.utils.set_random_seed(config.seed)
    steps = len(train_split.images) // args.batch_size
    with precision_policy(args.precision):
        model = build(recipe.model, name=recipe.name)
        model.compile(keras.optimizers.Adam(config.learning_rate), jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution or steps)
    if resident:
        data = zoo_data.ResidentImages(train_split, args.batch_size, config.binarization, config.seed)
    else:
        data = zoo_data.train_dataset(train_split, args.batch_size, config.binarization, config.seed)
    model._check_batches = checks
    timer = timer or EpochTimer(steps * args.batch_size, label)
    model.fit(data, epochs=args.epochs, steps_per_epoch=steps, callbacks=[timer, *callbacks], verbose=0)
    test = model.evaluate(zoo_data.eval_dataset(test_split, 500, binarize=True), return_dict=True, verbose=0,
                          callbacks=list(callbacks))
    return timer.seconds, test["reconstruction"] + test["kl"], model


def train_torch(model_name, train_split, test_split, args, seed=0, warmup_epochs=0):
    """The PyTorch reference (`torch_reference.py`) in its own process, on the zoo's arrays,
    with the zoo's KL warm-up: its result (torch version, seconds per epoch, test -ELBO), or
    None if it did not run (its own message, e.g. how to install torch, is then above)."""
    with tempfile.TemporaryDirectory() as folder:
        arrays = os.path.join(folder, "arrays.npz")
        np.savez(arrays, train=train_split.scaled(), test=zoo_data.eval_images(test_split, binarize=True))
        try:
            with Measured() as load:
                done = subprocess.run([args.torch_python, REFERENCE, model_name, arrays, "--epochs", str(args.epochs),
                                   "--batch-size", str(args.batch_size), "--seed", str(seed),
                                       "--kl-warmup-epochs", str(warmup_epochs), "--threads",
                                       str(args.torch_threads)], stdout=subprocess.PIPE, text=True)
        except OSError as error:  # --torch-python names no program
            print(f"no PyTorch figures: {error}", flush=True)
            return None
    if done.returncode:
        print(f"no PyTorch figures: the reference exited with status {done.returncode}", flush=True)
        return None
    return {**json.loads(done.stdout.splitlines()[-1]), "load": load.result}


def run(recipe_name, reference_model, description, overrides=None):
    """The whole benchmark: PyTorch (`reference_model`, a torch_reference.MODELS name, in its
    own process), then the zoo (the recipe with `zoo_overrides(args, overrides)`), then the
    report (and the ablation if asked). Exits with status 1 when the reference did not run,
    after the zoo's own figures."""
    args = parse_args(description)
    recipe = RECIPES.get(recipe_name).with_overrides(zoo_overrides(args, overrides))
    warmup = kl_warmup_epochs(recipe)
    cached = use_xla_cache(args.xla_cache) if args.xla_cache else None
    train_split, test_split = load(args.data_dir, args.smoke)
    print(f"{description}\nmachine: {platform.machine()}, {os.cpu_count()} CPU cores, "
          f"{', '.join(d.device_type for d in tf.config.list_logical_devices())}; TensorFlow "
          f"{tf.__version__}; batch {args.batch_size}, {args.epochs} epochs" + (", smoke" if args.smoke else ""),
          flush=True)
    print(f"zoo: recipe {recipe_name} with {zoo_overrides(args, overrides)}, through model.fit; KL warm-up "
          f"{warmup} epochs and seed {recipe.train.seed} on both sides", flush=True)
    size, repeats, trials = (256, 2, 1) if args.smoke else (2048, 20, 5)
    rate = matmul_rate(size, repeats, trials)
    print(f"matmul rate: {rate:.1f} GFLOP/s (float32 {size}x{size} product, XLA, best of {trials})", flush=True)
    reference = train_torch(reference_model, train_split, test_split, args, recipe.train.seed, warmup)
    if reference:
        print(f"PyTorch {reference['torch']} (its own process), {args.torch_threads} threads", flush=True)
    examples = len(train_split.images) // args.batch_size * args.batch_size
    timer = EpochTimer(examples, "zoo")
    zoo_seconds, zoo_elbo, model = train_zoo(recipe_name, train_split, test_split, args, overrides=overrides,
                                             timer=timer)
    flops = flops_per_step(model, args.batch_size)
    steps_per_second = examples / args.batch_size / zoo_seconds[-1]
    zoo_rate = examples / zoo_seconds[-1]
    print(f"model: {recipe_name}, {model.count_params():,} parameters, {flops / 1e9:.3f} GFLOP per "
          f"training step (matmul/conv, forward + backward)")
    print(f"test -ELBO after {args.epochs} epochs: zoo {zoo_elbo:.2f}" + (
        f", pytorch {reference['neg_elbo']:.2f} (difference {zoo_elbo - reference['neg_elbo']:+.2f} nats)"
        if reference else ""))
    print(f"zoo reaches {steps_per_second * flops / 1e9:.1f} GFLOP/s = "
          f"{steps_per_second * flops / 1e9 / rate:.0%} of the matmul rate")
    bound = networks_alone_rate(model, args.batch_size, *((2, 1) if args.smoke else ()))
    print(f"the networks alone (forward + backward + SGD; no distributions, RNG, Adam or metrics): "
          f"{bound:,.0f} images/s = {bound / args.batch_size * flops / 1e9:.1f} GFLOP/s = "
          f"{bound / args.batch_size * flops / 1e9 / rate:.0%} of the matmul rate; the zoo runs at "
          f"{zoo_rate / bound:.0%} of their speed")
    print(f"the zoo's first epoch took {zoo_seconds[0] - zoo_seconds[-1]:.2f} s more than its last "
          "(tracing and compiling its training loop)")
    if cached is not None:
        print(f"XLA cache {args.xla_cache}: {cached} programs before this run, {len(os.listdir(args.xla_cache))} "
              "after (found ones are loaded, not compiled)")
    if reference:
        compare(zoo_seconds, reference["seconds"], examples, args.epochs, timer.loads[-1], reference["load"])
    if args.ablation:
        print("\nablation (images/s in the last epoch; test -ELBO):")
        for label, options in ABLATION:
            seconds, neg_elbo, _ = train_zoo(recipe_name, train_split, test_split, args, label="  " + label,
                                             overrides=overrides, **options)
            print(f"| {label} | {examples / seconds[-1]:,.0f} | {neg_elbo:.2f} |", flush=True)
    if not reference:
        sys.exit(1)


def compare(zoo_seconds, torch_seconds, examples, epochs, zoo_load=None, torch_load=None):
    """The two ratios: over the whole run (the zoo's first epoch includes its XLA compile),
    and in the last epoch; flagged, not given as a result, when either side ran on a loaded
    machine (`load.Load`: the zoo's last epoch, the reference's whole process)."""
    total = epochs * examples
    zoo_rate, torch_rate = examples / zoo_seconds[-1], examples / torch_seconds[-1]
    print(f"images/s including the first epoch (XLA compile): zoo {total / sum(zoo_seconds):,.0f}, "
          f"pytorch {total / sum(torch_seconds):,.0f} ({sum(torch_seconds) / sum(zoo_seconds):.2f}x)")
    for line in ratio_report(zoo_rate, torch_rate, epochs, zoo_load, torch_load):
        print(line, flush=True)
