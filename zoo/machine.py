"""What a figure was measured on, recorded beside it in metrics.json."""

import os
import platform


def hardware():
    """"x86_64 2 CPU cores, 1 CPU; TensorFlow 2.21.0": the machine and TensorFlow's devices."""
    import tensorflow as tf  # only when a figure is recorded: the base of the zoo imports no TensorFlow

    devices = [d.device_type for d in tf.config.list_logical_devices()]
    return (f"{platform.machine()} {os.cpu_count()} CPU cores, "
            f"{', '.join(f'{devices.count(k)} {k}' for k in sorted(set(devices)))}; "
            f"TensorFlow {tf.__version__}")
