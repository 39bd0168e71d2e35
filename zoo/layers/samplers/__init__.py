"""Post-hoc samplers: densities fitted to a VAE's encoded training set that generation draws
z from instead of the prior ("prior", the default, is the model's own p(z) and needs none)."""

from zoo.layers.samplers.base import SAMPLERS, Sampler, signature_name
from zoo.layers.samplers.flow import MaskedAutoregressiveFlow
from zoo.layers.samplers.gaussian_mixture import AggregatePosterior, GaussianMixture
from zoo.layers.samplers.two_stage import TwoStageVAE

PRIOR = "prior"  # the model's own p(z): always there, served by `sample`

__all__ = ["AggregatePosterior", "GaussianMixture", "MaskedAutoregressiveFlow", "PRIOR", "SAMPLERS", "Sampler",
           "TwoStageVAE", "signature_name"]
