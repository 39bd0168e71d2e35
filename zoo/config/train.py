"""`TrainConfig`: how a recipe trains (data, schedule, optimizer), checked without TensorFlow."""

import dataclasses
from typing import Optional, Union

from zoo.checks import check_choice, check_count, check_number, parse_image_size
from zoo.errors import ConfigError

BINARIZATIONS = ("dynamic", "static", "none")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
LEARNING_RATE_DECAYS = ("none", "cosine")
DATASET_FORMS = ("folder", "npz", "tfds:NAME")  # besides the registered names (`zoo.data.DATASETS`)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a recipe trains: data, schedule and optimizer.

    Args:
        dataset: a name in `zoo.data.DATASETS`, "folder" (a folder of image files given as
            --data-dir), "npz" (a .npz file) or "tfds:NAME" (any TFDS image dataset).
        image_size: (height, width) to resize images to (folders, npz, TFDS); None keeps them.
        channels: 1 or 3 to convert images to (None keeps them).
        binarization: "dynamic" (pixels resampled as Bernoulli draws every epoch, the
            usual choice for Bernoulli models), "static" (sampled once) or "none" (grey
            levels in [0, 1], for Gaussian models). Unless "none", the test set is binarized
            once with a fixed seed, so test numbers are comparable between runs.
        epochs, batch_size, learning_rate: Adam on the mean per-example loss.
        learning_rate_decay: "none" (constant), or "cosine": from `learning_rate` down to 0
            over the run's steps (Loshchilov and Hutter 2017), for long runs that should
            settle at the end; a resumed run goes on from its step.
        jit_compile: compile the training loop with XLA (about 2x faster on CPU).
        steps_per_execution: training steps run per call of the compiled loop, with no
            Python between them (Keras reports progress after each call).
        precision: "float32", or "mixed_float16" (GPU) / "mixed_bfloat16" (TPU, recent
            CPUs) to run the networks in 16 bits; distribution layers stay float32.
        seed: seeds weights, shuffling, binarization and latent samples.
        log_likelihood_samples: importance samples per example in the exported
            `log_likelihood` signature (5000 as in the IWAE paper's evaluation).
        labelled: for the semi-supervised M2, how many training labels it may use (a
            balanced subset chosen with `seed`; the other labels are hidden); None: all.
        labelled_batch_size: labelled images added to each M2 batch of `batch_size`
            unlabelled ones, so a few labels are seen at every step.
        labelled_shift: M2's labelled images are moved by up to this many pixels at random
            at every step (augmentation, not in Kingma et al.: it regularizes q(y|x) on few
            labels); 0: none.

    The dataset's name is checked against the registered datasets by `Recipe.check` (the
    registry imports TensorFlow); everything else here, when the config is made.
    """

    dataset: str = "mnist"
    image_size: Union[tuple, str, None] = None  # (64, 64) or "64x64"
    channels: Optional[int] = None
    binarization: str = "dynamic"
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    learning_rate_decay: str = "none"
    jit_compile: bool = True
    steps_per_execution: int = 100
    precision: str = "float32"
    seed: int = 0
    log_likelihood_samples: int = 5000
    labelled: Optional[int] = None
    labelled_batch_size: int = 100
    labelled_shift: int = 0

    def __post_init__(self):
        if not isinstance(self.dataset, str) or not self.dataset or self.dataset == "tfds:":
            raise ConfigError("dataset", self.dataset, "a dataset name, " + ", ".join(DATASET_FORMS))
        object.__setattr__(self, "image_size", parse_image_size(self.image_size))
        if self.channels not in (None, 1, 3):
            raise ConfigError("channels", self.channels, "1 (grey) or 3 (RGB)")
        check_choice("binarization", self.binarization, BINARIZATIONS)
        check_count("epochs", self.epochs)
        check_count("batch_size", self.batch_size)
        check_number("learning_rate", self.learning_rate, positive=True)
        check_choice("learning_rate_decay", self.learning_rate_decay, LEARNING_RATE_DECAYS)
        if not isinstance(self.jit_compile, bool):
            raise ConfigError("jit_compile", self.jit_compile, "true or false")
        check_count("steps_per_execution", self.steps_per_execution)
        check_choice("precision", self.precision, PRECISIONS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", self.seed, "an integer >= 0")
        check_count("log_likelihood_samples", self.log_likelihood_samples)
        if self.labelled is not None:
            check_count("labelled", self.labelled)
        check_count("labelled_batch_size", self.labelled_batch_size)
        check_count("labelled_shift", self.labelled_shift, minimum=0)

    @classmethod
    def from_dict(cls, config):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})


def check_dataset(name):
    """Refuse a dataset that is neither registered nor one of the forms (imports the data registry)."""
    from zoo.data import DATASETS

    if name in DATASETS or name in ("folder", "npz") or (name.startswith("tfds:") and name[5:]):
        return
    raise ConfigError("dataset", name, ", ".join(DATASETS.names()) + ", " + ", ".join(DATASET_FORMS))
