"""Vector quantizers (van den Oord et al. 2017, "Neural Discrete Representation Learning"):
each encoder output vector is replaced by the nearest of K codebook vectors.

The quantized vector is passed on with the straight-through gradient, z_e + sg(z_q - z_e):
its value is the codebook vector, its gradient reaches the encoder as if the encoder's output
had gone straight to the decoder. Two losses make up for the gradient that nearest-neighbour
assignment does not have: the codebook loss ||sg(z_e) - z_q||^2 moves the chosen codebook
vectors towards the encoder outputs, the commitment loss beta ||z_e - sg(z_q)||^2 keeps the
encoder near its codes. `VectorQuantizerEMA` replaces the codebook loss by exponential moving
averages of the assigned outputs (the paper's appendix; Sonnet's `VectorQuantizerEMA`), which
do not depend on the optimizer.

Both losses are summed over the grid positions of an example (each position's squared
distance summed over its `code_dim` values), as the log-likelihood is summed over pixels.
"""

import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError, ZooError
from zoo.registry import Registry

QUANTIZERS = Registry("quantizer")
RESTART_STREAM = 1013  # the stateless-seed stream of the codebook restarts
serializable = keras.saving.register_keras_serializable(package="zoo")


@serializable
@QUANTIZERS.register("vector_quantizer")
class VectorQuantizer(keras.layers.Layer):
    """A codebook of `codebook_size` vectors of `code_dim` values, learned by its own loss.

    Called on encoder outputs z_e [B, ..., code_dim] it returns the straight-through quantized
    tensor of the same shape; `quantize` also gives the code indices, both losses per example
    and how often each code was chosen. Weights stay float32 under mixed precision.

    Args:
        codebook_size: K, the number of codebook vectors (codes 0..K-1).
        code_dim: D, the size of each codebook vector (the encoder's last axis).
        beta: weight of the commitment loss (0.25 in the paper).

    Example:
        quantizer = VectorQuantizer(codebook_size=64, code_dim=16)
        out = quantizer.quantize(z_e, training=True)   # z_e: [B, 7, 7, 16]
        out["codes"]            # int64 [B, 7, 7]
        out["quantized"]        # [B, 7, 7, 16]: the codebook vectors, straight-through gradient
        quantizer.loss(out)     # codebook + beta * commitment, per example [B]
    """

    ema = False

    def __init__(self, codebook_size=512, code_dim=64, beta=0.25, **kwargs):
        kwargs.setdefault("dtype", "float32")  # distances and the EMA statistics need float32
        super().__init__(**kwargs)
        check_count("codebook_size", codebook_size, minimum=2)
        check_count("code_dim", code_dim)
        check_number("beta", beta)
        self.codebook_size, self.code_dim, self.beta = codebook_size, code_dim, float(beta)
        self.codebook = self.add_weight(name="codebook", shape=self.codebook_shape, trainable=not self.ema,
                                        initializer=self.codebook_initializer(),
                                        aggregation=tf.VariableAggregation.MEAN)

    @property
    def codebook_shape(self):
        return (self.codebook_size, self.code_dim)

    def codebook_initializer(self):
        """Sonnet's initialization: uniform with the variance 1 / code_dim of a fan-in scaling."""
        limit = math.sqrt(3.0 / self.code_dim)
        return keras.initializers.RandomUniform(-limit, limit)

    # What a position's code is, for the prior over code grids and for export: here one index
    # in 0..K-1; a hierarchical quantizer's is a path of indices (`HierarchicalResidualQuantizer`).

    path_shape = ()  # the shape of one position's code

    @property
    def paths(self):
        """How many different codes one position can take: the categories of the prior."""
        return self.codebook_size

    def path_index(self, codes):
        """Codes [..., *path_shape] -> one integer in 0..paths-1 per position, as the prior models it."""
        return tf.cast(codes, tf.int64)

    def path_codes(self, index):
        """The inverse of `path_index`."""
        return tf.cast(index, tf.int64)

    def usage_of(self, codes):
        """How the codebook is used by codes (numpy, int): see `usage`."""
        return usage(np.bincount(np.asarray(codes).ravel(), minlength=self.codebook_size))

    def usage_figures(self, codes_usage):
        """Figures beyond perplexity and dead codes that `usage_of` measured, for metrics.json."""
        return {}

    def build(self, input_shape):
        if input_shape[-1] != self.code_dim:
            raise ZooError(f"the quantizer takes vectors of code_dim={self.code_dim} values; the encoder gives "
                           f"{input_shape[-1]} (end the encoder with keras.layers.Conv2D({self.code_dim}, 1))")
        super().build(input_shape)

    def call(self, z_e, training=None):
        return self.quantize(z_e, training)["quantized"]

    def distances(self, z_e):
        """Squared Euclidean distances [..., K] from each vector of z_e to each codebook vector."""
        flat = tf.reshape(z_e, [-1, self.code_dim])
        codebook = tf.convert_to_tensor(self.codebook)
        squared = (tf.reduce_sum(flat ** 2, 1, keepdims=True) - 2 * tf.matmul(flat, codebook, transpose_b=True)
                   + tf.reduce_sum(codebook ** 2, 1)[None])
        return tf.reshape(squared, tf.concat([tf.shape(z_e)[:-1], [self.codebook_size]], 0))

    def nearest(self, z_e):
        """The index of the nearest codebook vector to each vector of z_e: int64 [...]."""
        return tf.argmin(self.distances(tf.cast(z_e, tf.float32)), axis=-1)

    def lookup(self, codes):
        """The codebook vectors of code indices [...] -> [..., code_dim]; an index outside
        0..K-1 fails with the range (a gather would fail unclearly on CPU and give zeros on GPU)."""
        codes = tf.cast(codes, tf.int64)
        checks = [tf.debugging.assert_non_negative(codes, message=f"codes must lie in 0..{self.codebook_size - 1}"),
                  tf.debugging.assert_less(codes, tf.constant(self.codebook_size, tf.int64),
                                           message=f"codes must lie in 0..{self.codebook_size - 1} "
                                                   f"(the codebook has {self.codebook_size} vectors)")]
        with tf.control_dependencies(checks):
            return tf.gather(self.codebook, codes)

    def quantize(self, z_e, training=False):
        """Quantize encoder outputs z_e [B, ..., D]: a dict of
        - "quantized": z_e + sg(z_q - z_e), the codebook vectors with the straight-through gradient;
        - "codes": int64 [B, ...], the nearest codebook vector's index;
        - "codebook_loss", "commitment_loss": [B], ||sg(z_e) - z_q||^2 and ||z_e - sg(z_q)||^2,
          each summed over the example's positions and values;
        - "counts": [K], how many vectors of the batch chose each code.
        With `training`, `VectorQuantizerEMA` also moves its codebook (after this lookup)."""
        z_e = tf.cast(z_e, tf.float32)
        codes = self.nearest(z_e)
        z_q = self.lookup(codes)
        axes = list(range(1, z_e.shape.rank))
        one_hot = tf.one_hot(codes, self.codebook_size, dtype=tf.float32)
        result = {
            "quantized": z_e + tf.stop_gradient(z_q - z_e),
            "codes": codes,
            "codebook_loss": tf.reduce_sum(tf.square(z_q - tf.stop_gradient(z_e)), axes),
            "commitment_loss": tf.reduce_sum(tf.square(tf.stop_gradient(z_q) - z_e), axes),
            "counts": tf.reduce_sum(tf.reshape(one_hot, [-1, self.codebook_size]), 0),
        }
        if training:
            self.update_codebook(z_e, one_hot)
        return result

    def update_codebook(self, z_e, one_hot):
        """Move the codebook outside the optimizer (only `VectorQuantizerEMA` does)."""

    def loss(self, quantized):
        """What the quantizer adds to the loss per example [B]: codebook + beta * commitment."""
        return quantized["codebook_loss"] + self.beta * quantized["commitment_loss"]

    def get_config(self):
        return {**super().get_config(), "codebook_size": self.codebook_size, "code_dim": self.code_dim,
                "beta": self.beta}


@serializable
@QUANTIZERS.register("vector_quantizer_ema")
class VectorQuantizerEMA(VectorQuantizer):
    """A vector quantizer whose codebook follows moving averages of the outputs assigned to it.

    At each training step, with n_k the number of vectors assigned to code k and s_k their sum,
    N_k <- decay N_k + (1 - decay) n_k and m_k <- decay m_k + (1 - decay) s_k, both started at
    zero and divided by 1 - decay^t (debiased, as Sonnet's moving averages are); then with
    n = sum_k N_k the counts are Laplace-smoothed, N_k <- (N_k + epsilon) / (n + K epsilon) n,
    so a code nobody chose divides by a small number rather than zero, and e_k = m_k / N_k.
    The codebook is then not trained by the optimizer and the loss is beta * commitment only.

    A code nobody chose in the first step is set to zero (its sums are zero), and the codes
    that collapse there tie: on MNIST, whose background gives one encoder vector at most
    positions, one epoch with 512 codes left 484 of them unused. `restart_threshold` > 0
    restarts every code whose average N_k (assignments per step) falls below it at a random
    encoder output of the batch, its averages set to that vector seen `restart_threshold`
    times (Dhariwal et al. 2020, Jukebox's random restarts); the draw is seeded by the step.

    Args:
        codebook_size, code_dim, beta: as for `VectorQuantizer`.
        decay: of the moving averages (0.99 in the paper).
        epsilon: the Laplace smoothing of the counts.
        restart_threshold: restart codes used fewer times per step on average; 0: never.

    Example:
        VectorQuantizerEMA(codebook_size=64, code_dim=16, decay=0.99, restart_threshold=1.0)
    """

    ema = True

    def __init__(self, codebook_size=512, code_dim=64, beta=0.25, decay=0.99, epsilon=1e-5, restart_threshold=0.0,
                 **kwargs):
        super().__init__(codebook_size, code_dim, beta, **kwargs)
        check_number("decay", decay)
        if not decay < 1:
            raise ConfigError("decay", decay, "a number in [0, 1)")
        check_number("epsilon", epsilon, positive=True)
        check_number("restart_threshold", restart_threshold)
        self.decay, self.epsilon, self.restart_threshold = float(decay), float(epsilon), float(restart_threshold)
        mean = tf.VariableAggregation.MEAN  # under a strategy: the replicas' statistics averaged
        self.count_average = self.add_weight(name="ema_count", shape=(codebook_size,), trainable=False,
                                             initializer="zeros", aggregation=mean)
        self.sum_average = self.add_weight(name="ema_sum", shape=(codebook_size, code_dim), trainable=False,
                                           initializer="zeros", aggregation=mean)
        self.ema_updates = self.add_weight(name="ema_updates", shape=(), trainable=False, initializer="zeros",
                                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def update_codebook(self, z_e, one_hot):
        flat = tf.reshape(z_e, [-1, self.code_dim])
        assigned = tf.reshape(one_hot, [-1, self.codebook_size])
        self.ema_updates.assign_add(1.0)
        debias = 1.0 - tf.pow(self.decay, self.ema_updates)
        count = self.count_average.assign_sub((self.count_average - tf.reduce_sum(assigned, 0)) * (1 - self.decay))
        total = self.sum_average.assign_sub(
            (self.sum_average - tf.matmul(assigned, flat, transpose_a=True)) * (1 - self.decay))
        count, total = count / debias, total / debias
        n = tf.reduce_sum(count)
        smoothed = (count + self.epsilon) / (n + self.codebook_size * self.epsilon) * n
        codebook = total / smoothed[:, None]
        if self.restart_threshold:
            codebook = self._restarted(codebook, count, flat, debias)
        self.codebook.assign(codebook)

    def _restarted(self, codebook, count, flat, debias):
        """`codebook` with the codes whose count is below the threshold moved to random rows
        of `flat`, and their averages set to match."""
        dead = count < self.restart_threshold
        seed = tf.stack([tf.cast(self.ema_updates, tf.int32), tf.constant(RESTART_STREAM)])
        picks = tf.random.stateless_uniform([self.codebook_size], seed, minval=0, maxval=tf.shape(flat)[0],
                                            dtype=tf.int32)
        fresh = tf.gather(flat, picks)
        seen = self.restart_threshold * debias  # the hidden (not yet debiased) count of a restarted code
        self.count_average.assign(tf.where(dead, seen, self.count_average))
        self.sum_average.assign(tf.where(dead[:, None], fresh * seen, self.sum_average))
        return tf.where(dead[:, None], fresh, codebook)

    def loss(self, quantized):
        return self.beta * quantized["commitment_loss"]

    def get_config(self):
        return {**super().get_config(), "decay": self.decay, "epsilon": self.epsilon,
                "restart_threshold": self.restart_threshold}


def perplexity(counts):
    """exp(entropy) of the code frequencies counts / sum(counts), a tensor: K when every code
    is chosen equally often, 1 when one code takes everything (0 log 0 counts as 0)."""
    counts = tf.cast(counts, tf.float32)
    p = counts / tf.maximum(tf.reduce_sum(counts), 1.0)
    return tf.exp(-tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(p), p)))


def usage(counts):
    """How a codebook is used, from how often each code was chosen (numpy [K]):
    {"perplexity": exp(entropy of the frequencies), "dead_codes": codes never chosen,
    "codes_used": the others}."""
    counts = np.asarray(counts, np.float64)
    p = counts / max(counts.sum(), 1.0)
    used = p > 0
    dead = int((~used).sum())
    return {"perplexity": float(np.exp(-np.sum(p[used] * np.log(p[used])))), "dead_codes": dead,
            "codes_used": len(counts) - dead}


@serializable
class DecayingNorms(keras.initializers.Initializer):
    """Codebooks [D, K, code_dim] of random directions, level d's vectors of norm
    scale * decay^(d-1): deeper levels start as refinements of the ones above."""

    def __init__(self, scale=1.0, decay=0.5):
        self.scale, self.decay = float(scale), float(decay)

    def __call__(self, shape, dtype=None, **kwargs):
        norms = self.scale * self.decay ** np.arange(shape[0], dtype=np.float32)
        return tf.math.l2_normalize(tf.random.normal(shape), axis=-1) * norms[:, None, None]

    def get_config(self):
        return {"scale": self.scale, "decay": self.decay}


GUMBEL_STREAM = 1019  # the stateless-seed streams of the hierarchical quantizer's draws in training
DEPTH_DROPOUT_STREAM = 1021


@serializable
@QUANTIZERS.register("hierarchical_residual_quantizer")
class HierarchicalResidualQuantizer(VectorQuantizer):
    """HRQ (Hosking et al. 2022, "Hierarchical Sketch Induction for Paraphrase Generation"): D
    codebooks of K vectors, each quantizing what the levels above left over; a code is a path
    (k_1, ..., k_D) and z_q = C_1[k_1] + ... + C_D[k_D].

    Scoring and encoding are greedy: r_0 = z_e, k_d = argmin_k ||r_{d-1} - C_d[k]||^2,
    r_d = r_{d-1} - C_d[k_d]. Training follows the authors' code (torchseq's
    `HierarchicalRefinementQuantizer`) and pythae's `HRQVAE`:
    - each level's choice is a hard Gumbel-softmax draw (straight-through) from the logits
      -||r_{d-1} - C_d[k]||^2 at temperature tau = max(temperature (2 - 2 / (1 + exp(-t /
      temperature_steps))), min_temperature) after t training steps, so the reconstruction's
      gradient reaches the encoder and every codebook through the choices: no commitment or
      codebook loss is needed (`beta` adds the commitment loss, 0 in the authors' code);
    - depth dropout: each level of each position is kept with probability 1 - depth_dropout and
      a path is cut after its first dropped level, so the decoder learns coarse-to-fine codes;
    - level d's codebook starts at random directions of norm init_scale * init_decay^(d-1), so
      the deeper levels start as refinements (pythae's initialization);
    - `kl_weight` adds KL(uniform || softmax(logits / tau)) summed over levels and positions.
    Draws are seeded by the step count, so runs repeat.

    Args:
        codebook_size: K, the codes of each level. depth: D, the levels.
        code_dim, beta: as for `VectorQuantizer` (beta weighs the commitment loss).
        kl_weight, depth_dropout, init_scale, init_decay: see above.
        temperature, min_temperature, temperature_steps: the Gumbel-softmax temperature schedule.

    Example:
        HierarchicalResidualQuantizer(codebook_size=4, code_dim=16, depth=3)   # 64 paths per position
        quantizer.nearest(z_e)      # int64 [B, 7, 7, 3]: a path per position
        quantizer.lookup(codes, depth=1)   # the coarse code: only the first level's vectors
    """

    def __init__(self, codebook_size=16, code_dim=64, depth=3, beta=0.0, kl_weight=0.0, depth_dropout=0.3,
                 init_scale=1.0, init_decay=0.5, temperature=2.0, min_temperature=0.5, temperature_steps=10000,
                 **kwargs):
        check_count("depth", depth)
        check_number("init_scale", init_scale, positive=True)
        check_number("init_decay", init_decay, positive=True)
        self.depth, self.init_scale, self.init_decay = depth, float(init_scale), float(init_decay)
        super().__init__(codebook_size, code_dim, beta, **kwargs)
        for name, value in (("kl_weight", kl_weight), ("depth_dropout", depth_dropout)):
            check_number(name, value)
        if not depth_dropout < 1:
            raise ConfigError("depth_dropout", depth_dropout, "a probability in [0, 1)")
        check_number("temperature", temperature, positive=True)
        check_number("min_temperature", min_temperature, positive=True)
        check_number("temperature_steps", temperature_steps, positive=True)
        self.kl_weight, self.depth_dropout = float(kl_weight), float(depth_dropout)
        self.temperature, self.min_temperature = float(temperature), float(min_temperature)
        self.temperature_steps = float(temperature_steps)
        self.steps = self.add_weight(name="steps", shape=(), trainable=False, initializer="zeros",
                                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    @property
    def codebook_shape(self):
        return (self.depth, self.codebook_size, self.code_dim)

    def codebook_initializer(self):
        return DecayingNorms(self.init_scale, self.init_decay)

    @property
    def path_shape(self):
        return (self.depth,)

    @property
    def paths(self):
        return self.codebook_size ** self.depth

    def path_index(self, codes):
        """(k_1, ..., k_D) -> k_1 K^(D-1) + ... + k_D: the prior models the K^D paths jointly."""
        weights = tf.constant([self.codebook_size ** (self.depth - 1 - d) for d in range(self.depth)], tf.int64)
        return tf.reduce_sum(tf.cast(codes, tf.int64) * weights, -1)

    def path_codes(self, index):
        index = tf.cast(index, tf.int64)
        return tf.stack([(index // self.codebook_size ** (self.depth - 1 - d)) % self.codebook_size
                         for d in range(self.depth)], -1)

    def level_distances(self, residual, level):
        """Squared distances [..., K] from each vector of `residual` to level `level`'s codebook."""
        flat = tf.reshape(residual, [-1, self.code_dim])
        codebook = tf.convert_to_tensor(self.codebook)[level]
        squared = (tf.reduce_sum(flat ** 2, 1, keepdims=True) - 2 * tf.matmul(flat, codebook, transpose_b=True)
                   + tf.reduce_sum(codebook ** 2, 1)[None])
        return tf.reshape(squared, tf.concat([tf.shape(residual)[:-1], [self.codebook_size]], 0))

    def distances(self, z_e):
        """The first level's squared distances [..., K]."""
        return self.level_distances(z_e, 0)

    def nearest(self, z_e):
        """The greedy path of each vector of z_e: int64 [..., D]."""
        residual, codes = tf.convert_to_tensor(tf.cast(z_e, tf.float32)), []
        for level in range(self.depth):
            code = tf.argmin(self.level_distances(residual, level), axis=-1)
            residual -= tf.gather(self.codebook[level], code)
            codes.append(code)
        return tf.stack(codes, -1)

    def lookup(self, codes, depth=None):
        """The sum of the paths' codebook vectors [..., D] -> [..., code_dim]; `depth`: only the
        first `depth` levels (the coarser code). A path of the wrong length or an index outside
        0..K-1 fails with what it needs."""
        codes = tf.cast(codes, tf.int64)
        last = self.codebook_size - 1
        checks = [tf.debugging.assert_equal(tf.shape(codes)[-1], self.depth,
                                            message=f"codes must be paths of {self.depth} levels (last axis)"),
                  tf.debugging.assert_non_negative(codes, message=f"codes must lie in 0..{last}"),
                  tf.debugging.assert_less(codes, tf.constant(self.codebook_size, tf.int64),
                                           message=f"codes must lie in 0..{last} (each level has "
                                                   f"{self.codebook_size} vectors)")]
        with tf.control_dependencies(checks):
            return tf.add_n([tf.gather(self.codebook[level], codes[..., level])
                             for level in range(self.depth if depth is None else depth)])

    def temperature_now(self):
        """The Gumbel-softmax temperature after `steps` training steps (the authors' schedule)."""
        decay = 2.0 - 2.0 / (1.0 + tf.exp(-self.steps / self.temperature_steps))
        return tf.maximum(self.temperature * decay, self.min_temperature)

    def quantize(self, z_e, training=False):
        """As `VectorQuantizer.quantize`, with "codes" int64 [B, ..., D] (paths), "kl_loss" [B]
        and "counts" [K^D] (how often each path was chosen). With `training`, the choices are
        Gumbel-softmax draws, depth dropout cuts paths, and the step count moves on."""
        z_e = tf.convert_to_tensor(tf.cast(z_e, tf.float32))
        temperature = self.temperature_now()
        seed = tf.cast(self.steps, tf.int32)
        residual, parts, codes, kl = z_e, [], [], 0.0
        for level in range(self.depth):
            logits = -self.level_distances(residual, level)
            if training:
                uniform = tf.random.stateless_uniform(tf.shape(logits), tf.stack([seed, GUMBEL_STREAM + level]),
                                                      minval=1e-20, maxval=1.0)
                soft = tf.nn.softmax((logits - tf.math.log(-tf.math.log(uniform))) / temperature)
                hard = tf.one_hot(tf.argmax(soft, -1), self.codebook_size)
                choice = hard + soft - tf.stop_gradient(soft)  # straight through: hard value, soft gradient
            else:
                choice = tf.one_hot(tf.argmax(logits, -1), self.codebook_size)
            part = tf.tensordot(choice, tf.convert_to_tensor(self.codebook)[level], 1)
            codes.append(tf.argmax(choice, -1))
            # KL(uniform || q) = sum_k (1/K) (log(1/K) - log q_k), q = softmax(logits / tau)
            log_q = tf.nn.log_softmax(logits / temperature)
            kl += -math.log(self.codebook_size) - tf.reduce_mean(log_q, -1)
            residual -= part
            parts.append(part)
        parts = tf.stack(parts, -2)  # [B, ..., D, code_dim]
        z_q = tf.reduce_sum(parts, -2)
        quantized = z_q
        if training and self.depth_dropout:
            keep = tf.random.stateless_uniform(tf.shape(parts)[:-1], tf.stack([seed, DEPTH_DROPOUT_STREAM]))
            mask = tf.math.cumprod(tf.cast(keep >= self.depth_dropout, tf.float32), axis=-1)
            quantized = tf.reduce_sum(parts * mask[..., None], -2)
        codes = tf.stack(codes, -1)
        axes = list(range(1, z_e.shape.rank))
        result = {
            "quantized": quantized,
            "codes": codes,
            "codebook_loss": tf.reduce_sum(tf.square(z_q - tf.stop_gradient(z_e)), axes),
            "commitment_loss": tf.reduce_sum(tf.square(tf.stop_gradient(z_q) - z_e), axes),
            "kl_loss": tf.reduce_sum(kl, list(range(1, kl.shape.rank))),
            "counts": tf.math.unsorted_segment_sum(tf.ones_like(tf.reshape(codes[..., 0], [-1]), tf.float32),
                                                   tf.reshape(self.path_index(codes), [-1]), self.paths),
        }
        if training:
            self.steps.assign_add(1.0)
        return result

    def loss(self, quantized):
        """kl_weight * KL(uniform || q) + beta * commitment, per example [B]; the reconstruction
        trains the codebooks through the Gumbel-softmax choices."""
        return self.kl_weight * quantized["kl_loss"] + self.beta * quantized["commitment_loss"]

    def usage_of(self, codes):
        """The usage of the paths (perplexity of at most K^D, dead paths), and "levels": each
        level's own usage of its K codes."""
        codes = np.asarray(codes)
        paths = self.path_index(codes).numpy()
        levels = [usage(np.bincount(codes[..., level].ravel(), minlength=self.codebook_size))
                  for level in range(self.depth)]
        return {**usage(np.bincount(paths.ravel(), minlength=self.paths)), "levels": levels}

    def usage_figures(self, codes_usage):
        return {"test_level_perplexity": [level["perplexity"] for level in codes_usage["levels"]],
                "test_level_dead_codes": [level["dead_codes"] for level in codes_usage["levels"]]}

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "kl_weight": self.kl_weight,
                "depth_dropout": self.depth_dropout, "init_scale": self.init_scale, "init_decay": self.init_decay,
                "temperature": self.temperature, "min_temperature": self.min_temperature,
                "temperature_steps": self.temperature_steps}
