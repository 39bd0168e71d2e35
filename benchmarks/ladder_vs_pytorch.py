"""The zoo's two-layer model: `mnist_mlp_ladder_vampprior` (ladder VAE, 40 + 40 latents, MLPs
of 300 tanh units) with N(0, I) over the top layer instead of the VampPrior, and no KL
warm-up, through `model.fit` against the same model in PyTorch, in one run (PyTorch in its
own process).

    python benchmarks/ladder_vs_pytorch.py [--ablation] [--kl-warmup-epochs 20]

The recipe's 20-epoch warm-up would train both sides at KL weights 0 and 0.05 for the two
epochs and score them at 1; `--kl-warmup-epochs 20` runs that instead (both sides follow it).
`benchmarks/ladder_reference_check.py` checks that the reference computes the zoo's model.
"""

from harness import run

RECIPE = "mnist_mlp_ladder_vampprior"
# The hidden widths are the recipe's, named so that the reference (torch_reference.LadderVAE) stays its copy.
OVERRIDES = {"network.hidden_units": (300, 300), "posterior.hidden_units": (300,), "prior.top": "standard_normal",
             "warmup_epochs": 0}

if __name__ == "__main__":
    run(RECIPE, "ladder", "Ladder VAE 784-300-300, 40 + 40 latents, N(0, I) on top: zoo vs PyTorch", OVERRIDES)
