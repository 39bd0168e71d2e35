"""The fixed stateless seeds of scoring and serving: the same request always gets the same
answer, in Python, in `evaluate` and in an export."""

import tensorflow as tf

ENCODE_SEED = (1, 0)
ELBO_SEED = (2, 0)
LOG_LIKELIHOOD_SEED = (3, 0)
PRIOR_STREAM, LIKELIHOOD_STREAM = 0, 1
PRIOR_DRAWS_STREAM = 7  # folded into a batch's [2] seed for the p(z) draws an MMD objective compares with
OBJECTIVE_DRAWS_STREAM = 8  # and for an objective's own draws (SWAE's directions)


def stream(seed, stream_id):
    """A TFP stateless seed (int32 pair) from one int64 seed: all 64 bits kept, then a stream."""
    return tf.random.experimental.stateless_fold_in(tf.bitcast(tf.cast(seed, tf.int64), tf.int32), stream_id)
