"""`zoo evaluate` of a model without a likelihood (`scoring = "reconstruction_error"`): how far
its reconstructions are from the test images, the only figure such a model has."""

import math
import time

import numpy as np


def score(model, recipe, images, labels=None, num_samples=None, batch_size=50, progress=False):
    """The mean squared error per pixel of `model.reconstruct` on `images`, with its standard
    error over images, and the mean absolute error (no bound: nothing is importance-sampled)."""
    start = time.perf_counter()
    squared, absolute = [], []
    for first in range(0, len(images), batch_size):
        batch = images[first:first + batch_size]
        error = np.asarray(model.reconstruct(batch)) - batch
        squared.append((error ** 2).reshape(len(batch), -1).mean(axis=1))
        absolute.append(np.abs(error).reshape(len(batch), -1).mean(axis=1))
    squared, absolute = np.concatenate(squared), np.concatenate(absolute)
    return {"reconstruction_mse": float(squared.mean()),
            "reconstruction_mse_stderr": float(squared.std(ddof=1) / math.sqrt(len(squared))) if len(squared) > 1
            else None,
            "reconstruction_mae": float(absolute.mean()),
            "density": "none (the model has no likelihood)", "dataset": recipe.train.dataset,
            "examples": len(images), "seconds": round(time.perf_counter() - start, 1)}


def report(result):
    stderr = result["reconstruction_mse_stderr"] or 0
    return (f"reconstruction error: mean squared {result['reconstruction_mse']:.5f} per pixel (s.e. {stderr:.5f} over "
            f"{result['examples']} images), mean absolute {result['reconstruction_mae']:.4f}; no likelihood, so no "
            f"bound on log p(x); {result['seconds']:.0f} s")
