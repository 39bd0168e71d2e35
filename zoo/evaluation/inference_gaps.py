"""Inference gaps (Cremer, Li and Duvenaud 2018, "Inference Suboptimality in Variational
Autoencoders"): how much of log p(x) - ELBO comes from the posterior family and how much
from amortizing inference in one encoder.

For each of N images, q(z|x) = posterior(params) with params the encoder's output; then

    q*        the same family with params optimized for this image alone (a [N, params_size]
              variable initialised at the encoder's output, Adam on a Monte-Carlo ELBO);
    q*_flow   (optional) q* followed by a per-image flow: a unit lower-triangular linear map
              (so the family holds every full-covariance Gaussian) and K planar layers
              (Rezende and Mohamed 2015), all starting at the identity, optimized with the
              family's params from the encoder's output;

    approximation gap = log p(x) - ELBO[q*],   amortization gap = ELBO[q*] - ELBO[q],

which sum to log p(x) - ELBO[q]. log p(x) is importance-sampled from the best proposal run
(q*_flow when it is run, else q*): every figure uses the same draws' seeds, so differences
between proposals are paired.

Convergence: every `window` steps each image's ELBO is estimated on fixed draws (a
deterministic function of its parameters); an image is converged, and its parameters frozen,
when that estimate has not risen by `tolerance` nats over the last `patience` windows; the
optimization stops when every image is converged or after `max_steps`.
"""

import dataclasses
import math
import time

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # Keras' defaults
ROOT_OF_M = math.log(math.e - 1.0)  # softplus(a) - 1 = 0 here: a planar layer with w.u = a is the identity


@dataclasses.dataclass(frozen=True)
class Settings:
    """How the per-image posteriors are optimized and scored."""

    draws: int = 16  # Monte-Carlo draws of z per image per Adam step (the paper took 50)
    learning_rate: float = 3e-3
    window: int = 100  # steps between convergence checks
    check_draws: int = 200  # fixed draws of each check's ELBO estimate
    tolerance: float = 0.02  # nats: a smaller rise over `patience` windows is convergence
    patience: int = 2
    max_steps: int = 5000
    planar_layers: int = 8
    elbo_draws: int = 5000  # draws of the final estimates (ELBOs and log p(x), the same draws)
    chunk: int = 100  # draws per image scored at once
    seed: int = 0


def planar(z, u, w, b):
    """One planar layer per image, f(z) = z + u' tanh(w.z + b), at z [S, N, D] (u, w [N, D],
    b [N]); u' = u + (m(w.u) - w.u) w / |w|^2 with m(a) = softplus(a) - 1, so w.u' = m(w.u) >= -1
    and f is invertible (Rezende and Mohamed 2015, appendix A). Returns f(z) and log|det df/dz|
    [S, N] = log(1 + (1 - tanh^2) w.u')."""
    wu = tf.reduce_sum(w * u, -1, keepdims=True)
    m = tf.nn.softplus(wu) - 1.0
    u_hat = u + (m - wu) * w / tf.reduce_sum(w * w, -1, keepdims=True)
    h = tf.tanh(tf.reduce_sum(w * z, -1) + b)
    log_det = tf.math.log1p(tf.maximum((1.0 - h * h) * m[..., 0], -1.0 + 1e-6))
    return z + u_hat * h[..., None], log_det


class LocalFlow(tf.Module):
    """Per-image z -> planar_K(...planar_1((I + L) z)) with L strictly lower triangular [N, D, D]
    (volume-preserving: a Gaussian through it has any covariance) and K planar layers, every
    part the identity at initialisation (L = 0, w.u = ROOT_OF_M)."""

    def __init__(self, images, latent_dim, layers, seed=0):
        super().__init__(name="local_flow")
        d = latent_dim
        self.mask = tf.constant(np.tril(np.ones((d, d), np.float32), -1))
        w = tf.random.stateless_normal([images, layers, d], [seed, 1], stddev=1.0 / math.sqrt(d))
        self.lower = tf.Variable(tf.zeros([images, d, d]), name="lower")
        self.w = tf.Variable(w, name="w")
        self.u = tf.Variable(ROOT_OF_M * w / tf.reduce_sum(w * w, -1, keepdims=True), name="u")
        self.b = tf.Variable(tf.zeros([images, layers]), name="b")
        self.planar_layers = layers

    def __call__(self, z):
        """f(z) and log|det df/dz| [S, N] for z [S, N, D]."""
        z = z + tf.einsum("nij,snj->sni", self.lower * self.mask, z)
        log_det = tf.zeros(tf.shape(z)[:2])
        for k in range(self.planar_layers):
            z, step = planar(z, self.u[:, k], self.w[:, k], self.b[:, k])
            log_det += step
        return z, log_det

    @property
    def per_image(self):
        return [self.lower, self.w, self.u, self.b]


class LocalPosterior:
    """q(z) per image: the model's posterior at free parameters [N, params_size] (initialised at
    the encoder's output), optionally followed by a `LocalFlow`."""

    def __init__(self, model, params, flow_layers=None, seed=0):
        self.posterior = model.posterior
        self.params = tf.Variable(params, name="params")
        images, latent_dim = params.shape[0], model.code_shape[0]
        self.flow = None if flow_layers is None else LocalFlow(images, latent_dim, flow_layers, seed)
        self.compiled = {}

    def weights(self, model, x):
        """`log_weights` at these images as one compiled function of (samples, seed), traced once
        for the convergence checks and the final estimates alike."""
        key = (id(model), id(x))
        if key not in self.compiled:
            self.compiled[key] = tf.function(
                lambda samples, seed: log_weights(model, x, self, samples, seed),
                input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.int32)])
        return self.compiled[key]

    @property
    def variables(self):
        return [self.params] + ([] if self.flow is None else self.flow.per_image)

    def draws(self, samples, seed):
        """`samples` reparameterized draws z [S, N, D] and log q(z) [S, N]."""
        q, z = self.posterior.draws(self.params, samples, seed)
        log_q = q.log_prob(z)
        if self.flow is not None:
            z, log_det = self.flow(z)
            log_q -= log_det
        return z, log_q


def log_weights(model, x, local, samples, seed):
    """log p(x, z) - log q(z) at `samples` draws [S, N]: the ELBO's integrand and the importance weights."""
    z, log_q = local.draws(samples, seed)
    return model.log_joint(x, z) - log_q


def check(model, examples):
    """Refuse, in one line and before any computation, a model whose q(z|x) cannot be optimized per image."""
    if not examples or examples < 1:
        raise ZooError("--gaps N: N must be a positive number of test images (--gap-flow needs it too)")
    reason = model.local_inference_refusal
    if reason:
        raise ZooError(f"--gaps: {reason}")


def optimize(model, x, local, settings, say=None, label="q*"):
    """Adam on every image's ELBO at once until each converges (the module's test) or
    `max_steps`; a converged image's parameters stop moving. Returns what it took."""
    seed = tf.constant([settings.seed, 7], tf.int32)
    check_seed = tf.constant([settings.seed, 11], tf.int32)
    variables = local.variables
    moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    frozen = tf.Variable(tf.zeros([x.shape[0]], tf.bool))

    @tf.function
    def step(i):
        """One Adam step (Kingma and Ba 2015; written out: it traces in half the time of Keras')."""
        with tf.GradientTape() as tape:
            loss = -tf.reduce_sum(tf.reduce_mean(
                log_weights(model, x, local, settings.draws, tf.random.experimental.stateless_fold_in(seed, i)), 0))
        t = tf.cast(i + 1, tf.float32)
        rate = settings.learning_rate * tf.sqrt(1.0 - ADAM_BETA2**t) / (1.0 - ADAM_BETA1**t)
        for variable, gradient, (m, v) in zip(variables, tape.gradient(loss, variables), moments):
            m.assign(ADAM_BETA1 * m + (1.0 - ADAM_BETA1) * gradient)
            v.assign(ADAM_BETA2 * v + (1.0 - ADAM_BETA2) * gradient * gradient)
            rows = tf.reshape(frozen, [-1] + [1] * (variable.shape.rank - 1))
            variable.assign(tf.where(rows, variable, variable - rate * m / (tf.sqrt(v) + ADAM_EPSILON)))

    weights = local.weights(model, x)

    def fixed_elbo():
        return weights(tf.constant(settings.check_draws), check_seed).numpy().mean(axis=0)

    start, history, steps = time.perf_counter(), [fixed_elbo()], 0
    initial = float(history[0].mean())
    while steps < settings.max_steps and not frozen.numpy().all():
        for _ in range(settings.window):
            step(tf.constant(steps))
            steps += 1
        history.append(np.maximum(fixed_elbo(), history[-1]))  # the best so far
        if len(history) > settings.patience:
            risen = history[-1] - history[-1 - settings.patience]
            frozen.assign(frozen.numpy() | (risen < settings.tolerance))
        if say:
            say(f"  {label}: step {steps}, mean ELBO on fixed draws {history[-1].mean():.2f} "
                f"(from {initial:.2f}), {int(frozen.numpy().sum())}/{len(frozen.numpy())} images converged, "
                f"{time.perf_counter() - start:.0f} s", flush=True)
    converged = int(frozen.numpy().sum())
    return {"steps": steps, "converged": converged, "all_converged": converged == x.shape[0],
            "seconds": round(time.perf_counter() - start, 1)}


def estimates(model, x, local, settings):
    """Per image, from `elbo_draws` draws (seeded alike for every proposal): the ELBO (the mean
    log weight) and log p(x) (the importance-sampled bound, log mean exp), numpy [N] each."""
    seed, weights = tf.constant([settings.seed, 13], tf.int32), local.weights(model, x)
    total, log_sum, chunks = 0.0, -np.inf, -(-settings.elbo_draws // settings.chunk)
    for i in range(chunks):
        chunk = min(settings.chunk, settings.elbo_draws - i * settings.chunk)
        w = weights(tf.constant(chunk), tf.random.experimental.stateless_fold_in(seed, i)).numpy()
        total = total + w.sum(axis=0)
        log_sum = np.logaddexp(log_sum, np.logaddexp.reduce(w, axis=0))
    return {"elbo": total / settings.elbo_draws, "log_likelihood": log_sum - math.log(settings.elbo_draws)}


def mean_and_stderr(values):
    values = np.asarray(values, np.float64)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
    return float(values.mean()), stderr


def measure(model, images, flow=False, settings=None, say=None):
    """The inference gaps of `images` (numpy [N, H, W, C]): the entry `zoo evaluate --gaps`
    writes under "inference_gaps", figures in nats per image with standard errors over images."""
    settings = settings or Settings()
    check(model, len(images))
    x = tf.constant(images, tf.float32)
    params = model.posterior_params(x)
    start = time.perf_counter()
    encoder_q = LocalPosterior(model, params)
    family_q = LocalPosterior(model, params)
    runs = {"family": optimize(model, x, family_q, settings, say, "q* (same family)")}
    scored = {"encoder": estimates(model, x, encoder_q, settings), "family": estimates(model, x, family_q, settings)}
    if flow:
        flow_q = LocalPosterior(model, params, flow_layers=settings.planar_layers, seed=settings.seed)
        runs["flow"] = optimize(model, x, flow_q, settings, say, "q*_flow")
        scored["flow"] = estimates(model, x, flow_q, settings)
    best = "flow" if flow else "family"
    log_px = scored[best]["log_likelihood"]
    per_image = {
        "log_likelihood": log_px,
        "elbo_encoder": scored["encoder"]["elbo"],
        "elbo_optimized": scored["family"]["elbo"],
        "approximation_gap": log_px - scored["family"]["elbo"],
        "amortization_gap": scored["family"]["elbo"] - scored["encoder"]["elbo"],
        "inference_gap": log_px - scored["encoder"]["elbo"],
        "evaluate_gap": scored["encoder"]["log_likelihood"] - scored["encoder"]["elbo"],
        "log_likelihood_encoder_proposal": scored["encoder"]["log_likelihood"],
        "log_likelihood_optimized_proposal": scored["family"]["log_likelihood"],
    }
    if flow:
        per_image.update(elbo_flow=scored["flow"]["elbo"], flow_approximation_gap=log_px - scored["flow"]["elbo"])
    entry = {"images": len(images), "log_likelihood_proposal": "q*_flow" if flow else "q* (same family)",
             "posterior": type(model.posterior).__name__, "settings": dataclasses.asdict(settings),
             "optimization": runs}
    for name, values in per_image.items():
        entry[name], entry[f"{name}_stderr"] = mean_and_stderr(values)
    entry["per_image"] = {name: [round(float(v), 4) for v in values] for name, values in per_image.items()}
    entry["gap_sum_error"] = abs(entry["approximation_gap"] + entry["amortization_gap"] - entry["inference_gap"])
    entry["seconds"] = round(time.perf_counter() - start, 1)
    return entry


def report(entry):
    """A short table of the gaps."""
    def cell(name):
        return f"{entry[name]:8.2f} +- {entry[name + '_stderr'] or 0:.2f}"

    k = entry["settings"]["elbo_draws"]
    lines = [f"inference gaps of {entry['images']} images ({entry['posterior']}; nats, +- standard error over images; "
             f"{k} draws each, log p(x) importance-sampled from {entry['log_likelihood_proposal']}):",
             f"  log p(x)           {cell('log_likelihood')}",
             f"  ELBO[q encoder]    {cell('elbo_encoder')}",
             f"  ELBO[q* family]    {cell('elbo_optimized')}"]
    if "elbo_flow" in entry:
        lines.append(f"  ELBO[q* flow]      {cell('elbo_flow')}")
    lines += [f"  approximation gap  {cell('approximation_gap')}",
              f"  amortization gap   {cell('amortization_gap')}"]
    if "flow_approximation_gap" in entry:
        lines.append(f"  approximation gap of q*_flow {cell('flow_approximation_gap')}")
    lines.append(f"  sum {entry['inference_gap']:.2f} = log p(x) - ELBO[q encoder]; zoo evaluate's gap on these images "
                 f"(log p(x) from the encoder's q) {entry['evaluate_gap']:.2f}")
    lines.append("  optimization: " + "; ".join(
        f"{name} {run['steps']} steps, {run['converged']}/{entry['images']} converged, {run['seconds']:.0f} s"
        for name, run in entry["optimization"].items()))
    return "\n".join(lines)
