"""The one conversion every user-data source applies, so a folder, an .npz file and TFDS
images come out alike: alpha dropped, grey <-> colour converted, resized down, uint8.

Conversions (the `channels` a user asks for):
- grey -> colour repeats the grey value in R, G and B;
- colour -> grey is `tf.image.rgb_to_grayscale` (0.2989 R + 0.5870 G + 0.1140 B, rounded);
- an alpha channel is dropped (the colour values are kept as stored, not composited).
Resizing is `tf.image.resize` (bilinear, antialiased) to (height, width), rounded back to
uint8; the aspect ratio is not kept and nothing is cropped.
"""

import re

import tensorflow as tf

from zoo.errors import ConfigError

CHANNELS = (1, 3)
def check_channels(channels):
    if channels is not None and channels not in CHANNELS:
        raise ConfigError("channels", channels, "1 (grey) or 3 (colour)")
    return channels


def colour_channels(stored):
    """The channels an image with `stored` channels has once its alpha is dropped."""
    return 1 if stored <= 2 else 3


def to_pixels(images, channels, image_size=None):
    """uint8 images [..., h, w, c] (c = 1 to 4) -> uint8 [..., H, W, channels].

    `channels` is 1 or 3; `image_size` (height, width), or None to keep the size.
    """
    images = tf.convert_to_tensor(images, tf.uint8)
    colour = tf.where(tf.shape(images)[-1] >= 3, 3, 1)
    images = images[..., :colour]  # drops alpha: grey+alpha -> grey, RGBA -> RGB
    if channels == 3:
        images = tf.cond(colour == 1, lambda: tf.concat([images] * 3, axis=-1), lambda: images)
    else:
        images = tf.cond(colour == 3, lambda: tf.image.rgb_to_grayscale(images), lambda: images)
    images = tf.ensure_shape(images, [None] * (images.shape.rank - 1) + [channels])
    if image_size is not None:
        resized = tf.image.resize(images, image_size, method="bilinear", antialias=True)
        images = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    return images


def tf_reason(error):
    """The first line of a TensorFlow error, without its op and device decorations."""
    message = getattr(error, "message", None) or str(error)
    line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)
    return re.sub(r"\s*\[Op:\w+\]|\s*name:\s*$", "", line).strip()
