"""What an export refuses, before anything is written: a model that is not worth serving.

Refused unless forced (`export(..., force=True)`, `zoo train --force-export`): weights that
are NaN or Inf, a test figure that is not finite, and a test -ELBO worse than the trivial
baseline (`zoo.export.baseline`) when the caller's metrics hold both. A NaN model would
otherwise export and answer NaN to `elbo` while `sample` returns believable images.
"""

import math

import numpy as np

from zoo.errors import ZooError
from zoo.export.baseline import BASELINE

FIGURE = "test_neg_elbo"
FORCE = "export(..., force=True) or zoo train --force-export exports it anyway"


class ExportRefused(ZooError):
    """The model or its figures fail the gate; nothing was written."""


def check_exportable(model, metrics=None):
    """Raise `ExportRefused` (one line) if `model` or its `metrics` fail the gate."""
    problem = non_finite_weight(model) or figure_problem(metrics or {})
    if problem:
        raise ExportRefused(f"not exported: {problem}; nothing was written ({FORCE})")


def non_finite_weight(model):
    for variable in model.variables:
        if not np.all(np.isfinite(variable.numpy())):
            return f"the weight {variable.name} holds NaN or Inf"
    return None


def figure_problem(metrics):
    for name, value in metrics.items():
        if name.startswith("test_") and isinstance(value, float) and not math.isfinite(value):
            return f"its {name} is {value}"
    figure, baseline = metrics.get(FIGURE), metrics.get(BASELINE)
    if isinstance(figure, (int, float)) and isinstance(baseline, (int, float)) and figure > baseline:
        return (f"its test -ELBO {figure:.6g} nats is worse than the trivial baseline's {baseline:.6g} "
                "(each pixel's own marginal, no latent)")
    return None
