"""M2 (Kingma et al. 2014) on MNIST with 3000 labels: `mnist_mlp_m2_100` with 300 labelled
images per class instead of 10 and 30 epochs instead of 40 (more labels need fewer passes);
everything else is that recipe's.

Run:      zoo train mnist_mlp_m2_3000 --data-dir ../shared/data/mnist
Measured: see saved_models/mnist_mlp_m2_3000/1/metrics.json and docs/results.md.
"""

import dataclasses

from recipes.mnist_mlp_m2_100 import RECIPE as WITH_100_LABELS

RECIPE = dataclasses.replace(
    WITH_100_LABELS,
    name="mnist_mlp_m2_3000",
    description="Semi-supervised M2 with 3000 labels, MLP 784-500-50, Bernoulli, MNIST (q(y|x): 784-500-10)",
    train=dataclasses.replace(WITH_100_LABELS.train, labelled=3000, epochs=30),
)
