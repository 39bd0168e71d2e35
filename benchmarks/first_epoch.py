"""Where the zoo's first epoch goes in mlp_vs_pytorch.py: each call of its training function
(100 steps) and each test pass, timed one by one. The first call traces the training step
in Python and compiles it with XLA; every later call, the shorter last one of an epoch
included, runs that same program. The test pass is a second program.

    python benchmarks/first_epoch.py [--xla-cache DIR] [--data-dir DIR]

With TF_CPP_VMODULE=device_compilation_profiler=1 TensorFlow also logs each XLA
compilation and its seconds (two per run: the training loop and the test pass).
"""

import statistics
import time

import tf_keras as keras

from harness import load, parse_args, train_zoo, use_xla_cache, zoo_data


class CallTimes(keras.callbacks.Callback):
    """Wall and CPU seconds of each call of the training function and of each test pass."""

    def __init__(self):
        super().__init__()
        self.train, self.test = [], []

    def _start(self):
        self.started = time.perf_counter(), time.process_time()

    def _stop(self, into):
        into.append((time.perf_counter() - self.started[0], time.process_time() - self.started[1]))

    def on_train_batch_begin(self, batch, logs=None):
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        self._stop(self.train)

    def on_test_begin(self, logs=None):
        self._start()

    def on_test_end(self, logs=None):
        self._stop(self.test)


def main():
    args = parse_args(__doc__.splitlines()[0])
    if args.xla_cache:
        use_xla_cache(args.xla_cache)
    train_split, test_split = load(args.data_dir, args.smoke)
    times = CallTimes()
    _, neg_elbo, model = train_zoo("mnist_mlp_bernoulli", train_split, test_split, args, callbacks=[times])
    model.evaluate(zoo_data.eval_dataset(test_split, 500, binarize=True), verbose=0, callbacks=[times])
    print("training calls, seconds (CPU seconds):", ", ".join(f"{w:.2f} ({c:.2f})" for w, c in times.train))
    (first_wall, first_cpu), later = times.train[0], times.train[1:]
    print(f"first call: {first_wall - statistics.median(w for w, _ in later):.2f} s "
          f"({first_cpu - statistics.median(c for _, c in later):.2f} s CPU) beyond the median of the others "
          "(tracing and compiling the training loop)")
    print(f"test pass: first {times.test[0][0]:.2f} s, second {times.test[1][0]:.2f} s; test -ELBO {neg_elbo:.4f}")


if __name__ == "__main__":
    main()
