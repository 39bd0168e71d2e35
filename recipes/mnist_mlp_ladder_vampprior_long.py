"""The two-layer ladder VAE with a VampPrior (`mnist_mlp_ladder_vampprior`), trained 1,500
epochs with a cosine-decayed learning rate, for the zoo's best MNIST log-likelihood.

The blocks are the shorter recipe's; only the schedule differs: 1,500 epochs instead of 400,
Adam's rate decayed from 1e-3 to 0 along a cosine (`learning_rate_decay="cosine"`). Why this
path, and what each choice bought: docs/deeper_models.md (its block table).

Run:      zoo train mnist_mlp_ladder_vampprior_long --data-dir ../shared/data/mnist --workdir ~/runs/ladder_long
          (hours on 2 CPU cores: the workdir keeps a backup every epoch, so the same command
          resumes a killed run)
Measured: not yet (the run is in progress).
"""

import dataclasses

from recipes.mnist_mlp_ladder_vampprior import RECIPE as SHORTER

RECIPE = dataclasses.replace(
    SHORTER,
    name="mnist_mlp_ladder_vampprior_long",
    description="mnist_mlp_ladder_vampprior trained 1,500 epochs, learning rate decayed along a cosine",
    train=dataclasses.replace(SHORTER.train, epochs=1500, learning_rate_decay="cosine"),
)
