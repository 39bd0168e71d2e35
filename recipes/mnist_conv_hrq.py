"""HRQ-VAE on MNIST (Hosking et al. 2022): the network, likelihood and PixelCNN prior of
mnist_conv_vq, with its quantizer replaced by a hierarchy of 3 codebooks of 4 vectors of 16
values, each quantizing the residual of the levels above: a code is a path (k1, k2, k3), 64
paths per position, as many as the VQ-VAE's 64 codes, so the prior models the same number of
categories and the two bounds compare at the same code budget. Training as the authors' code
(Gumbel-softmax choices, temperature 2 -> 0.5, depth dropout 0.3, decaying initial norms).

Run:      zoo train mnist_conv_hrq --data-dir ../shared/data/mnist
Measured: 10 + 10 epochs (benchmarks/same_budget.py mnist_conv_hrq --epochs 10 --seeds 0, 2 CPU
          cores shared with other jobs): test -ELBO 127.01 nats = reconstruction 52.46 + KL 74.55
          (-log p(paths)), 0.2337 bits/dim; path perplexity 41.4 of 64, none unused; each level's
          perplexity 3.90, 3.85, 3.94 of 4; 2124 s for the autoencoder + 1027 s for the prior.
          mnist_conv_vq (its shipped export, the same epochs): 130.37 = 26.24 + 104.14.
"""

from zoo.config import Recipe, TrainConfig, VQVAEConfig

RECIPE = Recipe(
    name="mnist_conv_hrq",
    description="HRQ-VAE, conv (32, 64) to 7x7 paths through 3 levels of 4 codes, PixelCNN prior, binarized MNIST",
    model=VQVAEConfig(network={"type": "conv", "conv_filters": (32, 64)},
                      quantizer={"type": "hierarchical_residual_quantizer", "codebook_size": 4, "depth": 3,
                                 "code_dim": 16},
                      likelihood={"type": "bernoulli"}, code_prior={"type": "pixelcnn", "filters": 32, "blocks": 4},
                      prior_epochs=10),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=10, batch_size=100),
    smoke={"epochs": 1, "prior_epochs": 1, "conv_filters": (4, 8), "codebook_size": 2, "depth": 2, "code_dim": 4,
           "filters": 8, "blocks": 1},
)
