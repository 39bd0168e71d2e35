"""`zoo train --strategy`: mirrored over two logical CPU devices, multiworker as two local
worker processes, and the command line's refusals.

Logical devices and multi-worker collectives must be set up before TensorFlow starts, so
those cases run this file as a script in a fresh process (`python tests/test_distribute.py
MODE ...`, see `main`), which prints one JSON line for the test to check.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from test_cli import ROOT, _assert_one_line_error, zoo
from zoo import cli
from driver import VAE_SIGNATURES
from zoo.training import strategies

# Final test -ELBO (the `test_slice` figure: the export's `elbo` signature with a fixed seed,
# computed the same way whatever the strategy) of digits_mlp_bernoulli after 20 epochs,
# seeds 0-5 on 2 CPU cores: default 24.52 24.53 24.53 24.67 24.71 24.44 (sd 0.10), mirrored
# on two replicas 24.43 24.46 24.66 24.58 24.61 24.37 (sd 0.11); the differences between
# the two at the same seed were at most 0.13 nats. 0.5 nats is about 3 standard deviations of
# a difference of two runs; two fewer epochs of training cost more than that.
MIRRORED_EPOCHS, MIRRORED_TOLERANCE_NATS = 20, 0.5
RESULT_PREFIX = "RESULT "


def launch(mode, *args, env=None):
    """This file as a script in a fresh process (see `main`)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), mode, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout=300):
    """(exit code, the printed result or None, stdout, stderr) of a `launch`ed process."""
    stdout, stderr = process.communicate(timeout=timeout)
    lines = [line[len(RESULT_PREFIX):] for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    return process.returncode, json.loads(lines[-1]) if lines else None, stdout, stderr


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def read_metrics(export_dir):
    (version,) = os.listdir(os.path.join(export_dir, "digits_mlp_bernoulli"))
    path = os.path.join(export_dir, "digits_mlp_bernoulli", version)
    return path, json.load(open(os.path.join(path, "metrics.json")))


def test_mirrored_on_two_devices_matches_the_default_strategy(tmp_path):
    common = ["digits_mlp_bernoulli", "--epochs", str(MIRRORED_EPOCHS), "--seed", "0", "--force-export"]
    default = subprocess.Popen([sys.executable, "-m", "zoo", "train", *common, "--export-dir",
                                str(tmp_path / "default")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    mirrored = launch("train", "2", "train", *common, "--strategy", "mirrored", "--export-dir",
                      str(tmp_path / "mirrored"))
    rc, shards, _, stderr = finish(mirrored)
    assert rc == 0, stderr[-3000:]
    _, default_stderr = default.communicate(timeout=300)
    assert default.returncode == 0, default_stderr[-3000:]

    _, on_one = read_metrics(tmp_path / "default")
    _, on_two = read_metrics(tmp_path / "mirrored")
    assert (on_one["replicas"], on_two["replicas"]) == (1, 2)
    assert abs(on_two["test_slice"]["neg_elbo"] - on_one["test_slice"]["neg_elbo"]) < MIRRORED_TOLERANCE_NATS, \
        (on_one["test_slice"], on_two["test_slice"])
    # The two replicas took the two halves of each global batch of 50.
    assert [len(rows) for rows in shards["replicas"]] == [25, 25]
    assert shards["replicas"][0] + shards["replicas"][1] == shards["global"]


def test_replicas_step_on_the_mean_of_the_global_batch():
    """SGD on the global batch [h, h] over two replicas moves the weights exactly as on h
    alone: a sum over replicas (no division by their number) would move them twice as far."""
    rc, result, _, stderr = finish(launch("step"))
    assert rc == 0, stderr[-3000:]
    assert result["replicas"] == [1, 2]
    assert result["step_norm"] > 1e-3
    assert result["ratio"] == pytest.approx(1.0, abs=1e-4), result


@pytest.mark.slow
def test_multiworker_two_processes_train_and_only_the_chief_exports(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [launch("train", "1", "train", "digits_mlp_bernoulli", "--smoke", "--force-export", "--seed", "3",
                      "--strategy", "multiworker", "--export-dir", str(tmp_path / f"export{index}"),
                      "--workdir", str(tmp_path / f"work{index}"),
                      env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
               for index in range(2)]
    finished = [finish(worker) for worker in workers]
    for rc, _, _, stderr in finished:
        assert rc == 0, stderr[-3000:]
    (_, chief, chief_out, _), (_, other, other_out, _) = finished
    assert "exported to" in chief_out and "the chief exports" in other_out

    path, metrics = read_metrics(tmp_path / "export0")  # exactly one version, the chief's
    assert metrics["replicas"] == 2
    assert not (tmp_path / "export1").exists()
    assert (tmp_path / "work0" / "history.csv").exists()
    assert not (tmp_path / "work1" / "history.csv").exists() and not (tmp_path / "work1" / "logs").exists()
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == set(VAE_SIGNATURES)
    elbo = loaded.signatures["elbo"](x=tf.ones([2, 8, 8, 1]))["elbo"].numpy()
    assert elbo.shape == (2,) and np.isfinite(elbo).all()
    # Each worker fed its replica its own half of every global batch (auto-shard by DATA).
    assert [len(rows) for rows in chief["replicas"] + other["replicas"]] == [25, 25]
    assert chief["replicas"][0] + other["replicas"][0] == chief["global"] == other["global"]


@pytest.mark.slow
def test_tpu_address_that_does_not_answer_fails_fast_in_one_line():
    (port,) = free_ports(1)  # closed: nothing listens there
    start = time.perf_counter()
    done = zoo("train", "digits_mlp_bernoulli", "--smoke", "--force-export", "--strategy", "tpu", "--tpu", f"grpc://127.0.0.1:{port}")
    assert time.perf_counter() - start < 30
    _assert_one_line_error(done, f"grpc://127.0.0.1:{port}", "nothing answers")


@pytest.mark.parametrize("argv, tf_config, fragments", [
    (["--tpu", "grpc://10.0.0.2:8470"], None, ["--tpu", "only used with --strategy tpu"]),
    (["--strategy", "mirrored", "--tpu", "local"], None, ["--tpu local", "--strategy mirrored"]),
    (["--strategy", "tpu"], None, ["needs --tpu"]),
    (["--strategy", "tpu", "--tpu", "grpc://127.0.0.1"], None, ["grpc://HOST:PORT"]),
    (["--strategy", "multiworker"], None, ["needs TF_CONFIG"]),
    (["--strategy", "multiworker"], "{cluster: 1", ["TF_CONFIG is not JSON"]),
    (["--strategy", "multiworker"], '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
     ["TF_CONFIG 'task'", '"index": 1']),
    (["--strategy", "multiworker"], '{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}',
     ["TF_CONFIG 'cluster'", "host:port"]),
])
def test_strategy_mistakes_exit_with_one_line(argv, tf_config, fragments, monkeypatch, capsys, tmp_path):
    """In-process (these are refused before any strategy exists), through the CLI's own `main`."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    if tf_config is not None:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    code = cli.main(["train", "digits_mlp_bernoulli", "--smoke", "--force-export", "--export-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("zoo: error: ") and all(fragment in err for fragment in fragments), err
    assert not any(tmp_path.iterdir())


def test_unknown_strategy_is_refused_by_argparse_and_names_match_the_registry(capsys):
    assert tuple(strategies.STRATEGIES.names()) == tuple(sorted(cli.STRATEGY_NAMES))
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["train", "digits_mlp_bernoulli", "--strategy", "parameter_server"])
    assert exit_info.value.code == 2 and "invalid choice: 'parameter_server'" in capsys.readouterr().err


# The fresh-process side. ------------------------------------------------------------------

def use_logical_cpus(count):
    """Split the CPU into `count` logical devices (only possible before TensorFlow starts)."""
    if count == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def fingerprints(images):
    return [hashlib.sha1(np.ascontiguousarray(row).tobytes()).hexdigest()[:12] for row in np.asarray(images)]


def run_cli(argv):
    """Run the CLI in this process, then report which images the strategy it built gave each
    local replica in the first global batch of the training pipeline, beside that batch."""
    from recipes import RECIPES  # configs are checked without starting TensorFlow's runtime
    from zoo import data as zoo_data

    built = []
    build = strategies.build
    strategies.build = lambda *args, **kwargs: built.append(build(*args, **kwargs)) or built[-1]
    code = cli.main(argv)
    if code:
        return code
    config = RECIPES.get(argv[1]).train
    split = zoo_data.DATASETS.get(config.dataset).load("train")

    def first_batch():
        return zoo_data.train_dataset(split, config.batch_size, "none", config.seed)

    distributed = next(iter(built[0].experimental_distribute_dataset(first_batch())))
    print(RESULT_PREFIX + json.dumps({
        "replicas": [fingerprints(r) for r in built[0].experimental_local_results(distributed)],
        "global": fingerprints(next(iter(first_batch())))}), flush=True)
    return 0


def step_ratio():
    """How far one SGD step moves the weights on [h, h] over two replicas, relative to h alone."""
    import tf_keras as keras

    from zoo import VAEConfig, build

    half = tf.constant(np.random.default_rng(0).random((6, 8, 8, 1)) < 0.5, tf.float32)
    seed = tf.constant([1, 2], tf.int32)
    variant = VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                        posterior={"type": "diagonal_normal", "latent_dim": 2})

    def step(strategy):  # -> (replicas, how far the step moved every weight)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = build(variant)
            model.compile(keras.optimizers.SGD(0.1))
            model.optimizer.build(model.trainable_variables)
        before = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
        tf.function(lambda: strategy.run(model.update, args=(half, seed)))()  # every replica gets h
        after = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
        return strategy.num_replicas_in_sync, after - before

    (one, on_one), (two, on_two) = step(tf.distribute.get_strategy()), step(tf.distribute.MirroredStrategy())
    print(RESULT_PREFIX + json.dumps({
        "replicas": [one, two],
        "step_norm": float(np.linalg.norm(on_one)),
        "ratio": float(np.dot(on_two, on_one) / np.dot(on_one, on_one)),
        "max_abs_difference": float(np.abs(on_two - on_one).max())}), flush=True)
    return 0


def main(mode, *args):
    """`train CPUS ZOO_ARGS...`: the CLI on CPUS logical CPU devices; `step`: `step_ratio`."""
    if mode == "train":
        use_logical_cpus(int(args[0]))
        return run_cli(list(args[1:]))
    use_logical_cpus(2)
    return step_ratio()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
