"""Pictures of a trained model, as uint8 arrays for PNG files and TensorBoard.

What a VAE is judged on by eye: inputs beside their reconstructions, samples from the
prior, walks between two encoded inputs, latent traversals (one latent moved at a time, the
pictures of the disentanglement papers: Higgins et al. 2017, Chen et al. 2018) and, for 2-D
latents, the decoded latent plane and the encoded test set (Kingma & Welling 2014, Fig. 4
and 5). A conditional model is shown
at the test images' labels, and its samples as `class_samples`: one row per class, with z
shared along each column, so style stays fixed while the class changes. Each model declares
which of these it has (`model.picture_names`: a VQ-VAE its reconstructions and samples); they
are drawn through its codes (`model.codes`, `model.decode_mean`), its `sample` and, for the
latent pictures of a VAE, its prior. Every draw is stateless: the same model, images and seed
give the same pictures.

    pictures = make(model, test_images, test_labels)   # name -> uint8 [H, W, C]
    write_png("pictures/", pictures)
"""

import math
import os

import numpy as np
import tensorflow as tf

from zoo.errors import DataError

RECONSTRUCTION_COLUMNS, RECONSTRUCTION_ROW_PAIRS = 8, 4
SAMPLE_GRID = 8
INTERPOLATION_ROWS, INTERPOLATION_STEPS = 8, 10
MOMENT_DRAWS = 10000
LATENT_GRID = 15  # odd, so the prior's median z = mean sits in the middle tile
LATENT_GRID_MASS = (0.05, 0.95)  # quantiles per axis, as in Kingma & Welling's Fig. 4
TRAVERSAL_STEPS, TRAVERSAL_SPAN = 9, 2.5  # odd: the middle tile is the prior's mean; +-2.5 prior stddevs
TRAVERSAL_ROWS = 20  # at most this many latents are shown, the most informative ones
GAP, GAP_LEVEL = 2, 128  # grey lines between tiles: visible on black and on white images
MIN_TILE_SIDE = 28  # smaller images (digits' 8x8) are enlarged by pixel repetition to this
BATCH = 1000


def make(model, images, labels=None, seed=0):
    """Every picture `model` declares (`model.picture_names`), as `{name: uint8 array [H, W, C]}`.

    `images` are float32 [N, H, W, C] in [0, 1], as the model was tested on (binarized for
    Bernoulli models); the first few are reconstructed and interpolated, all of them go
    into the scatter plot and rank the latents of `latent_traversals`. Grids keep the images'
    channels (1 or 3); the scatter plot is RGB. A conditional model's reconstructions and
    interpolations need `labels` (a semi-supervised model uses its own classes without them);
    `latent_scatter` needs integer `labels` [N]. `seed` fixes the samples.
    """
    images = check_images(images, model.image_shape)
    labels = check_labels(labels, len(images))
    labels_for_codes = None if model.label_use == "none" else labels  # the images' labels in codes and decoding
    makers = {
        "reconstructions": lambda: reconstructions(model, images, labels_for_codes),
        "samples": lambda: samples(model, seed),
        "interpolations": lambda: interpolations(model, images, labels_for_codes),
        "latent_traversals": lambda: latent_traversals(model, images),
        "latent_grid": lambda: latent_grid(model),
        "latent_scatter": lambda: latent_scatter(posterior_means(model, images), labels),
        "class_samples": lambda: class_samples(model, seed),
        "sampler_samples": lambda: sampler_samples(model, seed),
    }
    needs = {"latent_scatter": labels is not None,  # what a picture cannot be drawn without
             "reconstructions": model.label_use != "condition" or labels is not None,
             "interpolations": model.label_use != "condition" or labels is not None}
    return {name: makers[name]() for name in model.picture_names if needs.get(name, True)}


def class_samples(model, seed=0, columns=SAMPLE_GRID):
    """One row per class, `columns` samples each; column j uses the same prior noise in every
    row (for p(z|y) the same standard-normal draw, moved by the class's mean and scale)."""
    rows = []
    for label in range(model.classes):
        y = np.full([columns], label, np.int64)
        prior = model.prior.given(model.condition_vector(y))
        if prior is model.prior:
            z = prior.distribution().sample(columns, seed=stateless_seed(seed))
        else:
            z = prior.sample(columns, seed=stateless_seed(seed))
        rows.append(np.asarray(model.decode(z, y).mean()))
    return grid(np.stack(rows))


def write_png(directory, pictures):
    """Write each picture to `directory/<name>.png` (folders made); returns the paths in order."""
    tf.io.gfile.makedirs(directory)
    paths = []
    for name, picture in pictures.items():
        path = os.path.join(directory, f"{name}.png")
        tf.io.write_file(path, tf.io.encode_png(picture))
        paths.append(path)
    return paths


def reconstructions(model, images, labels=None):
    """Rows of inputs, each followed by a row of their reconstructions (decoded posterior means)."""
    columns = min(RECONSTRUCTION_COLUMNS, len(images))
    pairs = min(RECONSTRUCTION_ROW_PAIRS, len(images) // columns)
    x = images[:columns * pairs]
    y = _labels_of(model, x, labels, slice(0, len(x)))
    x_mean = decoded_means(model, posterior_means(model, x, y), y)
    rows = np.stack([x, x_mean]).reshape(2, pairs, columns, *x.shape[1:]).swapaxes(0, 1)
    return grid(rows.reshape(2 * pairs, columns, *x.shape[1:]))


def samples(model, seed=0):
    """SAMPLE_GRID**2 images the model generates (`model.sample`: the decoded means of draws
    from its prior), the same ones for the same seed."""
    x = np.asarray(model.sample(SAMPLE_GRID ** 2, seed=seed))
    return grid(x.reshape(SAMPLE_GRID, SAMPLE_GRID, *x.shape[1:]))


def sampler_samples(model, seed=0, columns=SAMPLE_GRID):
    """One row per sampler the model has (`model.sampler_names`: the prior first, then each
    fitted post-hoc sampler), `columns` samples each, so the samplers are seen side by side:
    the picture of a model whose `sample` takes `sampler`."""
    return grid(np.stack([np.asarray(model.sample(columns, seed=seed, sampler=name)) for name in model.sampler_names]))


def interpolation_pairs(count):
    """(starts, ends): row i walks from image starts[i] to image ends[i] of `count` images."""
    rows = max(1, min(INTERPOLATION_ROWS, count // 2))
    starts = np.arange(rows)
    return starts, (starts + rows) % count


def interpolations(model, images, labels=None):
    """Each row decodes the straight line (linear interpolation) between two inputs' posterior
    means, in INTERPOLATION_STEPS equal steps with both endpoints included (for a conditional
    model, both encoded and decoded at the first input's label)."""
    starts, ends = interpolation_pairs(len(images))
    y = _labels_of(model, images, labels, starts)
    y = None if y is None else np.concatenate([y, y])
    z_start, z_end = np.split(posterior_means(model, images[np.concatenate([starts, ends])], y), 2)
    t = np.linspace(0.0, 1.0, INTERPOLATION_STEPS, dtype=np.float32)
    t = t.reshape(1, -1, *[1] * (z_start.ndim - 1))  # broadcast over codes of any shape
    path = (1 - t) * z_start[:, None] + t * z_end[:, None]  # exact endpoints at t = 0 and 1
    y = None if y is None else np.repeat(y[:len(starts)], INTERPOLATION_STEPS)
    x = decoded_means(model, path.reshape(-1, *z_start.shape[1:]), y)
    return grid(x.reshape(len(starts), INTERPOLATION_STEPS, *x.shape[1:]))


def _labels_of(model, images, labels, rows):
    """The labels a model with labels is shown at for `images[rows]`: the given ones, else a
    semi-supervised model's own most probable classes; None for a model without labels."""
    if labels is not None:
        return np.asarray(labels)[rows]
    if model.label_use == "semi_supervised":
        return np.asarray(model.classify(images[rows])).argmax(-1)
    return None


def latent_grid(model):
    """Decoded 2-D latents on a LATENT_GRID x LATENT_GRID grid over the prior's central mass.

    Each axis runs over the LATENT_GRID_MASS quantiles of a normal with the prior's mean and
    stddev (exactly the prior's quantiles for the standard normal prior); z[0] grows left to
    right and z[1] bottom to top, as in the `latent_scatter` plot.
    """
    mean, stddev = prior_moments(model)
    normal = tf.math.ndtri(np.linspace(*LATENT_GRID_MASS, LATENT_GRID)).numpy()
    z0, z1 = np.meshgrid(mean[0] + stddev[0] * normal, mean[1] + stddev[1] * normal[::-1])
    z = np.stack([z0, z1], axis=-1).reshape(-1, 2).astype(np.float32)
    x = decoded_means(model, z)
    return grid(x.reshape(LATENT_GRID, LATENT_GRID, *x.shape[1:]))


def latent_traversals(model, images, steps=TRAVERSAL_STEPS, span=TRAVERSAL_SPAN, rows=TRAVERSAL_ROWS):
    """One row per latent, most informative first (`latent_order`, at most `rows` rows): the
    first image's posterior mean with that latent alone moved from -`span` to +`span` prior
    standard deviations about the prior's mean in `steps` equal steps, decoded (means).

    A disentangled latent changes one factor along its row (position, size, ...); a row that
    stays the same is a latent the decoder ignores, usually one collapsed to the prior.
    """
    order = latent_order(model, images)[:rows]
    mean, stddev = prior_moments(model)
    z = np.repeat(posterior_means(model, images[:1]), len(order) * steps, axis=0)
    z = z.reshape(len(order), steps, -1)
    offsets = np.linspace(-span, span, steps, dtype=np.float32)
    for row, latent in enumerate(order):
        z[row, :, latent] = mean[latent] + offsets * stddev[latent]
    x = decoded_means(model, z.reshape(len(order) * steps, -1))
    return grid(x.reshape(len(order), steps, *x.shape[1:]))


def latent_order(model, images):
    """The latents' indices, most informative about `images` first: by decreasing mean
    KL(q(z_j|x) || p(z_j)) over them where q and p both factorize (`kl_per_variable`), else
    by decreasing variance of their posterior means (Burda et al.'s activity); ties keep
    index order."""
    kls = [model.prior.kl_per_variable(model.encode(images[i:i + BATCH])) for i in range(0, len(images), BATCH)]
    if kls[0] is not None:
        score = np.concatenate([np.asarray(kl) for kl in kls]).mean(axis=0)
    else:
        score = posterior_means(model, images).var(axis=0)
    return np.argsort(-score, kind="stable")


def prior_moments(model):
    """(mean, stddev) of each latent under the prior; the moments of MOMENT_DRAWS draws where
    TFP has no closed form (mixtures over vectors)."""
    prior = model.prior.distribution()
    try:
        return prior.mean().numpy(), prior.stddev().numpy()
    except NotImplementedError:
        draws = prior.sample(MOMENT_DRAWS, seed=stateless_seed(0)).numpy()
        return draws.mean(axis=0), draws.std(axis=0)


def latent_scatter(z, labels):
    """RGB plot of 2-D latents `z` [N, 2] coloured by integer `labels` [N], with a legend.

    One scatter call in data order, so no class is always drawn over the others. Rendered
    with matplotlib's Agg canvas directly: no pyplot, no change to the global backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    classes, index = np.unique(labels, return_inverse=True)
    colours = _class_colours(len(classes))
    figure = Figure(figsize=(6, 5), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(z[:, 0], z[:, 1], c=colours[index], s=min(16, max(2, 20000 / len(z))), alpha=0.6, linewidths=0)
    handles = [Line2D([], [], marker="o", linestyle="", color=colour, label=str(label))
               for label, colour in zip(classes, colours)]
    axes.legend(handles=handles, title="label", loc="upper left", bbox_to_anchor=(1.01, 1),
                frameon=False)
    axes.set(xlabel="z[0]", ylabel="z[1]", title=f"posterior means of {len(z)} images")
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _class_colours(count):
    """RGBA [count, 4]: tab10's distinct colours while they last, else a sampled rainbow."""
    from matplotlib import colormaps

    if count <= 10:
        return colormaps["tab10"](np.arange(count))
    return colormaps["turbo"](np.linspace(0.0, 1.0, count))


def grid(tiles):
    """One uint8 picture [H, W, C] from float tiles [rows, columns, h, w, C] in [0, 1].

    Tiles smaller than MIN_TILE_SIDE are enlarged by repeating pixels (`tile_scale`), and
    GAP grey lines frame every tile so neighbours can be told apart.
    """
    tiles = np.asarray(tiles, np.float32)
    rows, columns, height, width, channels = tiles.shape
    scale = tile_scale(height, width)
    pixels = to_uint8(tiles.repeat(scale, axis=2).repeat(scale, axis=3))
    pixels = np.pad(pixels, [(0, 0), (0, 0), (0, GAP), (0, GAP), (0, 0)], constant_values=GAP_LEVEL)
    sheet = pixels.swapaxes(1, 2).reshape(rows * pixels.shape[2], columns * pixels.shape[3], channels)
    return np.pad(sheet, [(GAP, 0), (GAP, 0), (0, 0)], constant_values=GAP_LEVEL)


def tile_scale(height, width):
    """How many times each pixel is repeated in a grid, so tiny images stay visible."""
    return max(1, math.ceil(MIN_TILE_SIDE / max(height, width)))


def to_uint8(x):
    """[0, 1] floats to 0..255; decoder means outside [0, 1] (Gaussian) are clipped."""
    return np.round(np.clip(np.nan_to_num(x), 0.0, 1.0) * 255).astype(np.uint8)


def posterior_means(model, images, labels=None):
    """The model's deterministic code of each image (`model.codes`: q(z|x)'s mean, the most
    probable one-hot values for categorical latents, a VQ-VAE's integer codes), in batches of
    BATCH; at `labels` for a model with labels."""
    if labels is None:
        return _batched(model.codes, images)
    return _batched(model.codes, images, labels)


def decoded_means(model, z, labels=None):
    """The mean image of each code (`model.decode_mean`; at `labels` for a model with labels),
    in batches of BATCH."""
    z = np.asarray(z)
    z = z if np.issubdtype(z.dtype, np.integer) else z.astype(np.float32)
    if labels is None:
        return _batched(model.decode_mean, z)
    return _batched(model.decode_mean, z, labels)


def _batched(function, *inputs):
    return np.concatenate([np.asarray(function(*(v[i:i + BATCH] for v in inputs)))
                           for i in range(0, len(inputs[0]), BATCH)])


def stateless_seed(seed):
    """A TFP stateless seed (int32 pair) holding all 64 bits of an integer seed."""
    return tf.bitcast(tf.constant(seed, tf.int64), tf.int32)


def check_images(images, image_shape=None):
    """`images` as float32 [N, H, W, C] in [0, 1] (and of `image_shape`, if given), else a
    DataError that says what is wrong."""
    try:
        images = np.asarray(images, np.float32)
    except (TypeError, ValueError) as error:
        raise DataError(f"pictures need images as a float array [N, H, W, C]: {error}") from None
    if images.ndim != 4:
        raise DataError(f"pictures need images [N, H, W, C]; got an array of shape {images.shape}")
    if len(images) == 0:
        raise DataError("pictures need at least one image; got none")
    if image_shape is not None and images.shape[1:] != tuple(image_shape):
        raise DataError(f"pictures: the images are {list(images.shape[1:])} but the model takes "
                        f"{list(image_shape)} (height, width, channels)")
    low, high = images.min(), images.max()
    if not (low >= 0 and high <= 1):
        raise DataError(f"pictures need pixels in [0, 1] as the model was tested on (e.g. "
                        f"Split.scaled()); got values from {low} to {high}")
    return images


def check_labels(labels, count):
    """`labels` as an integer array [count], or None; else a DataError."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"pictures need one integer label per image ({count}); got an array "
                        f"of shape {labels.shape} and dtype {labels.dtype}")
    return labels
