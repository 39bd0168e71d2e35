"""What an exported signature does with a request it cannot score as sent.

Neither TF Serving (tensorflow_serving/servables/tensorflow/predict_util.cc compares the
input names only) nor a signature loaded with `tf.saved_model.load` compares a request's
shape with the signature's: unchecked, an image of the wrong rank was silently reshaped
into other rows and a wrong size failed deep inside a layer. A pixel that is NaN could
vanish in a ReLU and leave a finite, wrong answer. So every signature checks its input:

- a wrong rank or size fails with an InvalidArgumentError that names the input, the shape
  it got and the shape it needs;
- a row holding NaN or Inf is computed as zeros and answered with NaN in every float output
  of that row; the other rows get the answer they get alone;
- an empty batch gets empty outputs.

A wrong dtype never reaches these checks: the runtime refuses it (InvalidArgumentError
"expected to be a float tensor but is a int32 tensor").
"""

import tensorflow as tf


def checked(function, spec):
    """`function` (one batched tensor of `spec` in, a dict of tensors out) with the checks above."""
    @tf.autograph.experimental.do_not_convert  # plain tensor code: nothing for AutoGraph to convert
    def serve(value):
        # The graph assumes the spec's shape; only this op compares it with what was sent:
        # "Shape of tensor x [2,27,27,1] is not compatible with expected shape [?,28,28,1]".
        value = tf.ensure_shape(value, spec.shape)
        if not spec.dtype.is_floating:
            return function(value)
        finite = tf.reduce_all(tf.math.is_finite(value), axis=list(range(1, spec.shape.rank)))
        outputs = function(tf.where(_per_row(finite, value), value, tf.zeros_like(value)))
        return {key: tf.where(_per_row(finite, output), output, tf.constant(float("nan"), output.dtype))
                if output.dtype.is_floating else output for key, output in outputs.items()}

    return serve


def _per_row(mask, like):
    """[B] booleans shaped to broadcast over `like`'s rows."""
    return tf.reshape(mask, [-1] + [1] * (like.shape.rank - 1))
