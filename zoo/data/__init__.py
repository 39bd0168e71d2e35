"""Datasets: where they come from (`sources`), how IDX files are read (`idx`), and the
tf.data pipelines that feed training and evaluation (`pipeline`)."""

from zoo.data.idx import read_idx
from zoo.data.pipeline import eval_dataset, eval_images, train_dataset
from zoo.data.resident import ResidentImages
from zoo.data.sources import DATASETS, Split

__all__ = ["DATASETS", "ResidentImages", "Split", "eval_dataset", "eval_images", "read_idx", "train_dataset"]
