"""JointVAE (Dupont 2018) with mnist_mlp_bernoulli's networks: 10 Gaussian latents and one
10-way categorical, each part's KL pushed towards its own capacity.

MLP 784-400 encoder and decoder, Bernoulli pixels, dynamically binarized MNIST. Dupont's MNIST
settings (Schlumberger/joint-vae `main.py`, `trained_models/mnist/specs.json`; PyTorch-VAE's
`joint_vae.py` is the same loss on CelebA):
latents {cont: 10, disc: [10]}, both capacities 0 -> 5 nats over 25,000 steps with gamma 30,
temperature 0.67, Adam 5e-4, batch 64: here 27 epochs of 938 steps stand in for the 25,000
steps (the zoo counts epochs) and the run is 30 epochs, not his 100. His networks are convolutional.

Run:      zoo train mnist_mlp_joint_vae --data-dir ../shared/data/mnist
Measured: 30 epochs on 2 shared cores, seed 0, 180 s: test -ELBO 128.35 nats (reconstruction
          121.04 + KL 7.30: 5 continuous + log 10 discrete, both capacities reached); the
          categorical code sorts the test digits with cluster accuracy 60.2% (each of the 10
          categories mapped to its most frequent label; docs/joint_vae.md).
"""

from zoo.config import Recipe, TrainConfig, VAEConfig

RECIPE = Recipe(
    name="mnist_mlp_joint_vae",
    description="MLP 784-400 JointVAE: 10 Gaussian latents and a 10-way categorical, capacities 0 -> 5 nats each "
                "(gamma 30), MNIST",
    model=VAEConfig(network={"type": "mlp", "hidden_units": (400,)},
                    posterior={"type": "joint", "latent_dim": 10, "categories": 10, "temperature": 0.67},
                    prior={"type": "joint"}, likelihood={"type": "bernoulli"},
                    objective={"type": "joint_capacity", "gamma": 30.0, "c_max": 5.0, "discrete_gamma": 30.0,
                               "discrete_c_max": 5.0, "capacity_epochs": 27}),
    train=TrainConfig(dataset="mnist", binarization="dynamic", epochs=30, batch_size=64, learning_rate=5e-4),
    smoke={"epochs": 1, "hidden_units": (32,), "latent_dim": 4, "capacity_epochs": 1},
)
