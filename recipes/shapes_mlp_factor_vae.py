"""FactorVAE (Kim and Mnih 2018) on `shapes`, beside shapes_mlp_beta_tcvae: the same MLP
4096-128-128-10, Bernoulli pixels, batch 128, 24 epochs.

The VAE's loss gains gamma * TC, the total correlation of q(z) estimated by a discriminator
(five hidden layers of 1000 leaky-ReLU units, pythae's; its own Adam 1e-4, betas 0.5 and
0.9) as log(D / (1 - D)); D learns to tell codes from codes permuted
dimension-wise. Each batch is split as in pythae (the paper draws a second batch): the VAE
learns from one half, D from the other half's permuted codes, one step each. gamma 10 is the
smallest of disentanglement_lib's study (10 to 100). Figures: docs/adversarial.md.

Run:      zoo train shapes_mlp_factor_vae
Measured: 4 epochs only (benchmarks/disentanglement_study.py --kinds factor_vae beta_tcvae
          --epochs 4 --seeds 0): MIG 0.045, FactorVAE score 0.490, test -ELBO 95.65, 1186 s
          on 2 loaded CPU cores; beta-TCVAE the same way: MIG 0.127, 0.530, 100.80, 362 s.
          The 24 epochs were not run (docs/adversarial.md).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="shapes_mlp_factor_vae",
    description="MLP 4096-128-128-10 FactorVAE (gamma 10, discriminator on permuted codes), Bernoulli pixels, shapes",
    model=VAEConfig(image_shape=(64, 64, 1), network={"type": "mlp", "hidden_units": (128, 128)},
                    posterior={"type": "diagonal_normal", "latent_dim": 10}, likelihood={"type": "bernoulli"},
                    adversary={"type": "total_correlation", "gamma": 10.0}),
    train=TrainConfig(dataset="shapes", binarization="none", epochs=24, batch_size=128),
    smoke={"epochs": 1, "network.hidden_units": (16,), "batch_size": 1024, "adversary.hidden_units": (8,)},
)
