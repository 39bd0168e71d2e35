"""The Gaussian mixture sampler's earlier home: `AggregatePosterior` is now
`zoo.layers.samplers.GaussianMixture` (registered as "gaussian_mixture")."""

from zoo.layers.samplers.gaussian_mixture import AggregatePosterior, GaussianMixture

__all__ = ["AggregatePosterior", "GaussianMixture"]
