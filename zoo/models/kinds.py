"""Every kind of model the zoo ships, imported together so Keras knows their classes and
blocks when it loads a `model.keras` of any of them."""

from zoo.models.adversarial import AdversarialVAE
from zoo.models.presets import load_keras_file, preset_path
from zoo.models.semi_supervised import SemiSupervisedVAE
from zoo.models.vae import VAE
from zoo.models.vq_vae import VQVAE

KINDS = (VAE, SemiSupervisedVAE, VQVAE, AdversarialVAE)


def load_preset(preset, compile=True):
    """The trained model of `preset` (a name in `zoo.presets()` or an export folder), whatever
    its kind; `VAE.from_preset` and the like also check the kind."""
    return load_keras_file(preset_path(preset), compile)
