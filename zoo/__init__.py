"""A model zoo of variational autoencoders built from TensorFlow Probability layers.

    import zoo
    vae = zoo.VAE(my_encoder, zoo.DiagonalNormal(20), my_decoder, zoo.Bernoulli())
    vae = zoo.build(zoo.VAEConfig(prior={"type": "vamp"}))  # the config path: the same objects
    vae = zoo.VAE.from_preset("mnist_mlp_vampprior")      # a shipped, trained model
    vq = zoo.build(zoo.VQVAEConfig())                     # a VQ-VAE with a learned prior over its codes

Importing zoo sets TF_CPP_MIN_LOG_LEVEL=3 (unless it is set) and keeps TensorFlow's C++
start-up lines off stderr (`zoo.tensorflow_logs`).
"""

import importlib

from zoo import tensorflow_logs

tensorflow_logs.hide()  # TensorFlow's C++ start-up lines; TF_CPP_MIN_LOG_LEVEL or `zoo --debug` shows them

from zoo import plugins

# The composition root: what lower packages call and higher ones provide (zoo.plugins).
plugins.provide("export", "zoo.export.savedmodel:export")

_EXPORTS = {  # loaded on first use, so `zoo --help` and `zoo list` start fast
    "VAE": "zoo.models.vae", "build": "zoo.models.builder", "presets": "zoo.models.presets",
    "ZooModel": "zoo.models.base", "load_preset": "zoo.models.kinds",
    "VAEConfig": "zoo.config", "TrainConfig": "zoo.config", "Recipe": "zoo.config",
    "train": "zoo.training.train", "load": "zoo.export.loading",
    "ZooError": "zoo.errors", "ConfigError": "zoo.errors", "DataError": "zoo.errors",
    "ELBO": "zoo.objectives", "IWAE": "zoo.objectives", "MIWAE": "zoo.objectives", "PIWAE": "zoo.objectives",
    "CIWAE": "zoo.objectives", "Capacity": "zoo.objectives", "SemiSupervised": "zoo.objectives",
    "BetaTCVAE": "zoo.objectives", "DIPVAE": "zoo.objectives",
    "SemiSupervisedVAE": "zoo.models.semi_supervised",
    "ClassLabel": "zoo.layers.conditions", "ConditionVector": "zoo.layers.conditions",
    "ConditionalNormal": "zoo.layers.priors",
    "DiagonalNormal": "zoo.layers.posteriors", "FullCovarianceNormal": "zoo.layers.posteriors",
    "RelaxedCategorical": "zoo.layers.posteriors", "Ladder": "zoo.layers.ladder",
    "InverseAutoregressiveFlow": "zoo.layers.flows", "NormalizingFlow": "zoo.layers.planar_radial_flows",
    "HamiltonianPosterior": "zoo.layers.hamiltonian",
    "RiemannianHamiltonianPosterior": "zoo.layers.riemannian_hamiltonian", "TopDown": "zoo.layers.ladder",
    "StandardNormal": "zoo.layers.priors", "MixtureOfGaussians": "zoo.layers.priors",
    "VampPrior": "zoo.layers.priors", "UniformCategorical": "zoo.layers.priors",
    "Bernoulli": "zoo.layers.likelihoods", "Gaussian": "zoo.layers.likelihoods",
    "ContinuousBernoulli": "zoo.layers.likelihoods", "Categorical256": "zoo.layers.likelihoods",
    "DiscretizedLogistic": "zoo.layers.likelihoods", "AggregatePosterior": "zoo.layers.aggregate_posterior",
    "VectorQuantizer": "zoo.layers.quantizer", "VectorQuantizerEMA": "zoo.layers.quantizer",
    "HierarchicalResidualQuantizer": "zoo.layers.quantizer",
    "VQVAE": "zoo.models.vq_vae", "VQVAEConfig": "zoo.config", "PixelCNNPrior": "zoo.layers.code_prior",
    "VonMisesFisher": "zoo.layers.spherical", "PowerSpherical": "zoo.layers.spherical",
    "SphericalUniform": "zoo.layers.spherical", "PoincareWrappedNormal": "zoo.layers.hyperbolic",
    "PoincareWrappedNormalPrior": "zoo.layers.hyperbolic",
    "GammaPosterior": "zoo.layers.gamma", "GammaPrior": "zoo.layers.gamma",
    "PointMass": "zoo.layers.posteriors", "Autoencoder": "zoo.objectives", "RAE": "zoo.objectives",
    "MultiscaleSSIM": "zoo.layers.ms_ssim", "WAEMMD": "zoo.objectives", "InfoVAE": "zoo.objectives",
    "LogCosh": "zoo.layers.log_cosh", "SWAE": "zoo.objectives",
    "JointPosterior": "zoo.layers.joint", "JointPrior": "zoo.layers.joint", "JointCapacity": "zoo.objectives",
    "AdversarialVAE": "zoo.models.adversarial", "TotalCorrelation": "zoo.layers.adversaries",
    "PriorMatching": "zoo.layers.adversaries", "VAEGAN": "zoo.layers.adversaries",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
