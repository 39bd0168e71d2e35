"""Sample quality (`zoo.evaluation.sample_quality`): FID, KID and precision/recall against
hand computations, the two feature spaces, their refusals, and `zoo evaluate --sample-quality`."""

import json
import os
import shutil

import numpy as np
import pytest
from scipy import linalg
from scipy.spatial.distance import cdist

from test_cli import assert_refused_in_one_line, zoo_here
from zoo.data import DATASETS
from zoo.errors import ZooError
from zoo.evaluation import features, sample_quality

SHIPPED_EXPORT = os.path.join(os.path.dirname(__file__), "..", "saved_models", "mnist_mlp_bernoulli", "1")  # no samplers


def one_line_error(function, *args, **kwargs):
    """The message of the ZooError `function` raises, checked to be one line."""
    with pytest.raises(ZooError) as raised:
        function(*args, **kwargs)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    return DATASETS.get("mnist").load("test", mnist_dir)


# FID


def closed_form_fid(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), square roots by eigh."""
    def root(matrix):
        values, vectors = np.linalg.eigh(matrix)
        return vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T

    r1 = root(sigma1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * root(r1 @ sigma2 @ r1)))


def random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_of_two_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    sigma1, sigma2 = random_covariance(rng, 5), random_covariance(rng, 5)
    expected = closed_form_fid(mu1, sigma1, mu2, sigma2)
    assert sample_quality.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)
    # 1-D by hand: (m1 - m2)^2 + (s1 - s2)^2
    assert sample_quality.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    # large samples: the statistics of draws meet the closed form
    x = rng.multivariate_normal(mu1, sigma1, size=200_000)
    y = rng.multivariate_normal(mu2, sigma2, size=200_000)
    sampled = sample_quality.frechet_distance(*sample_quality.statistics(x), *sample_quality.statistics(y))
    assert sampled == pytest.approx(expected, rel=0.02)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).normal(size=(500, 20))
    mu, sigma = sample_quality.statistics(x)
    assert abs(sample_quality.frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    assert sample_quality.frechet_distance(mu, sigma, mu + 0.1, sigma) == pytest.approx(20 * 0.01, rel=1e-6)


# KID


def test_mmd2_of_two_points_each_by_hand():
    # d = 1, k(x, y) = (xy + 1)^3; X = {0, 1}, Y = {1, 2}:
    # within X: k(0,1) = 1; within Y: k(1,2) = 27; across: (1 + 1 + 8 + 27) / 4 = 9.25
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert sample_quality.mmd2_unbiased(x, y) == pytest.approx(1 + 27 - 2 * 9.25)


def test_mmd2_kernel_is_the_reference_codes_polynomial_kernel():
    """The KID code of Binkowski et al. (and torch-fidelity) uses scikit-learn's
    polynomial_kernel(degree=3, gamma=None -> 1/d, coef0=1)."""
    from sklearn.metrics.pairwise import polynomial_kernel

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 7)), rng.normal(size=(30, 7))
    np.testing.assert_allclose(sample_quality.polynomial_kernel(x, y), polynomial_kernel(x, y, degree=3, coef0=1))
    k_xx, k_yy, k_xy = (polynomial_kernel(a, b, degree=3, coef0=1) for a, b in ((x, x), (y, y), (x, y)))
    m = len(x)
    reference = ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
                 - 2 * k_xy.mean())
    assert sample_quality.mmd2_unbiased(x, y) == pytest.approx(reference, rel=1e-12)


def test_mmd2_is_unbiased_for_a_known_population():
    """X uniform on {0, 1}, Y uniform on {1, 2} (d = 1): E k(X, X') = 11/4, E k(Y, Y') =
    187/4, E k(X, Y) = 37/4, so MMD^2 = 31. The estimator averages to it over many draws;
    the plug-in (biased) estimate from the same draws does not."""
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(4000):
        x = rng.integers(0, 2, size=(6, 1)).astype(float)
        y = rng.integers(1, 3, size=(6, 1)).astype(float)
        unbiased.append(sample_quality.mmd2_unbiased(x, y))
        k = sample_quality.polynomial_kernel
        biased.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
    stderr = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased) - 31.0) < 3 * stderr
    assert np.mean(biased) - 31.0 > 10 * stderr


def test_kid_of_one_distribution_averages_to_zero():
    rng = np.random.default_rng(2)
    same = [sample_quality.mmd2_unbiased(rng.normal(size=(40, 8)), rng.normal(size=(40, 8))) for _ in range(300)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
    real = rng.normal(size=(600, 8))
    kid, kid_std, subsets = sample_quality.kernel_inception_distance(real, rng.normal(size=(600, 8)), 20, 300)
    shifted, _, _ = sample_quality.kernel_inception_distance(real, rng.normal(0.5, 1, size=(600, 8)), 20, 300)
    assert subsets == 20 and abs(kid) < 3 * kid_std and shifted > 20 * kid_std > 0
    x, y = real[:50], real[50:100]  # subsets as large as both sets: one value, no spread
    assert sample_quality.kernel_inception_distance(x, y) == (pytest.approx(sample_quality.mmd2_unbiased(x, y)), 0.0, 1)


# Precision and recall


def brute_force_precision_recall(real, fake, k=3):
    def radii(points):
        return np.sort(cdist(points, points), axis=1)[:, k]

    across = cdist(fake, real)
    return (float(np.mean((across <= radii(real)[None, :]).any(axis=1))),
            float(np.mean((across <= radii(fake)[:, None]).any(axis=0))))


def clusters(rng, centres, per_cluster):
    return np.concatenate([rng.normal(c, 1.0, size=(per_cluster, len(c))) for c in centres])


def test_precision_recall_known_answers():
    rng = np.random.default_rng(3)
    centres = [np.array(c, float) * 100 for c in ((0, 0), (1, 0), (0, 1), (1, 1))]
    real = clusters(rng, centres, 200)
    assert sample_quality.precision_recall(real, real.copy()) == (1.0, 1.0)
    far = clusters(rng, [c + 1000 for c in centres], 200)
    assert sample_quality.precision_recall(real, far) == (0.0, 0.0)
    assert sample_quality.precision_recall(real, real[:400]) == (1.0, 0.5)  # two of the four modes
    half = clusters(rng, centres[:2], 400)  # fresh draws from those two modes
    precision, recall = sample_quality.precision_recall(real, half)
    assert precision > 0.9 and 0.45 <= recall <= 0.5


def test_precision_recall_in_batches_is_the_brute_force_answer():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(300, 6)), rng.normal(0.3, 1.2, size=(250, 6))
    expected = brute_force_precision_recall(real, fake)
    assert 0 < expected[0] < 1 and 0 < expected[1] < 1
    assert sample_quality.precision_recall(real, fake, batch=37) == pytest.approx(expected)
    assert sample_quality.precision_recall(real, fake) == pytest.approx(expected)


# The domain space


@pytest.fixture(scope="module")
def mnist_space():
    return features.feature_space("domain", "mnist")


def test_fid_rises_with_noise_on_real_mnist(mnist_test, mnist_space):
    """Test images against other test images with Gaussian noise of rising sigma: FID rises
    at each step, from near 0, and precision falls."""
    images = mnist_test.scaled()
    real = mnist_space.features(images[:1000])
    real_statistics = sample_quality.statistics(real)
    rng = np.random.default_rng(0)
    fids, precisions = [], []
    for sigma in (0.0, 0.1, 0.2, 0.4):
        noisy = np.clip(images[1000:2000] + rng.normal(0, sigma, (1000, 28, 28, 1)), 0, 1).astype(np.float32)
        fake = mnist_space.features(noisy)
        fids.append(sample_quality.frechet_distance(*real_statistics, *sample_quality.statistics(fake)))
        precisions.append(sample_quality.precision_recall(real, fake)[0])
    assert fids[0] < 0.2 * fids[1] and all(a < b for a, b in zip(fids, fids[1:])), fids
    assert precisions[0] > 0.6 and precisions[-1] < precisions[0], precisions


def test_measure_names_the_domain_space(mnist_test, mnist_space):
    images = mnist_test.scaled()
    figures = sample_quality.measure(images[:300], images[300:600], mnist_space)
    assert figures["n_real"] == figures["n_fake"] == 300 and figures["kid_subsets"] == "1 of 300"
    assert all(np.isfinite(figures[name]) for name in ("fid", "kid", "kid_std", "precision", "recall"))
    space = figures["space"]
    assert space["space"] == "domain" and space["sha256"] == mnist_space.fingerprint[:12]
    assert 0.95 < space["test_accuracy"] <= 1 and space["features"] == 128


def test_shipped_domain_networks_load_and_are_small():
    assert set(features.domain_datasets()) == {"digits", "mnist", "fashion_mnist"}
    for dataset in features.domain_datasets():
        space = features.DomainSpace.load(dataset)  # refused if its SHA-256 is not the recorded one
        weights, record_file = features.domain_files(dataset)
        record = json.load(open(record_file))
        assert space.fingerprint == record["sha256"] and os.path.getsize(weights) < 700_000
        assert space.dimensions == 128 and record["train_images"] == DATASETS.get(dataset).count("train")


@pytest.mark.parametrize("dataset", [pytest.param(d, marks=[] if d == "digits" else pytest.mark.slow)
                                     for d in features.domain_datasets()])
def test_shipped_domain_networks_reproduce_their_test_accuracy(dataset, data_dirs):
    """The recorded test accuracy, reproduced on the test split (mnist and fashion_mnist's
    10,000 images in the slow tier: 3-4 s each on busy cores)."""
    weights, record_file = features.domain_files(dataset)
    record = json.load(open(record_file))
    test = DATASETS.get(dataset).load("test", data_dirs[dataset])
    classifier = features.domain_classifier(tuple(record["image_shape"]), record["classes"])
    classifier.load_weights(weights)
    predicted = np.argmax(classifier.predict(test.scaled(), batch_size=1000, verbose=0), axis=-1)
    assert float(np.mean(predicted == test.labels)) == pytest.approx(record["test_accuracy"], abs=1e-4)


def test_a_changed_domain_network_is_refused(tmp_path, monkeypatch):
    shutil.copytree(features.FEATURE_NETWORKS_DIR, tmp_path / "networks")
    monkeypatch.setattr(features, "FEATURE_NETWORKS_DIR", str(tmp_path / "networks"))
    weights = tmp_path / "networks" / "digits.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 1
    weights.write_bytes(bytes(data))
    assert "was changed" in one_line_error(features.DomainSpace.load, "digits")


# The Inception space, with random weights (never downloaded)


def test_inception_input_is_299_rgb_in_minus_one_to_one():
    """What InceptionV3 gets (checked without building it): grey repeated to three equal
    channels, bilinear 299x299, pixels 0 -> -1 and 1 -> 1 as `preprocess_input` scales."""
    import tensorflow as tf

    grey = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    grey[1], grey[2] = 0.0, 1.0
    prepared = features.InceptionSpace.prepare(None, tf.constant(grey)).numpy()
    assert prepared.shape == (3, 299, 299, 3)
    assert np.all(prepared[1] == -1.0) and np.allclose(prepared[2], 1.0)
    np.testing.assert_array_equal(prepared[..., 0], prepared[..., 2])
    resized = tf.image.resize(grey, (299, 299), method="bilinear").numpy()[..., 0]
    np.testing.assert_allclose(prepared[..., 1], 2 * resized - 1, atol=1e-5)


@pytest.fixture(scope="module")
def inception():
    return features.InceptionSpace.load(weights=None)


@pytest.mark.slow  # building InceptionV3 and hashing its 22M weights: 9-17 s on 2 busy cores
def test_inception_features_of_tiny_grey_and_colour_images(inception):
    rng = np.random.default_rng(0)
    grey = rng.random((3, 8, 8, 1)).astype(np.float32)
    found = inception.features(grey)
    assert found.shape == (3, 2048) and np.isfinite(found).all()
    # grey repeated to RGB: the same features as the colour image with three equal channels
    np.testing.assert_allclose(inception.features(np.repeat(grey, 3, axis=-1)), found, rtol=1e-4, atol=1e-5)
    inception.batch_size = 2  # batches do not change the features
    np.testing.assert_allclose(inception.features(grey), found, rtol=1e-4, atol=1e-5)
    assert inception.describe()["space"] == "inception" and inception.describe()["weights"] == "random"
    message = one_line_error(sample_quality.measure, grey, grey, inception)
    assert "at least 2049" in message
    other_weights = features.domain_files("digits")[0]  # HDF5, but not InceptionV3's
    assert "not InceptionV3's no-top weights" in one_line_error(features.InceptionSpace.load, other_weights)


# Refusals, each in one line


def test_bad_images_are_refused_in_one_line(mnist_space):
    good = np.random.default_rng(0).random((200, 28, 28, 1)).astype(np.float32)
    assert "at least 129" in one_line_error(sample_quality.measure, good[:50], good, mnist_space)
    assert "x[..., None]" in one_line_error(sample_quality.measure, good[..., 0], good, mnist_space)
    assert "x / 255" in one_line_error(sample_quality.measure, good * 255, good, mnist_space)
    assert "/ 255" in one_line_error(sample_quality.measure, (good * 255).astype(np.uint8), good, mnist_space)
    wrong_size = np.zeros((200, 32, 32, 1), np.float32)
    assert "--feature-space inception" in one_line_error(sample_quality.measure, good, wrong_size, mnist_space)


def test_missing_or_wrong_inception_weights_and_missing_domain_network(tmp_path):
    message = one_line_error(features.feature_space, "inception", inception_weights=str(tmp_path / "none.h5"))
    assert "no such file" in message and features.INCEPTION_NOTOP_FILE in message
    wrong = tmp_path / "wrong.h5"
    wrong.write_bytes(b"not weights")
    message = one_line_error(features.feature_space, "inception", inception_weights=str(wrong))
    assert "not an HDF5" in message and features.INCEPTION_NOTOP_FILE in message
    assert "--feature-space inception" in one_line_error(features.feature_space, "domain", "cifar10")


class NoSamples:  # what SampleQuality asks first
    KIND = "autoencoder"
    generates = False


def test_a_model_that_draws_nothing_is_answered_in_one_line():
    from toy_kinds import Autoencoder

    assert not Autoencoder().generates
    assert "draws no samples" in one_line_error(sample_quality.draw, Autoencoder(), 10)


def tiny_vae(**condition):
    from zoo.config import VAEConfig
    from zoo.models.builder import build

    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior={"type": "diagonal_normal", "latent_dim": 2}, **condition))


def test_draw_asks_the_model_in_seeded_batches():
    vae = tiny_vae()
    assert vae.generates
    x = sample_quality.draw(vae, 1200, seed=3)
    assert x.shape == (1200, 8, 8, 1) and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x, sample_quality.draw(vae, 1200, seed=3))
    assert not np.allclose(x[:200], x[1000:])  # each batch has its own seed
    assert not np.allclose(x, sample_quality.draw(vae, 1200, seed=4))


def test_a_conditional_model_draws_the_classes_in_turn(monkeypatch):
    vae = tiny_vae(condition={"type": "class_label", "classes": 3})
    assert vae.generates
    asked = []
    original = type(vae).sample
    monkeypatch.setattr(type(vae), "sample", lambda self, n, seed=None, y=None: asked.append(y) or original(
        self, n, seed=seed, y=y))
    assert sample_quality.draw(vae, 7).shape == (7, 8, 8, 1)
    np.testing.assert_array_equal(asked[0], [0, 1, 2, 0, 1, 2, 0])


# From a model, and `zoo evaluate --sample-quality`


def test_real_statistics_come_from_the_cache(mnist_test, mnist_space, monkeypatch):
    images = mnist_test.scaled()[:300]
    first = sample_quality.cached_real_features(mnist_space, images, "mnist", "test")
    monkeypatch.setattr(mnist_space, "features", lambda *args: pytest.fail("computed again"))
    again = sample_quality.cached_real_features(mnist_space, images, "mnist", "test")
    np.testing.assert_allclose(again[0], first[0], rtol=1e-6)
    np.testing.assert_allclose(again[1][1], first[1][1])


def test_zoo_evaluate_writes_every_figure_with_its_space_named(capsys, tmp_path, mnist_dir):
    """`--no-likelihood`: no test image scored, and the evaluation already in metrics.json
    (of the log-likelihood) is kept under "evaluations"."""
    earlier = {"examples": 500, "samples": 5000, "neg_log_likelihood": 89.32}
    (tmp_path / "metrics.json").write_text(json.dumps({"evaluation": earlier}))
    run = zoo_here(capsys, "evaluate", SHIPPED_EXPORT, "--data-dir", mnist_dir, "--examples", "300", "--no-likelihood",
                   "--no-pictures", "--output-dir", str(tmp_path), "--sample-quality", "--sample-count", "300")
    assert run.returncode == 0, run.stderr
    metrics = json.load(open(tmp_path / "metrics.json"))
    assert metrics["evaluations"] == [earlier] and "neg_elbo" not in metrics["evaluation"]
    assert "importance samples" not in run.stdout
    written = metrics["evaluation"]["sample_quality"]
    measured = written["domain"]
    assert sorted(measured["samplers"]) == ["prior"] and sorted(measured["floors"]) == ["reconstructions",
                                                                                       "training_images"]
    for figures in (measured["samplers"]["prior"], *measured["floors"].values()):
        for name in ("fid", "kid", "kid_std", "kid_stderr", "precision", "recall"):
            assert np.isfinite(figures[name]), name
        assert figures["n_real"] == figures["n_fake"] == 300 == measured["n_real"]
        assert 0 < figures["fid"] and 0 <= figures["precision"] <= 1 and 0 <= figures["recall"] <= 1
        assert f"FID {figures['fid']:.2f}" in run.stdout
    floors = measured["floors"]  # training images are nearer the test images than this model's samples
    assert floors["training_images"]["fid"] < measured["samplers"]["prior"]["fid"]
    record = json.load(open(features.domain_files("mnist")[1]))
    assert measured["space"]["space"] == "domain" and measured["space"]["sha256"] == record["sha256"][:12]
    assert measured["space"]["test_accuracy"] == record["test_accuracy"]
    assert f"SHA-256 {record['sha256'][:12]}" in run.stdout and "floor: training_images" in run.stdout


def test_zoo_evaluate_refuses_before_evaluating(capsys, tmp_path):
    """A bad --sample-quality request is answered in one line before any image is scored."""
    common = [SHIPPED_EXPORT, "--output-dir", str(tmp_path), "--sample-quality"]
    assert_refused_in_one_line(["evaluate", *common, "--feature-space", "inception", "--inception-weights",
                                str(tmp_path / "missing.h5")], ["--inception-weights", "no such file"], capsys)
    assert not (tmp_path / "metrics.json").exists()
    assert_refused_in_one_line(["evaluate", SHIPPED_EXPORT, "--output-dir", str(tmp_path), "--no-likelihood"],
                               ["nothing to measure", "--sample-quality"], capsys)
    assert "--sample-count" in one_line_error(sample_quality.SampleQuality, NoSamples(), None, samples=0)
    assert "leave out --sample-quality" in one_line_error(sample_quality.SampleQuality, NoSamples(), None)


def test_images_outside_the_pixel_range_are_clipped_and_the_share_recorded():
    """A Gaussian likelihood's means can leave [0, 1]: they are scored as the pictures show
    them, clipped, and the share of pixel values clipped is part of the figures."""
    images = np.array([[-0.5, 0.25], [1.5, 1.0]], np.float32)
    clipped, share = sample_quality.clipped_to_pixels(images)
    np.testing.assert_array_equal(clipped, [[0.0, 0.25], [1.0, 1.0]])
    assert share == 0.5

