"""The blocks a VAE is composed of: posteriors q(z|x), priors p(z), likelihoods p(x|z) (and
the per-pixel distributions they are made of), and the config path's network factories; and
a VQ-VAE's vector quantizers and the autoregressive prior over its codes."""

from zoo.layers.aggregate_posterior import AggregatePosterior
from zoo.layers.code_prior import CODE_PRIORS, PixelCNNPrior
from zoo.layers.conditions import CONDITIONS, ClassLabel, ConditionVector
from zoo.layers.likelihoods import (Bernoulli, Categorical256, ContinuousBernoulli, DiscretizedLogistic, Gaussian,
                                    LIKELIHOODS)
from zoo.layers.joint import JointPosterior, JointPrior
from zoo.layers.log_cosh import LogCosh
from zoo.layers.ms_ssim import MultiscaleSSIM
from zoo.layers.posteriors import POSTERIORS, DiagonalNormal, FullCovarianceNormal, PointMass, RelaxedCategorical
from zoo.layers.priors import PRIORS, ConditionalNormal, MixtureOfGaussians, StandardNormal, UniformCategorical, VampPrior
from zoo.layers.flows import InverseAutoregressiveFlow
from zoo.layers.planar_radial_flows import NormalizingFlow
from zoo.layers.hamiltonian import HamiltonianPosterior
from zoo.layers.riemannian_hamiltonian import RiemannianHamiltonianPosterior
from zoo.layers.hyperbolic import PoincareWrappedNormal, PoincareWrappedNormalPrior
from zoo.layers.spherical import PowerSpherical, SphericalUniform, VonMisesFisher
from zoo.layers.gamma import GammaPosterior, GammaPrior
from zoo.layers.ladder import Ladder, TopDown
from zoo.layers.quantizer import QUANTIZERS, VectorQuantizer, VectorQuantizerEMA

__all__ = ["AggregatePosterior", "Bernoulli", "CODE_PRIORS", "CONDITIONS", "Categorical256", "ClassLabel",
           "ConditionVector", "ConditionalNormal", "ContinuousBernoulli", "DiagonalNormal", "DiscretizedLogistic",
           "FullCovarianceNormal", "GammaPosterior", "GammaPrior", "Gaussian", "HamiltonianPosterior",
           "InverseAutoregressiveFlow", "JointPosterior", "JointPrior", "LIKELIHOODS", "Ladder", "LogCosh",
           "MixtureOfGaussians", "MultiscaleSSIM", "NormalizingFlow", "POSTERIORS", "PixelCNNPrior",
           "PointMass", "PRIORS",
           "PoincareWrappedNormal", "PoincareWrappedNormalPrior", "PowerSpherical", "QUANTIZERS", "RelaxedCategorical",
           "SphericalUniform", "StandardNormal", "TopDown", "UniformCategorical", "VampPrior", "VectorQuantizer",
           "VectorQuantizerEMA", "VonMisesFisher"]
