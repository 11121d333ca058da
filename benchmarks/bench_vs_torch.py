"""The reference DAE experiment in stackeddae and in plain PyTorch (CPU), side by side.

DAE 784-100 (sigmoid, tied weights, cross-entropy), SGD with learning rate 0.1 on
mini-batches of 20, 200 epochs, masking noise 0 and 0.3, on the 5000 bundled digits:
the Theano tutorial's experiment (``bench_reference.py``).  Both implementations
(``torch_reference.py`` for PyTorch) work in float32, start from the same initial
weights (stackeddae's, zero biases), visit the same mini-batches in the same order
(the rows permuted once with ``--seed``, then no shuffling) and run with the same
number of threads.  They alternate in chunks of ``--chunk`` epochs, so that a change
in the machine's load hits both alike.  The noise differs (each draws its own), so
with corruption 0.3 the costs agree statistically, not number for number.

Before training, one mini-batch's cost and gradients of the two are compared (no
noise): they must agree to float32 rounding.

Printed: time per epoch of each, the ratio (goal: PyTorch / stackeddae >= 2), and the
cost at epochs 0/10/100/190 of each against the published Theano values.

Usage::

    python benchmarks/bench_vs_torch.py                  # 200 epochs, ~2-3 min
    python benchmarks/bench_vs_torch.py --epochs 12 --chunk 4   # quick look
    python benchmarks/bench_vs_torch.py --threads 2

Needs PyTorch (``pip install torch==2.13.0``: the CPU build on these machines).
``--threads`` sets ``torch.set_num_threads``, the BLAS limit and stackeddae's
``n_jobs`` alike.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    raise SystemExit(
        "bench_vs_torch.py needs PyTorch: pip install torch==2.13.0 (CPU build)"
    ) from None
from _common import PUBLISHED, TOLERANCE, machine
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
CHUNK = 10  # epochs per turn when alternating the two implementations
CORRUPTION_LEVELS = (0.0, 0.3)
SEED = 0
THREADS = 1  # torch.set_num_threads and the BLAS limit, equal for both
GOAL_RATIO = 2.0  # PyTorch time per epoch / stackeddae time per epoch
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_vs_torch"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--chunk", type=int, default=CHUNK)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--output", default=None, help="JSON path (default results/<name>.json)"
    )
    return parser.parse_args()


def load_data(seed):
    X, _ = load_mnist_5k(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    return np.ascontiguousarray(X[order])


def gradient_check(X, W):
    """Cost and gradients of one noiseless mini-batch in both: max relative gaps."""
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
    gaps = {"cost": abs(cost - loss.item()) / abs(loss.item())}
    for name, ours, theirs in zip(
        ("W", "b", "b_prime"),
        objective.grads,
        (model.W.grad, model.b.grad, model.b_prime.grad),
        strict=True,
    ):
        theirs = theirs.numpy()
        gaps[name] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    return gaps


def run_level(X, W, level, args):
    dae = stackeddae_from_weights(
        W,
        X,
        seed=args.seed,
        corruption_level=level,
        learning_rate_init=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        shuffle=False,
        n_jobs=args.threads,
    )
    trainer = TorchTrainer(
        X,
        W,
        corruption_level=level,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        seed=args.seed,
    )
    chunks = {"stackeddae": [], "pytorch": []}  # (epochs, seconds) per turn

    def run_stackeddae(k):
        dae.set_params(max_iter=k)
        start = time.perf_counter()
        fit_quietly(dae, X)
        chunks["stackeddae"].append((k, time.perf_counter() - start))

    def run_pytorch(k):
        start = time.perf_counter()
        trainer.train(k)
        chunks["pytorch"].append((k, time.perf_counter() - start))

    done, turn = 0, 0
    while done < args.epochs:
        k = min(args.chunk, args.epochs - done)
        first, second = (
            (run_stackeddae, run_pytorch)
            if turn % 2 == 0
            else (run_pytorch, run_stackeddae)
        )
        first(k)
        second(k)
        done += k
        turn += 1
        print(
            f"  corruption {level}: {done}/{args.epochs} epochs, cost stackeddae "
            f"{dae.loss_curve_[-1]:.2f}, pytorch {trainer.loss_curve[-1]:.2f}",
            flush=True,
        )

    result = {"corruption_level": level}
    for name, curve in (
        ("stackeddae", [float(c) for c in dae.loss_curve_]),
        ("pytorch", [float(c) for c in trainer.loss_curve]),
    ):
        epochs = sum(k for k, _ in chunks[name])
        seconds = sum(s for _, s in chunks[name])
        result[name] = {
            "loss_curve": curve,
            "fit_time_s": seconds,
            "time_per_epoch_s": seconds / epochs,
            "median_chunk_time_per_epoch_s": float(
                np.median([s / k for k, s in chunks[name]])
            ),
            "chunks": chunks[name],
        }
    result["ratio"] = (
        result["pytorch"]["time_per_epoch_s"] / result["stackeddae"]["time_per_epoch_s"]
    )
    a = np.array(result["stackeddae"]["loss_curve"])
    b = np.array(result["pytorch"]["loss_curve"])
    result["max_relative_curve_gap"] = float(np.max(np.abs(a - b) / b))
    return result


def compare(result):
    level = result["corruption_level"]
    rows = []
    for epoch, published in PUBLISHED[level].items():
        curve = result["stackeddae"]["loss_curve"]
        if epoch >= len(curve):
            continue
        ours = curve[epoch]
        theirs = result["pytorch"]["loss_curve"][epoch]
        rel_ours = (ours - published) / published
        rel_theirs = (theirs - published) / published
        rows.append(
            {
                "corruption_level": level,
                "epoch": epoch,
                "published": published,
                "stackeddae": ours,
                "pytorch": theirs,
                "stackeddae_vs_published": rel_ours,
                "pytorch_vs_published": rel_theirs,
                "stackeddae_vs_pytorch": (ours - theirs) / theirs,
                "pass": bool(abs(rel_ours) <= TOLERANCE),
            }
        )
    return rows


def print_tables(gaps, results, rows, args):
    print("\nOne noiseless mini-batch, stackeddae vs PyTorch (max relative gap):")
    print("  " + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items()))

    print(
        f"\nTime per epoch, DAE 784-{N_COMPONENTS}, batch {BATCH_SIZE}, float32, "
        f"{args.threads} thread(s), {args.epochs} epochs"
    )
    header = (
        f"{'corruption':>10} {'stackeddae s':>12} {'pytorch s':>10} "
        f"{'ratio':>6}  goal >= {GOAL_RATIO:g}x"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['corruption_level']:>10.1f} "
            f"{r['stackeddae']['time_per_epoch_s']:>12.4f} "
            f"{r['pytorch']['time_per_epoch_s']:>10.4f} {r['ratio']:>5.2f}x  "
            f"{'PASS' if r['ratio'] >= GOAL_RATIO else 'FAIL'}"
        )

    print("\nCost (mean over mini-batches of the summed cross-entropy) vs published")
    header = (
        f"{'corruption':>10} {'epoch':>5} {'published':>9} {'stackeddae':>10} "
        f"{'diff':>7} {'pytorch':>8} {'diff':>7}  result"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['corruption_level']:>10.1f} {r['epoch']:>5d} {r['published']:>9.1f} "
            f"{r['stackeddae']:>10.2f} {100 * r['stackeddae_vs_published']:>+6.1f}% "
            f"{r['pytorch']:>8.2f} {100 * r['pytorch_vs_published']:>+6.1f}%  "
            f"{'PASS' if r['pass'] else 'FAIL'}"
        )
    for r in results:
        print(
            f"corruption {r['corruption_level']}: largest gap between the two cost "
            f"curves {100 * r['max_relative_curve_gap']:.2f}%"
        )


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        level = r["corruption_level"]
        (line,) = ax.plot(r["stackeddae"]["loss_curve"], label=f"stackeddae, {level}")
        ax.plot(
            r["pytorch"]["loss_curve"],
            "--",
            color=line.get_color(),
            label=f"PyTorch, {level}",
        )
        epochs, costs = zip(*PUBLISHED[level].items(), strict=True)
        ax.plot(epochs, costs, "o", color=line.get_color(), label=f"Theano, {level}")
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
        gaps = gradient_check(X, W)
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
            "seed": args.seed,
            "dtype": "float32",
            "tolerance": TOLERANCE,
            "goal_ratio": GOAL_RATIO,
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
