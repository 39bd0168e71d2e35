"""The log-cosh VAE (Chen et al. 2019) of mnist_mlp_bernoulli: the decoded image sigmoid(logits)
scored by sum_pixels log(cosh(a (x - x_hat))) / a instead of a Bernoulli likelihood.

The networks, data and training of mnist_mlp_bernoulli (MLP 784-400-20, dynamically binarized
MNIST, batch 100); only the likelihood differs: a = 10, PyTorch-VAE's configs/logcosh_vae.yaml,
and the KL at weight 1 against the per-image cost. The cost is not a density: the model has no
log p(x); it is judged by its reconstructions and its samples (docs/log_cosh.md).

Run:      zoo train mnist_mlp_logcosh --data-dir ../shared/data/mnist
Measured: 30 epochs on 2 shared cores (load 5-9), seed 0, 120 s: test loss 52.94 (cost
          37.98 + KL 14.96), mean squared error 0.04539 per pixel; prior samples' domain FID
          75.55, reconstructions' 15.43 (`zoo evaluate --no-likelihood --sample-quality`;
          docs/log_cosh.md).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_logcosh",
    description="MLP 784-400-20 VAE, reconstruction cost log-cosh (alpha 10), MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "diagonal_normal", "latent_dim": 20}, likelihood={"type": "log_cosh", "alpha": 10.0}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=30, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
