"""The zoo's `mnist_conv_bernoulli` recipe (stride-2 convolutions 32, 64; 16 latents;
Bernoulli pixels) through `model.fit` against the same network in PyTorch, in one run
(PyTorch in its own process).

    python benchmarks/conv_vs_pytorch.py [--ablation]
"""

from harness import run

if __name__ == "__main__":
    run("mnist_conv_bernoulli", "conv", "Conv VAE (32, 64), 16 latents: zoo vs PyTorch")
