"""How busy the machine was while one side of a benchmark ran: the CPU time that other
processes took (all cores' busy time from /proc/stat, less this process's and its waited
children's own), as cores held on average. On a shared machine a side whose run shared the
cores is slowed, and PyTorch's spinning OpenMP threads far more than the zoo's XLA loop
(20,000 -> 3,540 images/s against 44,819 kept, one busy core): a ratio measured so is not
a result, and `harness.compare` says so instead of printing it as one."""

import dataclasses
import os
from time import perf_counter

LOADED = 0.2  # cores held on average by other processes above which a run counts as loaded


def busy_seconds():
    """CPU seconds all cores have spent busy since boot (None where there is no /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    """CPU seconds of this process and of the children it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclasses.dataclass
class Load:
    """Other processes' CPU time while a run took `seconds` of wall time, as cores held, and
    the run's own CPU seconds (`own_seconds`: less moved by other jobs than wall time)."""
    other_cores: float
    seconds: float
    own_seconds: float = 0.0

    @property
    def loaded(self):
        return self.other_cores > LOADED

    def __str__(self):
        return f"other processes held {self.other_cores:.2f} of {os.cpu_count()} cores"


class Measured:
    """`with Measured() as load: run()`; then `load.result`, a `Load` (None without /proc/stat)."""

    def __enter__(self):
        self.busy, self.own, self.start, self.result = busy_seconds(), own_seconds(), perf_counter(), None
        return self

    def __exit__(self, *exc):
        busy, seconds = busy_seconds(), perf_counter() - self.start
        if busy is not None and self.busy is not None and seconds > 0:
            own = own_seconds() - self.own
            self.result = Load(max(0.0, (busy - self.busy) - own) / seconds, seconds, own)
        return False


def ratio_report(zoo_rate, torch_rate, epochs, zoo_load=None, torch_load=None):
    """The ratio line and the summary line: a ratio measured while other processes held the
    cores (either side's `Load.loaded`) is marked as such and given as no result."""
    loads = [f"{side}: {load}" for side, load in (("zoo", zoo_load), ("pytorch", torch_load)) if load is not None]
    loaded = any(load is not None and load.loaded for load in (zoo_load, torch_load))
    ratio = (f"ratio: zoo {zoo_rate:,.0f} images/s / pytorch {torch_rate:,.0f} images/s = "
             f"{zoo_rate / torch_rate:.2f}x (epoch {epochs}, after compilation)")
    if loaded:
        return [f"{ratio} UNDER LOAD ({'; '.join(loads)}): not a result",
                "summary: no ratio: the machine was busy while a side ran (rerun it on a quiet machine)"]
    return [ratio + (f" ({'; '.join(loads)})" if loads else " (load unknown: no /proc/stat)"),
            f"summary: zoo/pytorch {zoo_rate / torch_rate:.2f}x on a quiet machine"]
