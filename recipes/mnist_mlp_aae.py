"""The adversarial autoencoder (Makhzani et al. 2015) with the networks of mnist_mlp_bernoulli:
MLP 784-400-20, Gaussian encoder, Bernoulli decoder, MNIST dynamically binarized, batch 100.

A discriminator on z (one hidden layer of 256 ReLU units, pythae's `Discriminator_MLP`; its
own Adam 1e-4, betas 0.5 and 0.9) tells draws of N(0, I) from codes of q(z|x); the autoencoder minimises
0.5 * -log p(x|z) + 0.5 * -log D(z), pythae's `Adversarial_AE` weights, with one
discriminator step per autoencoder step (the objective charges no KL: beta 0). It has no
bound on log p(x): `zoo evaluate` reports its reconstruction error, and its export serves
the generative signatures only (reconstruct, encode, decode, sample). Figures: docs/adversarial.md.

Run:      zoo train mnist_mlp_aae --data-dir ../shared/data/mnist
Measured: 30 epochs (benchmarks/same_budget.py, seed 0): test reconstruction -log p(x|z)
          58.91 nats, reconstruction MSE 0.0228 per pixel, prior samples FID 175.5 /
          precision 0.52 / recall 0.68 (domain features); 1,315 s on 2 loaded CPU cores.
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_aae",
    description="MLP 784-400-20 adversarial autoencoder (discriminator on z), Bernoulli pixels, dynamically binarized MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "diagonal_normal", "latent_dim": 20}, likelihood={"type": "bernoulli"},
                    objective={"type": "elbo", "beta": 0.0}, adversary={"type": "prior_matching"}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=100, batch_size=100),
    smoke={"epochs": 1, "network.hidden_units": (32,), "latent_dim": 4, "adversary.hidden_units": (8,)},
)
