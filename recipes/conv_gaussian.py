"""A conv VAE with Gaussian pixels (one learned sigma) for your own grey or colour images.

For data without a recipe of its own: a folder of image files (class subfolders become
labels), a .npz file, or a TFDS dataset. Height and width must be divisible by 4.

Run:      zoo train conv_gaussian --data-dir my_images/ --image-size 64x64 --channels 3
          zoo train conv_gaussian --dataset tfds:celeb_a --image-size 64x64 --download
Measured: no figure is claimed for data we have not seen; tests/test_training.py trains it
          at smoke size on 120 generated 16x16 PNG files and exports it, and tests/test_cli.py
          on 200 RGB 40x30 PNG files at --image-size 32x32.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="conv_gaussian",
    description="Conv (32, 64) VAE, 32 latents, Gaussian pixels: your own images (--data-dir FOLDER or .npz)",
    model=VAEConfig(network={"type": "conv", "conv_filters": (32, 64)},
                    posterior={"type": "diagonal_normal", "latent_dim": 32},
                    likelihood={"type": "gaussian", "sigma": "learned"}),
    train=TrainConfig(dataset="folder", binarization="none", epochs=20, batch_size=64),
    smoke={"epochs": 1, "conv_filters": (4, 8), "latent_dim": 4},
)
