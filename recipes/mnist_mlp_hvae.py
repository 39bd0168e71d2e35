"""The Hamiltonian VAE (Caterini, Doucet and Sejdinovic 2018) on MNIST: the networks of
mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels, dynamic binarization, batch 100) with
q(z|x) a diagonal Gaussian followed by 4 tempered leapfrog steps on log p(x, z).

K = 4 and the initial step size 0.05 are pythae's reproduction settings (its HVAE on binary
MNIST: n_lf=4, eps_lf=0.05); beta0 = 0.3 is pythae's default HVAEConfig (its reproduction
fixes beta0 = 1, no tempering). As the paper, the step sizes (one per latent) and beta0 are
learned. Each training step takes 5 gradients of log p(x, z) through the decoder and
differentiates through them (see docs/hamiltonian.md for the cost).

Run:      zoo train mnist_mlp_hvae --data-dir ../shared/data/mnist
Measured: test -ELBO 98.61 nats (reconstruction 70.75 + KL 27.85), 30 epochs in 1688 s
          (1066 images/s) on 2 CPU cores shared with other runs (benchmarks/same_budget.py,
          seed 0; the plain VAE there: 99.34). Learned eps 0.033-0.109, beta0 0.66.
          `zoo evaluate` of that export, first 1,000 test images: -log p(x) <= 92.02 +- 0.78
          nats (IWAE bound, K=5000, 449 s; the plain VAE's: 92.81, 50 s).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_hvae",
    description="MLP 784-400-20 VAE, q(z|x) a Gaussian moved by 4 tempered leapfrog steps (HVAE), MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "hamiltonian", "latent_dim": 20, "leapfrog_steps": 4, "step_size": 0.05,
                               "beta0": 0.3},
                    likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=30, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "leapfrog_steps": 1},
)
