"""One DAE training step in several versions of stackeddae, interleaved in one process.

Each version is a ``stackeddae`` package directory (a checkout of another commit, e.g.
``git worktree add /tmp/main main``), given as ``name=path``; the first is imported
under a private name, so that all run side by side.  For every configuration, each
version's ``DAEObjective`` and SGD update run ``--steps`` consecutive mini-batches of
the 5000 bundled digits, from the same initial weights, with one BLAS thread; the
versions take turns (who goes first rotating) ``--repeats`` times.  Time is the
process's CPU time, which waiting for a loaded core does not inflate.

The GEMM floors of ``bench_throughput.py`` (the matrix products alone, in the current
layout and in the layout before issue #14) take their turns too.

Printed: the median time per step of each version and floor (and the 25th-75th
percentiles), the median over the turns of the ratio of each version's time to the
next one's (> 1: the later version is faster), and each version's efficiency (floor
time / step time, median over the turns) against each floor.

Usage::

    git worktree add /tmp/main main
    python benchmarks/bench_step_versions.py \
        --versions main=/tmp/main/stackeddae new=stackeddae
    python benchmarks/bench_step_versions.py --smoke   # this checkout alone, seconds
"""

import importlib.util
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from _common import Result, Usage, loop_step, main, make_optimizer, table
from threadpoolctl import threadpool_limits

# (n_components, batch_size, corruption_level): the reference experiment without and
# with noise, and the GEMM-floor configuration of bench_throughput.py
CONFIGS = ((100, 20, 0.0), (100, 20, 0.3), (500, 128, 0.3))
STEPS = {20: 250, 128: 40}  # steps per timed run, by batch size
CONFIG = dict(
    versions=(),  # name=path/to/stackeddae, oldest first
    repeats=15,
    steps=None,  # steps per timed run (None: STEPS by batch size)
)
HERE = Path(__file__).resolve().parent
SMOKE = dict(versions=(f"current={HERE.parent / 'stackeddae'}",), repeats=1, steps=3)


def load(name, path):
    """Import the package at ``path`` as ``name`` (relative imports included)."""
    path = str(Path(path).resolve())
    spec = importlib.util.spec_from_file_location(
        name, path + "/__init__.py", submodule_search_locations=[path]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def setup(package, X, n_components, batch_size, level):
    """A DAE of this version on one mini-batch, its objective and SGD optimizer."""
    name = package.__name__
    try:  # the objectives got a module of their own in 0.1.0's refactor (#18)
        objective_cls = importlib.import_module(name + "._objectives").DAEObjective
    except ModuleNotFoundError:
        objective_cls = sys.modules[name + "._autoencoder"]._DAEObjective
    dae = package.DenoisingAutoencoder(
        n_components=n_components,
        batch_size=batch_size,
        corruption_level=level,
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dae.fit(X[:batch_size])
    objective = objective_cls(dae, batch_size)
    optimizer = make_optimizer(
        dae, objective.params, training=sys.modules[name + "._training"]
    )
    batches = [X[i : i + batch_size] for i in range(0, len(X), batch_size)]
    return objective, optimizer, batches


def seconds_per_step(objective, optimizer, batches, n_steps):
    args = loop_step(objective)
    start = time.process_time()
    for k in range(n_steps):
        objective(batches[k % len(batches)])
        optimizer.update(*args)
    return (time.process_time() - start) / n_steps


def seconds_per_floor(floor, n_steps):
    start = time.process_time()
    floor(n_steps)
    return (time.process_time() - start) / n_steps


def measure(cfg):
    if not cfg.versions:
        raise Usage("give the versions: --versions name=path/to/stackeddae ...")
    versions = dict(v.split("=", 1) for v in cfg.versions)
    names = list(versions)
    packages = {}
    for i, (name, path) in enumerate(versions.items()):
        # the last version is imported as stackeddae itself, for the data loader
        packages[name] = load("stackeddae" if i == len(names) - 1 else f"v{i}", path)
    # imported once the last version is stackeddae, which they import too
    from bench_throughput import GemmFloor, SampleRowsFloor

    from stackeddae.datasets import load_mnist_5k

    # bench_throughput.py's GEMM floors: the products of the current objective, and
    # the four of the objective before issue #14 (hidden layer one sample per row)
    floors = {"floor": GemmFloor, "floor, sample rows": SampleRowsFloor}

    X = np.ascontiguousarray(load_mnist_5k(return_X_y=True)[0])
    results = []
    with threadpool_limits(1):
        for n_components, m, level in CONFIGS:
            n_steps = cfg.steps or STEPS[m]
            works = {
                name: setup(package, X, n_components, m, level)
                for name, package in packages.items()
            }
            timers = {
                name: partial(seconds_per_step, *work) for name, work in works.items()
            }
            # the GEMM floors of bench_throughput.py, on the last version's buffers
            # filled by a real step
            seconds_per_step(*works[names[-1]], 1)
            objective = works[names[-1]][0]
            for label, floor in floors.items():
                timers[label] = partial(seconds_per_floor, floor(objective))
            labels = list(timers)
            times = {label: [] for label in labels}
            for r in range(cfg.repeats):
                k = r % len(labels)
                for label in labels[k:] + labels[:k]:
                    times[label].append(timers[label](n_steps))
            row = {
                "config": f"784-{n_components}, batch {m}, masking {level}",
                "steps_per_run": n_steps,
                "median_us": {n: 1e6 * float(np.median(t)) for n, t in times.items()},
                "quartiles_us": {
                    n: [1e6 * float(q) for q in np.percentile(t, [25, 75])]
                    for n, t in times.items()
                },
                "ratios": {},
                # floor time / step time, per turn, then the median
                "efficiency": {
                    f"{n} vs {label}": float(
                        np.median(np.array(times[label]) / np.array(times[n]))
                    )
                    for n in names
                    for label in floors
                },
            }
            for a, b in zip(names, names[1:], strict=False):
                ratio = np.array(times[a]) / np.array(times[b])
                row["ratios"][f"{a}/{b}"] = [
                    float(q) for q in np.percentile(ratio, [50, 25, 75])
                ]
            results.append(row)
            print(f"{row['config']}: done", flush=True)
    shown = [
        {
            "config": r["config"],
            **{
                f"{n} us": f"{r['median_us'][n]:.0f} "
                f"[{r['quartiles_us'][n][0]:.0f}-{r['quartiles_us'][n][1]:.0f}]"
                for n in r["median_us"]
            },
            **{
                k: f"{v[0]:.3f} [{v[1]:.3f}-{v[2]:.3f}]" for k, v in r["ratios"].items()
            },
        }
        for r in results
    ]
    efficiency = [
        {"config": r["config"], **{k: 100 * v for k, v in r["efficiency"].items()}}
        for r in results
    ]
    return Result(
        results,
        summary={
            "versions": versions,
            "clock": "process CPU time",
            "steps_per_run": cfg.steps or STEPS,
        },
        tables=[
            table(
                shown,
                title="median time per step [25th-75th percentiles]; "
                "ratios > 1: the later version is faster",
            ),
            table(
                efficiency,
                {k: ".1f" if k != "config" else "" for k in efficiency[0]},
                title="efficiency, % (floor time / step time, median over turns)",
            ),
        ],
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__)
