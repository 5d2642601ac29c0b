"""What the benchmark scripts share about the machine they run on, and how they time."""

import math
import os
import resource
import statistics
import time
from pathlib import Path


def foreign_cpu_seconds():
    """CPU time the machine gave to anything but this run (steal included)."""
    if not os.path.exists("/proc/stat"):
        return math.nan
    ticks = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle
    ours = [resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN)]
    return busy - sum(u.ru_utime + u.ru_stime for u in ours)


def peak_rss_mb():
    """This process's peak resident memory, MB. NOTE: VmHWM, not ru_maxrss, which a
    child inherits from its parent at fork (a 450 MB parent made every child's 452)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fit, repeats):
    """``fit()`` once to warm up, then ``repeats`` times: (the median seconds, the
    last result)."""
    fit()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
