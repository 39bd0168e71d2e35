"""Fitting a sampler's networks to codes by gradient steps: Adam on minibatches, a held-out
part of the codes scored after every epoch, the best epoch's weights kept, and a stop after
`patience` epochs without improvement (early stopping)."""

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import DataError


def held_out_split(codes, held_out, seed):
    """(training codes, held-out codes): a seeded random `held_out` fraction held out."""
    codes = np.asarray(codes, np.float32)
    if len(codes) < 10:
        raise DataError(f"{len(codes)} codes are too few to fit a sampler (at least 10)")
    order = np.random.default_rng(seed).permutation(len(codes))
    count = max(1, int(round(len(codes) * held_out)))
    return codes[order[count:]], codes[order[:count]]


def fit_by_steps(loss, variables, codes, seed, epochs, batch_size, learning_rate, patience, held_out,
                 name, verbose=False):
    """Minimise the mean of `loss(batch, step_seed)` (per-code losses [B]) over `variables`.

    Returns what the fit took: {"epochs", "loss", "held_out_loss"}; the variables end at the
    epoch with the lowest held-out loss.
    """
    train, held = held_out_split(codes, held_out, seed)
    batch_size = min(batch_size, len(train))
    optimizer = keras.optimizers.Adam(learning_rate)
    score_seed = tf.constant([seed, -1], tf.int64)

    @tf.function(reduce_retracing=True)
    def step(batch, step_seed):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(variables)
            value = tf.reduce_mean(loss(batch, step_seed))
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
        return value

    @tf.function(reduce_retracing=True)
    def score(batch):
        return tf.reduce_sum(loss(batch, score_seed))

    def held_out_loss():
        return sum(float(score(tf.constant(held[i:i + 4096]))) for i in range(0, len(held), 4096)) / len(held)

    rng = np.random.default_rng(seed)
    best, best_values, waited, steps, history = held_out_loss(), [v.numpy() for v in variables], 0, 0, []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        losses = []
        for first in range(0, len(train) - batch_size + 1, batch_size):
            steps += 1
            batch = tf.constant(train[order[first:first + batch_size]])
            losses.append(float(step(batch, tf.constant([seed, steps], tf.int64))))
        current = held_out_loss()
        history.append((float(np.mean(losses)), current))
        improved = current < best - 1e-4 * abs(best)
        if verbose:
            print(f"  {name} epoch {epoch}/{epochs}: loss {history[-1][0]:.4f}, held-out {current:.4f}"
                  + ("" if improved else f" (best {best:.4f})"), flush=True)
        if not np.isfinite(current):
            break
        if improved:
            best, best_values, waited = current, [v.numpy() for v in variables], 0
        else:
            waited += 1
            if waited >= patience:
                break
    for variable, value in zip(variables, best_values):
        variable.assign(value)
    return {"epochs": len(history), "loss": history[-1][0] if history else None, "held_out_loss": best}
