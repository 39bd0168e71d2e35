"""A conv VAE with 8-bit discretized-logistic pixels for your own images (bits/dim comparable
with published image models).

For data without a recipe of its own: a folder of image files (class subfolders become
labels), a .npz file of uint8 images, or a TFDS dataset. Height and width divisible by 8.

Run:      zoo train conv_discretized_logistic --data-dir my_images/ --image-size 32x32
Measured: no figure is claimed for data we have not seen; tests/test_training.py trains it
          at smoke size on 120 generated 16x16 PNG files and exports it.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="conv_discretized_logistic",
    description="Conv (32, 64, 128) VAE, 64 latents, 8-bit discretized logistic pixels: your own images",
    model=VAEConfig(image_shape=(32, 32, 3), network={"type": "conv", "conv_filters": (32, 64, 128)},
                    posterior={"type": "diagonal_normal", "latent_dim": 64},
                    likelihood={"type": "discretized_logistic"}),
    train=TrainConfig(dataset="folder", binarization="none", epochs=30, batch_size=64),
    smoke={"epochs": 1, "conv_filters": (4, 8, 8), "latent_dim": 4},
)
