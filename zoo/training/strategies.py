"""Named tf.distribute strategies for `zoo train --strategy NAME`: one builder per name.

A builder takes the `--tpu` address (only "tpu" uses it) and returns the strategy; `train`
builds the model, its optimizer and its metrics inside `strategy.scope()` and knows no
strategy by name. "multiworker" must be built before TensorFlow runs anything in the
process (it configures the collective ops), so the CLI builds the strategy first.
"""

import contextlib
import json
import os
import shutil
import socket
import tempfile
import urllib.parse

import tensorflow as tf

from zoo.errors import ZooError, first_line
from zoo.registry import Registry

STRATEGIES = Registry("strategy")
TPU_CONNECT_TIMEOUT_S = 10
TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


@STRATEGIES.register("default")
def default(address=None):
    """One device, no tf.distribute: the XLA multi-step loop on device-resident images."""
    return tf.distribute.get_strategy()


@STRATEGIES.register("mirrored")
def mirrored(address=None):
    """Every visible GPU of this machine (or its CPU), one replica each, gradients all-reduced."""
    return tf.distribute.MirroredStrategy()


@STRATEGIES.register("multiworker")
def multiworker(address=None):
    """Every worker in TF_CONFIG, each mirroring over its own devices."""
    check_tf_config(os.environ.get("TF_CONFIG", ""))
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:  # the process already ran TensorFlow ops
        raise ZooError(f"the multiworker strategy could not start: {error}") from None


@STRATEGIES.register("tpu")
def tpu(address=None):
    """A Cloud TPU: `address` is grpc://HOST:PORT, a TPU name, or "local" on a TPU VM."""
    if not address:
        raise ZooError("--strategy tpu needs --tpu ADDRESS (grpc://HOST:PORT, a TPU name, "
                       "or 'local' on a TPU VM)")
    check_reachable(address)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        if address != "local":  # a TPU VM's own chips need no remote connection
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ZooError(f"--tpu {address}: no TPU there ({first_line(error)})") from None


def build(name, tpu=None):
    """The strategy `name` names (a ConfigError listing the names if there is none); `tpu`
    is the `--tpu` address."""
    if tpu is not None and name != "tpu":
        raise ZooError(f"--tpu {tpu} is only used with --strategy tpu (got --strategy {name})")
    return STRATEGIES.get(name)(tpu)


def check_tf_config(text):
    """Refuse a missing or malformed TF_CONFIG with one line, before TensorFlow reads it."""
    if not text.strip():
        raise ZooError(f"--strategy multiworker needs TF_CONFIG, e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' "
                       "(the same cluster on every worker, each with its own task index)")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ZooError(f"TF_CONFIG is not JSON ({error}); expected e.g. {TF_CONFIG_EXAMPLE}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(hosts, list) and hosts and all(isinstance(h, str) and ":" in h for h in hosts)
            for hosts in cluster.values()):
        raise ZooError(f"TF_CONFIG 'cluster' must map task types to lists of 'host:port'; got "
                       f"{json.dumps(cluster)}; expected e.g. {TF_CONFIG_EXAMPLE}")
    kind = task.get("type") if isinstance(task, dict) else None
    index = task.get("index") if isinstance(task, dict) else None
    if kind not in cluster or isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(cluster[kind]):
        raise ZooError(f"TF_CONFIG 'task' must name a task of the cluster ({', '.join(sorted(cluster))}) "
                       f"and an index in it; got {json.dumps(task)}")


def check_reachable(address):
    """Fail at once if nothing listens at a grpc://HOST:PORT address: TensorFlow itself waits
    for a dead TPU address for many minutes (about 14 once) before it gives up."""
    parts = urllib.parse.urlsplit(address)
    if parts.scheme != "grpc":
        return  # a TPU name or "local": the resolver looks it up
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ZooError(f"--tpu {address}: expected grpc://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=TPU_CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ZooError(f"--tpu {address}: nothing answers at {host}:{port} "
                       f"({error.strerror or error}); is the TPU up and the address right?") from None


def is_default(strategy):
    """True for the default (no-op) strategy, the only one the resident-data XLA loop runs under."""
    with strategy.scope():
        return not tf.distribute.has_strategy()


def is_chief(strategy):
    """Whether this process writes files: the chief (or worker 0 without one) of a multi-worker
    cluster, and the only process of every other strategy."""
    return strategy.extended.should_checkpoint


def xla_ok(strategy):
    """Whether `jit_compile` can train under `strategy`. Several replicas on CPU cannot: XLA
    has no collectives for CPU devices ("Collectives are not yet implemented for CPU devices
    when compiling with XLA", multiworker), and on logical CPU devices of one machine it
    cannot reach the other replicas' variables (mirrored). GPUs, TPUs and one device can."""
    if strategy.num_replicas_in_sync == 1:
        return True
    return all(tf.DeviceSpec.from_string(d).device_type != "CPU" for d in strategy.extended.worker_devices)


@contextlib.contextmanager
def chief_dir(strategy, path):
    """`path` on the chief; on other workers a scratch folder, deleted afterwards. Every
    worker must save the model, because saving reads the metrics' sync-on-read variables
    with collective ops that wait for all workers; only the chief's copy is kept."""
    if is_chief(strategy):
        yield path
        return
    scratch = tempfile.mkdtemp(prefix="zoo-worker-")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
