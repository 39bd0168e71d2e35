"""The base of the zoo's `tfp.layers.DistributionLambda` blocks."""

import tensorflow_probability as tfp
import tf_keras as keras


class DistributionLayer(tfp.layers.DistributionLambda):
    """A DistributionLambda whose distribution is built by its `distribution(params)` method.

    The method is public so that export code and per-row samplers can rebuild the same
    distribution from parameters without calling the layer. `get_config` returns plain
    values (TFP's own pickles the lambda, which does not round-trip). `tensor_value` is what
    the layer's output is when used as a tensor (a subclass's choice, not an argument).
    """

    tensor_value = staticmethod(tfp.distributions.Distribution.sample)

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")  # TFP distributions stay float32 under mixed precision
        super().__init__(self.distribution, convert_to_tensor_fn=self.tensor_value, **kwargs)

    def distribution(self, params):
        raise NotImplementedError

    def get_config(self):
        return keras.layers.Layer.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)
