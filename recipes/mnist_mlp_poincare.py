"""The Poincare VAE (Mathieu et al. 2019): wrapped normal q(z|x) and prior (at the origin) in
the Poincare ball of curvature -1 in R^20; the decoder takes z as it is (no gyroplane layer).

The networks, data and budget of mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels,
dynamic binarization, batch 100); only the latent geometry differs, and the code keeps 20
numbers, so the test -ELBO compares the geometries at equal budget (docs/manifold_latents.md).

Run:      zoo train mnist_mlp_poincare --data-dir ../shared/data/mnist
Measured: at 30 epochs (benchmarks/same_budget.py, seed 0): test -ELBO 102.01 nats (reconstruction
          75.01 + KL 27.00); -log p(x) <= 94.65 (s.e. 0.80; IWAE, K=5000, first 1,000 test images).
          The Gaussian baseline: 99.34 and 92.81 (docs/manifold_latents.md).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_poincare",
    description="MLP 784-400-20 VAE, poincare_wrapped_normal posterior, poincare_wrapped_normal prior, dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "poincare_wrapped_normal", "latent_dim": 20}, prior={"type": "poincare_wrapped_normal"},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
