"""What each export signature of the zoo's kinds computes, as plain functions of a model
returning tensors; each kind's `signatures()` declares which it serves with which inputs.

`zoo.export` wraps them in `tf.function`s with the model's input specs; Python (`zoo train`,
`zoo evaluate`, the tests) calls the same functions, so Python and the SavedModel compute
the same thing. Every
random draw here is stateless with a fixed or given seed: serving the same request twice
gives the same answer.

A conditional model's signatures take `y` (class labels, int64 [B], or condition vectors)
beside `x`, `z` or `seed`; a semi-supervised model (M2) also has `classify` (x -> q(y|x)),
and its x-signatures need no y (the class is inferred or summed out). A VQ-VAE's `decode`
takes `codes` (int64 [B, H', W']) and its `encode` and `sample` return them.
"""

import tensorflow as tf

from zoo.seeds import ELBO_SEED, ENCODE_SEED, LIKELIHOOD_STREAM, LOG_LIKELIHOOD_SEED, PRIOR_STREAM, stream


def reconstruct(model, x, y=None):
    """Decode the posterior's code (its mean; the most probable one-hot values for
    categorical latents): x_mean, with what describes q(z|x) (z_mean and z_stddev, or z_probs)."""
    return model.reconstruction(x, y)


def encode(model, x, y=None):
    """What describes q(z|x), and one draw from it (fixed seed; hard one-hot if categorical)."""
    q = model.encode(x, y)
    return {**model.posterior.summary(q), "z_sample": q.sample(seed=ENCODE_SEED)}


def decode(model, z, y=None):
    """p(x|z)'s mean and the parameters of the likelihood."""
    p = model.decode(z, y)
    return {"x_mean": p.mean(), **model.likelihood.export_parameters(p)}


def sample(model, seed, y=None):
    """Generate as the model does: z ~ p(z) (or p(z|y)), x ~ p(x|z, y); row i depends only on
    seed[i] (and y[i])."""
    condition = model.condition_vector(y)
    prior = model.prior.given(condition)
    if prior is model.prior:
        return _generate(model, model.prior.distribution(), seed, condition)
    return _generate(model, None, seed, condition)


def sample_from(model, seed, sampler):
    """As `sample`, with z from the model's fitted sampler of kind `sampler` (`zoo.layers.samplers`):
    each serves its own signature (the Gaussian mixture `sample_aggregate_posterior`, the
    two-stage VAE `sample_two_stage`, the flow `sample_flow`); row i depends only on seed[i]."""
    seed = tf.cast(seed, tf.int64)
    return generate(model, model.sampler(sampler).sample(seed), seed)


def _generate(model, latent, seed, condition=None):
    """z ~ `latent` (None: the conditional prior at each row's condition), then x ~ p(x|z)."""
    seed = tf.cast(seed, tf.int64)
    if latent is not None:
        z = tf.map_fn(lambda s: latent.sample(seed=stream(s, PRIOR_STREAM)), seed, fn_output_signature=tf.float32)
    else:
        z = tf.map_fn(lambda row: model.prior.given(row[1][None]).sample(seed=stream(row[0], PRIOR_STREAM))[0],
                      (seed, condition), fn_output_signature=tf.float32)
    return generate(model, z, seed, condition)


def generate(model, z, seed, condition=None):
    """{"z", "x_mean", "x_sample" ~ p(x|z)} of the codes z [B, ...], row i drawn with seed[i]."""
    seed = tf.cast(seed, tf.int64)
    params = model._decoder_params(z, condition)
    x_sample = tf.map_fn(
        lambda row: model.likelihood.distribution(row[0][None]).sample(
            seed=stream(row[1], LIKELIHOOD_STREAM))[0],
        (params, seed), fn_output_signature=tf.float32)
    return {"z": z, "x_mean": model.likelihood.distribution(params).mean(), "x_sample": x_sample}


def elbo(model, x, y=None):
    """Per-example ELBO = -(reconstruction + kl), one draw of z (fixed seed), beta = 1."""
    reconstruction, kl = model.elbo_terms(x, y, seed=ELBO_SEED)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}


def log_likelihood(model, x, y=None, num_samples=5000):
    """Per-example log p(x) (log p(x|y) with y) estimated with `num_samples` importance
    samples (IWAE bound, fixed seed) and the ELBO, reconstruction and KL from the same draws:
    the model's `importance_sampled` (see zoo.models.importance_sampling)."""
    return model.importance_sampled(x, y, num_samples, LOG_LIKELIHOOD_SEED)


def classify(model, x):
    """q(y|x) of a semi-supervised model: class probabilities, and the most probable class."""
    probabilities = model.classify(x)
    return {"probabilities": probabilities, "label": tf.argmax(probabilities, axis=-1)}


def encode_codes(model, x):
    """A VQ-VAE's codes of x (int64 [B, H', W']), the encoder's vectors z_e and the codebook
    vectors z_q they are replaced by."""
    z_e = model.encoder_output(x)
    codes = model.quantizer.nearest(z_e)
    return {"codes": codes, "z_e": z_e, "z_q": model.quantizer.lookup(codes)}


def sample_codes(model, seed):
    """Generate as a VQ-VAE does: codes k ~ p(k) from its prior, x ~ p(x|z_q(k)); row i
    depends only on seed[i]."""
    seed = tf.cast(seed, tf.int64)
    codes = model.sample_codes(seed)
    params = model._decoder_params(model.quantizer.lookup(codes))
    x_sample = tf.map_fn(
        lambda row: model.likelihood.distribution(row[0][None]).sample(seed=stream(row[1], LIKELIHOOD_STREAM))[0],
        (params, seed), fn_output_signature=tf.float32)
    return {"codes": codes, "x_mean": model.likelihood.distribution(params).mean(), "x_sample": x_sample}


def reconstruct_codes(model, x):
    """A VQ-VAE's decoded codes of x (x_mean) and the codes."""
    return model.reconstruction(x)


def decode_codes(model, codes):
    """p(x|z_q(codes))'s mean and the parameters of the likelihood."""
    p = model.decode(codes)
    return {"x_mean": p.mean(), **model.likelihood.export_parameters(p)}


def exact_elbo(model, x):
    """A VQ-VAE's per-example ELBO = -(reconstruction + kl), nothing drawn (q is a point mass)."""
    reconstruction, kl = model.elbo_terms(x)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}
