"""What an exported signature does with a request it cannot score as sent.

Neither TF Serving (tensorflow_serving/servables/tensorflow/predict_util.cc compares the
input names only) nor a signature loaded with `tf.saved_model.load` compares a request's
shape with the signature's: unchecked, an image of the wrong rank was silently reshaped
into other rows and a wrong size failed deep inside a layer. A pixel that is NaN could
vanish in a ReLU and leave a finite, wrong answer. So every signature checks its input:

- a wrong rank or size fails with an InvalidArgumentError that names the input, the shape
  it got and the shape it needs;
- a row holding NaN or Inf (in any float input) is computed as zeros and answered with NaN
  in every float output of that row; the other rows get the answer they get alone;
- inputs of one request with different batch sizes (x and y) fail, naming both;
- a class label out of range fails with the range (`ClassLabel.vector`);
- an empty batch gets empty outputs.

A wrong dtype never reaches these checks: the runtime refuses it (InvalidArgumentError
"expected to be a float tensor but is a int32 tensor").
"""

import tensorflow as tf


def checked(function, *specs):
    """`function` (batched tensors of `specs` in, a dict of tensors out) with the checks above."""
    @tf.autograph.experimental.do_not_convert  # plain tensor code: nothing for AutoGraph to convert
    def serve(*values):
        # The graph assumes the spec's shape; only this op compares it with what was sent:
        # "Shape of tensor x [2,27,27,1] is not compatible with expected shape [?,28,28,1]".
        values = [tf.ensure_shape(value, spec.shape) for value, spec in zip(values, specs)]
        if len(values) > 1:
            sizes = [tf.shape(value)[0] for value in values]
            with tf.control_dependencies([tf.debugging.assert_equal(
                    size, sizes[0], message=f"inputs {specs[0].name} and {spec.name} must hold the same number "
                                            "of rows") for size, spec in zip(sizes[1:], specs[1:])]):
                values = [tf.identity(value) for value in values]
        floats = [value for value, spec in zip(values, specs) if spec.dtype.is_floating]
        if not floats:
            return function(*values)
        finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.math.is_finite(value), axis=list(range(1, value.shape.rank)))
                                         for value in floats]), axis=0)
        values = [tf.where(_per_row(finite, value), value, tf.zeros_like(value)) if spec.dtype.is_floating else value
                  for value, spec in zip(values, specs)]
        outputs = function(*values)
        return {key: tf.where(_per_row(finite, output), output, tf.constant(float("nan"), output.dtype))
                if output.dtype.is_floating else output for key, output in outputs.items()}

    return serve


def _per_row(mask, like):
    """[B] booleans shaped to broadcast over `like`'s rows."""
    return tf.reshape(mask, [-1] + [1] * (like.shape.rank - 1))
