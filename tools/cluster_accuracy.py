"""How well a model's categorical code sorts the test images by class (JointVAE's discrete
latent, docs/joint_vae.md): each category of the code mapped to the most frequent label among
the test images it holds; the share of test images whose category's label is theirs.

    python tools/cluster_accuracy.py saved_models/mnist_mlp_joint_vae/1 --data-dir ../shared/data/mnist
"""

import argparse

import numpy as np


def cluster_accuracy(categories, labels):
    """The share of examples whose category's most frequent label is their own."""
    categories, labels = np.asarray(categories), np.asarray(labels)
    return sum(np.bincount(labels[categories == c]).max() for c in np.unique(categories)) / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="an export's version folder of a model with a joint posterior")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist", help="a dataset with IDX files and labels (default mnist)")
    args = parser.parse_args()

    import zoo
    from zoo.data import DATASETS, eval_images

    model = zoo.VAE.from_preset(args.export)
    test = DATASETS.get(args.dataset).load("test", args.data_dir)
    codes = model.embed(eval_images(test, binarize=True))  # binarized once with seed 0, as `zoo train` tests
    categories = codes[:, model.posterior.latent_dim:].argmax(-1)
    print(f"categories used: {len(np.unique(categories))} of {model.posterior.categories}; cluster accuracy "
          f"{cluster_accuracy(categories, test.labels):.4f} on {len(test.labels)} test images")


if __name__ == "__main__":
    main()
