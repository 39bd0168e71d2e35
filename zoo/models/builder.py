"""`zoo.build`: a `VAEConfig` (or its dict form) made into the same objects a user composes.

    vae = zoo.build(VAEConfig(posterior={"type": "diagonal_normal", "latent_dim": 16}))
    # is
    vae = zoo.VAE(encoder, DiagonalNormal(16), decoder, Bernoulli(), StandardNormal(), ELBO())

with the encoder and decoder made by the config's network factory (`zoo.layers.networks`).
"""

from zoo.config import VAEConfig
from zoo.layers.aggregate_posterior import AggregatePosterior
from zoo.models.vae import VAE


def build(config, name=None):
    """The VAE `config` describes (a `VAEConfig` or its `to_dict()`), built for its image shape."""
    if isinstance(config, dict):
        config = VAEConfig.from_dict(config)
    blocks = config.blocks()
    network, posterior, likelihood = blocks["network"], blocks["posterior"], blocks["likelihood"]
    encoder = network.encoder(config.image_shape, posterior.params_size)
    decoder = network.decoder(config.image_shape, posterior.code_shape,
                              likelihood.params_shape(config.image_shape)[-1])
    sampler = AggregatePosterior(config.aggregate_posterior_components) if config.aggregate_posterior_components else None
    return VAE(encoder, posterior, decoder, likelihood, prior=blocks["prior"], objective=blocks["objective"],
               image_shape=config.image_shape, aggregate_posterior=sampler, name=name)
