"""The classic MNIST MLP VAE (784-400-20, Bernoulli, batch 128, Adam 1e-3): the zoo's
`mnist_mlp_bernoulli` recipe through `model.fit` against PyTorch, in one run.

    python benchmarks/mlp_vs_pytorch.py [--ablation]
"""

from harness import run
from torch_reference import MLPVAE

if __name__ == "__main__":
    run("mnist_mlp_bernoulli", MLPVAE(hidden=400, latent=20), "MLP VAE 784-400-20: zoo vs PyTorch")
