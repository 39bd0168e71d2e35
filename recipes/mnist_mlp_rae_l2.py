"""RAE-L2 (Ghosh et al. 2020, "From variational to deterministic autoencoders") with the networks
of mnist_mlp_bernoulli: MLP 784-400-20, Bernoulli pixels, dynamically binarized MNIST, batch 100.

A point-mass posterior (20 latents) and the loss -log p(x|z) + beta ||z||^2 / 2 + lambda ||theta||^2,
theta every weight of the decoder (kernels and biases), beta = 1e-4 and lambda = 1e-7 as the
authors' MNIST configuration (github.com/ParthaEth/Regularized_autoencoders-RAE-,
configurations/config.py, 'RAE-L2'). Samples come from the 10-component Gaussian mixture
fitted to the training codes after training. docs/autoencoders.md has the figures.

Run:      zoo train mnist_mlp_rae_l2 --data-dir ../shared/data/mnist
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_rae_l2",
    description="MLP 784-400-20 RAE-L2 (decoder weight decay), Bernoulli pixels, a 10-Gaussian mixture to sample from",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "point_mass", "latent_dim": 20}, likelihood={"type": "bernoulli"},
                    objective={"type": "rae", "kind": "l2", "beta": 1e-4, "decoder_weight": 1e-7},
                    samplers=({"type": "gaussian_mixture", "components": 10},)),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4},
)
