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

Needs PyTorch (``pip install torch==2.13.0``: the CPU build on these machines); JAX
(``pip install jax``) is used when installed, with one thread only (XLA's thread
pools are sized when jax is imported).  ``--threads`` sets ``torch.set_num_threads``,
the BLAS limit and stackeddae's ``n_jobs`` alike.
"""

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    raise SystemExit(
        "bench_vs_torch.py needs PyTorch: pip install torch==2.13.0 (CPU build)"
    ) from None
from _common import PUBLISHED, TOLERANCE, busy_threads, machine, thread_cpu_seconds
from jax_reference import JaxTrainer, cost_and_grads, one_thread_flags
from torch_reference import (
    TorchDAE,
    TorchTrainer,
    fit_quietly,
    initial_weights,
    reconstruction_cost,
    same_threads,
    stackeddae_from_weights,
)

from stackeddae._autoencoder import _DAEObjective
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
N_COMPONENTS = 100
LEARNING_RATE = 0.1
BATCH_SIZE = 20
EPOCHS = 200
CHUNK = 10  # epochs per turn when alternating the implementations
CORRUPTION_LEVELS = (0.0, 0.3)
SEED = 0
THREADS = 1  # torch.set_num_threads and the BLAS limit, equal for all
# Goals for the speed-up, their time per epoch / stackeddae's (median of the turns).
GOALS = {"pytorch": 2.0, "jax": 1.2}
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_vs_torch"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--chunk", type=int, default=CHUNK)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-jax", action="store_true", help="leave JAX out")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--output", default=None, help="JSON path (default results/<name>.json)"
    )
    args = parser.parse_args()
    args.jax = not args.no_jax and args.threads == 1
    if args.jax and importlib.util.find_spec("jax") is None:
        print("JAX is not installed (pip install jax): comparing with PyTorch only")
        args.jax = False
    if args.jax:
        one_thread_flags()  # before jax is first imported
    args.cpu = None
    if args.threads == 1 and hasattr(os, "sched_setaffinity"):
        # XLA hands its work between threads of its pools, one at a time; pinned to
        # one core, no implementation can run anything in parallel
        args.cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {args.cpu})
    return args


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
    objective = _DAEObjective(dae, BATCH_SIZE)
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


def make_trainers(X, W, level, args):
    """Every implementation, from the same weights and mini-batches, ours first."""
    common = {"corruption_level": level, "seed": args.seed}
    peers = {"pytorch": TorchTrainer}
    if args.jax:
        peers["jax"] = JaxTrainer
    trainers = {"stackeddae": StackeddaeTrainer(X, W, threads=args.threads, **common)}
    for name, cls in peers.items():
        trainers[name] = cls(
            X, W, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, **common
        )
    return trainers


def run_level(X, W, level, args):
    trainers = make_trainers(X, W, level, args)
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
    while done < args.epochs:
        k = min(args.chunk, args.epochs - done)
        # rotate who goes first, so that no implementation always follows another
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            run(name, k)
        done += k
        turn += 1
        print(
            f"  corruption {level}: {done}/{args.epochs} epochs, cost "
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


def print_tables(gaps, results, rows, args):
    names = results[0]["implementations"]
    peers = names[1:]
    print("\nOne noiseless mini-batch, stackeddae vs each (max relative gap):")
    for peer, peer_gaps in gaps.items():
        print(f"  {peer}: " + ", ".join(f"{k} {v:.1e}" for k, v in peer_gaps.items()))

    print(
        f"\nTime per epoch, DAE 784-{N_COMPONENTS}, batch {BATCH_SIZE}, float32, "
        f"{args.threads} thread(s)"
        + ("" if args.cpu is None else f", pinned to CPU {args.cpu}")
        + f", {args.epochs} epochs in turns of {args.chunk}; "
        "speed-up = their time / ours (whole run; median of the turns, range)"
    )
    for r in results:
        print(f"corruption {r['corruption_level']}:")
        for name in names:
            res = r[name]
            print(
                f"  {name:>10} {res['time_per_epoch_s']:.4f} s/epoch "
                f"(median turn {res['median_chunk_time_per_epoch_s']:.4f}, CPU "
                f"{res['median_chunk_cpu_per_epoch_s']:.4f}), "
                f"CPU/wall {res['cpu_per_wall']:.2f}, "
                f"busy threads <= {res['max_busy_threads']}"
            )
            if name in GOALS:
                goal, low, high = GOALS[name], *res["turn_ratio_range"]
                verdict = "PASS" if res["median_turn_ratio"] >= goal else "FAIL"
                print(
                    f"{'':>13}speed-up {res['ratio']:.2f}x, median turn "
                    f"{res['median_turn_ratio']:.2f}x ({low:.2f}-{high:.2f}x), "
                    f"by CPU time {res['median_turn_cpu_ratio']:.2f}x; goal >= "
                    f"{goal:g}x: {verdict}"
                )

    print("\nCost (mean over mini-batches of the summed cross-entropy) vs published")
    header = f"{'corruption':>10} {'epoch':>5} {'published':>9} " + " ".join(
        f"{name:>10} {'diff':>7}" for name in names
    )
    print(header + "  result")
    print("-" * (len(header) + 8))
    for r in rows:
        print(
            f"{r['corruption_level']:>10.1f} {r['epoch']:>5d} {r['published']:>9.1f} "
            + " ".join(
                f"{r[name]:>10.2f} {100 * r[name + '_vs_published']:>+6.1f}%"
                for name in names
            )
            + f"  {'PASS' if r['pass'] else 'FAIL'}"
        )
    for r in results:
        print(
            f"corruption {r['corruption_level']}: largest gap between the cost curves, "
            + ", ".join(
                f"stackeddae vs {peer} {100 * r[peer]['max_relative_curve_gap']:.2f}%"
                for peer in peers
            )
        )


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
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


def main():
    args = parse_args()
    X = load_data(args.seed)
    W = initial_weights(args.seed, X.shape[1], N_COMPONENTS, np.float32)
    with same_threads(args.threads):
        gaps = gradient_check(X, W, args.jax)
        results = []
        for level in CORRUPTION_LEVELS:
            results.append(run_level(X, W, level, args))
    rows = [row for r in results for row in compare(r)]
    print_tables(gaps, results, rows, args)

    RESULTS.mkdir(exist_ok=True)
    out = Path(args.output) if args.output else RESULTS / f"{NAME}.json"
    png = None if args.no_plot else plot(results, out.with_suffix(".png"))
    payload = {
        "config": {
            "n_components": N_COMPONENTS,
            "learning_rate": LEARNING_RATE,
            "batch_size": BATCH_SIZE,
            "epochs": args.epochs,
            "chunk": args.chunk,
            "threads": args.threads,
            "stackeddae_n_jobs": args.threads,
            "pinned_to_cpu": args.cpu,
            "seed": args.seed,
            "dtype": "float32",
            "tolerance": TOLERANCE,
            "goals": GOALS,
            "xla_flags": os.environ.get("XLA_FLAGS"),
        },
        "machine": machine(),
        "gradient_check": gaps,
        "published": {str(k): v for k, v in PUBLISHED.items()},
        "comparison": rows,
        "results": results,
        "note": "timings depend on the machine and its load",
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {out}" + (f" and {png}" if png else ""))


if __name__ == "__main__":
    main()
