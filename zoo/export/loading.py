"""`zoo.load`: one signature of an export as a tf_keras layer, to build new models on.

Keras 3 has `TFSMLayer` for this; tf_keras 2.21 (which TFP layers need) has no public one.
"""

import tensorflow as tf
import tf_keras as keras

from zoo.errors import ZooError
from zoo.models.presets import resolve_version


class SavedModelLayer(keras.layers.Layer):
    """Calls one signature of a SavedModel; returns its dict of output tensors.

    The SavedModel's variables become this layer's weights: trainable ones only when
    `trainable=True`, so by default fitting a model built on the layer leaves them as exported.

    Args:
        path: a version folder, or a recipe folder (its highest integer version is used).
        endpoint: the signature to call, e.g. "serving_default", "encode", "decode".
        trainable: whether the loaded variables train with the new model.

    Example:
        x = keras.Input([8, 8, 1])
        z = SavedModelLayer("saved_models/digits_mlp_bernoulli", "encode")(x)["z_mean"]
        classifier = keras.Model(x, keras.layers.Dense(10, activation="softmax")(z))
    """

    def __init__(self, path, endpoint="serving_default", trainable=False, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.path, self.endpoint = path, endpoint
        self.version_path = resolve_version(path)
        self._loaded = tf.saved_model.load(self.version_path)
        if endpoint not in self._loaded.signatures:
            raise ZooError(f"{self.version_path!r} has no signature {endpoint!r}; "
                           f"available: {', '.join(sorted(self._loaded.signatures))}")
        self._signature = self._loaded.signatures[endpoint]
        self.input_specs = self._signature.structured_input_signature[1]
        # Assigning variables to a layer attribute is how tf_keras tracks them as weights.
        self.loaded_variables = list(self._signature.variables)
        self.built = True

    def call(self, inputs):
        """`inputs`: a tensor when the signature has one input, else a dict by input name."""
        if not isinstance(inputs, dict):
            if len(self.input_specs) != 1:
                raise ZooError(f"signature {self.endpoint!r} takes {sorted(self.input_specs)}: pass a dict")
            inputs = {next(iter(self.input_specs)): inputs}
        return self._signature(**{name: tf.cast(inputs[name], spec.dtype)
                                  for name, spec in self.input_specs.items()})

    def get_config(self):
        return {**super().get_config(), "path": self.path, "endpoint": self.endpoint}


def load(path, endpoint="serving_default", trainable=False):
    """An export's signature `endpoint` as a tf_keras layer (see `SavedModelLayer`)."""
    return SavedModelLayer(path, endpoint, trainable=trainable)
