"""What each export signature computes, as plain functions of a VAE returning tensors.

`zoo.export` wraps these in `tf.function`s with input specs; `VAE.predict_step` and the
tests call them directly, so Python and the SavedModel compute the same thing. Every
random draw here is stateless with a fixed or given seed: serving the same request twice
gives the same answer.
"""

import tensorflow as tf

ENCODE_SEED = (1, 0)
ELBO_SEED = (2, 0)
LOG_LIKELIHOOD_SEED = (3, 0)
PRIOR_STREAM, LIKELIHOOD_STREAM = 0, 1


def reconstruct(model, x):
    """Decode the posterior's code (its mean; the most probable one-hot values for
    categorical latents): x_mean, with what describes q(z|x) (z_mean and z_stddev, or z_probs)."""
    q = model.encode(x)
    return {"x_mean": model.decode(model.posterior.code(q)).mean(), **model.posterior.summary(q)}


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
    z = tf.map_fn(lambda s: latent.sample(seed=_stream(s, PRIOR_STREAM)), seed,
                  fn_output_signature=tf.float32)
    params = model.decoder(z)
    x_sample = tf.map_fn(
        lambda row: model.likelihood.distribution(row[0][None]).sample(
            seed=_stream(row[1], LIKELIHOOD_STREAM))[0],
        (params, seed), fn_output_signature=tf.float32)
    return {"z": z, "x_mean": model.likelihood.distribution(params).mean(), "x_sample": x_sample}


def elbo(model, x):
    """Per-example ELBO = -(reconstruction + kl), one draw of z (fixed seed), beta = 1."""
    from zoo.objectives import elbo_terms

    reconstruction, kl = elbo_terms(model, x, seed=ELBO_SEED)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}


def log_likelihood(model, x, num_samples=5000):
    """Per-example log p(x) estimated with `num_samples` importance samples (IWAE bound, fixed
    seed) and the ELBO, reconstruction and KL from the same draws; see zoo.importance_sampling."""
    from zoo import importance_sampling

    return importance_sampling.log_likelihood(model, x, num_samples, LOG_LIKELIHOOD_SEED)


def _stream(seed, stream):
    """A TFP stateless seed (int32 pair) from one int64 seed: all 64 bits kept, then a stream."""
    return tf.random.experimental.stateless_fold_in(tf.bitcast(seed, tf.int32), stream)
