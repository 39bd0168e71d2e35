"""The MS-SSIM VAE (Snell et al. 2017) of mnist_mlp_bernoulli: the decoded image sigmoid(logits)
scored by 1 - MS-SSIM against the image instead of a Bernoulli likelihood.

The networks, data and training of mnist_mlp_bernoulli (MLP 784-400-20, dynamically binarized
MNIST, batch 100); only the likelihood differs, and beta = 0.01 is pythae's MNIST setting for
its MSSSIM_VAE (examples/scripts/configs/mnist/msssim_vae_config.json), whose cost is also
1 - MS-SSIM in [0, 1]. At 28x28 MS-SSIM has 4 scales of a 3x3 filter (docs/ms_ssim.md).
The cost is not a density: the model has no log p(x); it is judged by its reconstructions and
its samples.

Run:      zoo train mnist_mlp_ms_ssim --data-dir ../shared/data/mnist
Measured: 30 epochs (benchmarks/same_budget.py, seed 0, 1,583 s on 2 shared cores): test cost
          1 - MS-SSIM 0.0952, KL 4.8 nats, reconstruction MSE 0.0762 per pixel; domain FID
          of prior samples 154.44 (precision 0.777, recall 0.010); docs/ms_ssim.md.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_ms_ssim",
    description="MLP 784-400-20 VAE, reconstruction cost 1 - MS-SSIM (4 scales, 3x3 filter), beta 0.01, MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "diagonal_normal", "latent_dim": 20}, likelihood={"type": "ms_ssim"},
                    objective={"type": "elbo", "beta": 0.01}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
