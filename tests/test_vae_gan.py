"""Issue 29, the VAE-GAN (Larsen et al. 2016): a VAE with a discriminator of images and its own
optimizer, trained in one `fit`. Its three losses by hand in numpy, each group of weights moved
by its own loss only (the encoder never by L_GAN, the decoder never by the encoder's loss, the
discriminator only by its optimizer), pythae's balance, the compiled step, the signatures it
exports and its refusals; in the slow tier, the resume test (as tests/test_adversarial.py's for
FactorVAE) and two replicas. The shared driver's round trips are its case vae_gan_mlp
(tests/driver_cases.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.data import ResidentImages
from zoo.data.sources import DATASETS
from zoo.errors import ConfigError
from zoo.layers.adversaries import VAEGAN
from zoo.models.builder import build

TINY = {"image_shape": (8, 8, 1), "network": {"type": "mlp", "hidden_units": (16,)},
        "posterior": {"type": "diagonal_normal", "latent_dim": 3}}
ADVERSARY = {"type": "vae_gan", "hidden_units": (5, 4), "leaky_slope": 0.2, "reconstruction_layer": 1, "gamma": 2.0}
VAE_GAN = VAEConfig(**TINY, adversary=ADVERSARY)


def softplus(a):
    return np.logaddexp(0.0, a)


def judged_by_hand(adversary, images):
    """(the features of D's `reconstruction_layer`-th hidden layer, D's logit) of each image, in
    numpy from D's weights (an MLP on the flattened image, leaky ReLU of its slope)."""
    h = np.asarray(images, np.float64).reshape(len(images), -1)
    dense = [layer for layer in adversary.discriminator.layers if layer.weights]
    hidden = []
    for layer in dense[:-1]:
        kernel, bias = (w.numpy() for w in layer.weights)
        a = h @ kernel + bias
        h = np.where(a > 0, a, adversary.leaky_slope * a)
        hidden.append(h)
    kernel, bias = (w.numpy() for w in dense[-1].weights)
    return hidden[adversary.reconstruction_layer - (adversary.reconstruction_layer > 0)], (h @ kernel + bias)[:, 0]


def digit_images():
    return DATASETS.get("digits").load("test").scaled().astype(np.float32)


def test_the_three_losses_by_hand():
    """L_prior (the KL of q(z|x)), L_llike (0.5 ||Dis_l(x) - Dis_l(x~)||^2) and L_GAN (D's
    cross-entropy on x, its reconstructions and decoded prior draws), and what each weight group
    minimises: the encoder KL + L_llike, the decoder gamma * L_llike - L_GAN."""
    model = build(VAE_GAN)
    x, seed = tf.constant(digit_images()[:5]), tf.constant([1, 2])
    terms = model.terms(x, seed=seed)
    q, z, _ = model.draw(x, 1, seed=seed)
    reconstructions = model.decode(z[0]).mean().numpy()
    generated = model.decode(model.prior_draws(model.prior, z, seed)[0]).mean().numpy()
    features, real = judged_by_hand(model.adversary, x.numpy())
    reconstruction_features, reconstructed = judged_by_hand(model.adversary, reconstructions)
    _, prior = judged_by_hand(model.adversary, generated)
    mean, scale = q.mean().numpy().astype(np.float64), q.stddev().numpy().astype(np.float64)
    kl = np.sum(0.5 * (mean ** 2 + scale ** 2 - 1) - np.log(scale), axis=-1)
    llike = 0.5 * np.sum((features - reconstruction_features) ** 2, axis=-1)
    gan = softplus(-real) + softplus(reconstructed) + softplus(prior)
    np.testing.assert_allclose(terms["kl"].numpy(), kl, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["reconstruction"].numpy(), llike, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["loss"].numpy(), kl + llike, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["discriminator_loss"].numpy(), gan, rtol=1e-4)
    np.testing.assert_allclose(terms["decoder_loss"].numpy(), 2.0 * llike - gan, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["squared_error"].numpy(),
                               np.mean((reconstructions - x.numpy()).reshape(5, -1) ** 2, axis=-1), rtol=1e-4)


def test_the_discriminators_loss_by_hand_and_pythaes_form_without_reconstructions():
    images, reconstructions, generated = (np.random.default_rng(i).random((4, 8, 8, 1)).astype(np.float32)
                                          for i in range(3))
    for judge_reconstructions in (True, False):
        adversary = VAEGAN(hidden_units=(6,), judge_reconstructions=judge_reconstructions)
        adversary.attach((8, 8, 1))
        real, fake, prior = (judged_by_hand(adversary, a)[1] for a in (images, reconstructions, generated))
        judged = adversary.discriminator_terms(tf.constant(images), (tf.constant(reconstructions), tf.constant(generated)))
        expected = np.mean(softplus(-real)) + np.mean(softplus(prior)) + judge_reconstructions * np.mean(softplus(fake))
        assert float(judged["loss"]) == pytest.approx(expected, rel=1e-5)
        assert float(judged["real"]) == pytest.approx(np.mean(softplus(-real)), rel=1e-5)
        assert float(judged["generated"]) == pytest.approx(np.mean(softplus(prior)), rel=1e-5)


def test_a_conv_discriminator_reconstructs_in_its_convolutions_features_and_round_trips_its_config():
    adversary = VAEGAN(conv_filters=(4,), hidden_units=(6,), reconstruction_layer=1)
    adversary.attach((8, 8, 1))
    images = tf.constant(np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32))
    features, logits = adversary.judge(images)
    convolution, activation = adversary.discriminator.layers[:2]
    np.testing.assert_allclose(features.numpy(), tf.reshape(activation(convolution(images)), [3, -1]).numpy())
    assert features.shape == (3, 4 * 4 * 4) and logits.shape == (3,)
    np.testing.assert_allclose(logits.numpy(), adversary.discriminator(images)[:, 0].numpy(), rtol=1e-6)
    assert VAEGAN.from_config(adversary.get_config()).get_config() == adversary.get_config()


@pytest.mark.parametrize("real, generated, steps", [
    (0.7, 0.6, (True, True)),  # both within 0.68 +- 0.4
    (0.2, 0.7, (False, True)),  # D wins on the images: D pauses
    (0.7, 1.2, (True, False)),  # D loses on the prior draws: the decoder pauses
    (0.2, 1.2, (True, True)),  # both would pause: both step
])
def test_pythaes_balance_pauses_the_side_that_is_winning(real, generated, steps):
    adversary = VAEGAN()
    balance = adversary.balance({"real": tf.constant(real), "generated": tf.constant(generated)})
    assert tuple(bool(flag) for flag in balance) == steps
    assert VAEGAN(margin=None).balance({"real": tf.constant(0.0), "generated": tf.constant(9.0)}) is None


def one_step(change, model_rate=1e-2, discriminator_rate=1e-2, **adversary):
    """(encoder, decoder, discriminator weights) before and after one `update` of the VAE-GAN,
    its adversary's arguments `adversary`, after `change(model)` (same initial weights each call)."""
    keras.utils.set_random_seed(0)
    model = build(VAE_GAN.replace(adversary={**ADVERSARY, **adversary}))
    model.compile(keras.optimizers.Adam(model_rate))
    model.adversary_optimizer.learning_rate.assign(discriminator_rate)
    change(model)
    decoder = {id(v) for v in model.decoder_variables()}
    groups = ([v for v in model.model_variables() if id(v) not in decoder], model.decoder_variables(),
              model.adversary.trainable_variables)
    before = [[v.numpy() for v in group] for group in groups]
    model.update(tf.constant(digit_images()[:8]), seed=tf.constant([1, 2]))
    return before, [[v.numpy() for v in group] for group in groups]


def moved(before, after):
    return tuple(any(not np.array_equal(b, a) for b, a in zip(old, new)) for old, new in zip(before, after))


def same(first, second):
    return tuple(all(np.array_equal(a, b) for a, b in zip(one, other)) for one, other in zip(first, second))


def test_each_group_of_weights_moves_by_its_own_loss_only():
    nothing = lambda model: None  # noqa: E731
    assert moved(*one_step(nothing, model_rate=0.0)) == (False, False, True)  # D by its own optimizer only
    assert moved(*one_step(nothing, discriminator_rate=0.0)) == (True, True, False)
    reference = one_step(nothing, discriminator_rate=0.0, margin=None)[1]

    def other_logit_layer(model):  # D's output layer: L_GAN's alone (Dis_l is its first hidden layer)
        kernel = model.adversary.discriminator.layers[-1].kernel
        kernel.assign(3.0 * kernel + 0.5)
    assert same(reference, one_step(other_logit_layer, discriminator_rate=0.0, margin=None)[1])[:2] == (True, False)
    # gamma weighs L_llike in the decoder's loss only: the encoder's step does not see it
    assert same(reference, one_step(nothing, discriminator_rate=0.0, margin=None, gamma=7.0)[1]) == (True, False, True)


def test_the_balance_pauses_the_discriminator_or_the_decoder_within_a_step():
    nothing = lambda model: None  # noqa: E731
    # D's cross-entropies start near log 2 = 0.69: below 5 - 0.5 (D wins: it pauses), above 0.1 + 0.05 (the decoder pauses)
    assert moved(*one_step(nothing, equilibrium=5.0, margin=0.5)) == (True, True, False)
    assert moved(*one_step(nothing, equilibrium=0.1, margin=0.05)) == (True, False, True)


def test_one_compiled_step_trains_every_group_with_finite_figures_and_exports_generative_signatures_only():
    train = DATASETS.get("digits").load("train")
    model = build(VAE_GAN)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False, steps_per_execution=2)  # XLA: the recipe smoke run
    before = [v.numpy() for v in model.trainable_variables]
    history = model.fit(ResidentImages(train, 750, "dynamic", seed=0), epochs=1, verbose=0)  # 2 steps, one call
    assert {"loss", "reconstruction", "kl", "squared_error", "decoder_loss", "discriminator_loss"} == set(history.history)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
    assert int(model.optimizer.iterations) == int(model.adversary_optimizer.iterations) == 2
    assert set(model.signatures()) == {"serving_default", "reconstruct", "encode", "decode", "sample"}
    assert model.scoring == "reconstruction_error" and model.pixel_marginal(digit_images()) is None
    assert "no bound" in model.loss_is and "not a bound" in model.without_likelihood_because()


@pytest.mark.parametrize("change, field", [
    ({"condition": {"type": "class_label", "classes": 3}, "prior": "conditional_normal"}, "condition"),
    ({"objective": {"type": "iwae", "samples": 2}}, "objective"),
    ({"posterior": {"type": "point_mass", "latent_dim": 3}, "objective": "autoencoder"}, "posterior"),
    ({"posterior": {"type": "categorical", "latent_dim": 3, "categories": 4}, "prior": "uniform_categorical"},
     "posterior"),
    ({"adversary": {**ADVERSARY, "reconstruction_layer": 3}}, "adversary.reconstruction_layer"),  # 2 hidden layers
    ({"adversary": {**ADVERSARY, "conv_filters": 8}}, "adversary.conv_filters"),
])
def test_what_the_vae_gan_cannot_do_is_refused_in_one_line(change, field):
    with pytest.raises(ConfigError) as refused:
        VAE_GAN.replace(**change).check()
    assert refused.value.field == field and "\n" not in str(refused.value)


@pytest.mark.slow
def test_a_vae_gan_run_stopped_mid_training_resumes_to_the_uninterrupted_runs_weights_and_test_figures(tmp_path):
    """tests/test_adversarial.py's resume test for the VAE-GAN: its prior draws, its balance's
    skipped steps and both optimizers come back from the backup (weights within 1e-5, test
    figures within 1e-4 relative)."""
    from test_adversarial import Killed, kill_at_epoch
    from zoo.models.callbacks import FiniteBackup

    def fit(callbacks=()):
        keras.utils.set_random_seed(0)
        model = build(VAE_GAN)
        model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=15)
        history = model.fit(ResidentImages(DATASETS.get("digits").load("train"), 100, "none", seed=0), epochs=2,
                            verbose=0, callbacks=list(callbacks))
        return model, history

    uninterrupted = fit()[0]
    with pytest.raises(Killed):
        fit([FiniteBackup(str(tmp_path / "backup")), kill_at_epoch(1)])
    resumed, history = fit([FiniteBackup(str(tmp_path / "backup"))])
    assert history.epoch == [1]
    assert int(resumed.adversary_optimizer.iterations) == int(uninterrupted.adversary_optimizer.iterations) > 0
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    figures = [model.evaluate(digit_images(), verbose=0, return_dict=True) for model in (uninterrupted, resumed)]
    for name, value in figures[0].items():
        assert figures[1][name] == pytest.approx(value, rel=1e-4), name


TWO_REPLICAS = """
import json, sys
import numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
import tf_keras as keras
from zoo.config import VAEConfig
from zoo.data.sources import DATASETS
from zoo.errors import ZooError
from zoo.models.builder import build
x = DATASETS.get("digits").load("test").scaled().astype(np.float32)[:200]
strategy, results = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), {}
for margin in (None, 0.4):
    with strategy.scope():
        model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                                posterior={"type": "diagonal_normal", "latent_dim": 3},
                                adversary={"type": "vae_gan", "hidden_units": (8,), "margin": margin}))
        model.compile(keras.optimizers.Adam(1e-2))
    try:
        history = model.fit(x, batch_size=50, epochs=1, verbose=0)
        results[str(margin)] = [int(model.adversary_optimizer.iterations.numpy()),
                                bool(all(np.isfinite(v[-1]) for v in history.history.values()))]
    except ZooError as error:
        results[str(margin)] = str(error)
print("RESULT " + json.dumps(results))
"""


@pytest.mark.slow
def test_on_two_replicas_it_trains_without_its_balance_and_is_refused_in_one_line_with_it():
    done = subprocess.run([sys.executable, "-c", TWO_REPLICAS], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(next(line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")))
    assert results["None"] == [4, True]  # 200 images in global batches of 50, both sides stepped
    assert "margin None" in results["0.4"] and "\n" not in results["0.4"]
