"""`zoo evaluate` of a model whose bound is exact (`scoring = "exact_bound"`: a VQ-VAE): its bound on the test split, in nats and bits/dim, and how it
uses its codebook.

q(z|x) is a point mass at the codes k(x), so the negative ELBO, -log p(x|z_q(x)) - log p(k(x)),
is computed exactly with nothing drawn; importance sampling with this q would give the same
number, so there is no tighter estimate to report (and `--samples` does not apply).
"""

import math
import time

import numpy as np
import tensorflow as tf

from zoo import data as zoo_data


def score_codes(model, recipe, images, labels=None, num_samples=None, batch_size=50, progress=False):
    """A VQ-VAE's scores on `images`: what `zoo evaluate` writes as metrics.json's "evaluation"
    (nothing is drawn, so `num_samples` does not apply; it has no labels)."""
    start = time.perf_counter()
    terms = tf.function(model.signatures()["elbo"].function)
    parts = [{k: v.numpy() for k, v in terms(images[i:i + batch_size]).items()} for i in range(0, len(images), batch_size)]
    elbo = np.concatenate([p["elbo"] for p in parts])
    nll = -float(elbo.mean())
    dataset = recipe.train.dataset
    levels = zoo_data.DATASETS.get(dataset).levels if dataset in zoo_data.DATASETS else 256
    usage = model.codebook_usage(images)
    result = {
        "neg_elbo": nll,
        "neg_elbo_stderr": float(elbo.std(ddof=1) / math.sqrt(len(elbo))) if len(elbo) > 1 else None,
        "reconstruction": float(np.concatenate([p["reconstruction"] for p in parts]).mean()),
        "kl": float(np.concatenate([p["kl"] for p in parts]).mean()),
        "bits_per_dim": model.to_bits_per_dim(nll, levels),
        "bits_per_dim_scale": "discrete pixels" if model.likelihood.discrete
        else f"density on [0, 1] moved to the 0..{levels - 1} scale",
        "codebook_size": model.codebook_size, "code_count": model.code_count, "codebook_perplexity": usage["perplexity"],
        "dead_codes": usage["dead_codes"],
        "density": "log p(x), bounded by the ELBO of the learned prior over codes (exact: q is a point mass)",
        "dataset": dataset,
        "test_binarization": "fixed (seed 0)" if recipe.train.binarization != "none" else "none",
        "examples": len(images), "seconds": round(time.perf_counter() - start, 1),
    }
    return result


def report(result):
    stderr = result["neg_elbo_stderr"] or 0
    return "\n".join([
        f"test -ELBO {result['neg_elbo']:.2f} nats (s.e. {stderr:.2f} over {result['examples']} images) = "
        f"reconstruction {result['reconstruction']:.2f} + KL {result['kl']:.2f} (-log p(codes) under the prior)",
        f"{result['bits_per_dim']:.4f} bits/dim; codebook perplexity {result['codebook_perplexity']:.1f} of "
        f"{result['code_count']} codes, {result['dead_codes']} unused; {result['seconds']:.0f} s",
    ])
