"""A conditional VAE of Fashion-MNIST with a learned prior per class, p(z|y).

Two ReLU layers of 500 on each side, 20 latents, a Gaussian likelihood with one learned
scale; the one-hot label enters both networks and sets the prior's mean and scale
(`conditional_normal`), so each class has its own region of the latent space.

Run:      zoo train fashion_mnist_mlp_conditional --data-dir ../shared/data/fashion_mnist
Measured: see saved_models/fashion_mnist_mlp_conditional/1/metrics.json and docs/results.md.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="fashion_mnist_mlp_conditional",
    description="Conditional VAE (y = garment class), MLP 784-500-500-20, learned p(z|y), Gaussian, Fashion-MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (500, 500)},
                    posterior={"type": "diagonal_normal", "latent_dim": 20},
                    prior={"type": "conditional_normal"}, likelihood={"type": "gaussian", "sigma": "learned"},
                    objective={"type": "elbo", "warmup_epochs": 5},
                    condition={"type": "class_label", "classes": 10}),
    train=TrainConfig(dataset="fashion_mnist", binarization="none", epochs=50, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "warmup_epochs": 1},
)
