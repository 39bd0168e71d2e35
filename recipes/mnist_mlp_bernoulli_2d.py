"""A VAE with a 2-D latent space on MNIST, to look at: the latent grid and the encoded test set.

Run:      zoo train mnist_mlp_bernoulli_2d --data-dir ../shared/data/mnist
          zoo evaluate saved_models/mnist_mlp_bernoulli_2d --data-dir ../shared/data/mnist
Measured: test -ELBO 139.63 nats (reconstruction 132.98 + KL 6.64), 30 epochs in 232 s on
          2 CPU cores shared with another job; `zoo evaluate --examples 1000`: -log p(x)
          <= 135.79 nats (K=5000) on the first 1,000 test images, both latents active.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_bernoulli_2d",
    description="MLP 784-512-256-2 VAE, Bernoulli pixels, MNIST: a 2-D latent space to plot",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (512, 256)},
                    posterior={"type": "diagonal_normal", "latent_dim": 2}, likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=30, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,)},
)
