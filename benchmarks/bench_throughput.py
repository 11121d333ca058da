"""Training throughput of a 784-500 DAE layer against the machine's own GEMMs.

For every mini-batch size (20, 128, 512), dtype (float32, float64) and thread count
(1, 2), five kinds of work, interleaved and repeated (the best repeat is reported):

``step``
    stackeddae's training step alone: ``DAEObjective`` (masking 0.3, sigmoid, tied
    weights, cross-entropy) then the SGD update, on consecutive mini-batches of the
    5000 bundled digits, with exactly the thread limit of the row.
``floor``
    The GEMM floor: the same matrix products that ``DAEObjective.__call__`` makes,
    alone, on buffers of the same shapes and layout (W x~^T, y W, W da^T and the tied
    gradient dy^T x~ + y^T da, the hidden layer one unit per row): 10 m * 784 * 500
    flops per step.  ``efficiency = floor time / step time`` (goals: >= 75 % at
    batch 128, float32; issue #14: >= 90 %).
``floor, sample rows``
    The four ``np.dot`` calls of the objective before its hidden layer was turned
    (x~ W^T, y W, da W^T, [dy; y]^T [x~; da]): the floor of earlier runs, to compare.
``fit``
    ``DenoisingAutoencoder.fit`` (warm, ``--fit-epochs`` epochs over the 5000 digits,
    shuffled) with ``n_jobs`` set to the row's thread count: the step plus the
    loop's shuffling, copying and bookkeeping.
``pytorch``
    The same step in plain PyTorch (``torch_reference.py``: autograd and
    ``torch.optim.SGD``), same dtype, same threads, same initial weights.
``fine-tune``
    SdAClassifier's fine-tuning step (``NetworkObjective``, a 784-500-10 network,
    softmax cross-entropy) at the same mini-batch size and with the same plain SGD
    as ``step``: per sample it should be no slower than pretraining.
``fine-tune adam``
    The same with Adam, the classifier's default solver, whose update makes eight
    passes over the weights where SGD makes one (for information).

And per dtype and thread count: ``DenoisingAutoencoder.transform`` and
``SdAClassifier.predict`` on the 5000 digits (samples per second).

Usage::

    python benchmarks/bench_throughput.py          # everything, ~4-5 min
    python benchmarks/bench_throughput.py --batch-sizes 128 --dtypes float32 \\
        --threads 1 --repeats 1 --seconds 0.1 --fit-epochs 1    # quick look
    python benchmarks/bench_throughput.py --threads 1 --cpu-time   # loaded machine
    python benchmarks/bench_throughput.py --smoke   # seconds: does it run?

PyTorch is optional (``pip install torch==2.13.0``); without it its column is empty.
"""

import time
import warnings
from contextlib import contextmanager

import numpy as np
from _common import Result, Usage, loop_step, main, make_optimizer, table
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder, SdAClassifier
from stackeddae._init import init_weights
from stackeddae._objectives import DAEObjective, NetworkObjective
from stackeddae._training import reset_history
from stackeddae.datasets import load_mnist_5k

try:
    import torch
    import torch_reference
except ImportError:
    torch = torch_reference = None

# ----------------------------------------------------------------- configuration
N_HIDDEN = 500
DTYPES = ("float32", "float64")
CORRUPTION_LEVEL = 0.3
LEARNING_RATE = 0.1
GOAL_EFFICIENCY = 0.75  # at batch 128, float32
GOAL_EFFICIENCY_14 = 0.90  # issue #14
SEED = 0
CONFIG = dict(
    batch_sizes=(20, 128, 512),
    dtypes=DTYPES,
    threads=(1, 2),
    repeats=5,
    seconds=0.4,  # target length of one timed run of each kind of work
    fit_epochs=1,  # epochs over the 5000 digits per timed fit
    torch=True,  # the PyTorch column, when torch is installed (--no-torch: skip)
    # time by the process's CPU seconds, which waiting for a loaded core does not
    # inflate (one thread only)
    cpu_time=False,
)
SMOKE = dict(
    batch_sizes=(128,), dtypes=("float32",), threads=(1,), repeats=1, seconds=0.02
)
COLUMNS = {
    "threads": ("thr", "d"),
    "dtype": "",
    "batch_size": ("batch", "d"),
    "floor_gflops": ("GEMM GF/s", ".1f"),
    "floor": ".0f",
    "step": ".0f",
    "efficiency": ("eff.", ".0%"),
    "floor, sample rows": ("old fl.", ".0f"),
    "efficiency_vs_sample_rows_floor": ("eff.", ".0%"),
    "fit": ".0f",
    "fit_efficiency": ("eff.", ".0%"),
    "pytorch": ".0f",
    "speedup_vs_pytorch": ("vs pt", ".2f"),
    "fine-tune": ("finetune", ".0f"),
    "fine-tune adam": ("ft adam", ".0f"),
}
clock = time.perf_counter  # --cpu-time: time.process_time


@contextmanager
def threads(n, use_torch):
    """``n`` threads for numpy's BLAS, and for torch when it is in use."""
    if use_torch:
        with torch_reference.same_threads(n):
            yield
    else:
        with threadpool_limits(limits=n):
            yield


def quiet_fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args)


def dae_from_weights(W, X, batch_size, **params):
    """A DenoisingAutoencoder starting from ``W`` and zero biases, warm-started."""
    dae = DenoisingAutoencoder(
        n_components=W.shape[0],
        corruption_level=CORRUPTION_LEVEL,
        learning_rate_init=LEARNING_RATE,
        batch_size=batch_size,
        max_iter=1,
        n_iter_no_change=1 << 30,
        random_state=SEED,
        **params,
    )
    quiet_fit(dae, X[:batch_size])
    np.copyto(dae.components_, W)
    dae.intercept_hidden_[:] = 0
    dae.intercept_visible_[:] = 0
    reset_history(dae, False)
    dae.set_params(warm_start=True)
    return dae


# ------------------------------------------------------------ kinds of work
class Batches:
    """Consecutive mini-batches of X (and Y), wrapping around."""

    def __init__(self, X, batch_size, Y=None):
        self.X, self.Y, self.m, self.first = X, Y, batch_size, 0

    def next(self):
        if self.first + self.m > self.X.shape[0]:
            self.first = 0
        rows = slice(self.first, self.first + self.m)
        self.first += self.m
        return self.X[rows], None if self.Y is None else self.Y[rows]


class LibraryStep:
    """stackeddae's objective and SGD update, as in the training loop."""

    def __init__(self, W, X, batch_size):
        self.dae = dae_from_weights(W, X, batch_size)
        self.objective = DAEObjective(self.dae, batch_size)
        self.optimizer = make_optimizer(self.dae, self.objective.params)
        self.batches = Batches(X, batch_size)

    def __call__(self, n_steps):
        objective, optimizer, total = self.objective, self.optimizer, 0.0
        args = loop_step(objective)
        for _ in range(n_steps):
            Xb, _ = self.batches.next()
            total += float(objective(Xb))
            optimizer.update(*args)
        return total


class GemmFloor:
    """The matrix products of ``DAEObjective.__call__`` (tied weights), alone.

    W x~^T, y W, W da^T, then dW = [dy^T | y^T] [x~; da], on buffers laid out as
    the objective's: the hidden layer one unit per row.
    """

    def __init__(self, objective):
        m = objective.batch_size
        self.W = objective.params[0].copy()
        self.grad = np.empty_like(self.W)
        self.visible = objective.visible.copy()  # [x~; da], filled by real steps
        self.x_tilde, self.delta_out = self.visible[:m], self.visible[m : 2 * m]
        hidden = objective.hidden  # [dy; y], one sample per row
        self.delta_hidden_t = np.ascontiguousarray(hidden[:m].T)
        self.y_t = np.ascontiguousarray(hidden[m:].T)
        self.pair = np.hstack([self.delta_hidden_t, self.y_t])  # [dy^T | y^T]

    def __call__(self, n_steps):
        W = self.W
        for _ in range(n_steps):
            np.matmul(W, self.x_tilde.T, out=self.y_t)
            np.matmul(self.y_t.T, W, out=self.delta_out)
            np.matmul(W, self.delta_out.T, out=self.delta_hidden_t)
            np.matmul(self.pair, self.visible, out=self.grad)


class SampleRowsFloor(GemmFloor):
    """The four np.dot calls of the objective before the hidden layer was turned
    (one sample per row: x~ W^T, y W, da W^T, [dy; y]^T [x~; da]), for comparison."""

    def __init__(self, objective):
        super().__init__(objective)
        m = objective.batch_size
        self.hidden = objective.hidden.copy()
        self.delta_hidden, self.y = self.hidden[:m], self.hidden[m : 2 * m]

    def __call__(self, n_steps):
        W = self.W
        for _ in range(n_steps):
            np.dot(self.x_tilde, W.T, out=self.y)
            np.dot(self.y, W, out=self.delta_out)
            np.dot(self.delta_out, W.T, out=self.delta_hidden)
            np.dot(self.hidden.T, self.visible, out=self.grad)


class TorchStep:
    def __init__(self, W, X, batch_size):
        self.trainer = torch_reference.TorchTrainer(
            X,
            W,
            corruption_level=CORRUPTION_LEVEL,
            batch_size=batch_size,
            learning_rate=LEARNING_RATE,
            seed=SEED,
        )
        self.first = 0

    def __call__(self, n_steps):
        self.first = self.trainer.steps(n_steps, self.first)


class FineTuneStep:
    """SdAClassifier's fine-tuning objective and optimizer (784-500-10)."""

    def __init__(self, X, y, batch_size, solver="sgd"):
        self.clf = SdAClassifier(
            hidden_layer_sizes=(N_HIDDEN,),
            pretrain=False,
            solver=solver,
            learning_rate_init=LEARNING_RATE if solver == "sgd" else 0.001,
            momentum=0.0,
            batch_size=batch_size,
            max_iter=1,
            random_state=SEED,
        )
        quiet_fit(self.clf, X[:1000], y[:1000])
        self.objective = NetworkObjective(self.clf, batch_size)
        self.optimizer = make_optimizer(self.clf, self.objective.params)
        Y = (y[:, None] == self.clf.classes_[None, :]).astype(X.dtype)
        self.batches = Batches(X, batch_size, Y)

    def __call__(self, n_steps):
        objective, optimizer, total = self.objective, self.optimizer, 0.0
        args = loop_step(objective)
        for _ in range(n_steps):
            Xb, Yb = self.batches.next()
            total += float(objective(Xb, Yb))
            optimizer.update(*args)
        return total


def seconds_per_call(work, n_calls):
    start = clock()
    work(n_calls)
    return (clock() - start) / n_calls


def calibrate(work, seconds):
    """Number of calls of ``work`` that take about ``seconds`` (after a warm-up)."""
    work(1)
    n = 1
    while True:
        t = seconds_per_call(work, n) * n
        if t >= seconds / 4 or n >= 1 << 20:
            return max(1, int(round(n * seconds / max(t, 1e-9))))
        n *= 4


# ------------------------------------------------------------------ the runs
def run_config(X, y, W, batch_size, n_threads, cfg, use_torch):
    m = batch_size
    works = {"step": LibraryStep(W, X, m)}
    works["step"](3)  # fill the objective's buffers with real values
    works["floor"] = GemmFloor(works["step"].objective)
    works["floor, sample rows"] = SampleRowsFloor(works["step"].objective)
    if use_torch:
        works["pytorch"] = TorchStep(W, X, m)
    works["fine-tune"] = FineTuneStep(X, y, m)
    works["fine-tune adam"] = FineTuneStep(X, y, m, solver="adam")
    counts = {name: calibrate(work, cfg.seconds) for name, work in works.items()}
    fit_dae = dae_from_weights(W, X, m, shuffle=True, n_jobs=n_threads)
    fit_dae.set_params(max_iter=cfg.fit_epochs)
    times = {name: [] for name in [*works, "fit"]}
    for _ in range(cfg.repeats):
        for name, work in works.items():
            times[name].append(seconds_per_call(work, counts[name]) / m)
        start = clock()
        quiet_fit(fit_dae, X)
        times["fit"].append((clock() - start) / (cfg.fit_epochs * X.shape[0]))
    best = {name: min(t) for name, t in times.items()}  # seconds per sample
    flops_per_sample = 10 * X.shape[1] * N_HIDDEN
    row = {
        "threads": n_threads,
        "dtype": X.dtype.name,
        "batch_size": m,
        "fit_n_jobs": n_threads,
        "floor_gflops": flops_per_sample / best["floor"] / 1e9,
        "samples_per_s": {name: 1 / t for name, t in best.items()},
        "median_samples_per_s": {
            name: 1 / float(np.median(t)) for name, t in times.items()
        },
        "efficiency": best["floor"] / best["step"],
        "floor_sample_rows_gflops": flops_per_sample / best["floor, sample rows"] / 1e9,
        "efficiency_vs_sample_rows_floor": best["floor, sample rows"] / best["step"],
        "fit_efficiency": best["floor"] / best["fit"],
        # floor and step run back to back in each repeat: their ratio per repeat
        # is less sensitive to a changing load than the ratio of the bests
        "efficiency_median_of_repeats": float(
            np.median(np.array(times["floor"]) / np.array(times["step"]))
        ),
        "steps_per_run": counts,
    }
    if use_torch:
        row["speedup_vs_pytorch"] = best["pytorch"] / best["step"]
        row["fit_speedup_vs_pytorch"] = best["pytorch"] / best["fit"]
    row["fine_tune_vs_step"] = best["step"] / best["fine-tune"]
    row["fine_tune_adam_vs_step"] = best["step"] / best["fine-tune adam"]
    return row


def run_inference(X, y, W, n_threads, cfg):
    dae = dae_from_weights(W, X, 128)
    clf = FineTuneStep(X, y, 128).clf
    works = {
        "transform": lambda n: [dae.transform(X) for _ in range(n)],
        "predict": lambda n: [clf.predict(X) for _ in range(n)],
    }
    counts = {name: calibrate(work, cfg.seconds) for name, work in works.items()}
    times = {name: [] for name in works}
    for _ in range(cfg.repeats):
        for name, work in works.items():
            times[name].append(seconds_per_call(work, counts[name]) / X.shape[0])
    return {
        "threads": n_threads,
        "dtype": X.dtype.name,
        "n_samples": X.shape[0],
        "samples_per_s": {name: 1 / min(t) for name, t in times.items()},
    }


def report(rows, inference):
    """The tables of the rows and the inference runs, and the goals, as text."""
    shown = [{**r, **r["samples_per_s"]} for r in rows]
    tables = [
        table(
            shown,
            COLUMNS,
            title=f"DAE 784-{N_HIDDEN} pretraining, masking {CORRUPTION_LEVEL}, SGD: "
            "samples per second (best repeat)",
        )
        + "\nfloor: the step's GEMMs alone; old fl.: the four GEMMs of the layout "
        "before issue #14;\neff.: floor time / step (or fit) time; "
        "vs pt: stackeddae step speed / PyTorch's;\nfit: n_jobs = threads; "
        "finetune: SGD as in the step; ft adam: with Adam, its default solver"
    ]
    by_key = {(r["threads"], r["dtype"], r["batch_size"]): r for r in rows}
    ratios = []
    for (n_threads, dtype, m), r in by_key.items():
        other = by_key.get((n_threads, "float64", m))
        if dtype == "float32" and other is not None:
            ratios.append(
                {
                    "threads": n_threads,
                    "batch": m,
                    "step": r["samples_per_s"]["step"] / other["samples_per_s"]["step"],
                    "GEMM_floor": r["samples_per_s"]["floor"]
                    / other["samples_per_s"]["floor"],
                }
            )
    if ratios:
        tables.append(
            table(ratios, title="float32 / float64 speed (step samples per second)")
        )
    fastest = {}
    for inf in inference:
        fastest[inf["threads"], inf["dtype"]] = max(
            (
                r["samples_per_s"]["step"]
                for r in rows
                if r["threads"] == inf["threads"] and r["dtype"] == inf["dtype"]
            ),
            default=float("nan"),
        )
    tables.append(
        table(
            [
                {
                    **inf,
                    **inf["samples_per_s"],
                    "best_step": fastest[inf["threads"], inf["dtype"]],
                }
                for inf in inference
            ],
            {
                "threads": ("thr", "d"),
                "dtype": "",
                "transform": ".0f",
                "predict": ".0f",
                "best_step": ("best pretraining step", ".0f"),
            },
            title="Inference on the 5000 digits vs pretraining (samples per second)",
        )
    )
    goals = []
    for r in rows:
        if r["dtype"] == "float32" and r["batch_size"] == 128:
            goals.append(
                f"goal: float32 batch 128, {r['threads']} thread(s): step efficiency "
                f"{100 * r['efficiency']:.0f}% (fit {100 * r['fit_efficiency']:.0f}%) "
                f"{'PASS' if r['efficiency'] >= GOAL_EFFICIENCY else 'FAIL'} "
                f"(>= {100 * GOAL_EFFICIENCY:.0f}%), "
                f"{'PASS' if r['efficiency'] >= GOAL_EFFICIENCY_14 else 'FAIL'} "
                f"(>= {100 * GOAL_EFFICIENCY_14:.0f}%, issue #14); against the old "
                f"floor {100 * r['efficiency_vs_sample_rows_floor']:.0f}%"
            )
    slow = [r for r in rows if r["fine_tune_vs_step"] < 1]
    goals.append(
        "goal: fine-tuning no slower per sample than pretraining at the same batch: "
        + (
            "PASS"
            if not slow
            else "FAIL at "
            + ", ".join(f"{r['threads']}/{r['dtype']}/{r['batch_size']}" for r in slow)
        )
    )
    for inf in inference:
        best = fastest[inf["threads"], inf["dtype"]]
        worst = min(inf["samples_per_s"].values())
        goals.append(
            f"goal: transform/predict, {inf['threads']} thread(s) {inf['dtype']}: "
            f"{worst / best:.1f}x the fastest pretraining step "
            f"{'PASS' if worst >= best else 'FAIL'}"
        )
    goals.append("(timings depend on the machine and its load)")
    return tables, "\n".join(goals)


def measure(cfg):
    global clock
    if cfg.cpu_time:
        if tuple(cfg.threads) != (1,):
            raise Usage("--cpu-time measures one thread: add --threads 1")
        clock = time.process_time
    use_torch = torch is not None and cfg.torch
    if torch is None and cfg.torch:
        print("PyTorch is not installed: no PyTorch column (pip install torch==2.13.0)")
    X0, y0 = load_mnist_5k(return_X_y=True)
    order = np.random.default_rng(SEED).permutation(len(X0))
    X0, y0 = np.ascontiguousarray(X0[order]), y0[order]
    rows, inference = [], []
    for n_threads in cfg.threads:
        with threads(n_threads, use_torch):
            for dtype in cfg.dtypes:
                X = X0.astype(dtype)
                W = init_weights(
                    np.random.default_rng(SEED), X.shape[1], N_HIDDEN, "sigmoid", dtype
                )
                for m in cfg.batch_sizes:
                    row = run_config(X, y0, W, m, n_threads, cfg, use_torch)
                    rows.append(row)
                    s = row["samples_per_s"]
                    print(
                        f"{n_threads} thread(s) {dtype} batch {m}: step {s['step']:.0f}"
                        f" samples/s, efficiency {100 * row['efficiency']:.0f}%",
                        flush=True,
                    )
                inference.append(run_inference(X, y0, W, n_threads, cfg))
    tables, text = report(rows, inference)
    return Result(
        rows,
        summary={
            "n_visible": X0.shape[1],
            "n_hidden": N_HIDDEN,
            "corruption_level": CORRUPTION_LEVEL,
            "learning_rate": LEARNING_RATE,
            "goal_efficiency": GOAL_EFFICIENCY,
            "goal_efficiency_issue_14": GOAL_EFFICIENCY_14,
            "clock": "process CPU time" if cfg.cpu_time else "wall time",
            "statistic": "best of the repeats (median in median_samples_per_s)",
            "inference": inference,
        },
        tables=tables,
        text=text,
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        choices={"dtypes": DTYPES},
        helps={"cpu_time": "time by the process's CPU seconds (one thread only)"},
    )
