"""The inference gaps (zoo.evaluation.inference_gaps) against a linear-Gaussian VAE whose true
posterior is a correlated Gaussian and whose log p(x) is known in closed form."""

import functools
import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import linear_gaussian
from conftest import shipped_exports
from zoo import cli
from zoo.config import VAEConfig, VQVAEConfig
from zoo.errors import ZooError
from zoo.evaluation import inference_gaps
from zoo.evaluation.evaluate import evaluate
from zoo.evaluation.inference_gaps import LocalFlow, Settings, planar
from zoo.layers.likelihoods import Gaussian
from zoo.layers.posteriors import DiagonalNormal, FullCovarianceNormal
from zoo.models.builder import build
from zoo.models.vae import VAE

SIGMA = 0.5
W = np.array([[1.0, 1.0], [1.0, 1.2], [0.5, 0.5], [0.0, 0.3]], np.float32)  # nearly parallel columns: z1, z2 correlated
B = np.array([0.1, -0.2, 0.3, 0.0], np.float32)
PRECISION = np.eye(2) + W.T @ W / SIGMA**2  # of the true posterior p(z|x), the same for every x
# The best diagonal Gaussian of a Gaussian posterior has variances 1/precision_ii, and its KL
# to it (the approximation gap of the diagonal family) is what its log-determinants miss.
DIAGONAL_GAP = 0.5 * (np.log(np.diag(PRECISION)).sum() - np.log(np.linalg.det(PRECISION)))
FAST = Settings(draws=16, learning_rate=0.05, window=50, check_draws=64, tolerance=0.002, patience=2,
                max_steps=1500, planar_layers=2, elbo_draws=1000, chunk=500)


def linear_gaussian_vae(posterior):
    """p(z) = N(0, I), p(x|z) = N(Wz + b, SIGMA^2 I) on 2x2x1 images; an encoder that is wrong
    on purpose (a fixed random linear map), so the amortization gap is large."""
    keras.utils.set_random_seed(0)
    decoder = keras.Sequential([keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))])
    decoder.build((None, 2))
    decoder.layers[0].set_weights([W.T, B])
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(posterior.params_size)])
    encoder.build((None, 2, 2, 1))
    return VAE(encoder, posterior, decoder, Gaussian(sigma=SIGMA), image_shape=(2, 2, 1))


def exact_log_px(x):
    return linear_gaussian.exact_log_px(x, W, B, SIGMA)


def images(n=4, seed=0):
    return linear_gaussian.images(n, B, seed)


@pytest.fixture(scope="module")
def diagonal_gaps():
    """The diagonal family, with the flow: (the entry, the images, the progress lines)."""
    x, said = images(), []
    entry = inference_gaps.measure(linear_gaussian_vae(DiagonalNormal(2)), x, flow=True, settings=FAST,
                                   say=lambda line, **_: said.append(line))
    return entry, x, said


def test_diagonal_family_misses_the_correlation_by_its_closed_form_and_the_flow_closes_it(diagonal_gaps):
    entry, x, _ = diagonal_gaps
    assert DIAGONAL_GAP > 0.7
    assert entry["log_likelihood"] == pytest.approx(exact_log_px(x).mean(), abs=0.02)  # from q*_flow
    assert entry["approximation_gap"] == pytest.approx(DIAGONAL_GAP, abs=0.05)
    assert abs(entry["flow_approximation_gap"]) < 0.08  # the flow holds every full-covariance Gaussian
    # q* scores above the encoder's q on every image, on the same draws: a random encoder is far off
    assert min(entry["per_image"]["amortization_gap"]) > 1.0


def test_the_gaps_sum_to_log_px_minus_the_encoders_elbo(diagonal_gaps):
    entry, _, _ = diagonal_gaps
    assert entry["approximation_gap"] + entry["amortization_gap"] == pytest.approx(entry["inference_gap"], abs=1e-4)
    assert entry["gap_sum_error"] < 1e-4
    # zoo evaluate's gap takes log p(x) from the encoder's q: a looser bound than q*_flow's
    assert entry["evaluate_gap"] <= entry["inference_gap"] + 0.01
    assert entry["log_likelihood_encoder_proposal"] <= entry["log_likelihood"] + 0.01


def test_full_covariance_family_reaches_the_true_posterior():
    x = images()
    entry = inference_gaps.measure(linear_gaussian_vae(FullCovarianceNormal(2)), x, settings=FAST)
    assert entry["log_likelihood"] == pytest.approx(exact_log_px(x).mean(), abs=0.02)  # from q*
    assert abs(entry["approximation_gap"]) < 0.03 < DIAGONAL_GAP
    assert entry["amortization_gap"] > 1.0


def test_convergence_test_stops_every_image_before_the_step_limit_and_says_so(diagonal_gaps):
    entry, _, said = diagonal_gaps
    runs = entry["optimization"]
    for run in runs.values():
        assert run["all_converged"] and run["converged"] == 4
        assert run["steps"] < FAST.max_steps and run["steps"] % FAST.window == 0
    assert len(said) == (runs["family"]["steps"] + runs["flow"]["steps"]) // FAST.window
    assert "4/4 images converged" in said[-1] and said[-1].startswith("  q*_flow: step ")


def test_planar_layers_log_determinant_is_the_jacobians():
    rng = np.random.default_rng(1)
    flow = LocalFlow(images=2, latent_dim=3, layers=2, seed=0)
    z = tf.constant(rng.normal(size=(2, 3)), tf.float32)  # one draw for each of 2 images
    out, log_det = flow(z[None])
    np.testing.assert_allclose(out.numpy()[0], z.numpy(), atol=1e-6)  # the identity at initialisation
    np.testing.assert_allclose(log_det.numpy(), 0.0, atol=1e-6)
    for variable in flow.per_image:
        variable.assign(rng.normal(size=variable.shape).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(z)
        out, log_det = flow(z[None])
        out = out[0]  # sliced under the tape, or the Jacobian is zero
    jacobian = tape.batch_jacobian(out, z)  # [N, D, D]: image n's output by its own input
    np.testing.assert_allclose(log_det[0].numpy(), np.linalg.slogdet(jacobian.numpy())[1], atol=1e-4)
    # one layer alone, where w.u is pushed to the invertibility limit
    u, w, b = (tf.constant(rng.normal(size=s), tf.float32) for s in ((2, 3), (2, 3), (2,)))
    w_u = -50.0 * w / tf.reduce_sum(w * w, -1, keepdims=True)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out, log_det = planar(z[None], w_u, w, b)
        out = out[0]
    jacobian = tape.batch_jacobian(out, z)
    signs, logs = np.linalg.slogdet(jacobian.numpy())
    assert (signs > 0).all()
    np.testing.assert_allclose(log_det[0].numpy(), logs, atol=1e-3)


def test_refused_kinds_say_why_in_one_line():
    small = {"image_shape": (8, 8, 1), "network": {"type": "mlp", "hidden_units": (8,)}}
    refused = {
        "categorical": build(VAEConfig(**small, posterior={"type": "categorical", "latent_dim": 2, "categories": 3},
                                       prior="uniform_categorical")),
        "conditional": build(VAEConfig(**small, condition={"type": "class_label", "classes": 3})),
        "VQ-VAE": build(VQVAEConfig(image_shape=(8, 8, 1), network={"type": "conv", "conv_filters": (4,)},
                                    quantizer={"type": "vector_quantizer", "codebook_size": 4, "code_dim": 2})),
    }
    for name, model in refused.items():
        with pytest.raises(ZooError) as error:
            inference_gaps.measure(model, np.zeros((2, 8, 8, 1), np.float32))
        assert "\n" not in str(error.value) and str(error.value).startswith("--gaps: "), name
    assert build(VAEConfig(**small)).local_inference_refusal is None


def test_zoo_evaluate_writes_and_prints_the_gaps(tmp_path, monkeypatch, capsys):
    export = shipped_exports().get("digits_mlp_bernoulli")
    if export is None:
        pytest.skip("no shipped digits_mlp_bernoulli export")
    monkeypatch.setattr(inference_gaps, "Settings",
                        functools.partial(Settings, draws=8, window=20, max_steps=40, elbo_draws=100))
    assert cli.main(["evaluate", export, "--gap-flow", "--output-dir", str(tmp_path)]) == 2  # no --gaps N
    assert capsys.readouterr().err.strip().splitlines() == [
        "zoo: error: --gaps N: N must be a positive number of test images (--gap-flow needs it too)"]
    evaluate(export, num_samples=10, examples=3, gaps=3, output_dir=str(tmp_path), pictures=False)
    entry = json.load(open(tmp_path / "metrics.json"))["evaluation"]["inference_gaps"]
    assert entry["images"] == 3 and list(entry["optimization"]) == ["family"]
    assert entry["optimization"]["family"]["steps"] <= 40
    assert {"approximation_gap", "amortization_gap", "log_likelihood_stderr"} <= set(entry)
    assert len(entry["per_image"]["amortization_gap"]) == 3
    assert "amortization gap" in capsys.readouterr().out


@pytest.mark.slow
def test_shipped_mnist_mlp_gaps_are_positive_and_the_flow_closes_some(mnist_dir):
    """The acceptance check on 20 test images (docs/inference_gaps.md has 100)."""
    from zoo.evaluation.evaluate import evaluation_images, export_recipe
    from zoo.models.kinds import load_preset

    export = shipped_exports()["mnist_mlp_bernoulli"]
    x, _ = evaluation_images(export_recipe(export), mnist_dir, False, 20)
    entry = inference_gaps.measure(load_preset(export, compile=False), x, flow=True)
    for gap in ("approximation_gap", "amortization_gap", "flow_approximation_gap"):
        assert entry[gap] > -2 * entry[f"{gap}_stderr"], gap
    assert entry["flow_approximation_gap"] < entry["approximation_gap"]
