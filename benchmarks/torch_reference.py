"""PyTorch reference VAEs for the benchmarks: the model of pytorch/examples `vae/main.py`
(784-400-20, ReLU, Bernoulli decoder) and a convolutional one shaped like the zoo's conv
recipe. Plain eager PyTorch, the way people write it, trained on the same arrays as the zoo.

It runs in its own process, started by benchmarks/harness.py, so PyTorch and TensorFlow
never share one (in one process a CUDA build of torch crashed next to TensorFlow):

    python benchmarks/torch_reference.py mlp ARRAYS.npz [--epochs 2] [--batch-size 128] [--seed 0]

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


def neg_elbo(model, x, std_param):
    """Per-example -ELBO: Bernoulli reconstruction + analytic Gaussian KL, one z draw."""
    mu, raw = model.encode(x)
    std = F.softplus(raw) + 1e-5 if std_param == "softplus" else torch.exp(0.5 * raw)
    z = mu + std * torch.randn_like(std)
    logits = model.decode(z)
    reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
    kl = (0.5 * (mu ** 2 + std ** 2 - 1) - torch.log(std)).sum(1)
    return reconstruction + kl


def train(model, train_images, test_images, epochs, batch_size, learning_rate, seed, std_param="exp",
          on_epoch=None):
    """Adam on dynamically binarized `train_images` ([N, 1, H, W] floats in [0, 1]); returns
    (seconds per epoch, test -ELBO on the fixed binary `test_images`)."""
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    data = torch.from_numpy(train_images)
    steps = len(data) // batch_size
    seconds = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(data))
        for step in range(steps):
            x = torch.bernoulli(data[order[step * batch_size:(step + 1) * batch_size]])
            loss = neg_elbo(model, x, std_param).mean()
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


MODELS = {"mlp": lambda: MLPVAE(hidden=400, latent=20), "conv": lambda: ConvVAE(filters=(32, 64), latent=16)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("arrays", help=".npz with `train` and `test` images, [N, H, W, 1] float32")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    with np.load(args.arrays) as arrays:
        train_images, test_images = as_torch_images(arrays["train"]), as_torch_images(arrays["test"])

    def report(epoch, rate, loss):
        print(f"  pytorch epoch {epoch + 1}: {rate:,.0f} images/s, loss {loss:.2f}", file=sys.stderr, flush=True)

    seconds, neg_elbo = train(MODELS[args.model](), train_images, test_images, args.epochs, args.batch_size,
                              1e-3, args.seed, on_epoch=report)
    print(json.dumps({"torch": torch.__version__, "seconds": seconds, "neg_elbo": neg_elbo}))


if __name__ == "__main__":
    main()
