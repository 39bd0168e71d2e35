"""A richer latent space: full-covariance posterior, learned mixture prior, and samples from
the aggregate posterior.

q(z|x) is a full-covariance Gaussian over 10 latents, p(z) a learned mixture of 10
Gaussians (KL estimated by Monte Carlo at the training draws), and after training a
10-component Gaussian mixture is fitted to the encoded training set and exported as the
`sample_aggregate_posterior` signature.

Run:      zoo train mnist_mlp_full_normal_mixture --data-dir ../shared/data/mnist
Measured: test -ELBO 102.36 nats (reconstruction 84.63 + KL 17.73), 30 epochs in 330 s
          on 2 CPU cores shared with other training.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_full_normal_mixture",
    description="MLP 784-400-10 VAE, full-covariance q, 10-Gaussian mixture prior, aggregate-posterior sampler, MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "full_normal", "latent_dim": 10},
                    prior={"type": "mixture", "components": 10}, likelihood={"type": "bernoulli"},
                    aggregate_posterior_components=10),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=30, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 3, "prior.components": 2,
           "aggregate_posterior_components": 2},
)
