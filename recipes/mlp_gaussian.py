"""An MLP VAE with Gaussian pixels (one learned sigma) for your own small images.

For data without a recipe of its own: a folder of image files (class subfolders become
labels), a .npz file, or a TFDS dataset. Any image size (the MLP sees flat pixels).

Run:      zoo train mlp_gaussian --data-dir my_images.npz
Measured: no figure is claimed for data we have not seen; tests/test_training.py trains it
          at smoke size on 120 generated 16x16 PNG files and exports it.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mlp_gaussian",
    description="MLP 512-256 VAE, 32 latents, Gaussian pixels: your own images (--data-dir FOLDER or .npz)",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (512, 256)},
                    posterior={"type": "diagonal_normal", "latent_dim": 32},
                    likelihood={"type": "gaussian", "sigma": "learned"}),
    train=TrainConfig(dataset="folder", binarization="none", epochs=30, batch_size=64),
    smoke={"epochs": 1, "hidden_units": (16,), "latent_dim": 4},
)
