"""A new kind of model plugs into the zoo through `ZooModel` alone: the two toy kinds of
`toy_kinds.py` (defined only in tests/) train, evaluate, draw pictures, save to `.keras`,
export and serve through the zoo, and the zoo's own kinds declare what it asks of them."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import toy_kinds
from zoo.config import Recipe, TrainConfig
from zoo.evaluation.evaluate import evaluate
from zoo.evaluation.pictures import make
from zoo.models import base
from zoo.training.train import train


def _recipe(critic):
    return Recipe(name=f"toy_{'critic' if critic else 'plain'}", description="a toy kind",
                  model=toy_kinds.AutoencoderConfig(critic=critic),
                  train=TrainConfig(dataset="digits", epochs=2, batch_size=50, binarization="none"))


@pytest.fixture(scope="module", params=[False, True], ids=["no_likelihood", "two_optimizers"])
def trained(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    result = train(_recipe(request.param), export_dir=str(folder), verbose=False)
    return result, folder


def test_a_toy_kind_trains_and_exports_through_zoo_train(trained):
    result, folder = trained
    assert np.isfinite(result.metrics["test_reconstruction_error"])
    assert result.metrics["test_slice"]["reconstruction_error"] > 0
    assert (folder / result.model.name / "1" / "saved_model.pb").exists()
    with open(folder / result.model.name / "1" / "config.json") as f:
        assert json.load(f)["model"]["kind"] == "toy_autoencoder"


def test_a_toy_kind_is_evaluated_by_what_it_declares(trained, tmp_path):
    result, folder = trained
    scores = evaluate(str(folder / result.model.name / "1"), examples=60, output_dir=str(tmp_path), verbose=False)
    assert scores["density"].startswith("none") and 0 < scores["reconstruction_mse"] < 1
    assert sorted(scores["pictures"]) == ["pictures/interpolations.png", "pictures/reconstructions.png"]
    assert "neg_log_likelihood" not in scores


def test_a_toy_kind_draws_its_pictures_and_reloads_from_keras(trained, tmp_path):
    model = trained[0].model
    x = toy_kinds.images(16)
    assert set(make(model, x)) == {"reconstructions", "interpolations"}
    model.save(tmp_path / "toy.keras")
    reloaded = keras.models.load_model(tmp_path / "toy.keras")
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(reloaded.reconstruct(x), model.reconstruct(x), rtol=1e-6)


@pytest.mark.parametrize("case", ["toy_autoencoder", "toy_critic_autoencoder"])
def test_a_toy_kind_goes_through_the_shared_driver_and_serves_without_zoo(case, driven):
    """Config round trip, a fit step moves every weight and evaluate none, .keras reload
    identical, and the export served by TensorFlow alone like Python (tests/driver.py)."""
    served = driven(case).served
    assert {"serving_default/x_mean", "encode/code", "decode/x_mean", "reconstruction_error/error"} == set(served)


def test_each_group_of_weights_moves_by_its_own_loss_and_optimizer():
    x = toy_kinds.images(20)

    def step(autoencoder_rate, critic_rate):
        keras.utils.set_random_seed(0)
        model = toy_kinds.CriticAutoencoder(critic_learning_rate=critic_rate)
        model.compile(keras.optimizers.Adam(autoencoder_rate))
        before = [v.numpy() for v in model.critic.trainable_variables + model.autoencoder_variables()]
        logs = model.update(tf.constant(x), seed=tf.constant([1, 2]))
        after = [v.numpy() for v in model.critic.trainable_variables + model.autoencoder_variables()]
        moved = [not np.array_equal(b, a) for b, a in zip(before, after)]
        critic = len(model.critic.trainable_variables)
        return any(moved[:critic]), any(moved[critic:]), logs

    assert step(1e-2, 0.0)[:2] == (False, True)   # the critic's optimizer alone moves the critic
    assert step(0.0, 1e-2)[:2] == (True, False)   # the model's optimizer alone moves the autoencoder
    logs = step(1e-2, 1e-2)[2]
    assert set(logs) == {"loss", "critic_loss"} and all(np.isfinite(float(v)) for v in logs.values())


def test_the_zoo_kinds_declare_what_the_zoo_asks():
    from zoo.models.kinds import KINDS

    for kind in KINDS:
        assert issubclass(kind, base.ZooModel)
        assert isinstance(kind.scoring, property) or kind.scoring in base.SCORINGS  # VAE: has_likelihood decides
    assert isinstance(KINDS[0].scoring, property) and "exact_bound" == KINDS[2].scoring
