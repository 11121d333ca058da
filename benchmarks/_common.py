"""Helpers shared by the benchmark scripts."""

import os
import platform
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

# Mean training cost (cross-entropy summed over the 784 pixels) printed by the Theano
# tutorial at these epochs of the reference experiment (DAE 784-100, SGD 0.1, batch 20,
# 5000 MNIST digits), by corruption level.
PUBLISHED = {
    0.0: {0: 132.5, 10: 80.2, 100: 70.1, 190: 69.3},
    0.3: {0: 138.4, 10: 87.2, 100: 77.6, 190: 76.0},
}
TOLERANCE = 0.03  # relative difference from the published cost that counts as a match


def machine():
    """The facts that make a timing comparable: CPU, versions, BLAS."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = sys.modules.get("torch")  # only if the benchmark uses it
    return {
        "platform": platform.platform(),
        "cpu": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "blas": [
            {k: info.get(k) for k in ("internal_api", "version", "architecture")}
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ],
    }


def thread_cpu_seconds():
    """CPU seconds (user + system) of each thread of this process, by thread id.

    Read from ``/proc/self/task`` (Linux); empty elsewhere.  The difference of two
    readings around some work shows how many threads did it.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds = {}
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return seconds
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[task.name] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def busy_threads(before, after, share=0.05):
    """Threads that used more than ``share`` of the CPU time between two readings."""
    deltas = [after[t] - before.get(t, 0.0) for t in after]
    total = sum(deltas)
    return sum(d > share * total for d in deltas) if total > 0 else 0
