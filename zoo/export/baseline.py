"""The trivial baseline an export must beat: each pixel's own marginal, no latent.

A model whose test -ELBO is worse than independent pixels at their training frequencies
has learned nothing usable (a diverged or exploding run: `--set learning_rate=1e4` gives a
test -ELBO of 1.6e10 nats). The model declares the baseline that fits it
(`pixel_marginal`: its likelihood's family with constant parameters fitted to the training
images, smoothed), so the baseline is in the units of the model's own test figure: nats per
image, a log-probability for discrete pixels, a log-density for continuous ones.
"""

import numpy as np

BASELINE = "baseline_neg_elbo"  # the key in metrics.json, beside test_neg_elbo
BASELINE_IS = "each pixel's own marginal fitted on the training images (no latent), -log p(x) on the test images"
SCORE_BATCH = 1000


def baseline_figures(model, train_images, test_images):
    """{BASELINE: nats per test image, "baseline_is": ...} for `metrics.json`, or {} when the
    model declares no baseline (scored by reconstruction error)."""
    marginal = model.pixel_marginal(train_images)
    if marginal is None:
        return {}
    return {BASELINE: negative_log_likelihood(marginal, test_images), "baseline_is": BASELINE_IS}


def negative_log_likelihood(distribution, images, batch=SCORE_BATCH):
    """-log p(x) of a distribution over whole images, averaged over `images`, in batches."""
    total = 0.0
    for first in range(0, len(images), batch):
        part = np.asarray(images[first:first + batch], np.float32)
        total += float(np.sum(distribution.log_prob(part).numpy(), dtype=np.float64))
    return -total / len(images)
