"""The classic MNIST MLP VAE (784-400-20, Bernoulli, batch 128, Adam 1e-3): the zoo's
`mnist_mlp_bernoulli` recipe through `model.fit` against PyTorch, in one run
(PyTorch in its own process).

    python benchmarks/mlp_vs_pytorch.py [--ablation]
"""

from harness import run

if __name__ == "__main__":
    run("mnist_mlp_bernoulli", "mlp", "MLP VAE 784-400-20: zoo vs PyTorch")
