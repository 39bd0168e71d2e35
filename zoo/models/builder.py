"""`zoo.build`: a `VAEConfig` or `VQVAEConfig` (or its dict form) made into the same objects a
user composes.

    vae = zoo.build(VAEConfig(posterior={"type": "diagonal_normal", "latent_dim": 16}))
    # is
    vae = zoo.VAE(encoder, DiagonalNormal(16), decoder, Bernoulli(), StandardNormal(), ELBO())

with the encoder and decoder made by the config's network factory (`zoo.layers.networks`).
"""

from zoo.config import model_config_from_dict
from zoo.models.adversarial import AdversarialVAE
from zoo.models.semi_supervised import SemiSupervisedVAE
from zoo.models.vae import VAE
from zoo.models.vq_vae import VQVAE
from zoo.registry import Registry

BUILDERS = Registry("model kind")  # a model config's `kind` -> the function that builds it


def build(config, name=None):
    """The model `config` describes (a `VAEConfig`, a `VQVAEConfig`, a config of a kind
    registered in `BUILDERS`, or its `to_dict()`), built for its image shape."""
    if isinstance(config, dict):
        config = model_config_from_dict(config)
    return BUILDERS.get(config.kind)(config, name)


@BUILDERS.register("vae")
def build_vae(config, name=None):
    """The `VAE` (or the semi-supervised M2) a `VAEConfig` describes."""
    blocks = config.blocks()
    network, posterior, likelihood = blocks["network"], blocks["posterior"], blocks["likelihood"]
    condition = blocks.get("condition")
    condition_size = condition.size if condition is not None else 0
    encoder = network.encoder(config.image_shape, posterior.params_size, condition_size)
    decoder = network.decoder(config.image_shape, posterior.code_shape,
                              likelihood.params_shape(config.image_shape)[-1], condition_size)
    samplers = config.make_samplers()
    if "classifier" in blocks:  # M2: q(y|x) beside q(z|x,y)
        classifier = blocks["classifier"].encoder(config.image_shape, condition.classes, name="classifier")
        return SemiSupervisedVAE(classifier, encoder, posterior, decoder, likelihood, classes=condition.classes,
                                 prior=blocks["prior"], objective=blocks["objective"], condition=condition,
                                 image_shape=config.image_shape, samplers=samplers, name=name)
    if "adversary" in blocks:  # FactorVAE, AAE: a discriminator on z beside the VAE
        return AdversarialVAE(encoder, posterior, decoder, likelihood, adversary=blocks["adversary"],
                              prior=blocks["prior"], objective=blocks["objective"], image_shape=config.image_shape,
                              samplers=samplers, condition=condition, name=name)
    return VAE(encoder, posterior, decoder, likelihood, prior=blocks["prior"], objective=blocks["objective"],
               image_shape=config.image_shape, samplers=samplers, condition=condition, name=name)


@BUILDERS.register("vq_vae")
def build_vq_vae(config, name=None):
    """The `VQVAE` a `VQVAEConfig` describes: the network's grid torsos around its quantizer."""
    blocks = config.blocks()
    network, quantizer, likelihood = blocks["network"], blocks["quantizer"], blocks["likelihood"]
    encoder = network.grid_encoder(config.image_shape, quantizer.code_dim)
    decoder = network.grid_decoder(config.image_shape, quantizer.code_dim, likelihood.params_shape(config.image_shape)[-1])
    return VQVAE(encoder, quantizer, decoder, likelihood, prior=blocks["code_prior"], image_shape=config.image_shape,
                 prior_epochs=config.prior_epochs, name=name)
