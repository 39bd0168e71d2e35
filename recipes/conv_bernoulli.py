"""A conv VAE with Bernoulli pixels for your own images (binarized afresh every epoch).

For data without a recipe of its own: a folder of image files (class subfolders become
labels), a .npz file, or a TFDS dataset. Height and width must be divisible by 4.

Run:      zoo train conv_bernoulli --data-dir my_images/ --image-size 32x32 --channels 1
Measured: no figure is claimed for data we have not seen; tests/test_training.py trains it
          at smoke size on 120 generated 16x16 PNG files and exports it.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="conv_bernoulli",
    description="Conv (32, 64) VAE, 16 latents, Bernoulli pixels: your own images (--data-dir FOLDER or .npz)",
    model=VAEConfig(network={"type": "conv", "conv_filters": (32, 64)},
                    posterior={"type": "diagonal_normal", "latent_dim": 16}, likelihood={"type": "bernoulli"}),
    train=TrainConfig(dataset="folder", binarization="dynamic", epochs=20, batch_size=64),
    smoke={"epochs": 1, "conv_filters": (4, 8), "latent_dim": 4},
)
