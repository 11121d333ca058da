"""How the SdA of the Theano tutorial scales on full MNIST: fit time and peak memory
against the rows and the layer width, in memory and read from a memmap.

The model is issue 22's first try, ``SdAClassifier(hidden_layer_sizes=(1000,
1000, 1000), corruption_level=[0.1, 0.2, 0.3], pretrain_max_iter=1,
max_iter=1)`` with its other defaults and one BLAS thread, fitted to the first n
rows of the MNIST training set as a new user passes them: float64 in [0, 1].
Each fit runs in a fresh subprocess that loads the rows, drops everything else,
and then fits, reporting

* the fit time (the time per row must not grow with n: linear within 10%);
* the peak resident memory during the fit above the level after loading the data
  (Linux's VmHWM, reset just before the fit), and the peak of the process's
  anonymous memory (RssAnon sampled every 20 ms), which leaves out the pages of
  a memmap that the kernel keeps mapped from the page cache.

The ``memmap`` variant writes the rows to a float64 memmap on disk, opens it
read-only and fits under ``sklearn.config_context(working_memory=...)`` smaller
than the data, so that the fit reads it block by block (``stackeddae/_streaming.py``);
its "loaded data" is then nothing, and only the anonymous peak says what the fit
holds.

Usage::

    python benchmarks/bench_sda_scaling.py              # ~5 min on a quiet machine
    python benchmarks/bench_sda_scaling.py --rows 7500 15000 --widths --no-memmap
    python benchmarks/bench_sda_scaling.py --smoke      # seconds, on the 5000 digits
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _common import Result, main, table

# ----------------------------------------------------------------- configuration
LAYERS = 3
CORRUPTION_LEVELS = [0.1, 0.2, 0.3]
SEED = 0
CONFIG = dict(
    dataset="mnist",  # or "digits5k": rows drawn from the bundled 5000 (smoke)
    data_home=None,
    rows=(7_500, 15_000, 30_000, 60_000),
    width=1000,
    widths=(250, 500, 1000),
    width_rows=7_500,
    pretrain_epochs=1,
    epochs=1,
    memmap=True,  # the out-of-core run at the largest n (--no-memmap skips it)
    working_memory_mib=64,
    sample_s=0.02,
)
SMOKE = dict(
    dataset="digits5k",
    rows=(500, 1000),
    width=50,
    widths=(20,),
    width_rows=500,
    working_memory_mib=0.05,
)
HELPS = {
    "dataset": "mnist (full, see mnist_data.py) or digits5k (the bundled digits)",
    "working_memory_mib": "memmap run: sklearn's working_memory, MiB",
}


# ----------------------------------------------------------------- the child
def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class AnonPeak(threading.Thread):
    """The largest RssAnon seen, sampled every ``every`` seconds until stopped."""

    def __init__(self, every):
        super().__init__(daemon=True)
        self.every, self.peak, self.done = every, _status_kib("RssAnon"), False

    def run(self):
        while not self.done:
            self.peak = max(self.peak, _status_kib("RssAnon"))
            time.sleep(self.every)

    def stop(self):
        self.done = True
        self.join()
        self.peak = max(self.peak, _status_kib("RssAnon"))
        return self.peak


def load_rows(dataset, data_home, n):
    """The first n training rows as float64 in [0, 1], and their labels."""
    if dataset == "mnist":
        from mnist_data import mnist_data_home

        from stackeddae.datasets import fetch_mnist

        X, y = fetch_mnist(
            data_home=mnist_data_home(data_home), subset="train", return_X_y=True
        )
        return X[:n].astype(np.float64), y[:n].copy()
    from stackeddae.datasets import load_mnist_5k

    X, y = load_mnist_5k(return_X_y=True)
    take = np.random.default_rng(SEED).integers(0, len(X), n)
    return X[take].astype(np.float64), y[take]


def child(dataset, data_home, n, width, pretrain_epochs, epochs, variant, wm, every):
    """Load, fit, print one JSON line (run in a fresh process by :func:`run`)."""
    import gc

    import sklearn
    from sklearn.exceptions import ConvergenceWarning

    from stackeddae import SdAClassifier

    X, y = load_rows(dataset, data_home, n)
    x_bytes = X.nbytes
    context = sklearn.config_context()
    if variant == "memmap":
        path = Path(tempfile.mkdtemp(prefix="bench-sda-")) / "X.dat"
        shape = X.shape
        out = np.memmap(path, dtype=X.dtype, mode="w+", shape=shape)
        out[:] = X
        out.flush()
        del out, X
        X = np.memmap(path, dtype=np.float64, mode="r", shape=shape)
        context = sklearn.config_context(working_memory=wm)
    gc.collect()
    est = SdAClassifier(
        hidden_layer_sizes=(width,) * LAYERS,
        corruption_level=CORRUPTION_LEVELS,
        pretrain_max_iter=pretrain_epochs,
        max_iter=epochs,
        random_state=SEED,
    )
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    rss_before, anon_before = _status_kib("VmRSS"), _status_kib("RssAnon")
    sampler = AnonPeak(every)
    sampler.start()
    start = time.perf_counter()
    with context, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    seconds = time.perf_counter() - start
    anon_peak = sampler.stop()
    hwm = _status_kib("VmHWM")
    if variant == "memmap":
        os.unlink(path)
        os.rmdir(path.parent)
    print(
        json.dumps(
            {
                "variant": variant,
                "n_samples": n,
                "width": width,
                "fit_s": seconds,
                "x_mib": x_bytes / 2**20,
                "rss_before_mib": rss_before / 1024,
                "peak_rss_above_mib": (hwm - rss_before) / 1024,
                "peak_anon_above_mib": (anon_peak - anon_before) / 1024,
                "train_accuracy": float(est.score(X[:5000], y[:5000])),
            }
        )
    )


def run(cfg, n, width, variant="memory"):
    args = [
        cfg.dataset,
        cfg.data_home,
        n,
        width,
        cfg.pretrain_epochs,
        cfg.epochs,
        variant,
        cfg.working_memory_mib,
        cfg.sample_s,
    ]
    code = f"import bench_sda_scaling as b; b.child(*{args!r})"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    row = json.loads(out.strip().splitlines()[-1])
    row["us_per_row"] = 1e6 * row["fit_s"] / n
    print(
        f"{variant} n {n:>6} width {width:>5}: {row['fit_s']:.1f} s, peak RSS "
        f"+{row['peak_rss_above_mib']:.0f} MiB, anonymous +"
        f"{row['peak_anon_above_mib']:.0f} MiB",
        flush=True,
    )
    return row


# ----------------------------------------------------------------- measure
COLUMNS = {
    "variant": "",
    "n_samples": ("n", "d"),
    "width": "d",
    "fit_s": ("fit s", ".1f"),
    "us_per_row": ("us/row", ".0f"),
    "vs_first": ("per-row vs first", ".3f"),
    "x_mib": ("data MiB", ".0f"),
    "peak_rss_above_mib": ("peak RSS above MiB", ".0f"),
    "peak_anon_above_mib": ("peak anon above MiB", ".0f"),
    "train_accuracy": ("acc (5k train)", ".3f"),
}


def measure(cfg):
    rows = [run(cfg, n, cfg.width) for n in cfg.rows]
    for r in rows:
        r["part"], r["vs_first"] = "rows", r["us_per_row"] / rows[0]["us_per_row"]
    width_rows = [run(cfg, cfg.width_rows, w) for w in cfg.widths]
    for r in width_rows:
        r["part"] = "widths"
        r["vs_first"] = r["us_per_row"] / width_rows[0]["us_per_row"]
    memmap_rows = [run(cfg, max(cfg.rows), cfg.width, "memmap")] if cfg.memmap else []
    for r in memmap_rows:
        r["part"], r["vs_first"] = "memmap", r["us_per_row"] / rows[-1]["us_per_row"]
    ratios = [r["vs_first"] for r in rows]
    largest = rows[-1]
    texts = [
        table(rows, COLUMNS, title="Against rows (in memory)"),
        table(width_rows, COLUMNS, title=f"Against width (n {cfg.width_rows})"),
    ]
    if memmap_rows:
        texts.append(
            table(
                memmap_rows,
                COLUMNS,
                title=f"Read from a memmap, working_memory {cfg.working_memory_mib}"
                " MiB (per-row vs the in-memory fit of the same n)",
            )
        )
    return Result(
        rows + width_rows + memmap_rows,
        summary={
            "per_row_time_ratios": ratios,
            "max_per_row_deviation": max(abs(x - 1) for x in ratios),
            "largest_peak_rss_above_mib": largest["peak_rss_above_mib"],
            "memmap_peak_anon_above_mib": (
                memmap_rows[0]["peak_anon_above_mib"] if memmap_rows else None
            ),
        },
        tables=texts,
        text="per-row time against the first n: "
        + ", ".join(f"{x:.3f}" for x in ratios)
        + " (linear within 10%: all in [0.9, 1.1]); timings depend on the machine "
        "and its load",
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, helps=HELPS)
