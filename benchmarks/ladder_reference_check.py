"""Checks that the PyTorch reference of the ladder benchmark computes the zoo's model: the
zoo's initial weights copied into `torch_reference.LadderVAE`, the same binary images and
the same draw of z (the zoo's own, as standard-normal noise) give the same -log p(x|z) and
KL estimate log q(z|x) - log p(z) per image, to float32 rounding.

    python benchmarks/ladder_reference_check.py [--torch-python PATH]

The zoo side runs here; the reference in its own process, as in the benchmark.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

TOLERANCE = 1e-3  # nats per image; both sides' terms are sums of about 800 float32 numbers


def zoo_side(arrays, images=16, seed=0):
    """The benchmark's zoo model, one draw for `images` random binary images: the images, the
    weights (Dense layers in order, [in, out] kernels), the noise behind the draw and the terms."""
    import tensorflow as tf

    from harness import RECIPES, build, keras, zoo_overrides
    from ladder_vs_pytorch import OVERRIDES, RECIPE
    from zoo.layers.priors import unwrap

    defaults = argparse.Namespace(batch_size=128, kl_warmup_epochs=None, seed=None)  # the benchmark's
    recipe = RECIPES.get(RECIPE).with_overrides(zoo_overrides(defaults, OVERRIDES))
    keras.utils.set_random_seed(seed)
    model = build(recipe.model, name=recipe.name)
    x = (np.random.default_rng(seed).uniform(size=(images, *model.image_shape)) < 0.3).astype("float32")
    q = unwrap(model.encode(x, training=True))
    z = q.sample(seed=tf.constant([seed, 1]))
    z1, z2 = q.codes(z)
    top, bottom = q.top.distribution, q.layer(0, z2).distribution
    weights = {}
    for name, network in (("encoder", model.encoder), ("decoder", model.decoder),
                          ("top_down", model.posterior.top_down[0])):
        dense = [layer for layer in network.layers if layer.weights]
        for index, layer in enumerate(dense):
            weights[f"{name}.{index}.kernel"], weights[f"{name}.{index}.bias"] = (w.numpy() for w in layer.weights)
    np.savez(arrays, x=x, noise2=((z2 - top.loc) / top.scale).numpy(),
             noise1=((z1 - bottom.loc) / bottom.scale).numpy(), reconstruction=-model.decode(z).log_prob(x).numpy(), kl=model.prior.kl(q, z[None]).numpy(), **weights)


def torch_side(arrays):
    """The reference's terms at the zoo's weights and draw; prints the largest differences."""
    from torch_reference import LadderVAE, as_torch_images  # without torch: one line saying how to install it

    import torch

    saved = np.load(arrays)
    model = LadderVAE()
    for name in ("encoder", "decoder", "top_down"):
        linear = [layer for layer in getattr(model, name) if isinstance(layer, torch.nn.Linear)]
        for index, layer in enumerate(linear):
            layer.weight.data = torch.from_numpy(saved[f"{name}.{index}.kernel"].T.copy())
            layer.bias.data = torch.from_numpy(saved[f"{name}.{index}.bias"])
    with torch.no_grad():
        terms = model.terms(torch.from_numpy(as_torch_images(saved["x"])),
                            noise=(torch.from_numpy(saved["noise2"]), torch.from_numpy(saved["noise1"])))
    worst = 0.0
    for label, value in zip(("reconstruction", "kl"), terms):
        difference = float(np.abs(value.numpy() - saved[label]).max())
        worst = max(worst, difference)
        print(f"{label}: zoo {saved[label].mean():.4f}, pytorch {float(value.mean()):.4f} nats per image "
              f"(mean of {len(saved['x'])}); largest difference {difference:.2e}")
    if worst > TOLERANCE:
        sys.exit(f"the reference is not the zoo's model: differences up to {worst:.2e} nats (tolerance {TOLERANCE})")
    print(f"the same model (differences at most {TOLERANCE} nats)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", default=sys.executable, help="the Python that runs the reference")
    parser.add_argument("--torch-side", metavar="ARRAYS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_side:
        return torch_side(args.torch_side)
    with tempfile.TemporaryDirectory() as folder:
        arrays = os.path.join(folder, "ladder.npz")
        zoo_side(arrays)
        done = subprocess.run([args.torch_python, os.path.abspath(__file__), "--torch-side", arrays])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
