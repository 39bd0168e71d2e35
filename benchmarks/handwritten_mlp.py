"""The MNIST MLP VAE step written by hand in TensorFlow: no Keras, no TFP, the same
arithmetic as the zoo's recipe (784-400-20, Bernoulli, Adam 1e-3, ThreeFry binarization
and z draws, 100 steps per XLA call on resident images). What the zoo's layers,
distributions and `model.fit` cost is the gap between this and the zoo's images/s.

    python benchmarks/handwritten_mlp.py [--data-dir DIR]
"""

import argparse
import os
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from zoo import data as zoo_data  # noqa: E402
from zoo.models.compiled_loop import Z_STREAM  # noqa: E402

BATCH, HIDDEN, LATENT, PIXELS, STEPS = 128, 400, 20, 784, 100


def dense(fan_in, fan_out):
    """PyTorch's default initialization, as the benchmark's zoo recipe uses."""
    limit = 1 / np.sqrt(fan_in)
    return [tf.Variable(tf.random.uniform([fan_in, fan_out], -limit, limit)), tf.Variable(tf.zeros([fan_out]))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist"))
    args = parser.parse_args()
    tf.random.set_seed(0)
    data = zoo_data.ResidentImages(zoo_data.DATASETS.get("mnist").load("train", args.data_dir), BATCH, "dynamic", 0)
    weights = dense(PIXELS, HIDDEN) + dense(HIDDEN, 2 * LATENT) + dense(LATENT, HIDDEN) + dense(HIDDEN, PIXELS)
    moments = [(tf.Variable(tf.zeros_like(w)), tf.Variable(tf.zeros_like(w))) for w in weights]
    step_count = tf.Variable(0, dtype=tf.int64)

    def neg_elbo(x, seed):
        w1, b1, w2, b2, w3, b3, w4, b4 = weights
        params = tf.nn.relu(tf.reshape(x, [-1, PIXELS]) @ w1 + b1) @ w2 + b2
        loc, scale = params[:, :LATENT], tf.nn.softplus(params[:, LATENT:]) + 1e-5
        z = loc + scale * tf.random.stateless_normal(tf.shape(loc), seed, alg="threefry")
        logits = tf.nn.relu(z @ w3 + b3) @ w4 + b4
        reconstruction = -tf.reduce_sum(tf.reshape(x, [-1, PIXELS]) * logits - tf.nn.softplus(logits), 1)
        kl = tf.reduce_sum(0.5 * (loc ** 2 + scale ** 2) - tf.math.log(scale) - 0.5, 1)
        return tf.reduce_mean(reconstruction + kl)

    @tf.function(jit_compile=True)
    def run_steps():
        first = step_count.read_value()

        def body(i, x, loss):
            step = first + i
            with tf.GradientTape() as tape:
                loss = neg_elbo(x, data.seed_for(Z_STREAM, step, tf.int32))
            t = tf.cast(step + 1, tf.float32)
            rate = 1e-3 * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for w, g, (m, v) in zip(weights, tape.gradient(loss, weights), moments):
                m.assign_add((g - m) * 0.1)
                v.assign_add((g * g - v) * 0.001)
                w.assign_sub(rate * m / (tf.sqrt(v) + 1e-7))
            return i + 1, data.batch(step + 1, "threefry"), loss

        loss = tf.while_loop(lambda i, *_: i < STEPS, body,
                             (tf.constant(0, tf.int64), data.batch(first, "threefry"), 0.0))[2]
        step_count.assign_add(STEPS)
        return loss

    seconds = []
    for call in range(data.steps_per_epoch * 2 // STEPS):  # two epochs, reshuffled as the zoo does
        data.shuffle_for(step_count.read_value())
        start = time.perf_counter()
        loss = run_steps().numpy()
        seconds.append(time.perf_counter() - start)
    print(f"hand-written TF step: best {STEPS * BATCH / min(seconds[1:]):,.0f} images/s, median "
          f"{STEPS * BATCH / np.median(seconds[1:]):,.0f} over {len(seconds) - 1} calls of {STEPS} steps "
          f"(after the compiling call); last loss {loss:.2f}")


if __name__ == "__main__":
    main()
