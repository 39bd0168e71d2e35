"""The tighter bounds (IWAE, MIWAE, PIWAE, CIWAE) and the capacity penalty in plain numpy
loops, from their papers' definitions: shared by tests/test_tighter_bounds.py and
tests/test_combinations.py's `hand_objective`."""

import math

import numpy as np


def log_mean_exp(values):
    """log (1/K) sum_k exp(v_k), one value at a time."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))


def grouped_bound(log_w, groups):
    """(1/M) sum_m log (1/K) sum_k w_mk per example, draws s = m * K + k of log_w [S, B]."""
    draws, batch = log_w.shape
    per_group = draws // groups
    bounds = []
    for b in range(batch):
        total = 0.0
        for m in range(groups):
            total += log_mean_exp([log_w[m * per_group + k, b] for k in range(per_group)])
        bounds.append(total / groups)
    return np.array(bounds)


def losses_by_hand(objective, log_w):
    """{"loss"} (and PIWAE's "encoder_loss") per example of an importance-weighted objective
    (`zoo.objectives`' IWAE or a variant) from the log weights [S, B]."""
    kind = type(objective).__name__
    draws = log_w.shape[0]
    iwae = -grouped_bound(log_w, 1)  # all S draws in one bound
    if kind == "IWAE":
        return {"loss": iwae}
    if kind == "MIWAE":
        return {"loss": -grouped_bound(log_w, objective.M)}
    if kind == "PIWAE":
        return {"loss": iwae, "encoder_loss": -grouped_bound(log_w, objective.M)}
    if kind == "CIWAE":
        elbo = np.array([sum(log_w[:, b]) / draws for b in range(log_w.shape[1])])
        return {"loss": -(objective.elbo_weight * elbo + (1 - objective.elbo_weight) * -iwae)}
    raise ValueError(kind)


def capacity_at(epoch, c_min, c_max, capacity_epochs):
    """Burgess et al.'s C after `epoch` epochs: linear from c_min to c_max, then c_max."""
    if capacity_epochs == 0 or epoch >= capacity_epochs:
        return c_max
    return c_min + (c_max - c_min) * epoch / capacity_epochs


# Tiny settings of the objectives (tests/test_combinations.py, tests/driver_cases.py): two draws
# each, as few as IWAE's three (each draw is a decoder pass); tests/test_tighter_bounds.py
# checks the groupings with K > 1.
TINY_ARGUMENTS = {"miwae": {"M": 2, "K": 1}, "piwae": {"M": 2, "K": 1}, "ciwae": {"samples": 2},
                  # capacities held at 1 nat from the start: with a cost of a few nats (MS-SSIM, log-cosh)
                  # a capacity rising during the 8 epochs moves the loss's target faster than training
                  # follows it, and the loss rises (the schedules have tests of their own)
                  "capacity": {"gamma": 10.0, "c_max": 1.0, "capacity_epochs": 0},
                  "joint_capacity": {"gamma": 10.0, "c_max": 1.0, "capacity_epochs": 0, "discrete_gamma": 10.0,
                                     "discrete_c_max": 1.0}}
