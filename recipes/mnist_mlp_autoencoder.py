"""A plain deterministic autoencoder (Ghosh et al. 2020's "AE" baseline) with the networks of
mnist_mlp_bernoulli: MLP 784-400-20, Bernoulli pixels, dynamically binarized MNIST, batch 100.

The encoder gives the code itself (a point-mass posterior, 20 latents) and the loss is the
reconstruction cost alone, -log p(x|z) (binary cross-entropy in nats). It has no likelihood:
`zoo evaluate` reports its reconstruction error and, with --sample-quality, the quality of
samples from N(0, I) and from the 10-component Gaussian mixture fitted to the training codes
after training (Ghosh et al.'s ex-post density estimate). docs/autoencoders.md has the figures.

Run:      zoo train mnist_mlp_autoencoder --data-dir ../shared/data/mnist
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_autoencoder",
    description="MLP 784-400-20 deterministic autoencoder, Bernoulli pixels, a 10-Gaussian mixture to sample from",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "point_mass", "latent_dim": 20}, likelihood={"type": "bernoulli"},
                    objective={"type": "autoencoder"},
                    samplers=({"type": "gaussian_mixture", "components": 10},)),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
