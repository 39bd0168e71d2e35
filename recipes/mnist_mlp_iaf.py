"""A flow posterior on MNIST: a Gaussian q(z|x) followed by two inverse autoregressive steps.

Two tanh layers of 400, 40 latents, q(z|x) = 2 IAF steps (MADEs of 256-256 ELU units, a
context of 32 from the encoder) on a diagonal Gaussian, N(0, I) prior, KL warm-up over the
first 10 epochs (the IAF's density is exact; its KL is the Monte Carlo estimate).

Run:      zoo train mnist_mlp_iaf --data-dir ../shared/data/mnist
Measured: (pending)
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_iaf",
    description="MLP 784-400-400-40 VAE, q(z|x) with 2 inverse autoregressive flow steps, N(0, I) prior, MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400, 400), "activation": "tanh"},
                    posterior={"type": "iaf", "latent_dim": 40, "steps": 2},
                    prior="standard_normal", likelihood="bernoulli",
                    objective={"type": "elbo", "warmup_epochs": 10}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=50, batch_size=100),
    smoke={"epochs": 1, "network.hidden_units": (32,), "posterior.hidden_units": (16,), "latent_dim": 4,
           "context_size": 4, "kl_warmup_epochs": 1},
)
