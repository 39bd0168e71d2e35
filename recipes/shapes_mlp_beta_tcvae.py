"""beta-TCVAE (Chen et al. 2018) on `shapes`: 10 latents, Bernoulli pixels, an MLP.

Run:      zoo train shapes_mlp_beta_tcvae
Measured: (pending)
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="shapes_mlp_beta_tcvae",
    description="MLP 4096-128-128-10 beta-TCVAE (beta 6), Bernoulli pixels, shapes (dSprites-style, known factors)",
    model=VAEConfig(image_shape=(64, 64, 1), network={"type": "mlp", "hidden_units": (128, 128)},
                    posterior={"type": "diagonal_normal", "latent_dim": 10}, likelihood="bernoulli",
                    objective={"type": "beta_tcvae", "beta": 6.0}),
    train=TrainConfig(dataset="shapes", binarization="none", epochs=12, batch_size=128),
    smoke={"epochs": 1, "hidden_units": (16,)},
)
