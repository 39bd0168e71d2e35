"""The shared driver (tests/driver.py) runs over every registered block and every kind of
model: the cases come from the registries and from zoo.models, so a block or a kind added
without a case in tests/driver_cases.py fails here. Each model case is driven here (config,
a training and an evaluation step, `.keras` reload, export served without zoo or TFP); each
block's config round trip is in tests/test_serialization.py (the fast tier)."""

import inspect

import pytest
import tf_keras as keras

from driver_cases import BLOCK_ARGUMENTS, CASES, MODEL_CASES, block_registries, model_kinds, registered_blocks

BLOCKS = registered_blocks()
LAYER_BLOCKS = [(role, name, cls) for role, name, cls in BLOCKS if issubclass(cls, keras.layers.Layer)]  # tests/test_serialization.py


def test_every_registry_and_kind_is_found():
    """The walk finds the registries and kinds known today (so an empty walk cannot pass)."""
    assert {"network", "posterior", "prior", "likelihood", "objective", "condition", "quantizer",
            "code_prior"} <= set(block_registries())
    assert {"VAE", "SemiSupervisedVAE", "VQVAE"} <= model_kinds()
    assert len(BLOCKS) >= 27


def test_every_registered_block_is_in_a_model_case():
    held = set().union(*(case.blocks for case in MODEL_CASES))
    missing = sorted({(role, name) for role, name, _ in BLOCKS} - held)
    assert not missing, f"registered blocks no case of tests/driver_cases.py holds: {missing}"


def test_every_kind_of_model_has_a_case():
    missing = sorted(model_kinds() - {case.kind for case in MODEL_CASES})
    assert not missing, f"kinds of model without a case in tests/driver_cases.py: {missing}"


def test_every_block_that_needs_arguments_has_them():
    for role, name, cls in LAYER_BLOCKS:
        needed = [p for p, parameter in inspect.signature(cls.__init__).parameters.items()
                  if parameter.default is parameter.empty and p != "self"
                  and parameter.kind == parameter.POSITIONAL_OR_KEYWORD]
        assert not needed or (role, name) in BLOCK_ARGUMENTS, f"{role} '{name}' needs {needed}: add it to BLOCK_ARGUMENTS"


@pytest.mark.parametrize("name", CASES)
def test_model(name, driven):
    driven(name)
