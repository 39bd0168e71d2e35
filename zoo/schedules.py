"""Callbacks that change a coefficient of the objective as training goes: KL warm-up and
the Gumbel-softmax temperature. `VAE.fit` adds the ones its variant needs, so a plain
`model.fit` follows the same schedule as `zoo train`. Both set their value from the epoch
number alone, so a run resumed by `BackupAndRestore` continues the schedule where it was.
"""

import math

import tf_keras as keras


class KLWarmup(keras.callbacks.Callback):
    """The KL weight grows linearly from 0 to beta over the first `epochs` epochs
    (Bowman et al. 2016; Sønderby et al. 2016), so the decoder learns to use z before the
    KL term pulls q(z|x) onto the prior."""

    def __init__(self, epochs, beta):
        super().__init__()
        self.epochs, self.beta = epochs, beta

    def value(self, epoch):
        return self.beta * min(1.0, epoch / self.epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.kl_weight.assign(self.value(epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["kl_weight"] = self.value(epoch)


class TemperatureAnnealing(keras.callbacks.Callback):
    """temperature = max(minimum, initial * exp(-decay * epoch)) for relaxed one-hot latents
    (Jang et al. 2017): smooth gradients early, nearly discrete samples later."""

    def __init__(self, initial, minimum, decay):
        super().__init__()
        self.initial, self.minimum, self.decay = initial, minimum, decay

    def value(self, epoch):
        return max(self.minimum, self.initial * math.exp(-self.decay * epoch))

    def on_epoch_begin(self, epoch, logs=None):
        self.model.posterior.temperature.assign(self.value(epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["temperature"] = self.value(epoch)


def for_model(model):
    """The schedule callbacks `model`'s variant asks for."""
    variant = model.variant
    callbacks = []
    if variant.kl_warmup_epochs:
        callbacks.append(KLWarmup(variant.kl_warmup_epochs, variant.beta))
    if hasattr(model.posterior, "temperature"):
        callbacks.append(TemperatureAnnealing(variant.temperature, variant.min_temperature,
                                              variant.temperature_decay))
    return callbacks
