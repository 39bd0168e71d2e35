"""VQ-VAE on MNIST (van den Oord et al. 2017): conv (32, 64) to a 7x7 grid of codes from a
codebook of 64 vectors of 16 values (EMA updates, dead codes restarted), Bernoulli pixels;
then a gated PixelCNN prior over the code grids, trained on the training set's codes, so that
the model generates and gives a bound on log p(x).

The paper's 512 codes of 64 values are more than 28x28 digits use: after one epoch (2 CPU
cores), 512 EMA codes without restarts left 484 unused (perplexity 7.6), the plain codebook
loss 463 (perplexity 20.8); with restarts 510 were used (perplexity 316) and the
reconstruction fell from 54.5 to 36.6 nats, but the prior then has 9 bits of code to model
at each position. 64 codes with restarts: all used (perplexity 50.8), reconstruction 43.9.

Run:      zoo train mnist_conv_vq --data-dir ../shared/data/mnist
Measured: the shipped export (saved_models/mnist_conv_vq, this command, 2 CPU cores shared
          with other jobs): test -ELBO 130.37 nats = reconstruction 26.24 + KL 104.14
          (-log p(codes)), 0.2399 bits/dim; codebook perplexity 47.3 of 64, none unused;
          633 s for the autoencoder + 464 s for the prior. One epoch of each stage
          (`--epochs 1 --set prior_epochs=1`): 144.26 nats.
"""

from zoo.config import Recipe, TrainConfig, VQVAEConfig

RECIPE = Recipe(
    name="mnist_conv_vq",
    description="VQ-VAE, conv (32, 64) to 7x7 codes of a 64-vector EMA codebook, PixelCNN prior, binarized MNIST",
    model=VQVAEConfig(network={"type": "conv", "conv_filters": (32, 64)},
                      quantizer={"type": "vector_quantizer_ema", "codebook_size": 64, "code_dim": 16,
                                 "restart_threshold": 1.0},
                      likelihood={"type": "bernoulli"}, code_prior={"type": "pixelcnn", "filters": 32, "blocks": 4},
                      prior_epochs=10),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=10, batch_size=100),
    smoke={"epochs": 1, "prior_epochs": 1, "conv_filters": (4, 8), "codebook_size": 8, "code_dim": 4,
           "filters": 8, "blocks": 1},
)
