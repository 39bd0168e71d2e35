"""Every registered block round-trips `get_config`/`from_config` and Keras' serialization
(keras-hub's `run_serialization_test`, tests/driver.py), so a model composed of them reloads
as it was. The models holding each block are saved and reloaded by the driver's model cases
(tests/test_driver_coverage.py)."""

import pytest
import tf_keras as keras

from driver import run_block_test
from driver_cases import BLOCK_ARGUMENTS, registered_blocks
from zoo.layers.aggregate_posterior import AggregatePosterior

LAYER_BLOCKS = [(role, name, cls) for role, name, cls in registered_blocks() if issubclass(cls, keras.layers.Layer)]


@pytest.mark.parametrize("role, name, cls", LAYER_BLOCKS, ids=[f"{r}-{n}" for r, n, _ in LAYER_BLOCKS])
def test_block_config_round_trip(role, name, cls):
    run_block_test(cls, BLOCK_ARGUMENTS.get((role, name), {}))


def test_aggregate_posterior_round_trip():
    """The sampler a model may hold beside its prior, registered nowhere."""
    run_block_test(AggregatePosterior, {"components": 3})
