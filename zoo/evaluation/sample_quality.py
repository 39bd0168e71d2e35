"""How good are a model's samples: FID, KID and precision/recall against real images.

All three compare features of real and generated images in a named feature space
(`zoo.evaluation.features`: "domain" or "inception"), and every result names its space:

- FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted to the two sets of
  features, ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)), computed as pytorch-fid's
  `calculate_frechet_distance` (scipy's sqrtm, an eps ridge if it fails, real part).
- KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic kernel (x.y/d + 1)^3,
  averaged over random subsets of 1,000 of each set, as torch-fidelity and the authors' code
  do; `kid_std` is the spread over subsets they report, `kid_stderr` that over sqrt(subsets).
- Precision and recall (Kynkaenniemi et al. 2019, k = 3): the share of generated images
  inside the real manifold (the union of balls around each real feature reaching its 3rd
  nearest real neighbour), and the share of real images inside the generated manifold.

`measure(real, fake, space)` from Python; `of_model(model, ...)` draws from a model and is
what `zoo evaluate --sample-quality` runs (`SampleQuality`). The real set's features are
cached per feature network, dataset, split, count and images (`cache_dir()`): Inception
features take minutes per thousand images on a CPU (3.7 images/s measured on 2 busy cores).
"""

import functools
import hashlib
import json
import os
import tempfile
import time

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits  # scikit-learn's dependency

from zoo import data as zoo_data
from zoo.errors import ZooError
from zoo.evaluation import features as feature_spaces

NEIGHBOURS = 3
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
DISTANCE_BATCH = 1000
SAMPLE_BATCH = 1000


def one_blas_thread(function):
    """Run `function` with numpy's BLAS on one thread: KID's 300 products of 1,000-row blocks
    ran 10 times slower on two threads of 2 cores shared with other work (8.1 s against
    0.7 s for 300 x 300 features), and no figure here is one large product."""
    @functools.wraps(function)
    def limited(*args, **kwargs):
        with threadpool_limits(1):
            return function(*args, **kwargs)
    return limited


def statistics(features):
    """(mean, covariance) of features [N, d], the covariance as numpy's (N - 1 divisor)."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


@one_blas_thread
def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """The Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), as pytorch-fid."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():  # singular product: a small ridge on both
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ZooError(f"FID: the covariance product has an imaginary component "
                           f"{np.max(np.abs(covmean.imag)):.3g}; use more images")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def polynomial_kernel(x, y):
    """k(x, y) = (x.y / d + 1)^3 for rows of x [n, d] and y [m, d]."""
    k = x @ y.T
    k *= 1.0 / x.shape[1]
    k += 1.0
    cube = k * k
    cube *= k  # in place, and not ** 3 (numpy's pow is several times slower): KID makes 300 of these
    return cube


def mmd2_unbiased(x, y):
    """The unbiased MMD^2 of equal-sized samples x and y [m, d] with the cubic kernel: the
    within-set sums leave the diagonal out; the cross term averages all m^2 pairs (the two
    sets are independent), as the KID reference code does."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


@one_blas_thread
def kernel_inception_distance(real, fake, subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=0):
    """(mean, std, subsets) of the unbiased MMD^2 over `subsets` random subsets of
    min(subset_size, n) rows of each set, drawn without replacement; one "subset" when that
    is both sets whole (every draw would give the same value)."""
    size = min(subset_size, len(real), len(fake))
    subsets = 1 if size == len(real) == len(fake) else subsets
    rng = np.random.default_rng(seed)
    values = np.array([mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                                     fake[rng.choice(len(fake), size, replace=False)]) for _ in range(subsets)])
    return float(values.mean()), float(values.std()), subsets


def squared_distances(a, b):
    """||a_i - b_j||^2 [len(a), len(b)] (float32 matrix products, clipped at 0)."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    block = a @ b.T
    block *= -2.0
    block += (a * a).sum(1)[:, None]
    block += (b * b).sum(1)[None, :]
    return np.maximum(block, 0, out=block)  # in place: the blocks are 1,000 x 10,000


def manifold_radii(points, k=NEIGHBOURS, batch=DISTANCE_BATCH):
    """The squared distance of each point to its k-th nearest other point (the point itself
    is its own 0th neighbour), in row batches of the distance matrix."""
    radii = np.empty(len(points), np.float32)
    for first in range(0, len(points), batch):
        block = squared_distances(points[first:first + batch], points)
        radii[first:first + batch] = np.partition(block, k, axis=1)[:, k]
    return radii


@one_blas_thread
def precision_recall(real, fake, k=NEIGHBOURS, batch=DISTANCE_BATCH):
    """(precision, recall) of Kynkaenniemi et al.: the share of `fake` inside the real
    k-NN manifold, and of `real` inside the fake one. Both come from one pass over row
    batches of the fake-to-real distances, so 10,000 x 10,000 never sits in memory whole."""
    real_radii, fake_radii = manifold_radii(real, k, batch), manifold_radii(fake, k, batch)
    fake_inside = np.zeros(len(fake), bool)
    real_inside = np.zeros(len(real), bool)
    for first in range(0, len(fake), batch):
        block = squared_distances(fake[first:first + batch], real)
        fake_inside[first:first + batch] = (block <= real_radii[None, :]).any(axis=1)
        real_inside |= (block <= fake_radii[first:first + batch, None]).any(axis=0)
    return float(fake_inside.mean()), float(real_inside.mean())


def check_counts(real, fake, space_name):
    """One line when either set is too small for a full-rank covariance (N >= d + 1) or
    for k nearest neighbours."""
    dimensions = real.shape[1]
    needed = max(dimensions + 1, NEIGHBOURS + 2)
    if min(len(real), len(fake)) < needed:
        raise ZooError(f"sample quality in the {space_name} space ({dimensions} features) needs at least {needed} "
                       f"real and {needed} generated images for a full-rank covariance; got {len(real)} real and "
                       f"{len(fake)} generated: use more (--sample-count, --examples)")


def from_features(real, fake, real_statistics=None, space_name="feature", seed=0):
    """{fid, kid, kid_std, kid_stderr, precision, recall, n_real, n_fake} of real and fake
    features [N, d]; `real_statistics` (mean, covariance) when already known."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    check_counts(real, fake, space_name)
    mu_real, sigma_real = real_statistics if real_statistics is not None else statistics(real)
    kid, kid_std, subsets = kernel_inception_distance(real, fake, seed=seed)
    precision, recall = precision_recall(real, fake)
    return {"fid": frechet_distance(mu_real, sigma_real, *statistics(fake)),
            "kid": kid, "kid_std": kid_std, "kid_stderr": kid_std / np.sqrt(subsets),
            "kid_subsets": f"{subsets} of {min(KID_SUBSET_SIZE, len(real), len(fake))}",
            "precision": precision, "recall": recall, "neighbours": NEIGHBOURS,
            "n_real": len(real), "n_fake": len(fake)}


def measure(real_images, fake_images, space="domain", dataset=None, inception_weights="imagenet", seed=0):
    """FID, KID and precision/recall of `fake_images` against `real_images` (both [N, H, W, C]
    in [0, 1]) in `space` (a `features.FeatureSpace`, "inception", or "domain" with the
    `dataset` whose network to use); the result's "space" describes it."""
    space = feature_spaces.feature_space(space, dataset, inception_weights)
    real = space.features(real_images, "the real images")
    fake = space.features(fake_images, "the generated images")
    return {**from_features(real, fake, space_name=space.name, seed=seed), "space": space.describe()}


def cache_dir():
    """$ZOO_CACHE, else ~/.cache/vae_zoo: where the real sets' features are kept."""
    return os.environ.get("ZOO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "vae_zoo")


def cached_real_features(space, images, dataset, split):
    """(features, (mean, covariance)) of `images`, the first len(images) of `dataset`'s
    `split`, from the cache when it holds them for this very network and these very images
    (their SHA-256 is in the key: a folder dataset's name says nothing of its contents);
    computed and kept otherwise. A cache that cannot be read or written is skipped."""
    images = space.check(images, f"the {split} images of {dataset}")
    key = json.dumps({"network": space.fingerprint, "dataset": dataset, "split": split, "count": len(images),
                      "images": hashlib.sha256(np.ascontiguousarray(images, np.float32).tobytes()).hexdigest()},
                     sort_keys=True)
    name = f"{space.name}-{dataset}-{split}-{len(images)}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    path = os.path.join(cache_dir(), "sample_quality", name)
    try:
        with np.load(path) as stored:
            if str(stored["key"]) == key:
                return stored["features"].astype(np.float64), (stored["mean"], stored["covariance"])
    except (OSError, KeyError, ValueError):
        pass
    real = space.features(images, f"the {split} images of {dataset}")
    mean, covariance = statistics(real)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), suffix=".npz", delete=False) as file:
            np.savez(file, key=key, features=real.astype(np.float32), mean=mean, covariance=covariance)
        os.replace(file.name, path)
    except OSError:
        pass
    return real, (mean, covariance)


def draw(model, count, sampler="prior", seed=0):
    """`count` images drawn from `model` in batches ([count, H, W, C] means of p(x|z)); a
    model that labels its draws gets classes in turn. One line for a model that draws none."""
    if not model.generates:
        raise ZooError(f"this {model.KIND} draws no samples, so it has no sample quality")
    batches = []
    for index, first in enumerate(range(0, count, SAMPLE_BATCH)):
        n = min(SAMPLE_BATCH, count - first)
        options = {} if sampler == "prior" else {"sampler": sampler}
        if model.label_use != "none" and model.classes:
            options["y"] = (np.arange(first, first + n) % model.classes).astype(np.int64)
        batch_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % (2 ** 31))
        batches.append(np.asarray(model.sample(n, seed=batch_seed, **options)))
    return np.concatenate(batches)


def of_model(model, test_images, dataset, samples=10000, sampler="prior", space="domain", seed=0,
             inception_weights="imagenet", split="test", say=None):
    """FID, KID and precision/recall of `samples` images drawn from `model` (with `sampler`)
    against `test_images` (the first ones of `dataset`'s `split`, grey levels in [0, 1]),
    with the space named and the seconds each part took."""
    say = say or (lambda *args, **kwargs: None)
    space = feature_spaces.feature_space(space, dataset, inception_weights)
    start = time.perf_counter()
    real, real_statistics = cached_real_features(space, test_images, dataset, split)
    real_seconds = time.perf_counter() - start
    say(f"Drawing {samples} samples ({sampler}) and measuring FID, KID and precision/recall in the "
        f"{space.name} space against {len(test_images)} {split} images", flush=True)
    start = time.perf_counter()
    fake_images = draw(model, samples, sampler, seed)
    draw_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fake = space.features(fake_images, "the generated images")
    figures = from_features(real, fake, real_statistics, space.name, seed)
    return {**figures, "space": space.describe(), "sampler": sampler, "seed": seed, "real": f"{dataset} {split}",
            "seconds": {"real_features": round(real_seconds, 1), "sampling": round(draw_seconds, 1),
                        "figures": round(time.perf_counter() - start, 1)}}


class SampleQuality:
    """What `zoo evaluate --sample-quality` asked for, checked (the model draws, the samplers
    exist, the feature network loads) before the long importance sampling; `measure` then
    draws from each sampler and scores it, beside the two floors."""

    def __init__(self, model, train, samples=10000, space="domain", inception_weights=None, samplers=None,
                 floors=True, seed=0):
        """`train`: the recipe's training config (its dataset, image size and channels);
        `samplers`: the names to draw from (default: every one the model has, `sampler_names`)."""
        if samples < 1:
            raise ZooError("--sample-count must be a positive integer")
        if not model.generates:
            raise ZooError(f"this {model.KIND} draws no samples, so it has no sample quality: leave out --sample-quality")
        unknown = [name for name in samplers or () if name not in model.sampler_names]
        if unknown:
            raise ZooError(f"this {model.KIND} has no sampler {unknown[0]!r}: it has {', '.join(model.sampler_names)}")
        self.model, self.train, self.samples, self.seed = model, train, samples, seed
        self.samplers, self.floors = tuple(samplers or model.sampler_names), floors
        self.space = feature_spaces.feature_space(space, train.dataset, inception_weights or "imagenet")

    def measure(self, data_dir=None, download=False, examples=None, say=None):
        """{space name: {"space", "real", "n_real", "samplers": {name: figures}, "floors":
        {"training_images", "reconstructions": figures}}} against the dataset's first
        `examples` test images (grey levels, not binarized: the same real set for every model
        of the dataset). The floors: as many training images, and the model's reconstructions
        of the test images (given as it was tested: binarized for a binary model)."""
        say = say or (lambda *args, **kwargs: None)
        train, space = self.train, self.space
        source = zoo_data.resolve(train.dataset, data_dir, train.image_size, train.channels)
        split = source.load("test", data_dir, download)
        test = split.scaled()[:examples]
        real, real_statistics = cached_real_features(space, test, train.dataset, "test")

        def figures(images, what):
            start = time.perf_counter()
            images, clipped = clipped_to_pixels(images)
            scored = from_features(real, space.features(images, what), real_statistics, space.name, self.seed)
            return {**scored, "clipped_pixels": clipped, "seconds": round(time.perf_counter() - start, 1)}

        by_sampler = {}
        for name in self.samplers:
            say(f"Sample quality in the {space.name} space: {self.samples} samples ({name}) against "
                f"{len(test)} test images", flush=True)
            start = time.perf_counter()
            drawn = draw(self.model, self.samples, name, self.seed)
            by_sampler[name] = {**figures(drawn, f"the {name} samples"), "sampling_seconds":
                                round(time.perf_counter() - start, 1)}
        floors = {}
        if self.floors:
            say(f"Sample quality floors: {self.samples} training images, and the reconstructions of the test images",
                flush=True)
            floors["training_images"] = figures(source.load("train", data_dir, download).scaled()[:self.samples],
                                                "the training images")
            tested = zoo_data.eval_images(split, binarize=train.binarization != "none")[:examples][:self.samples]
            labels = split.labels[:len(tested)] if self.model.label_use == "condition" else None
            floors["reconstructions"] = figures(reconstructions(self.model, tested, labels), "the reconstructions")
        return {space.name: {"space": space.describe(), "real": f"{train.dataset} test", "n_real": len(test),
                             "seed": self.seed, "samplers": by_sampler, "floors": floors}}

    @staticmethod
    def report(result):
        """The lines `zoo evaluate` prints for `result`'s "sample_quality" entry."""
        lines = []
        for measured in result.get("sample_quality", {}).values():
            rows = {**measured["samplers"], **{f"floor: {name}": f for name, f in measured["floors"].items()}}
            lines.append(f"sample quality in the {describe_space(measured['space'])} space, against "
                         f"{measured['n_real']} {measured['real']} images:")
            lines += [f"  {name:<26} " + figures_line(figures) for name, figures in rows.items()]
        return "".join("\n" + line for line in lines)


def clipped_to_pixels(images):
    """(images clipped to [0, 1], the share of pixel values that were outside): the mean of a
    Gaussian likelihood is not bounded, and the pictures show its images clipped the same way."""
    images = np.asarray(images, np.float32)
    outside = float(np.mean((images < 0) | (images > 1)))
    return np.clip(images, 0.0, 1.0), round(outside, 6)


def reconstructions(model, images, labels=None):
    """The model's reconstructions of `images` in batches (at their `labels` if it takes them)."""
    return np.concatenate([np.asarray(model.reconstruct(images[i:i + SAMPLE_BATCH]) if labels is None else
                                      model.reconstruct(images[i:i + SAMPLE_BATCH], labels[i:i + SAMPLE_BATCH]))
                           for i in range(0, len(images), SAMPLE_BATCH)])


def describe_space(space):
    """"domain (mnist classifier, SHA-256 ..., test accuracy 99.18%)": a feature space named."""
    return (f"{space['space']} ({space['network']}, SHA-256 {space['sha256']}"
            + (f", test accuracy {100 * space['test_accuracy']:.2f}%" if "test_accuracy" in space else "") + ")")


def figures_line(figures):
    return (f"FID {figures['fid']:.2f}, KID {figures['kid']:.4g} (std {figures['kid_std']:.2g}), "
            f"precision {figures['precision']:.3f}, recall {figures['recall']:.3f} ({figures['n_fake']} images)")


def report(result):
    """One line of figures (`of_model`'s or `measure`'s), with the space named."""
    return (f"sample quality ({result.get('sampler', 'given')} samples, {result['n_fake']} against {result['n_real']} "
            f"real; {describe_space(result['space'])} space): " + figures_line(result))
