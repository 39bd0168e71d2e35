"""PyTorch reference VAEs for the benchmarks: the model of pytorch/examples `vae/main.py`
(784-400-20, ReLU, Bernoulli decoder), a convolutional one shaped like the zoo's conv
recipe, and the zoo's two-layer ladder VAE (`mnist_mlp_ladder_vampprior` with N(0, I) on
top). Plain eager PyTorch, the way people write it, trained on the same arrays as the zoo.

It runs in its own process, started by benchmarks/harness.py, so PyTorch and TensorFlow
never share one (in one process a CUDA build of torch crashed next to TensorFlow):

    python benchmarks/torch_reference.py mlp ARRAYS.npz [--epochs 2] [--batch-size 128] [--seed 0]
                                         [--kl-warmup-epochs 0] [--threads N]

ARRAYS.npz holds `train` (float32 [N, H, W, 1] in [0, 1], binarized afresh every epoch) and
`test` (the fixed binary test images). Progress goes to stderr; the result is one JSON
line on stdout: torch version, seconds per epoch, test -ELBO.
"""

import argparse
import json
import os
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as missing:  # one line, not a traceback: what to run
    sys.exit(f"the PyTorch reference cannot import {missing.name} in {sys.executable}; install it there (CPU build): "
             f"{sys.executable} -m pip install torch==2.13.0 numpy --index-url https://download.pytorch.org/whl/cpu")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


class MLPVAE(nn.Module):
    def __init__(self, hidden=400, latent=20, pixels=784):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(pixels, hidden), nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.fc3, self.fc4 = nn.Linear(latent, hidden), nn.Linear(hidden, pixels)

    def encode(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))  # logits


class ConvVAE(nn.Module):
    """Stride-2 3x3 convolutions with `filters` and their mirror, as the zoo's "conv" network."""

    def __init__(self, filters=(32, 64), latent=16, size=28):
        super().__init__()
        self.top, self.side = filters[-1], size // 2 ** len(filters)
        encoder, channels = [], 1
        for f in filters:
            encoder += [nn.Conv2d(channels, f, 3, stride=2, padding=1), nn.ReLU()]
            channels = f
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(self.top * self.side ** 2, 2 * latent))
        self.fc = nn.Linear(latent, self.top * self.side ** 2)
        decoder = []
        for f in reversed(filters):
            decoder += [nn.ConvTranspose2d(channels, f, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
            channels = f
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(channels, 1, 3, padding=1))

    def encode(self, x):
        return self.encoder(x).chunk(2, dim=1)

    def decode(self, z):
        h = F.relu(self.fc(z)).view(-1, self.top, self.side, self.side)
        return self.decoder(h).flatten(1)


MIN_STDDEV = 1e-5  # the zoo's floor under softplus scales


def log_normal(z, loc, scale):
    """log N(z; loc, diag(scale^2)) summed over the latents, less the constant 0.5 log(2 pi)
    per latent (it cancels in log q - log p)."""
    return (-0.5 * ((z - loc) / scale) ** 2 - torch.log(scale)).sum(1)


class LadderVAE(nn.Module):
    """The zoo's two-layer ladder VAE (`zoo/layers/ladder.py`) with N(0, I) over the top layer.

    The encoder MLP gives a bottom-up (loc, raw scale) for z1, then for z2; q(z2|x) is the top
    estimate, q(z1|x, z2) its precision-weighted product with p(z1|z2) from the top-down MLP
    at the drawn z2; the decoder sees [z1, z2]. The KL is the one-draw estimate
    log q(z1, z2|x) - log p(z1, z2), as the zoo computes it (no closed form below the top).
    Every layer starts as the zoo's does: zero biases (Keras'; PyTorch's U(+-1/sqrt(fan_in))
    biases trained this model to a test -ELBO about 20 nats lower in 2 epochs, so the same
    model must start the same way), kernels U(+-1/sqrt(fan_in)) in the encoder and decoder
    (the benchmark's `initializer="fan_in_uniform"`, PyTorch's default) and glorot uniform in
    the top-down MLP (the recipe's `initializer` does not reach it).
    """

    def __init__(self, hidden=300, latent=40, top_down_hidden=300, pixels=784):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                     nn.Linear(hidden, 4 * latent))
        self.top_down = nn.Sequential(nn.Linear(latent, top_down_hidden), nn.Tanh(),
                                      nn.Linear(top_down_hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(2 * latent, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                     nn.Linear(hidden, pixels))
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.zeros_(layer.bias)
        for layer in self.top_down[0::2]:
            nn.init.xavier_uniform_(layer.weight)

    def terms(self, x, noise=None):
        """-log p(x|z) and log q(z|x) - log p(z) per example, at one draw z = [z1, z2]; `noise`
        (standard normals for z2, then for z1) fixes the draw (benchmarks/ladder_reference_check.py)."""
        noise2, noise1 = noise or (None, None)
        loc1, raw1, loc2, raw2 = self.encoder(x.flatten(1)).chunk(4, dim=1)
        scale1, scale2 = F.softplus(raw1) + MIN_STDDEV, F.softplus(raw2) + MIN_STDDEV
        z2 = loc2 + scale2 * (torch.randn_like(scale2) if noise2 is None else noise2)
        prior_loc, prior_raw = self.top_down(z2).chunk(2, dim=1)
        prior_scale = F.softplus(prior_raw) + MIN_STDDEV
        precision_q, precision_p = scale1 ** -2, prior_scale ** -2
        variance = 1.0 / (precision_q + precision_p)
        loc = (loc1 * precision_q + prior_loc * precision_p) * variance
        scale = torch.sqrt(variance)
        z1 = loc + scale * (torch.randn_like(scale) if noise1 is None else noise1)
        logits = self.decoder(torch.cat([z1, z2], dim=1))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
        kl = (log_normal(z1, loc, scale) + log_normal(z2, loc2, scale2)
              - log_normal(z1, prior_loc, prior_scale) + 0.5 * (z2 ** 2).sum(1))  # p(z2) = N(0, I)
        return reconstruction, kl


def gaussian_terms(model, x, std_param):
    """-log p(x|z) and the analytic KL(q(z|x) || N(0, I)) per example, at one z draw."""
    mu, raw = model.encode(x)
    std = F.softplus(raw) + MIN_STDDEV if std_param == "softplus" else torch.exp(0.5 * raw)
    z = mu + std * torch.randn_like(std)
    logits = model.decode(z)
    reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
    kl = (0.5 * (mu ** 2 + std ** 2 - 1) - torch.log(std)).sum(1)
    return reconstruction, kl


def neg_elbo(model, x, std_param, kl_weight=1.0):
    """Per-example loss: Bernoulli reconstruction + `kl_weight` * KL, one z draw (the -ELBO
    at weight 1). A model with its own `terms` (the ladder) computes both terms itself."""
    reconstruction, kl = model.terms(x) if hasattr(model, "terms") else gaussian_terms(model, x, std_param)
    return reconstruction + kl_weight * kl


def kl_weight(epoch, warmup_epochs):
    """The zoo's KL warm-up: weight epoch / warmup_epochs in 0-based epoch `epoch`, at most 1."""
    return min(1.0, epoch / warmup_epochs) if warmup_epochs else 1.0


def train(model, train_images, test_images, epochs, batch_size, learning_rate, seed, std_param="exp",
          on_epoch=None, warmup_epochs=0):
    """Adam on dynamically binarized `train_images` ([N, 1, H, W] floats in [0, 1]), the KL
    weighted as the zoo's warm-up does (`kl_weight`); returns (seconds per epoch, test -ELBO
    at KL weight 1 on the fixed binary `test_images`)."""
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    data = torch.from_numpy(train_images)
    steps = len(data) // batch_size
    seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(data))
        weight = kl_weight(epoch, warmup_epochs)
        for step in range(steps):
            x = torch.bernoulli(data[order[step * batch_size:(step + 1) * batch_size]])
            loss = neg_elbo(model, x, std_param, weight).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        if on_epoch:
            on_epoch(epoch, steps * batch_size / seconds[-1], loss.item())
    model.eval()
    with torch.no_grad():
        test = torch.from_numpy(test_images)
        values = torch.cat([neg_elbo(model, test[i:i + 500], std_param) for i in range(0, len(test), 500)])
    return seconds, float(values.mean())


def as_torch_images(images):
    """[N, H, W, 1] float32 (the zoo's layout) -> contiguous [N, 1, H, W]."""
    return np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)))


MODELS = {"mlp": lambda: MLPVAE(hidden=400, latent=20), "conv": lambda: ConvVAE(filters=(32, 64), latent=16),
          "ladder": lambda: LadderVAE(hidden=300, latent=40, top_down_hidden=300)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("arrays", help=".npz with `train` and `test` images, [N, H, W, 1] float32")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kl-warmup-epochs", type=int, default=0,
                        help="the zoo recipe's objective.warmup_epochs (0: KL weight 1 throughout)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch's threads (default: all cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with np.load(args.arrays) as arrays:
        train_images, test_images = as_torch_images(arrays["train"]), as_torch_images(arrays["test"])

    def report(epoch, rate, loss):
        print(f"  pytorch epoch {epoch + 1}: {rate:,.0f} images/s, loss {loss:.2f}", file=sys.stderr, flush=True)

    torch.manual_seed(args.seed)  # the initial weights too, so that a run repeats
    seconds, neg_elbo = train(MODELS[args.model](), train_images, test_images, args.epochs, args.batch_size,
                              1e-3, args.seed, on_epoch=report, warmup_epochs=args.kl_warmup_epochs)
    print(json.dumps({"torch": torch.__version__, "seconds": seconds, "neg_elbo": neg_elbo}))


if __name__ == "__main__":
    main()
