"""MLP VAE on scikit-learn's embedded 8x8 digits: the zoo's first run, no download needed.

Run:      zoo train digits_mlp_bernoulli
Measured: see the README's recipe table (test -ELBO on the fixed binarization of the
          297 held-out digits, and the training time on 2 CPU cores).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="digits_mlp_bernoulli",
    description="MLP 64-128-8 VAE, Bernoulli pixels, sklearn 8x8 digits (embedded, ~1 min on 2 CPU cores)",
    model=VAEConfig(network="mlp", hidden_units=(128,), latent_dim=8, likelihood="bernoulli"),
    train=TrainConfig(dataset="digits", binarization="dynamic", epochs=300, batch_size=50),
    smoke={"epochs": 2},
)
