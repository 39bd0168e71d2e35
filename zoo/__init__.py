"""A model zoo of variational autoencoders built from TensorFlow Probability layers.

    from zoo import VAE, VAEConfig
    model = VAE(VAEConfig(network="conv", likelihood="gaussian"))
    p_x_given_z = model(images)          # a TFP distribution
    q_z_given_x = model.encode(images)   # a TFP distribution
"""

import importlib

_EXPORTS = {  # loaded on first use, so `zoo --help` and `zoo list` start fast
    "VAE": "zoo.model", "VAEConfig": "zoo.config", "TrainConfig": "zoo.config",
    "Recipe": "zoo.config", "train": "zoo.train", "ZooError": "zoo.errors",
    "ConfigError": "zoo.errors", "DataError": "zoo.errors", "load": "zoo.loading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
