"""How a DAE fit scales: time against samples and width, peak memory against X.

Data: rows drawn (with replacement) from the 5000 bundled digits plus Gaussian jitter
(standard deviation 0.05), clipped to [0, 1], float32; a smaller n is a prefix of the
largest X (a view, so nothing is copied).

1. Fit time of ``DenoisingAutoencoder(100, batch_size=20, corruption_level=0.3)``,
   2 epochs, against n = 1k ... 100k: the time per sample must stay flat (the fitted
   slope of log time on log n near 1).
2. Fit time against the width (100, 250, 500, 1000 hidden units) at n = 10k.
3. Peak memory of a fit against the size of X: each size runs in a fresh
   subprocess that builds X, then fits under ``tracemalloc`` (numpy reports its
   array allocations to it), so the peak counts what the fit allocates beyond X.
   It should stay near the weights and buffers, whatever n: a copy of X anywhere
   (validation, shuffling, per epoch) shows as a ratio near 1 or more.  The
   subprocess also reports the growth of its peak resident set during the fit (on
   Linux the peak is reset just before the fit; elsewhere ``ru_maxrss``, which also
   counts building X).  The second memory variant fits with ``early_stopping=True``,
   which holds out a validation fraction: splitting X by row indices copies it.

Usage::

    python benchmarks/bench_scaling.py                       # ~2 min
    python benchmarks/bench_scaling.py --n-samples 1000 3000 10000 \\
        --widths 100 250 --width-n 3000 --repeats 1         # quick look
    python benchmarks/bench_scaling.py --smoke               # seconds: does it run?

The fits train with one BLAS thread (``n_jobs=None``; ``--threads`` limits BLAS
outside them); timings are the best of ``--repeats`` fits.
"""

import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _common import Result, main, pyplot, table
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
N_COMPONENTS = 100  # width of the sample sweep and the memory runs
BATCH_SIZE = 20
CORRUPTION_LEVEL = 0.3
JITTER = 0.05
# Memory runs: the default fit, and one that holds out a validation set.
MEMORY_VARIANTS = {"default": {}, "early_stopping": {"early_stopping": True}}
SEED = 0
CONFIG = dict(
    n_samples=(1_000, 3_000, 10_000, 30_000, 100_000),
    widths=(100, 250, 500, 1000),
    width_n=10_000,  # samples of the width sweep
    epochs=2,
    repeats=3,
    threads=1,
    memory=True,  # the memory runs (--no-memory skips them)
    memory_variants=tuple(MEMORY_VARIANTS),
    plot=True,  # the PNG beside the record
)
SMOKE = dict(
    n_samples=(500,),  # one memory run: one subprocess
    widths=(50,),
    width_n=500,
    epochs=1,
    repeats=1,
    memory_variants=("default",),
)


def make_data(n, seed=SEED, chunk=10_000):
    """n jittered digits, float32 in [0, 1], built chunk by chunk (no float64 copy)."""
    base, _ = load_mnist_5k(return_X_y=True)
    rng = np.random.default_rng(seed)
    X = np.empty((n, base.shape[1]), np.float32)
    noise = np.empty((min(chunk, n), base.shape[1]), np.float32)
    for first in range(0, n, chunk):
        rows = X[first : first + chunk]
        np.take(base, rng.integers(0, len(base), len(rows)), axis=0, out=rows)
        rng.standard_normal(out=noise[: len(rows)], dtype=np.float32)
        noise *= JITTER
        rows += noise[: len(rows)]
        np.clip(rows, 0, 1, out=rows)
    return X


def make_dae(width, epochs, **params):
    return DenoisingAutoencoder(
        n_components=width,
        corruption_level=CORRUPTION_LEVEL,
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        random_state=SEED,
        **params,
    )


def timed_fit(X, width, epochs, repeats):
    times = []
    for _ in range(repeats):
        dae = make_dae(width, epochs)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dae.fit(X)
        times.append(time.perf_counter() - start)
    return min(times), times


def time_rows(X, sizes, width, epochs, repeats):
    rows = []
    for n in sizes:
        best, times = timed_fit(X[:n], width, epochs, repeats)
        rows.append(
            {
                "n_samples": n,
                "width": width,
                "fit_time_s": best,
                "all_times_s": times,
                "us_per_sample_epoch": 1e6 * best / (n * epochs),
            }
        )
        print(
            f"n {n:>7} width {width:>5}: {best:.2f} s, "
            f"{rows[-1]['us_per_sample_epoch']:.1f} us per sample and epoch",
            flush=True,
        )
    return rows


def slope(xs, ys):
    """Least-squares slope of log y on log x."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


# ---------------------------------------------------------------------- memory
def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss():
    """Current RSS in KiB with the peak (VmHWM) reset to it; None if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except (OSError, KeyError, ValueError):
        return None


def peak_rss(reset):
    """Peak RSS in KiB since ``reset_peak_rss`` (or since the start)."""
    if reset is not None:
        try:
            return _status_kib("VmHWM")
        except (OSError, KeyError, ValueError):
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(n, epochs, threads, variant):
    """Build X, then fit it under tracemalloc; print one JSON line.

    Run in a fresh process by :func:`memory_rows`.
    """
    X = make_data(n)
    dae = make_dae(N_COMPONENTS, epochs, **MEMORY_VARIANTS[variant])
    rss_before = reset_peak_rss()
    if rss_before is None:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reset = rss_before
    tracemalloc.start()
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = peak_rss(reset)
    weights = sum(
        a.nbytes
        for a in (dae.components_, dae.intercept_hidden_, dae.intercept_visible_)
    )
    print(
        json.dumps(
            {
                "n_samples": n,
                "variant": variant,
                "x_bytes": X.nbytes,
                "weights_bytes": weights,
                "fit_peak_bytes": peak,
                "fit_retained_bytes": current,
                "rss_before_fit_kib": rss_before,
                "peak_rss_during_fit_kib": rss_after,
            }
        )
    )


def memory_rows(sizes, variants, epochs, threads):
    rows = []
    for variant, n in ((v, n) for v in variants for n in sizes):
        child = f"import bench_scaling; bench_scaling.memory_child({n}, {epochs}, "
        out = subprocess.run(
            [sys.executable, "-c", child + f"{threads}, {variant!r})"],
            cwd=Path(__file__).resolve().parent,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        row["peak_over_x"] = row["fit_peak_bytes"] / row["x_bytes"]
        row["total_over_x"] = (row["x_bytes"] + row["fit_peak_bytes"]) / row["x_bytes"]
        row["rss_growth_over_x"] = (
            1024
            * (row["peak_rss_during_fit_kib"] - row["rss_before_fit_kib"])
            / row["x_bytes"]
        )
        rows.append(row)
        print(
            f"{variant} n {n:>7}: X {row['x_bytes'] / 2**20:.1f} MiB, fit peak "
            f"{row['fit_peak_bytes'] / 2**20:.2f} MiB",
            flush=True,
        )
    return rows


# ---------------------------------------------------------------------- output
def tables(sample_rows, width_rows, mem_rows, epochs):
    base = sample_rows[0]["us_per_sample_epoch"]
    for r in sample_rows:
        r["vs_smallest"] = r["us_per_sample_epoch"] / base
    for r in width_rows:
        r["ns_per_unit"] = 1e3 * r["us_per_sample_epoch"] / r["width"]
    for r in mem_rows:
        for key in ("x", "weights", "fit_peak"):
            r[f"{key}_mib"] = r[f"{key}_bytes"] / 2**20
    texts = [
        table(
            sample_rows,
            {
                "n_samples": ("n", "d"),
                "fit_time_s": ("fit s", ".2f"),
                "us_per_sample_epoch": ("us/sample/epoch", ".1f"),
                "vs_smallest": ".2f",
            },
            title=f"Fit time against samples: DAE 784-{N_COMPONENTS}, batch "
            f"{BATCH_SIZE}, {epochs} epochs",
        )
    ]
    if width_rows:
        texts.append(
            table(
                width_rows,
                {
                    "width": "d",
                    "fit_time_s": ("fit s", ".2f"),
                    "us_per_sample_epoch": ("us/sample/epoch", ".1f"),
                    "ns_per_unit": ("per unit ns", ".1f"),
                },
                title=f"Fit time against width: n {width_rows[0]['n_samples']}",
            )
        )
    if mem_rows:
        texts.append(
            table(
                mem_rows,
                {
                    "variant": "",
                    "n_samples": ("n", "d"),
                    "x_mib": ("X MiB", ".1f"),
                    "weights_mib": ("weights MiB", ".2f"),
                    "fit_peak_mib": ("fit peak MiB", ".2f"),
                    "peak_over_x": ("peak / X", ".3f"),
                    "total_over_x": ("(X+peak) / X", ".3f"),
                    "rss_growth_over_x": ("RSS growth / X", ".3f"),
                },
                title="Peak memory of a fit (allocations beyond X, tracemalloc), "
                f"784-{N_COMPONENTS}",
            )
        )
    return texts


def plot(record, path):
    plt = pyplot()
    if plt is None:
        return None
    rows = record["rows"]
    sample_rows, width_rows, mem_rows = (
        [r for r in rows if r["part"] == part]
        for part in ("samples", "widths", "memory")
    )
    panels = 2 + bool(mem_rows)
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 3.5))
    n = np.array([r["n_samples"] for r in sample_rows])
    t = np.array([r["fit_time_s"] for r in sample_rows])
    axes[0].loglog(n, t, "o-", label="fit")
    axes[0].loglog(n, t[0] * n / n[0], ":", color="grey", label="linear")
    axes[0].set_xlabel("samples")
    axes[0].set_ylabel("fit time (s)")
    axes[0].legend()
    if width_rows:
        w = np.array([r["width"] for r in width_rows])
        tw = np.array([r["fit_time_s"] for r in width_rows])
        axes[1].loglog(w, tw, "o-", label="fit")
        axes[1].loglog(w, tw[0] * w / w[0], ":", color="grey", label="linear")
        axes[1].set_xlabel("hidden units")
        axes[1].set_ylabel("fit time (s)")
        axes[1].legend()
    if mem_rows:
        for variant in dict.fromkeys(r["variant"] for r in mem_rows):
            rows = [r for r in mem_rows if r["variant"] == variant]
            x = np.array([r["x_bytes"] for r in rows]) / 2**20
            peak = np.array([r["fit_peak_bytes"] for r in rows]) / 2**20
            axes[2].loglog(x, x + peak, "o-", label=f"X + fit peak, {variant}")
        axes[2].loglog(x, x, ":", color="grey", label="X")
        axes[2].set_xlabel("size of X (MiB)")
        axes[2].set_ylabel("memory (MiB)")
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def measure(cfg):
    X = make_data(max([*cfg.n_samples, cfg.width_n]))
    with threadpool_limits(cfg.threads):
        sample_rows = time_rows(X, cfg.n_samples, N_COMPONENTS, cfg.epochs, cfg.repeats)
        width_rows = []
        for width in cfg.widths:
            width_rows += time_rows(X, [cfg.width_n], width, cfg.epochs, cfg.repeats)
    del X
    mem_rows = (
        memory_rows(cfg.n_samples, cfg.memory_variants, cfg.epochs, cfg.threads)
        if cfg.memory
        else []
    )
    slopes = {}
    if len(sample_rows) > 1:
        slopes["samples_slope"] = slope(
            [r["n_samples"] for r in sample_rows],
            [r["fit_time_s"] for r in sample_rows],
        )
    if len(width_rows) > 1:
        slopes["widths_slope"] = slope(
            [r["width"] for r in width_rows], [r["fit_time_s"] for r in width_rows]
        )
    texts = tables(sample_rows, width_rows, mem_rows, cfg.epochs)
    for part, part_rows in (
        ("samples", sample_rows),
        ("widths", width_rows),
        ("memory", mem_rows),
    ):
        for r in part_rows:
            r["part"] = part
    return Result(
        sample_rows + width_rows + mem_rows,
        summary={
            **slopes,
            "n_components": N_COMPONENTS,
            "batch_size": BATCH_SIZE,
            "corruption_level": CORRUPTION_LEVEL,
            "jitter": JITTER,
            "dtype": "float32",
        },
        tables=texts,
        text="".join(
            f"slope of log time on log {axis}: {slopes[key]:.3f} (linear: 1)\n"
            for key, axis in (("samples_slope", "n"), ("widths_slope", "width"))
            if key in slopes
        )
        + "(timings depend on the machine and its load)",
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        choices={"memory_variants": tuple(MEMORY_VARIANTS)},
        plot=plot,
    )
