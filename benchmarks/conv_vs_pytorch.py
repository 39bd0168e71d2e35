"""The zoo's `mnist_conv_bernoulli` recipe (stride-2 convolutions 32, 64; 16 latents;
Bernoulli pixels) through `model.fit` against the same network in PyTorch, in one run.

    python benchmarks/conv_vs_pytorch.py [--ablation]
"""

from harness import run
from torch_reference import ConvVAE

if __name__ == "__main__":
    run("mnist_conv_bernoulli", ConvVAE(filters=(32, 64), latent=16), "Conv VAE (32, 64), 16 latents: zoo vs PyTorch")
