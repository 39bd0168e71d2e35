"""The Gamma VAE (PyTorch-VAE's GammaVAE): a Gamma q(z|x) per latent, positive codes, and a
fixed Gamma(2, 1) prior on each (PyTorch-VAE's defaults).

The networks, data and budget of mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels,
dynamic binarization, batch 100); only the latent block differs (docs/gamma_latents.md).

Run:      zoo train mnist_mlp_gamma --data-dir ../shared/data/mnist
Measured: MEASURED
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_gamma",
    description="MLP 784-400-20 VAE, gamma posterior, gamma prior (shape 2, rate 1), dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "gamma", "latent_dim": 20}, prior={"type": "gamma"},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
