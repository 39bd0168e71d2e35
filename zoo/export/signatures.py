"""What each export signature computes, as plain functions of a VAE returning tensors, and
which signatures an export has with which input.

`zoo.export` wraps these in `tf.function`s with input specs; `VAE.predict_step` and the
tests call them directly, so Python and the SavedModel compute the same thing. Every
random draw here is stateless with a fixed or given seed: serving the same request twice
gives the same answer.
"""

import tensorflow as tf

from zoo.evaluation import importance_sampling
from zoo.models.seeds import ELBO_SEED, ENCODE_SEED, LIKELIHOOD_STREAM, LOG_LIKELIHOOD_SEED, PRIOR_STREAM, stream


def reconstruct(model, x):
    """Decode the posterior's code (its mean; the most probable one-hot values for
    categorical latents): x_mean, with what describes q(z|x) (z_mean and z_stddev, or z_probs)."""
    return model.reconstruction(x)


def encode(model, x):
    """What describes q(z|x), and one draw from it (fixed seed; hard one-hot if categorical)."""
    q = model.encode(x)
    return {**model.posterior.summary(q), "z_sample": q.sample(seed=ENCODE_SEED)}


def decode(model, z):
    """p(x|z)'s mean and the parameters of the likelihood."""
    p = model.decode(z)
    return {"x_mean": p.mean(), **model.likelihood.export_parameters(p)}


def sample(model, seed):
    """Generate as the model does: z ~ p(z), x ~ p(x|z); row i depends only on seed[i]."""
    return _generate(model, model.prior.distribution(), seed)


def sample_aggregate_posterior(model, seed):
    """As `sample`, with z from the Gaussian mixture fitted to the encoded training set."""
    return _generate(model, model.aggregate_posterior.distribution(), seed)


def _generate(model, latent, seed):
    seed = tf.cast(seed, tf.int64)
    z = tf.map_fn(lambda s: latent.sample(seed=stream(s, PRIOR_STREAM)), seed,
                  fn_output_signature=tf.float32)
    params = tf.cast(model.decoder(z), tf.float32)
    x_sample = tf.map_fn(
        lambda row: model.likelihood.distribution(row[0][None]).sample(
            seed=stream(row[1], LIKELIHOOD_STREAM))[0],
        (params, seed), fn_output_signature=tf.float32)
    return {"z": z, "x_mean": model.likelihood.distribution(params).mean(), "x_sample": x_sample}


def elbo(model, x):
    """Per-example ELBO = -(reconstruction + kl), one draw of z (fixed seed), beta = 1."""
    reconstruction, kl = model.elbo_terms(x, seed=ELBO_SEED)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}


def log_likelihood(model, x, num_samples=5000):
    """Per-example log p(x) estimated with `num_samples` importance samples (IWAE bound, fixed
    seed) and the ELBO, reconstruction and KL from the same draws; see
    zoo.evaluation.importance_sampling."""
    return importance_sampling.log_likelihood(model, x, num_samples, LOG_LIKELIHOOD_SEED)


SIGNATURE_INPUTS = {  # signature -> (its function, input name)
    "serving_default": (reconstruct, "x"),
    "reconstruct": (reconstruct, "x"),
    "encode": (encode, "x"),
    "decode": (decode, "z"),
    "sample": (sample, "seed"),
    "elbo": (elbo, "x"),
    "log_likelihood": (log_likelihood, "x"),
}


def signature_inputs(model):
    """The signatures `model`'s export serves: SIGNATURE_INPUTS, plus the aggregate-posterior
    sampler when the model has one."""
    if getattr(model, "aggregate_posterior", None) is None:
        return dict(SIGNATURE_INPUTS)
    return {**SIGNATURE_INPUTS, "sample_aggregate_posterior": (sample_aggregate_posterior, "seed")}


def input_spec(model, input_name):
    """The batched TensorSpec a signature takes."""
    shapes = {"x": ([None, *model.image_shape], tf.float32),
              "z": ([None, *model.code_shape], tf.float32),
              "seed": ([None], tf.int64)}
    shape, dtype = shapes[input_name]
    return tf.TensorSpec(shape, dtype, name=input_name)
