"""The autoencoders' objectives (zoo.objectives: Autoencoder, RAE) from their definitions, in
plain numpy: the code penalty and the decoder's L2 in loops over examples and weights, the
gradient penalty by central finite differences of the decoder. tests/test_autoencoders.py
checks the objectives against them; tests/test_combinations.py every combination's loss."""

import numpy as np
import tf_keras as keras

from zoo.layers.likelihoods import Bernoulli
from zoo.objectives import RAE

STEP = 1e-5  # of the central differences, in latent units (the decoder evaluated in float64)


def code_penalty(z):
    """||z||^2 / 2 of each code, averaged over the draws: z [S, B, d] -> [B]."""
    draws, batch = z.shape[:2]
    penalty = np.zeros(batch)
    for b in range(batch):
        for s in range(draws):
            penalty[b] += 0.5 * sum(float(value) ** 2 for value in np.ravel(z[s, b])) / draws
    return penalty


def decoder_l2(model):
    """The sum of squares of every trainable weight of the decoder network (kernels and biases)."""
    return sum(float(value) ** 2 for variable in model.decoder.trainable_variables
               for value in np.ravel(variable.numpy()))


def decoder_gradient_penalty(model, z):
    """||d/dz sum_pixels mean of p(x|z)||^2 of each code by central differences, averaged
    over the draws: z [S, B, d] -> [B]."""
    z = np.asarray(z, np.float64)
    draws, batch, latents = z.shape

    def total(codes):  # sum over pixels of the mean image, per code
        return mlp_bernoulli_mean(model, codes).reshape(len(codes), -1).sum(axis=1)

    penalty = np.zeros(batch)
    for s in range(draws):
        for j in range(latents):
            step = np.zeros(latents)
            step[j] = STEP
            derivative = (total(z[s] + step) - total(z[s] - step)) / (2 * STEP)
            penalty += derivative ** 2 / draws
    return penalty


def mlp_bernoulli_mean(model, z):
    """The mean of p(x|z) of an MLP decoder (Dense layers, relu or linear, then a reshape) with
    Bernoulli pixels, in float64 numpy from the layers' weights: sigmoid of the last layer."""
    values = np.asarray(z, np.float64)
    for layer in model.decoder.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
            values = values @ kernel + bias
            activation = layer.get_config()["activation"]
            assert activation in ("relu", "linear"), activation
            values = np.maximum(values, 0.0) if activation == "relu" else values
    assert isinstance(model.likelihood, Bernoulli)
    return 1.0 / (1.0 + np.exp(-values))


def loss(model, x, seed):
    """The objective's per-example loss [B] at the model's own draws (`model.draw`, inference form)."""
    objective = model.objective
    _, z, log_px = model.draw(x, objective.samples, training=False, seed=seed)
    reconstruction = -log_px.numpy().astype(np.float64).mean(axis=0)
    if not isinstance(objective, RAE):
        return reconstruction
    decoder = (decoder_l2(model) if objective.kind == "l2"
               else decoder_gradient_penalty(model, z.numpy()))
    return reconstruction + objective.beta * code_penalty(z.numpy()) + objective.decoder_weight * decoder
