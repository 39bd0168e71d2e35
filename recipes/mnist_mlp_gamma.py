"""The Gamma VAE (PyTorch-VAE's GammaVAE): a Gamma q(z|x) per latent, positive codes, and a
fixed Gamma(2, 1) prior on each (PyTorch-VAE's defaults).

The networks, data and budget of mnist_mlp_bernoulli (MLP 784-400-20, Bernoulli pixels,
dynamic binarization, batch 100); only the latent block differs (docs/gamma_latents.md).

Run:      zoo train mnist_mlp_gamma --data-dir ../shared/data/mnist
Measured: 3 epochs only (on the loaded 2-core machine, niced; `zoo train mnist_mlp_gamma --epochs 3
          --data-dir /work/shared/data/mnist --workdir /tmp/g.work --export-dir /tmp/g.out`): test -ELBO
          117.85 nats (reconstruction 96.09 + KL 21.76); mnist_mlp_bernoulli by the same command 109.59
          (83.56 + 26.03). The 100-epoch run was not made.
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
