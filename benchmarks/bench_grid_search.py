"""Grid searches with the pretraining cache (``memory=``): time, layer trainings, ideal.

Each search runs three times: without a cache, on a cold cache (a fresh directory)
and on a warm one (the same directory again), and the three ``cv_results_`` must be
identical.  ``--repeats`` repeats the three, interleaved; times are the best of the
repeats and cold/ideal the median of the repeats' ratios (each against its own
uncached run), as other jobs share the machine.

The cache can only remove the layer trainings that candidates repeat, so the
benchmark also measures, in the same run, the time of one layer training at each
depth, and from it the *ideal* time of a cached search: the uncached time minus the
trainings it avoids (divided by the worker count when candidates run in parallel).

Layer trainings are counted exactly in this process (``n_jobs=1``: each layer
training is timed); with workers (``n_jobs=2``, the Dask cluster) the count is that
of the entries the cold search wrote (each distinct layer once: two workers that
miss the same entry at once both train it, which this count does not see), and a warm
search must write none (the stored files keep their inode and mtime).

Searches (cv=3, the digits bundled with stackeddae, estimators' default epochs):

- ``pipeline``: Pipeline(stack (256, 128), LogisticRegression(max_iter=300)), 3x3
  grid of per-layer corruption levels: 12 distinct layer prefixes per fold, not 18;
- ``three_layers``: a stack (256, 128, 64) scored by its reconstruction, 3x3x3 grid:
  39 prefixes per fold, not 81;
- ``classifier``: SdAClassifier (256, 256), pretraining fixed, 3 learning rates x
  2 alphas: 2 layer trainings per fold, not 12.

Usage::

    python benchmarks/bench_grid_search.py                  # the full run (long)
    python benchmarks/bench_grid_search.py --reduced        # ~10 min on 2 cores
    python benchmarks/bench_grid_search.py --smoke          # seconds: does it run?

In the main process, the final estimator of a Pipeline (LogisticRegression) uses
the BLAS default (all cores), loky's workers one thread: ``--blas-threads 1`` makes
``n_jobs=1`` comparable (on a loaded 2-core machine two BLAS threads made each
LogisticRegression fit about 20 times slower).

``--reduced`` uses 1500 rows, 5 pretraining epochs, 30 fine-tuning epochs and
n_jobs=1 only (``--n-jobs 1 2`` and ``--dask`` add the parallel runs).
"""

import glob
import os
import tempfile
import time
import warnings
from collections import defaultdict

import joblib
import numpy as np
from _common import main, require
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder, SdAClassifier, StackedDenoisingAutoencoder
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
LEVELS = (0.1, 0.2, 0.3)
CV = 3
SEED = 0
SEARCHES = ("pipeline", "three_layers", "classifier")
CONFIG = dict(
    rows=5000,
    pretrain_epochs=None,  # None: the estimators' defaults
    finetune_epochs=None,
    n_jobs=(1, 2),
    searches=SEARCHES,
    dask=False,  # also on a LocalCluster (2 workers)
    repeats=1,  # best of, interleaved
    blas_threads=None,  # this process's BLAS limit (what LogisticRegression uses)
)
PRESETS = {
    "reduced": dict(rows=1500, pretrain_epochs=5, finetune_epochs=30, n_jobs=(1,))
}
SMOKE = dict(
    rows=300,  # folds of 200 rows: above the fine-tuning batch of 128
    pretrain_epochs=1,
    finetune_epochs=2,
    n_jobs=(1,),
    searches=("classifier",),
    blas_threads=1,
)
COLUMNS = {
    "search": "",
    "n_jobs": "d",
    "backend": "",
    "uncached_s": ".1f",
    "trainings_uncached": ("trainings", "d"),
    "cold_s": ".1f",
    "trainings_cold": ("trainings", "d"),
    "trainings_goal": ("goal", "d"),
    "warm_s": ".1f",
    "trainings_warm": ("trainings", "d"),
    "ideal_s": ".1f",
    "cold_over_ideal": ("cold/ideal", ".3f"),
    "identical": "",
}


def searches(pretrain_epochs, finetune_epochs):
    """name -> (estimator, grid, distinct layer prefixes per fold)."""
    stack_epochs = {} if pretrain_epochs is None else {"max_iter": pretrain_epochs}
    sda_epochs = (
        {} if pretrain_epochs is None else {"pretrain_max_iter": pretrain_epochs}
    )
    if finetune_epochs is not None:
        sda_epochs["max_iter"] = finetune_epochs
    pipe = Pipeline(
        [
            (
                "sda",
                StackedDenoisingAutoencoder(
                    (256, 128), random_state=SEED, **stack_epochs
                ),
            ),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    pairs = [[a, b] for a in LEVELS for b in LEVELS]
    triples = [[a, b, c] for a in LEVELS for b in LEVELS for c in LEVELS]
    return {
        "pipeline": (pipe, {"sda__corruption_level": pairs}, 3 + 9),
        "three_layers": (
            StackedDenoisingAutoencoder(
                (256, 128, 64), random_state=SEED, **stack_epochs
            ),
            {"corruption_level": triples},
            3 + 9 + 27,
        ),
        "classifier": (
            SdAClassifier(random_state=SEED, **sda_epochs),
            {"learning_rate_init": [3e-4, 1e-3, 3e-3], "alpha": [1e-4, 1e-2]},
            2,
        ),
    }


def with_memory(est, memory):
    key = "sda__memory" if isinstance(est, Pipeline) else "memory"
    return est.set_params(**{key: memory})


class LayerClock:
    """Times every layer training of this process, by depth (label "layer k/n")."""

    def __init__(self):
        self.times = defaultdict(list)
        self._fit = DenoisingAutoencoder._fit

    def __enter__(self):
        clock = self

        def timed(ae, X, incremental, label="", warm=None, **kwargs):
            start = time.perf_counter()
            out = clock._fit(ae, X, incremental, label=label, warm=warm, **kwargs)
            depth = int(label.split()[1].split("/")[0]) if label else 1
            clock.times[depth].append(time.perf_counter() - start)
            return out

        DenoisingAutoencoder._fit = timed
        return self

    def __exit__(self, *exc):
        DenoisingAutoencoder._fit = self._fit

    def count(self):
        return sum(len(t) for t in self.times.values())


def stored(location):
    paths = glob.glob(os.path.join(location, "**", "output.pkl"), recursive=True)
    return {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in paths}


def run_search(est, grid, X, y, n_jobs, backend):
    search = GridSearchCV(est, grid, cv=CV, n_jobs=n_jobs, refit=False)
    with warnings.catch_warnings(), joblib.parallel_config(backend=backend):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        with LayerClock() as clock:
            search.fit(X, y)
        seconds = time.perf_counter() - start
    return search, seconds, clock


def scores(search):
    return [search.cv_results_[f"split{i}_test_score"].tolist() for i in range(CV)]


def measure_search(name, est, grid, prefixes, X, y, n_jobs, backend, repeats):
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    depth = len(est.hidden_layer_sizes) if hasattr(est, "hidden_layer_sizes") else 2
    if isinstance(est, Pipeline):
        depth = len(est.named_steps["sda"].hidden_layer_sizes)
    row = {
        "search": name,
        "n_jobs": n_jobs,
        "backend": backend,
        "candidates": n_candidates,
        "folds": CV,
    }
    in_process = backend == "loky" and n_jobs == 1
    workers = n_jobs if n_jobs > 0 else os.cpu_count()
    measured_here = None if in_process else layer_times(est, X)
    times, ratios = defaultdict(list), []
    for _ in range(repeats):  # interleaved, so that other jobs' load hits all three
        plain, t_plain, clock = run_search(est, grid, X, y, n_jobs, backend)
        with tempfile.TemporaryDirectory() as location:
            cold, t_cold, cold_clock = run_search(
                with_memory(est, location), grid, X, y, n_jobs, backend
            )
            written = stored(location)
            warm, t_warm, warm_clock = run_search(
                with_memory(est, location), grid, X, y, n_jobs, backend
            )
            rewritten = stored(location)
        with_memory(est, None)
        # one layer training per depth, from this repeat's uncached search (mean),
        # or, when workers trained, from one stack fit timed here
        per_depth = measured_here or {
            d: float(np.mean(t)) for d, t in clock.times.items()
        }
        ideal = t_plain - avoided_time(grid, per_depth, name) / workers
        for key, value in (
            ("plain", t_plain),
            ("cold", t_cold),
            ("warm", t_warm),
            ("ideal", ideal),
        ):
            times[key].append(value)
        ratios.append(t_cold / ideal)
    t_plain, t_cold, t_warm = (min(times[k]) for k in ("plain", "cold", "warm"))
    ideal = float(np.median(times["ideal"]))
    uncached = n_candidates * CV * depth
    cold_trainings = cold_clock.count() if in_process else len(written)
    warm_trainings = (
        warm_clock.count()
        if in_process
        else sum(rewritten.get(p) != s for p, s in written.items())
        + len(set(rewritten) - set(written))
    )
    row.update(
        uncached_s=t_plain,
        cold_s=t_cold,
        warm_s=t_warm,
        trainings_uncached=clock.count() if in_process else uncached,
        trainings_cold=cold_trainings,
        trainings_warm=warm_trainings,
        trainings_goal=prefixes * CV,
        layer_s_by_depth=per_depth,
        ideal_s=ideal,
        cold_over_ideal=float(np.median(ratios)),
        cold_over_ideal_by_repeat=ratios,
        identical=scores(plain) == scores(cold) == scores(warm),
        mean_test_score=plain.cv_results_["mean_test_score"].tolist(),
        seconds_all_repeats=dict(times),
    )
    return row


def avoided_time(grid, per_depth, name):
    """Seconds of the layer trainings a cache avoids over the whole search."""
    values = list(grid.values())[0]
    if name == "classifier":
        n_candidates = int(np.prod([len(v) for v in grid.values()]))
        return CV * (n_candidates - 1) * sum(per_depth.values())
    total = 0.0
    for d, seconds in per_depth.items():
        distinct = len({tuple(v[:d]) for v in values})
        total += CV * (len(values) - distinct) * seconds
    return total


def layer_times(est, X):
    """One training of each depth, on a fold's rows, in this process."""
    stack = est.named_steps["sda"] if isinstance(est, Pipeline) else est
    if isinstance(stack, SdAClassifier):
        stack = stack.pretraining_stack().set_params(random_state=SEED)
    rows = X[: len(X) * (CV - 1) // CV]
    with warnings.catch_warnings(), LayerClock() as clock:
        warnings.simplefilter("ignore", ConvergenceWarning)
        stack.fit(rows)
    return {d: t[0] for d, t in clock.times.items()}


def measure(cfg):
    X, y = load_mnist_5k(return_X_y=True)
    rows = np.random.default_rng(SEED).permutation(len(X))[: cfg.rows]
    X, y = X[np.sort(rows)], y[np.sort(rows)]  # the file is sorted by class
    table = searches(cfg.pretrain_epochs, cfg.finetune_epochs)
    runs = [(n_jobs, "loky") for n_jobs in cfg.n_jobs]
    client = None
    if cfg.dask:
        distributed = require("distributed", "for --dask", "pip install distributed")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
        runs.append((2, "dask"))
    rows = []
    limit = threadpool_limits(cfg.blas_threads, user_api="blas")
    try:
        for name in cfg.searches:
            est, grid, prefixes = table[name]
            for n_jobs, backend in runs:
                row = measure_search(
                    name, est, grid, prefixes, X, y, n_jobs, backend, cfg.repeats
                )
                rows.append(row)
                print(progress(row), flush=True)
    finally:
        limit.restore_original_limits()
        if client is not None:
            client.close()
            cluster.close()
    return rows


def progress(r):
    depth = ", ".join(f"{d}: {s:.2f}" for d, s in sorted(r["layer_s_by_depth"].items()))
    return (
        f"{r['search']} n_jobs={r['n_jobs']} {r['backend']}: uncached "
        f"{r['uncached_s']:.1f} s, cold {r['cold_s']:.1f} s, warm {r['warm_s']:.1f} s, "
        f"ideal {r['ideal_s']:.1f} s; layer s by depth {{{depth}}}"
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        presets=PRESETS,
        doc=__doc__,
        columns=COLUMNS,
        choices={"searches": SEARCHES},
        title=f"cv={CV}, levels {LEVELS}",
    )
