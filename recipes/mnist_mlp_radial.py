"""A radial flow posterior on MNIST (Rezende and Mohamed 2015): the networks of
mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels, dynamic binarization, batch 100) with
q(z|x) a diagonal Gaussian pushed through 10 radial layers whose parameters the encoder outputs.

Run:      zoo train mnist_mlp_radial --data-dir ../shared/data/mnist
Measured: see docs/posterior_flows.md (same-budget run, benchmarks/same_budget.py).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_radial",
    description="MLP 784-400-20 VAE, q(z|x) with 10 radial flow layers, Bernoulli pixels, dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "normalizing_flow", "latent_dim": 20, "flows": ("radial",) * 10},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "flows": ("radial", "radial")},
)
