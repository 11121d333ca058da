"""Per-epoch cost of scikit-learn's callbacks: none set, and a ProgressBar.

Issue #23's goal: with no callback set, the callback support costs under 1% of an
epoch.  Two measurements of it, both printed as ratios:

- **machinery**: what a fit with no callback does for the callbacks, timed alone
  ``--machinery-reps`` times: the root context (``_init_callback_context``), the
  begin and end hooks of the fit and of its layers (no epoch is reported: the
  training loop tests ``is None`` once per epoch), divided by the fit's time per
  epoch times its epochs.  Precise, and independent of the machine's load.
- **fits**: whole fits, in turns (``--repeats``, who goes first rotating), with no
  callback (``none``), with ``ProgressBar()`` (``progressbar``: rich draws every
  task, in a thread whose time counts) and, given ``--baseline
  path/to/stackeddae`` (a checkout before callbacks, e.g. ``git worktree add
  /tmp/before <commit>``), the same fit by that version (``baseline``).  Time is
  the process's CPU time per epoch, which waiting for a loaded core does not
  inflate; the ratio ``none / baseline`` of the medians (and of the fastest fits)
  is the overhead as measured, with the noise of whole fits: on the shared 2-core
  machine the medians of identical code differ by 1-2% from run to run.

The estimators: a DenoisingAutoencoder 784-100 (mini-batches of 20, the reference
settings) and a StackedDenoisingAutoencoder (100, 50) on the 5000 bundled digits,
one BLAS thread.  ProgressBar needs rich (``pip install rich``).

Usage::

    python benchmarks/bench_callbacks.py
    python benchmarks/bench_callbacks.py --baseline /tmp/before/stackeddae
"""

import contextlib
import os
import time
import warnings

import numpy as np
from _common import Result, main, require, table
from threadpoolctl import threadpool_limits

import stackeddae
from stackeddae.datasets import load_mnist_5k

CONFIG = dict(
    estimators=("dae", "stack"),
    n_samples=5000,  # of the bundled digits
    epochs=5,  # per fit (per layer for the stack)
    repeats=7,  # turns of the modes
    machinery_reps=2000,  # fits' worth of callback machinery timed alone
    baseline=None,  # path/to/stackeddae without callbacks (a row "baseline")
)
SMOKE = dict(n_samples=200, epochs=1, repeats=1, machinery_reps=10)
COLUMNS = {
    "estimator": "",
    "mode": "",
    "s_per_epoch": ".4f",
    "fastest": ".4f",
    "p25": ".4f",
    "p75": ".4f",
    "vs_none": ".4f",
}
GOAL = 0.01  # issue #23: under 1% per epoch with no callback set


def estimators(package, epochs):
    """key -> (name, a factory of the benchmarked estimator of ``package``)."""
    return {
        "dae": (
            "DAE 784-100",
            lambda: package.DenoisingAutoencoder(100, max_iter=epochs, random_state=0),
        ),
        "stack": (
            "stack (100, 50)",
            lambda: package.StackedDenoisingAutoencoder(
                (100, 50), max_iter=epochs, random_state=0
            ),
        ),
    }


def cpu_seconds(make, X, callbacks=()):
    """CPU time of one fit (the callbacks' output, if any, thrown away)."""
    est = make()
    if callbacks:
        est.set_callbacks(*callbacks)
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        start = time.process_time()
        est.fit(X)
        return time.process_time() - start


def machinery_seconds(make, X, reps):
    """CPU time per fit of what a fit with no callback does for them: the root
    task and the layers' tasks, begun and ended, as ``_callbacks.Task`` does it,
    and the teardown that ``sklearn.base._fit_context`` runs after every fit
    (with or without this package's support: counted all the same)."""
    from sklearn.callback._callback_support import callback_management_context

    from stackeddae._callbacks import Task

    est = make()
    n_layers = len(getattr(est, "hidden_layer_sizes", ()))  # a DAE: no layer task

    def fit_tasks():
        with callback_management_context(est), Task.fit(est, X, X, n_layers) as task:
            assert task.epochs(est) is None  # what the loop asks, for a DAE
            for _ in range(n_layers):
                with task.subtask("layer", max_subtasks=est.max_iter) as layer:
                    assert layer.epochs(est) is None

    fit_tasks()  # warm up
    start = time.process_time()
    for _ in range(reps):
        fit_tasks()
    return (time.process_time() - start) / reps


def measure(cfg):
    require("rich", "for ProgressBar")
    from sklearn.callback import ProgressBar

    packages = {"none": stackeddae, "progressbar": stackeddae}
    if cfg.baseline:
        from bench_step_versions import load

        packages["baseline"] = load("stackeddae_baseline", cfg.baseline)
    callbacks = {"progressbar": lambda: (ProgressBar(),)}
    X = load_mnist_5k(return_X_y=True)[0][: cfg.n_samples]
    rows, summary = [], {}
    with threadpool_limits(1):
        for key in cfg.estimators:
            name = estimators(stackeddae, cfg.epochs)[key][0]
            makes = {
                mode: estimators(package, cfg.epochs)[key][1]
                for mode, package in packages.items()
            }
            n_layers = len(getattr(makes["none"](), "hidden_layer_sizes", ())) or 1
            n_epochs = cfg.epochs * n_layers
            cpu_seconds(makes["none"], X[:100])  # warm up
            modes = list(makes)
            times = {mode: [] for mode in modes}
            for r in range(cfg.repeats):
                for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:
                    extra = callbacks.get(mode, lambda: ())()
                    times[mode].append(cpu_seconds(makes[mode], X, extra) / n_epochs)
            machinery = machinery_seconds(makes["none"], X, cfg.machinery_reps)
            medians = {mode: float(np.median(t)) for mode, t in times.items()}
            for mode in modes:
                p25, p75 = np.percentile(times[mode], [25, 75])
                rows.append(
                    {
                        "estimator": name,
                        "mode": mode,
                        "s_per_epoch": medians[mode],
                        "fastest": float(np.min(times[mode])),
                        "p25": float(p25),
                        "p75": float(p75),
                        "vs_none": medians[mode] / medians["none"],
                    }
                )
            share = machinery / (medians["none"] * n_epochs)
            summary[name] = {
                "machinery_s_per_fit": machinery,
                "machinery_share_per_epoch": share,
                "progressbar_over_none": medians["progressbar"] / medians["none"],
            }
            if cfg.baseline:
                summary[name]["none_over_baseline"] = (
                    medians["none"] / medians["baseline"]
                )
                summary[name]["none_over_baseline_fastest"] = float(
                    np.min(times["none"]) / np.min(times["baseline"])
                )
    lines = []
    for name, s in summary.items():
        ratio = s["machinery_share_per_epoch"]
        verdict = "under" if ratio < GOAL else "NOT under"
        lines.append(
            f"{name}: with no callback set, the callback machinery costs "
            f"{s['machinery_s_per_fit'] * 1e6:.1f} us per fit, a ratio of "
            f"{ratio:.2e} of the fit's epochs ({verdict} the 1% goal); "
            f"ProgressBar / none = {s['progressbar_over_none']:.4f}"
            + (
                f"; none / baseline = {s['none_over_baseline']:.4f} (medians), "
                f"{s['none_over_baseline_fastest']:.4f} (fastest fits)"
                if "none_over_baseline" in s
                else ""
            )
        )
    summary["goal"] = GOAL
    return Result(
        rows,
        summary=summary,
        tables=[table(rows, COLUMNS)],
        text="\n".join(lines),
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        columns=COLUMNS,
        doc=__doc__,
        choices={"estimators": ("dae", "stack")},
    )
