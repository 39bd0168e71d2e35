"""Datasets: where they come from (`sources` for the registered ones; `shapes`, drawn, and
`dsprites`, DeepMind's from TFDS, for those whose factors are known, both a `factor_grid`;
`folders`, `arrays` and `tfds_images` for the user's own, all reached through `resolve`),
how IDX files are read (`idx`), the tf.data pipelines that feed training and evaluation
(`pipeline`), and what training is fed, resident or streamed (`training_data`)."""

from zoo.data.arrays import NpzArrays
from zoo.data.dsprites import Dsprites
from zoo.data.folders import ImageFolder
from zoo.data.idx import read_idx
from zoo.data.memory import memory_budget
from zoo.data.pipeline import eval_dataset, eval_images, train_dataset
from zoo.data.resident import ResidentImages
from zoo.data.resolve import resolve
from zoo.data.shapes import Shapes
from zoo.data.sources import DATASETS, Split
from zoo.data.tfds_images import TfdsImages

__all__ = ["DATASETS", "Dsprites", "ImageFolder", "NpzArrays", "ResidentImages", "Shapes", "Split", "TfdsImages", "eval_dataset",
           "eval_images", "memory_budget", "read_idx", "resolve", "train_dataset"]
