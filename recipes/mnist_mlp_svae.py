"""The hyperspherical VAE (Davidson et al. 2018): a von Mises-Fisher q(z|x) on S^19 in R^20
and the uniform prior on the sphere.

The networks, data and budget of mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels,
dynamic binarization, batch 100); only the latent geometry differs, and the code keeps 20
numbers, so the test -ELBO compares the geometries at equal budget (docs/manifold_latents.md).

Run:      zoo train mnist_mlp_svae --data-dir ../shared/data/mnist
Measured: at 30 epochs (benchmarks/same_budget.py, seed 0): test -ELBO 100.00 nats (reconstruction
          72.13 + KL 27.87); -log p(x) <= 94.04 (s.e. 0.78; IWAE, K=5000, first 1,000 test images).
          The Gaussian baseline: 99.34 and 92.81 (docs/manifold_latents.md).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_svae",
    description="MLP 784-400-20 VAE, von_mises_fisher posterior, spherical_uniform prior, dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "von_mises_fisher", "latent_dim": 20}, prior={"type": "spherical_uniform"},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
