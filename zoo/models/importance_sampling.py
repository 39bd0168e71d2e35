"""Importance-sampled log p(x): the IWAE bound with K draws from q(z|x), in bounded memory.

    log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)

(Burda et al., 2016), tight as K grows; its gap to the ELBO is the KL from q(z|x) to the
true posterior. Each example is scored on its own with the same seeds, so its estimate
does not depend on which other examples share its batch: `zoo evaluate` and the exported
`log_likelihood` signature give the same numbers for the same image. The K draws go
through the decoder `chunk_size` at a time, so memory does not grow with K.
"""

import math

import tensorflow as tf

DEFAULT_CHUNK_SIZE = 500


def log_likelihood(model, x, num_samples, seed, chunk_size=DEFAULT_CHUNK_SIZE, y=None):
    """Per-example estimates from the same K draws (nats, shape [B] each); for a conditional
    model, of log p(x|y) with q(z|x,y), p(z|y) (or p(z)) and p(x|z,y) at the conditions `y`.

    Returns `log_likelihood` (the IWAE bound), `elbo` (the mean log weight, so
    log_likelihood >= elbo always holds), `reconstruction` (mean -log p(x|z_k)) and `kl`
    (mean log q(z_k|x) - log p(z_k), a K-sample estimate of KL(q(z|x) || p(z))); for
    hierarchical latents also `kl_per_layer` [B, L], each layer's share of `kl` at the same
    draws (they sum to it).
    """
    if num_samples < 1 or chunk_size < 1:
        raise ValueError(f"num_samples and chunk_size must be >= 1, got {num_samples}, {chunk_size}")
    chunk_size = min(chunk_size, num_samples)
    condition = model.condition_vector(y)
    params = model._encoder_params(x, condition)
    dtype = tf.float32
    rows = (params, x) if condition is None else (params, x, condition)
    layers = len(model.posterior.layer_names)

    def one_example(row):
        return _one_example(model, *row[:2], num_samples, chunk_size, seed, *row[2:], layers=layers)

    log_sum_w, sum_log_w, sum_reconstruction, sum_kl, sum_kl_layers = tf.map_fn(
        one_example, rows, fn_output_signature=(dtype,) * 4 + (tf.TensorSpec([layers], dtype),))
    result = {"log_likelihood": log_sum_w - math.log(num_samples), "elbo": sum_log_w / num_samples,
              "reconstruction": sum_reconstruction / num_samples, "kl": sum_kl / num_samples}
    if layers:
        result["kl_per_layer"] = sum_kl_layers / num_samples
    return result


def _one_example(model, params, x, num_samples, chunk_size, seed, condition=None, layers=0):
    """Over the K draws for one example: logsumexp of log w, and the sums of log w, of
    -log p(x|z), of log q(z|x) - log p(z) (kept apart: no cancellation in float32) and of its
    `layers` per-layer parts (none for one stochastic layer)."""
    condition = None if condition is None else condition[None]
    q = model.posterior.given(model.joint_target(x[None], condition)).inference(params[None])  # batch shape [1]
    prior = model.prior.given(condition).distribution()  # batch shape [] or [1]
    num_chunks = -(-num_samples // chunk_size)
    seed = tf.convert_to_tensor(seed, tf.int32)

    def body(i, log_sum_w, sum_log_w, sum_reconstruction, sum_kl, sum_kl_layers):
        z = q.sample(chunk_size, seed=tf.random.experimental.stateless_fold_in(seed, i))  # [C, 1, D]
        log_q = q.log_prob(z)[:, 0]
        valid = i * chunk_size + tf.range(chunk_size) < num_samples  # the last chunk may overhang K
        if layers:
            ratios = model.prior.log_ratio_per_layer(q, z)[:, 0]  # [C, L] at these draws
            sum_kl_layers += tf.reduce_sum(tf.where(valid[:, None], ratios, tf.zeros_like(ratios)), axis=0)
        z = z[:, 0]
        repeated = None if condition is None else tf.tile(condition, [chunk_size, 1])
        log_px = model.likelihood.distribution(model._decoder_params(z, repeated)).log_prob(x[None])
        kl = log_q - prior.log_prob(z[:, None])[:, 0]
        log_w = log_px - kl
        zero = tf.zeros_like(log_w)
        return (i + 1,
                tf.reduce_logsumexp(tf.stack([log_sum_w, tf.reduce_logsumexp(
                    tf.where(valid, log_w, tf.fill(tf.shape(log_w), -math.inf)))])),
                sum_log_w + tf.reduce_sum(tf.where(valid, log_w, zero)),
                sum_reconstruction - tf.reduce_sum(tf.where(valid, log_px, zero)),
                sum_kl + tf.reduce_sum(tf.where(valid, kl, zero)), sum_kl_layers)

    start = (tf.constant(0), tf.constant(-math.inf), tf.constant(0.0), tf.constant(0.0), tf.constant(0.0),
             tf.zeros([layers]))
    return tf.while_loop(lambda i, *_: i < num_chunks, body, start)[1:]


def summed_over_classes(model, x, num_samples, seed, chunk_size=DEFAULT_CHUNK_SIZE):
    """log p(x) = log (1/K) sum_y p(x|y) for a model over K classes with a uniform p(y) (M2),
    each log p(x|y) estimated as `log_likelihood` does (the same draws for every class).

    `elbo`, `reconstruction` and `kl` are those of the bound with y drawn from the model's
    q(y|x): sum_y q(y|x) ELBO(x, y) - KL(q(y|x) || p(y)), the kl including the second term."""
    classes = model.classes
    per_class = [log_likelihood(model, x, num_samples, seed, chunk_size,
                                y=tf.fill([tf.shape(x)[0]], tf.constant(k, tf.int64))) for k in range(classes)]
    stacked = {key: tf.stack([part[key] for part in per_class], axis=-1) for key in per_class[0]}  # [B, K]
    q = model.classify(x)
    kl_y = tf.reduce_sum(q * tf.math.log(tf.maximum(q, 1e-30)), axis=-1) + math.log(classes)
    return {"log_likelihood": tf.reduce_logsumexp(stacked["log_likelihood"], axis=-1) - math.log(classes),
            "elbo": tf.reduce_sum(q * stacked["elbo"], axis=-1) - kl_y,
            "reconstruction": tf.reduce_sum(q * stacked["reconstruction"], axis=-1),
            "kl": tf.reduce_sum(q * stacked["kl"], axis=-1) + kl_y}
