"""8-bit colour images: a convolutional VAE with a discretized logistic likelihood on CIFAR-10.

Each sub-pixel is one of 256 values, modelled by a logistic whose mass over each 1/255 bin
is its probability (PixelCNN++'s discretization with one component), so the test -ELBO
is a log-probability and converts to bits per dimension. CIFAR-10 comes from TFDS
(`--download` online, or `--data-dir` with a prepared TFDS data_dir); it is not shipped
in saved_models/ because these machines cannot download it.

Run:      zoo train cifar10_conv_discretized_logistic --download
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="cifar10_conv_discretized_logistic",
    description="Conv VAE (32-64-128 filters, 64 latents), discretized logistic 8-bit pixels, CIFAR-10",
    model=VAEConfig(image_shape=(32, 32, 3), network={"type": "conv", "conv_filters": (32, 64, 128)},
                    posterior={"type": "diagonal_normal", "latent_dim": 64},
                    likelihood={"type": "discretized_logistic"}),
    train=TrainConfig(dataset="cifar10", binarization="none", epochs=30, batch_size=100),
    smoke={"epochs": 1, "conv_filters": (4, 8), "latent_dim": 4},
)
