"""What BLAS threads buy a fit: 1 against 2 (or more) threads, and why it once cost.

Three parts, each timed in wall-clock seconds, the thread counts interleaved turn by
turn, medians over the turns (the load average of the machine is recorded beside
each turn: on a shared machine compare the ratios of one run, not the times):

1. loops (issue #19's table): per iteration, a numpy product (20 x 784 @ 784 x 500)
   twice; the product then scipy's BLAS axpy over a 500 x 784 weight (what the
   training step did before issue #19: two OpenBLAS builds, two thread pools); the
   product then the numpy update that replaced it (g *= lr; w -= g).  Every BLAS
   library of the process runs with the turn's thread count.
2. fits with ``n_jobs`` = the thread count, on the 5000 bundled digits: the
   reference layer ``DenoisingAutoencoder(n_components=500)`` at mini-batches of 20
   and 128, and a ``StackedDenoisingAutoencoder((1000, 1000))`` at 128.
3. steps: single training steps (``DAEObjective`` and the SGD update) of the
   fits' layers, each thread count in turn, ``step_rounds`` times; besides the
   median, the fastest step, which on a busy machine is the one run while the
   cores happened to be free (a proxy for an idle machine, not a measurement of
   one).

Printed: the median of each at each thread count and its ratio to one thread
(> 1: slower than one thread).  ``--cores N`` pretends the machine has N cores, as
issue #19 did to let a capped rule give two threads on 2 cores.

Usage::

    python benchmarks/bench_threads.py                  # ~1 min on 2 quiet cores
    python benchmarks/bench_threads.py --threads 1 2 4 8 16   # a bigger machine
    python benchmarks/bench_threads.py --smoke          # seconds: does it run?
"""

import time
import warnings
from pathlib import Path

import numpy as np
from _common import Result, loop_step, main, make_optimizer, table
from scipy.linalg.blas import get_blas_funcs
from threadpoolctl import threadpool_limits

import stackeddae._threads
from stackeddae import DenoisingAutoencoder, StackedDenoisingAutoencoder
from stackeddae._objectives import DAEObjective
from stackeddae._threads import n_blas_threads
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
CONFIG = dict(
    threads=(1, 2),  # BLAS threads = n_jobs of the fits
    turns=5,  # interleaved turns; medians over them
    loop_seconds=0.3,  # time per loop and turn (at least 5 iterations)
    rows=5000,  # digits fitted
    dae_epochs=2,
    sda_epochs=1,  # per layer
    fits=("dae_batch_20", "dae_batch_128", "sda_1000_batch_128"),
    parts=("loops", "fits", "steps"),
    step_rounds=300,  # single steps per layer and thread count
    cores=None,  # pretend the machine has this many cores (None: the real count)
)
SMOKE = dict(
    turns=1, loop_seconds=0.01, rows=300, dae_epochs=1, sda_epochs=1, step_rounds=2
)
HELPS = {
    "cores": "pretend this many cores, as issue #19 did to get 2 threads from a "
    "rule capped at half the cores",
}

FITS = {
    "dae_batch_20": lambda n_jobs, epochs: DenoisingAutoencoder(
        n_components=500, batch_size=20, max_iter=epochs, n_jobs=n_jobs
    ),
    "dae_batch_128": lambda n_jobs, epochs: DenoisingAutoencoder(
        n_components=500, batch_size=128, max_iter=epochs, n_jobs=n_jobs
    ),
    "sda_1000_batch_128": lambda n_jobs, epochs: StackedDenoisingAutoencoder(
        (1000, 1000), batch_size=128, max_iter=epochs, n_jobs=n_jobs
    ),
}


def load():
    """The machine's load average over the last minute (None off Linux)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


# ------------------------------------------------------------------------ loops
def make_loops():
    """The loops of issue #19's table, on float32 buffers made once."""
    rng = np.random.default_rng(0)
    x = rng.random((20, 784), dtype=np.float32)
    W = rng.random((784, 500), dtype=np.float32)
    out = np.empty((20, 500), np.float32)
    p = rng.random((500, 784), dtype=np.float32)
    g = rng.random((500, 784), dtype=np.float32)
    axpy = get_blas_funcs("axpy", (p,))
    p1, g1 = p.ravel(), g.ravel()

    def products():
        np.matmul(x, W, out=out)
        np.matmul(x, W, out=out)

    def product_scipy_axpy():
        np.matmul(x, W, out=out)
        axpy(g1, p1, a=-1e-9)

    def product_numpy_update():
        np.matmul(x, W, out=out)
        np.multiply(g, 1.0, out=g)
        np.subtract(p, g, out=p)

    return {
        "numpy matmul twice": products,
        "numpy matmul, then scipy axpy": product_scipy_axpy,
        "numpy matmul, then numpy update": product_numpy_update,
    }


def time_loop(loop, seconds):
    """Wall-clock seconds per iteration, running for about ``seconds``."""
    loop()  # wakes the thread pools
    n, start = 0, time.perf_counter()
    while n < 5 or time.perf_counter() - start < seconds:
        loop()
        n += 1
    return (time.perf_counter() - start) / n


# ------------------------------------------------------------------------- fits
def time_fit(name, n_jobs, X, cfg):
    epochs = cfg.sda_epochs if name.startswith("sda") else cfg.dae_epochs
    est = FITS[name](n_jobs, epochs).set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge
        start = time.perf_counter()
        est.fit(X)
    return time.perf_counter() - start


# ------------------------------------------------------------------------ steps
# (n_visible, n_components, batch_size) of the fits' layers
STEP_LAYERS = ((784, 500, 20), (784, 500, 128), (784, 1000, 128), (1000, 1000, 128))


def time_steps(X, cfg):
    """Rows of single-step times (fastest, median) per layer and thread count."""
    rows = []
    for n_visible, n_components, m in STEP_LAYERS:
        data = (
            X
            if n_visible == X.shape[1]
            else np.random.default_rng(0).random((X.shape[0], n_visible), dtype=X.dtype)
        )
        dae = DenoisingAutoencoder(n_components, batch_size=m, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dae.set_params(max_iter=1).fit(data[:m])
        objective = DAEObjective(dae, m)
        optimizer = make_optimizer(dae, objective.params)
        batches = [data[i : i + m] for i in range(0, len(data) - m + 1, m)]
        args = loop_step(objective)
        times = {t: [] for t in cfg.threads}
        for r in range(cfg.step_rounds):
            batch = batches[r % len(batches)]
            for t in cfg.threads[r % 2 :] + cfg.threads[: r % 2]:
                with threadpool_limits(limits=t, user_api="blas"):
                    start = time.perf_counter()
                    objective(batch)
                    optimizer.update(*args)
                    times[t].append(time.perf_counter() - start)
        first = min(times[cfg.threads[0]])
        for t in cfg.threads:
            rows.append(
                {
                    "part": "step",
                    "name": f"step {n_visible}-{n_components}, batch {m}",
                    "threads": t,
                    "fastest": min(times[t]),
                    "median": float(np.median(times[t])),
                    "fastest_over_1_thread": min(times[t]) / first,
                }
            )
    return rows


def measure(cfg):
    if cfg.cores is not None:
        stackeddae._threads._cores = lambda: cfg.cores
    X = np.ascontiguousarray(load_mnist_5k(return_X_y=True)[0][: cfg.rows])
    loops = make_loops()
    work = {}
    if "loops" in cfg.parts:
        work.update({("loop", name): loop for name, loop in loops.items()})
    if "fits" in cfg.parts:
        work.update({("fit", name): name for name in cfg.fits})
    times = {(kind, name, t): [] for kind, name in work for t in cfg.threads}
    loads = []
    for turn in range(cfg.turns):
        loads.append(load())
        # rotate who goes first, so that no thread count always follows another
        order = list(cfg.threads[turn % len(cfg.threads) :])
        order += cfg.threads[: turn % len(cfg.threads)]
        for (kind, name), item in work.items():
            for t in order:
                if kind == "loop":
                    with threadpool_limits(limits=t, user_api="blas"):
                        times[kind, name, t].append(time_loop(item, cfg.loop_seconds))
                else:
                    times[kind, name, t].append(time_fit(item, t, X, cfg))
    steps = time_steps(X, cfg) if "steps" in cfg.parts else []
    loads.append(load())

    rows = []
    for kind, name in work:
        one = np.median(times[kind, name, cfg.threads[0]])
        for t in cfg.threads:
            median = float(np.median(times[kind, name, t]))
            rows.append(
                {
                    "part": kind,
                    "name": name,
                    "threads": t,
                    "blas_threads": t if kind == "loop" else n_blas_threads(t),
                    "seconds": median,
                    "turns": times[kind, name, t],
                    f"over_{cfg.threads[0]}_thread": median / one,
                }
            )
    rows += steps
    return Result(
        rows,
        summary={"loadavg_per_turn": loads},
        tables=tables(rows, cfg) + step_table(steps, cfg),
        text=f"load average (1 min) before each turn and at the end: {loads}",
    )


def tables(rows, cfg):
    """One row per loop or fit: the median at each thread count, and its ratio."""
    first = cfg.threads[0]
    wide = {}
    for row in rows:
        if row["part"] == "step":
            continue
        entry = wide.setdefault(row["name"], {"name": row["name"]})
        scale, unit = (1e6, "us") if row["part"] == "loop" else (1.0, "s")
        entry[f"{row['threads']} threads"] = f"{scale * row['seconds']:.4g} {unit}"
        if row["threads"] != first:
            entry[f"{row['threads']}/{first}"] = row[f"over_{first}_thread"]
    columns = {"name": ""}
    for t in cfg.threads:
        columns[f"{t} threads"] = ""
    for t in cfg.threads[1:]:
        columns[f"{t}/{first}"] = ".3f"
    title = f"wall clock, medians of {cfg.turns} interleaved turns"
    return [table(wide.values(), columns, title=title)] if wide else []


def step_table(steps, cfg):
    """Single steps: the fastest and the median at each thread count."""
    if not steps:
        return []
    first = cfg.threads[0]
    wide = {}
    for row in steps:
        entry = wide.setdefault(row["name"], {"name": row["name"]})
        entry[f"{row['threads']} threads"] = (
            f"{1e6 * row['fastest']:.0f} / {1e6 * row['median']:.0f} us"
        )
        if row["threads"] != first:
            entry[f"{row['threads']}/{first}"] = row["fastest_over_1_thread"]
    columns = {"name": ""}
    for t in cfg.threads:
        columns[f"{t} threads"] = ""
    for t in cfg.threads[1:]:
        columns[f"{t}/{first}"] = ".3f"
    title = (
        f"single steps, fastest / median of {cfg.step_rounds}; the ratio of the fastest"
    )
    return [table(wide.values(), columns, title=title)]


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, helps=HELPS)
