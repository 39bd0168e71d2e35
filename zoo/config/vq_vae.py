"""`VQVAEConfig`: the blocks of a VQ-VAE and the second stage that fits its prior."""

import dataclasses

from zoo.checks import check_count
from zoo.config.blocks import make_block, normalize_block, spec_form
from zoo.config.kinds import ModelConfig, checked_image_shape, register_model_config
from zoo.config.rules import check_vq_vae_blocks


@register_model_config
@dataclasses.dataclass(frozen=True)
class VQVAEConfig(ModelConfig):
    """One VQ-VAE variant (van den Oord et al. 2017): the blocks of `zoo.VQVAE`, each with its
    arguments, and the second training stage that fits the prior over the codes.

    Args:
        image_shape: (height, width, channels) of the data; recipes take it from the dataset.
        network: the encoder/decoder torsos, a network with a grid form: {"type": "conv",
            "conv_filters": (32, 64)} (each stride-2 layer halves the grid of codes: 28x28
            images give a 7x7 grid).
        quantizer: {"type": "vector_quantizer", "codebook_size": 512, "code_dim": 64,
            "beta": 0.25} or {"type": "vector_quantizer_ema", "decay": 0.99} (`zoo.layers.quantizer`).
        likelihood: p(x|z_q), e.g. {"type": "bernoulli"} or {"type": "discretized_logistic"}
            (`zoo.layers.likelihoods`).
        code_prior: the prior over code grids, {"type": "pixelcnn", "filters": 64, "blocks": 5}
            (`zoo.layers.code_prior`).
        prior_epochs: epochs of the second stage (the prior on the training set's codes, after
            the autoencoder's `epochs`).

    Example:
        VQVAEConfig(quantizer={"type": "vector_quantizer_ema", "codebook_size": 64, "code_dim": 16},
                    code_prior={"type": "pixelcnn", "filters": 32}, prior_epochs=10)
    """

    kind = "vq_vae"
    BLOCKS, OPTIONAL_BLOCKS = ("network", "quantizer", "likelihood", "code_prior"), ()

    image_shape: tuple = (28, 28, 1)
    network: dict = dataclasses.field(default_factory=lambda: {"type": "conv", "conv_filters": (32, 64)})
    quantizer: dict = dataclasses.field(default_factory=lambda: {"type": "vector_quantizer"})
    likelihood: dict = dataclasses.field(default_factory=lambda: {"type": "bernoulli"})
    code_prior: dict = dataclasses.field(default_factory=lambda: {"type": "pixelcnn"})
    prior_epochs: int = 10

    def __post_init__(self):
        object.__setattr__(self, "image_shape", checked_image_shape(self.image_shape))
        for role in self.BLOCKS:
            object.__setattr__(self, role, spec_form(role, getattr(self, role)))
        check_count("prior_epochs", self.prior_epochs)

    def check(self):
        import tensorflow as tf

        with tf.Graph().as_default():  # constructed only to be checked: no TensorFlow runtime started
            self.blocks()
        return self

    def blocks(self):
        """{role: block object} (the network as its factory), checked: what `zoo.build` composes."""
        made = {role: make_block(role, normalize_block(role, getattr(self, role))) for role in self.BLOCKS}
        check_vq_vae_blocks(made["network"])
        made["network"].check(self.image_shape)
        return made

    def scaled(self, factor):
        """Both stages trained `factor` times longer (the autoencoder's epochs are the recipe's)."""
        return self.replace(prior_epochs=max(1, round(self.prior_epochs * factor)))
