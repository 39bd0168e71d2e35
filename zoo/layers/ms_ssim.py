"""MS-SSIM as a reconstruction cost (Snell et al. 2017): p(x|z) replaced by a perceptual score.

`tf.image.ssim_multiscale` with its defaults (5 scales, an 11x11 filter) needs images of at
least 161x161 (its coarsest scale, the side halved 4 times, must hold the filter) and
refuses 28x28. Here the scales and the filter follow the image size (`MultiscaleSetting.for_size`):

    smaller side   scales   filter (sigma)   power factors
    >= 161         5        11 (1.5)         tf's (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
    64             5        3 (1.5)          the same
    28, 32         4        3 (1.5)          tf's first 4, rescaled to the same sum
    8 (digits)     2        3 (1.5)          tf's first 2, rescaled
    < 5            refused: a second scale would be smaller than the filter

The rule: tf's filter where all 5 scales hold it, else pythae's MNIST filter of 3 (sigma 1.5,
as pythae and tf) with as many scales (at most 5) as hold it. Each scale halves the image as
tf does (odd sides padded symmetrically), and the convolutions are 'VALID' as tf's, so with
the same setting the value equals `tf.image.ssim_multiscale` where its factors are positive.

tf clips each scale's contrast-structure (and the last SSIM) with relu: a pair of unlike
images then scores exactly 0, and the gradient of relu(v)^w at 0 is 0 * inf = NaN (or 0:
nothing reaches the decoder). The cost here maps each factor from [-1, 1] to [0, 1] as pythae
does ((v + 1) / 2, not the original definition; an image with itself still scores 1), so
every scale always passes a gradient.
"""

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import ConfigError
from zoo.layers.likelihoods import LIKELIHOODS
from zoo.layers.reconstruction_cost import CostImage, ReconstructionCost

serializable = keras.saving.register_keras_serializable(package="zoo")

TF_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, tf's default
K1, K2 = 0.01, 0.03
FLOOR = 1e-6  # no factor reaches 0, where v^w has an infinite slope


@dataclasses.dataclass(frozen=True)
class MultiscaleSetting:
    """The scales, filter and power factors MS-SSIM uses for one image size."""

    power_factors: tuple
    filter_size: int
    filter_sigma: float = 1.5

    @property
    def scales(self):
        return len(self.power_factors)

    @classmethod
    def for_size(cls, height, width):
        """The setting for images of `height` x `width` (the table in the module docstring)."""
        for filter_size in (11, 3):
            scales = 0
            side = min(height, width)
            while scales < len(TF_POWER_FACTORS) and side >= filter_size:
                scales, side = scales + 1, -(-side // 2)
            if scales == len(TF_POWER_FACTORS) or (filter_size == 3 and scales >= 2):
                return cls(rescaled_power_factors(scales), filter_size)
        raise ConfigError("image_shape", (height, width), "images of at least 5x5 for MS-SSIM (two scales of a 3x3 filter)")


def rescaled_power_factors(scales):
    """tf's first `scales` power factors, rescaled to the sum of all five (all five: tf's own)."""
    first = TF_POWER_FACTORS[:scales]
    return tuple(w * sum(TF_POWER_FACTORS) / sum(first) for w in first)


def gaussian_rows(side, size, sigma):
    """[side - size + 1, side]: row i holds the normalized 1-D Gaussian of tf's SSIM (MATLAB's
    fspecial) over positions i .. i + size - 1, so A x B^T is x filtered by the separable 2-D
    Gaussian over 'VALID' windows. Matrix products compile well in XLA: as depthwise
    convolutions the cost's forward and backward pass over 100 MNIST images took 40x longer."""
    g = np.exp(-np.square(np.arange(size) - (size - 1) / 2) / (2 * sigma ** 2))
    rows = np.zeros((side - size + 1, side), np.float32)
    for i in range(len(rows)):
        rows[i, i:i + size] = g / g.sum()
    return tf.constant(rows)


def luminance_and_contrast(x, y, setting):
    """The mean over each image [B, H, W, C] of SSIM's luminance x contrast-structure, and of
    its contrast-structure alone, per channel: [B, C] each ('VALID' windows, as tf's)."""
    down = gaussian_rows(x.shape[1], setting.filter_size, setting.filter_sigma)
    across = gaussian_rows(x.shape[2], setting.filter_size, setting.filter_sigma)

    def local_mean(images):
        return tf.einsum("ih,bhwc,jw->bijc", down, images, across)

    c1, c2 = K1 ** 2, K2 ** 2
    mean_x, mean_y = local_mean(x), local_mean(y)
    mean_product = mean_x * mean_y * 2.0
    mean_squares = tf.square(mean_x) + tf.square(mean_y)
    luminance = (mean_product + c1) / (mean_squares + c1)
    contrast = (local_mean(x * y) * 2.0 - mean_product + c2) / (local_mean(tf.square(x) + tf.square(y)) - mean_squares + c2)
    return tf.reduce_mean(luminance * contrast, [1, 2]), tf.reduce_mean(contrast, [1, 2])


def halved(images):
    """Each image at half size by 2x2 averages, odd sides padded symmetrically first (tf's way)."""
    height, width = images.shape[1], images.shape[2]
    images = tf.pad(images, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]], mode="SYMMETRIC")
    return tf.nn.avg_pool2d(images, 2, 2, "VALID")


def scale_factors(x, y, setting):
    """[B, C, scales]: the contrast-structure at every scale but the last, then the last
    scale's SSIM, for images [B, H, W, C] in [0, 1]."""
    factors = []
    for scale in range(setting.scales):
        if scale:
            x, y = halved(x), halved(y)
        ssim, contrast = luminance_and_contrast(x, y, setting)
        factors.append(contrast if scale < setting.scales - 1 else ssim)
    return tf.stack(factors, axis=-1)


def ms_ssim(x, y, setting=None, shifted=True):
    """MS-SSIM of image batches x, y [..., H, W, C] in [0, 1] (broadcast), one value per image:
    the product over scales of each factor to its power, averaged over channels as tf's.

    shifted: map each factor from [-1, 1] to [0, 1] first (pythae's; always a gradient).
    False: the original definition, each factor floored just above 0 (tf clips at 0), which
    equals `tf.image.ssim_multiscale` with the same setting when no factor is below the floor.
    """
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)
    image_shape = tf.broadcast_static_shape(x.shape, y.shape)[-3:]
    setting = setting or MultiscaleSetting.for_size(image_shape[0], image_shape[1])
    shape = tf.broadcast_dynamic_shape(tf.shape(x), tf.shape(y))
    x, y = (tf.reshape(tf.broadcast_to(v, shape), [-1, *image_shape]) for v in (x, y))
    factors = scale_factors(x, y, setting)
    if shifted:
        factors = (factors + 1.0) / 2.0
    factors = tf.maximum(factors, FLOOR)
    per_channel = tf.reduce_prod(tf.pow(factors, tf.constant(setting.power_factors, tf.float32)), axis=-1)
    return tf.reshape(tf.reduce_mean(per_channel, axis=-1), shape[:-3])


class MultiscaleSSIMImage(CostImage):
    """Not a density: the decoded image sigmoid(logits), whose `log_prob(x)` is minus the cost
    1 - MS-SSIM(x, mean) (shifted, per image: see `ms_ssim`)."""

    def __init__(self, logits, validate_args=False, allow_nan_stats=True, name="MultiscaleSSIMImage"):
        super().__init__(logits, dict(locals()), validate_args, allow_nan_stats, name)
        self._setting = MultiscaleSetting.for_size(*self._logits.shape[-3:-1])

    def cost(self, x, mean):
        return 1.0 - ms_ssim(x, mean, self._setting)


@serializable
@LIKELIHOODS.register("ms_ssim")
class MultiscaleSSIM(ReconstructionCost):
    """The decoded image sigmoid(logits) scored by MS-SSIM against x (Snell et al. 2017): a
    reconstruction cost, not a density (`is_density = False`), so the model has no likelihood.

    `log_prob(x)` is -(1 - MS-SSIM(x, mean)) per image: scale 1, as pythae's MSSSIM_VAE, so the
    cost lies in [0, 1] and the objective's beta sets its balance with the KL (pythae's MNIST
    config: beta = 0.01). The scales and filter follow the image size (module docstring).

    Example:
        MultiscaleSSIM()(logits).log_prob(x)  # MS-SSIM(x, sigmoid(logits)) - 1, one per image
    """

    cost_is = "1 - MS-SSIM(x, sigmoid(logits)) per image"

    def params_shape(self, image_shape):
        MultiscaleSetting.for_size(*image_shape[:2])  # refuses images too small, when the model is built
        return super().params_shape(image_shape)

    def distribution(self, params):
        return MultiscaleSSIMImage(logits=params)
