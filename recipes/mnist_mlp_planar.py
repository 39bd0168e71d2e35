"""A planar flow posterior on MNIST (Rezende and Mohamed 2015): the networks of
mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels, dynamic binarization, batch 100) with
q(z|x) a diagonal Gaussian pushed through 10 planar layers whose parameters the encoder outputs.

Run:      zoo train mnist_mlp_planar --data-dir ../shared/data/mnist
Measured: at the diagonal-Gaussian VAE's budget (30 epochs, seed 0, `python
          benchmarks/same_budget.py mnist_mlp_planar --epochs 30 --seed 0 --root DIR
          --data-dir ../shared/data/mnist`): test -ELBO 99.97 nats (reconstruction 73.91 + KL
          26.06; the plain VAE 99.34), -log p(x) <= 92.96 +- 0.80 (IWAE bound, K=5000, first
          1,000 test images; the plain VAE 92.81 +- 0.79), 20 of 20 latents active; 1748 s on
          2 CPU cores shared with four other training runs. docs/posterior_flows.md.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_planar",
    description="MLP 784-400-20 VAE, q(z|x) with 10 planar flow layers, Bernoulli pixels, dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "normalizing_flow", "latent_dim": 20, "flows": ("planar",) * 10},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "flows": ("planar", "planar")},
)
