"""A conditional VAE of MNIST digits: ask it for a 7 (`sample(n, y=7)`, or the `sample`
signature with `y`).

Two ReLU layers of 500 on each side, 20 latents with p(z) = N(0, I), a Bernoulli
likelihood; the one-hot label enters both networks (q(z|x,y), p(x|z,y)). Trained with a KL
warm-up over the first 5 epochs.

Run:      zoo train mnist_mlp_conditional --data-dir ../shared/data/mnist
Measured: see saved_models/mnist_mlp_conditional/1/metrics.json and docs/results.md.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_conditional",
    description="Conditional VAE (y = digit class), MLP 784-500-500-20, N(0, I) prior, Bernoulli, MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (500, 500)},
                    posterior={"type": "diagonal_normal", "latent_dim": 20},
                    prior={"type": "standard_normal"}, likelihood={"type": "bernoulli"},
                    objective={"type": "elbo", "warmup_epochs": 5},
                    condition={"type": "class_label", "classes": 10}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=50, batch_size=100),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "warmup_epochs": 1},
)
