"""The reference DAE experiment in stackeddae, PyTorch and JAX (CPU), side by side.

DAE 784-100 (sigmoid, tied weights, cross-entropy), SGD with learning rate 0.1 on
mini-batches of 20, 200 epochs, masking noise 0 and 0.3, on the 5000 bundled digits:
the Theano tutorial's experiment (``bench_reference.py``).  The implementations
(``torch_reference.py``: PyTorch eager, autograd; ``jax_reference.py``: JAX, a whole
epoch jit-compiled as one ``lax.scan`` over the mini-batches) work in float32, start
from the same initial weights (stackeddae's, zero biases), visit the same mini-batches
in the same order (the rows permuted once with ``--seed``, then no shuffling) and run
with one thread each.  They take turns of ``--chunk`` epochs, who goes first rotating,
so that a change in the machine's load hits all alike; the speed-up of each turn is
computed within the turn, and the median over the turns is the figure that counts.
The noise differs (each draws its own), so with corruption 0.3 the costs agree
statistically, not number for number.

Before training, one mini-batch's cost and gradients are compared (no noise): they
must agree to float32 rounding.  With one thread the process is pinned to one core
(``os.sched_setaffinity``): XLA passes its work between the threads of its pools,
one at a time, and pinning makes sure none of them runs in parallel.  Every turn
records the CPU time / wall time and the threads that did the work.

Printed: time per epoch of each, the speed-up of stackeddae over each (their time /
ours; goals: PyTorch >= 2, JAX >= 1.2), and the cost at epochs 0/10/100/190 of each
against the published Theano values.

Usage::

    python benchmarks/bench_vs_torch.py                  # 200 epochs, ~4-6 min
    python benchmarks/bench_vs_torch.py --epochs 12 --chunk 4   # quick look
    python benchmarks/bench_vs_torch.py --no-jax --threads 2
    python benchmarks/bench_vs_torch.py --smoke          # seconds: does it run?

Needs PyTorch (``pip install torch==2.13.0``: the CPU build on these machines); JAX
(``pip install jax``) is used when installed, with one thread only (XLA's thread
pools are sized when jax is imported).  ``--threads`` sets ``torch.set_num_threads``,
the BLAS limit and stackeddae's ``n_jobs`` alike.
"""

import importlib.util
import os
import time

import numpy as np
from _common import (
    PUBLISHED,
    TOLERANCE,
    Result,
    busy_threads,
    main,
    pyplot,
    require,
    table,
    thread_cpu_seconds,
)

torch = require("torch", "", "pip install torch==2.13.0, the CPU build")

from jax_reference import JaxTrainer, cost_and_grads, one_thread_flags  # noqa: E402
from torch_reference import (  # noqa: E402
    TorchDAE,
    TorchTrainer,
    fit_quietly,
    initial_weights,
    reconstruction_cost,
    same_threads,
    stackeddae_from_weights,
)

from stackeddae._objectives import DAEObjective  # noqa: E402
from stackeddae.datasets import load_mnist_5k  # noqa: E402

# ----------------------------------------------------------------- configuration
N_COMPONENTS = 100
LEARNING_RATE = 0.1
BATCH_SIZE = 20
CORRUPTION_LEVELS = (0.0, 0.3)
# Goals for the speed-up, their time per epoch / stackeddae's (median of the turns).
GOALS = {"pytorch": 2.0, "jax": 1.2}
CONFIG = dict(
    epochs=200,
    chunk=10,  # epochs per turn when alternating the implementations
    threads=1,  # torch.set_num_threads, the BLAS limit and n_jobs, equal for all
    seed=0,
    jax=True,  # JAX too, when installed and with one thread (--no-jax: leave it out)
    plot=True,  # the PNG beside the record
)
SMOKE = dict(epochs=2, chunk=1)


def setup(cfg):
    """Whether JAX takes part, and the CPU this process is pinned to (or None)."""
    use_jax = cfg.jax and cfg.threads == 1
    if use_jax and importlib.util.find_spec("jax") is None:
        print("JAX is not installed (pip install jax): comparing with PyTorch only")
        use_jax = False
    if use_jax:
        one_thread_flags()  # before jax is first imported
    cpu = None
    if cfg.threads == 1 and hasattr(os, "sched_setaffinity"):
        # XLA hands its work between threads of its pools, one at a time; pinned to
        # one core, no implementation can run anything in parallel
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    return use_jax, cpu


def load_data(seed):
    X, _ = load_mnist_5k(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    return np.ascontiguousarray(X[order])


def _gaps(cost, grads, their_cost, their_grads):
    gaps = {"cost": abs(cost - their_cost) / abs(their_cost)}
    names = ("W", "b", "b_prime")
    for name, ours, theirs in zip(names, grads, their_grads, strict=True):
        gaps[name] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    return gaps


def gradient_check(X, W, use_jax):
    """Cost and gradients of one noiseless mini-batch: max relative gaps, by peer."""
    dae = stackeddae_from_weights(
        W, X, corruption_level=0.0, batch_size=BATCH_SIZE, shuffle=False
    )
    rng = np.random.default_rng(1)
    dae.intercept_hidden_[:] = rng.normal(0, 0.1, dae.intercept_hidden_.shape)
    dae.intercept_visible_[:] = rng.normal(0, 0.1, dae.intercept_visible_.shape)
    objective = DAEObjective(dae, BATCH_SIZE)
    xb = X[:BATCH_SIZE]
    cost = float(objective(xb))
    model = TorchDAE(W, dae.intercept_hidden_, dae.intercept_visible_)
    x = torch.from_numpy(xb)
    loss = reconstruction_cost(model(x), x)
    loss.backward()
    torch_grads = [p.grad.numpy() for p in (model.W, model.b, model.b_prime)]
    gaps = {"pytorch": _gaps(cost, objective.grads, loss.item(), torch_grads)}
    if use_jax:
        jax_cost, jax_grads = cost_and_grads(
            W, dae.intercept_hidden_, dae.intercept_visible_, xb
        )
        gaps["jax"] = _gaps(cost, objective.grads, jax_cost, jax_grads)
    return gaps


class StackeddaeTrainer:
    """stackeddae's DenoisingAutoencoder behind the trainers' ``train(epochs)``."""

    def __init__(self, X, W, *, corruption_level, seed, threads):
        self.X = X
        self.dae = stackeddae_from_weights(
            W,
            X,
            seed=seed,
            corruption_level=corruption_level,
            learning_rate_init=LEARNING_RATE,
            batch_size=BATCH_SIZE,
            shuffle=False,
            n_jobs=threads,
        )

    @property
    def loss_curve(self):
        return [float(c) for c in self.dae.loss_curve_]

    def train(self, epochs):
        self.dae.set_params(max_iter=epochs)
        fit_quietly(self.dae, self.X)
        return self


def make_trainers(X, W, level, cfg, use_jax):
    """Every implementation, from the same weights and mini-batches, ours first."""
    common = {"corruption_level": level, "seed": cfg.seed}
    peers = {"pytorch": TorchTrainer}
    if use_jax:
        peers["jax"] = JaxTrainer
    trainers = {"stackeddae": StackeddaeTrainer(X, W, threads=cfg.threads, **common)}
    for name, cls in peers.items():
        trainers[name] = cls(
            X, W, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, **common
        )
    return trainers


def run_level(X, W, level, cfg, use_jax):
    trainers = make_trainers(X, W, level, cfg, use_jax)
    names = list(trainers)
    # per turn: (epochs, wall seconds, CPU seconds, threads that did the work)
    chunks = {name: [] for name in names}

    def run(name, k):
        threads_before = thread_cpu_seconds()
        wall, cpu = time.perf_counter(), time.process_time()
        trainers[name].train(k)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        busy = busy_threads(threads_before, thread_cpu_seconds())
        chunks[name].append((k, wall, cpu, busy))

    done, turn = 0, 0
    while done < cfg.epochs:
        k = min(cfg.chunk, cfg.epochs - done)
        # rotate who goes first, so that no implementation always follows another
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            run(name, k)
        done += k
        turn += 1
        print(
            f"  corruption {level}: {done}/{cfg.epochs} epochs, cost "
            + ", ".join(f"{n} {t.loss_curve[-1]:.2f}" for n, t in trainers.items()),
            flush=True,
        )

    result = {"corruption_level": level, "implementations": names}
    for name in names:
        epochs = sum(c[0] for c in chunks[name])
        seconds = sum(c[1] for c in chunks[name])
        per_turn = [c[1] / c[0] for c in chunks[name]]
        result[name] = {
            "loss_curve": trainers[name].loss_curve,
            "fit_time_s": seconds,
            "time_per_epoch_s": seconds / epochs,
            "median_chunk_time_per_epoch_s": float(np.median(per_turn)),
            "median_chunk_cpu_per_epoch_s": float(
                np.median([c[2] / c[0] for c in chunks[name]])
            ),
            "chunk_time_per_epoch_quartiles_s": [
                float(q) for q in np.percentile(per_turn, [25, 75])
            ],
            "cpu_per_wall": sum(c[2] for c in chunks[name]) / seconds,
            "max_busy_threads": max(c[3] for c in chunks[name]),
            "chunks": chunks[name],
        }
    ours = np.array(result["stackeddae"]["loss_curve"])
    for name in names[1:]:
        # ratio > 1: stackeddae is faster; per turn, then the median of the turns
        per_turn = [
            (theirs[1] / theirs[0]) / (mine[1] / mine[0])
            for mine, theirs in zip(chunks["stackeddae"], chunks[name], strict=True)
        ]
        result[name]["ratio"] = (
            result[name]["time_per_epoch_s"] / result["stackeddae"]["time_per_epoch_s"]
        )
        result[name]["median_turn_ratio"] = float(np.median(per_turn))
        result[name]["turn_ratio_range"] = [min(per_turn), max(per_turn)]
        # the same from CPU seconds, which waiting for a loaded core does not inflate
        cpu_turn = [
            (theirs[2] / theirs[0]) / (mine[2] / mine[0])
            for mine, theirs in zip(chunks["stackeddae"], chunks[name], strict=True)
        ]
        result[name]["median_turn_cpu_ratio"] = float(np.median(cpu_turn))
        result[name]["turn_cpu_ratio_range"] = [min(cpu_turn), max(cpu_turn)]
        theirs = np.array(result[name]["loss_curve"])
        result[name]["max_relative_curve_gap"] = float(
            np.max(np.abs(ours - theirs) / theirs)
        )
    return result


def compare(result):
    level = result["corruption_level"]
    rows = []
    for epoch, published in PUBLISHED[level].items():
        curve = result["stackeddae"]["loss_curve"]
        if epoch >= len(curve):
            continue
        row = {"corruption_level": level, "epoch": epoch, "published": published}
        for name in result["implementations"]:
            cost = result[name]["loss_curve"][epoch]
            row[name] = cost
            row[f"{name}_vs_published"] = (cost - published) / published
        row["pass"] = bool(abs(row["stackeddae_vs_published"]) <= TOLERANCE)
        rows.append(row)
    return rows


def report(gaps, results, rows, cfg, cpu):
    """The tables of the timings and the costs, and the gaps, as text."""
    names = results[0]["implementations"]
    timing = []
    for r in results:
        for name in names:
            res = r[name]
            timing.append(
                {
                    "corruption": r["corruption_level"],
                    "implementation": name,
                    "s_per_epoch": res["time_per_epoch_s"],
                    "median_turn": res["median_chunk_time_per_epoch_s"],
                    "cpu_per_epoch": res["median_chunk_cpu_per_epoch_s"],
                    "cpu_per_wall": res["cpu_per_wall"],
                    "busy_threads": res["max_busy_threads"],
                    "speed_up": res.get("ratio"),
                    "median_turn_speed_up": res.get("median_turn_ratio"),
                    "range": None
                    if name not in GOALS
                    else "{:.2f}-{:.2f}".format(*res["turn_ratio_range"]),
                    "by_cpu_time": res.get("median_turn_cpu_ratio"),
                    "goal": GOALS.get(name),
                    "result": None
                    if name not in GOALS
                    else (
                        "PASS" if res["median_turn_ratio"] >= GOALS[name] else "FAIL"
                    ),
                }
            )
    cost_rows = [
        {
            **{k: r[k] for k in ("corruption_level", "epoch", "published")},
            **{key: r[key] for name in names for key in (name, f"{name}_vs_published")},
            "result": "PASS" if r["pass"] else "FAIL",
        }
        for r in rows
    ]
    cost_columns = {"corruption_level": ("corruption", ".1f"), "epoch": "d"}
    cost_columns["published"] = ".1f"
    for name in names:
        cost_columns[name] = ".2f"
        cost_columns[f"{name}_vs_published"] = ("diff", "+.1%")
    cost_columns["result"] = ""
    tables = [
        table(
            timing,
            {
                "corruption": ".1f",
                "implementation": "",
                "s_per_epoch": ("s/epoch", ".4f"),
                "median_turn": ".4f",
                "cpu_per_epoch": ("CPU", ".4f"),
                "cpu_per_wall": ("CPU/wall", ".2f"),
                "busy_threads": "d",
                "speed_up": ".2f",
                "median_turn_speed_up": ("median turn", ".2f"),
                "range": "",
                "by_cpu_time": ("by CPU time", ".2f"),
                "goal": "g",
                "result": "",
            },
            title=f"Time per epoch, DAE 784-{N_COMPONENTS}, batch {BATCH_SIZE}, "
            f"float32, {cfg.threads} thread(s)"
            + ("" if cpu is None else f", pinned to CPU {cpu}")
            + f", {cfg.epochs} epochs in turns of {cfg.chunk}; speed-up = their "
            "time / ours (whole run; median of the turns, range)",
        ),
        table(
            cost_rows,
            cost_columns,
            title="Cost (mean over mini-batches of the summed cross-entropy) vs "
            "published",
        ),
    ]
    text = ["One noiseless mini-batch, stackeddae vs each (max relative gap):"]
    for peer, peer_gaps in gaps.items():
        text.append(
            f"  {peer}: " + ", ".join(f"{k} {v:.1e}" for k, v in peer_gaps.items())
        )
    for r in results:
        text.append(
            f"corruption {r['corruption_level']}: largest gap between the cost "
            "curves, "
            + ", ".join(
                f"stackeddae vs {peer} {100 * r[peer]['max_relative_curve_gap']:.2f}%"
                for peer in names[1:]
            )
        )
    return tables, "\n".join(text)


def plot(record, path):
    plt = pyplot()
    if plt is None:
        return None
    results = record["summary"]["results"]
    styles = {"stackeddae": "-", "pytorch": "--", "jax": ":"}
    labels = {"stackeddae": "stackeddae", "pytorch": "PyTorch", "jax": "JAX"}
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        level = r["corruption_level"]
        color = None
        for name in r["implementations"]:
            (line,) = ax.plot(
                r[name]["loss_curve"],
                styles[name],
                color=color,
                label=f"{labels[name]}, {level}",
            )
            color = line.get_color()
        epochs, costs = zip(*PUBLISHED[level].items(), strict=True)
        ax.plot(epochs, costs, "o", color=color, label=f"Theano, {level}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training cost")
    ax.set_ylim(60, 140)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def measure(cfg):
    use_jax, cpu = setup(cfg)
    X = load_data(cfg.seed)
    W = initial_weights(cfg.seed, X.shape[1], N_COMPONENTS, np.float32)
    with same_threads(cfg.threads):
        gaps = gradient_check(X, W, use_jax)
        results = []
        for level in CORRUPTION_LEVELS:
            results.append(run_level(X, W, level, cfg, use_jax))
    rows = [row for r in results for row in compare(r)]
    tables, text = report(gaps, results, rows, cfg, cpu)
    return Result(
        rows,
        summary={
            "n_components": N_COMPONENTS,
            "learning_rate": LEARNING_RATE,
            "batch_size": BATCH_SIZE,
            "stackeddae_n_jobs": cfg.threads,
            "jax": use_jax,
            "pinned_to_cpu": cpu,
            "dtype": "float32",
            "tolerance": TOLERANCE,
            "goals": GOALS,
            "xla_flags": os.environ.get("XLA_FLAGS"),
            "gradient_check": gaps,
            "published": {str(k): v for k, v in PUBLISHED.items()},
            "results": results,
        },
        tables=tables,
        text=text,
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, plot=plot)
