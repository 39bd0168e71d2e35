"""VQ-VAE on Fashion-MNIST (van den Oord et al. 2017): conv (32, 64) to a 7x7 grid of codes
from a codebook of 128 vectors of 16 values (EMA updates, dead codes restarted), 8-bit pixels
with a discretized logistic likelihood, so the bound is in bits per 8-bit pixel; then a gated
PixelCNN prior over the code grids, trained on the training set's codes.

Run:      zoo train fashion_mnist_conv_vq --data-dir ../shared/data/fashion_mnist
Measured: the shipped export (saved_models/fashion_mnist_conv_vq, this command, 2 CPU cores
          shared with other jobs): test -ELBO 1832.75 nats = reconstruction 1723.29 + KL
          109.46 (-log p(codes)), 3.3726 bits per 8-bit pixel; codebook perplexity 109.2 of
          128, none unused; 921 s for the autoencoder + 520 s for the prior. One epoch of
          each stage (`--epochs 1 --set prior_epochs=1`): 3.757 bits per pixel.
"""

from zoo.config import Recipe, TrainConfig, VQVAEConfig

RECIPE = Recipe(
    name="fashion_mnist_conv_vq",
    description="VQ-VAE, conv (32, 64) to 7x7 codes of a 128-vector EMA codebook, PixelCNN prior, 8-bit Fashion-MNIST",
    model=VQVAEConfig(network={"type": "conv", "conv_filters": (32, 64)},
                      quantizer={"type": "vector_quantizer_ema", "codebook_size": 128, "code_dim": 16,
                                 "restart_threshold": 1.0},
                      likelihood={"type": "discretized_logistic"},
                      code_prior={"type": "pixelcnn", "filters": 32, "blocks": 4},
                      prior_epochs=10),
    train=TrainConfig(dataset="fashion_mnist", binarization="none", epochs=10, batch_size=100),
    smoke={"epochs": 1, "prior_epochs": 1, "conv_filters": (4, 8), "codebook_size": 8, "code_dim": 4,
           "filters": 8, "blocks": 1},
)
