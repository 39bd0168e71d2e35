"""M2, the semi-supervised VAE (Kingma et al. 2014), on MNIST with 100 labels.

The labels of 100 training images (10 per class, chosen with the seed) are used; the other
59,900 images are unlabelled. q(y|x) is an MLP classifier; for unlabelled images the bound
sums over all 10 classes exactly. Each step sees 100 unlabelled images and 100 images drawn
from the labelled subset, each moved by up to 2 pixels at random (`labelled_shift`: an
augmentation the paper does not use; it keeps q(y|x) from memorizing the 100 images);
alpha weighs the classification loss.

Run:      zoo train mnist_mlp_m2_100 --data-dir ../shared/data/mnist
Measured: see saved_models/mnist_mlp_m2_100/1/metrics.json and docs/results.md.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_m2_100",
    description="Semi-supervised M2 with 100 labels, MLP 784-500-50, Bernoulli, MNIST (q(y|x): 784-500-10)",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (500,)},
                    posterior={"type": "diagonal_normal", "latent_dim": 50},
                    prior={"type": "standard_normal"}, likelihood={"type": "bernoulli"},
                    objective={"type": "semi_supervised", "alpha": 50.0},
                    condition={"type": "class_label", "classes": 10},
                    classifier={"type": "mlp", "hidden_units": (500,)}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=40, batch_size=100, learning_rate=1e-3,
                      labelled=100, labelled_batch_size=100, labelled_shift=2),
    smoke={"epochs": 1, "network.hidden_units": (32,), "classifier.hidden_units": (16,), "latent_dim": 4},
)
