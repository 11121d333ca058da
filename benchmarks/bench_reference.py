"""Reproduce the denoising-autoencoder experiment of the Theano deep-learning tutorial.

The tutorial (deeplearning.net, "Denoising Autoencoders (dA)") trains one DAE with
100 sigmoid hidden units, tied weights, the cross-entropy loss and plain SGD
(learning rate 0.1, mini-batches of 20) for 200 epochs, without and with 30 % masking
noise.  The costs it printed on a 5000-image MNIST subset are in ``PUBLISHED``; this
script trains the same model on the 5000 digits bundled with stackeddae and compares
the mean training cost of the same epochs.

Ordering matters: the bundled digits are sorted by class (500 zeros, then 500 ones,
...), while the tutorial's were in MNIST's random order and not shuffled.  The default
here (``--order shuffle``) reshuffles every epoch (the library default); ``random``
permutes once and then keeps that order, as the tutorial did; ``sorted`` trains in
class order, which the tutorial never did.

Usage::

    python benchmarks/bench_reference.py                 # 200 epochs, ~1-2 min
    python benchmarks/bench_reference.py --epochs 20     # quick look
    python benchmarks/bench_reference.py --order random --seeds 0 1 2

Timings are indicative only: they depend on the machine and its load.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import PUBLISHED, TOLERANCE, machine
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
N_COMPONENTS = 100
LEARNING_RATE = 0.1
BATCH_SIZE = 20
EPOCHS = 200
CORRUPTION_LEVELS = (0.0, 0.3)
SEEDS = (0,)
# BLAS threads.  Mini-batches of 20 rows are too small to gain from threads, and on a
# busy machine two OpenBLAS threads were measured 3-20x slower than one.  0 leaves
# the library default (all cores).
BLAS_THREADS = 1
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_reference"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument(
        "--order",
        choices=["shuffle", "random", "sorted"],
        default="shuffle",
        help="reshuffle every epoch (default), permute once, or keep class order",
    )
    parser.add_argument("--blas-threads", type=int, default=BLAS_THREADS)
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--output", default=None, help="JSON path (default results/<name>.json)"
    )
    return parser.parse_args()


def load_data(order, seed):
    X, y = load_mnist_5k(return_X_y=True)
    if order == "random":
        X = X[np.random.default_rng(seed).permutation(len(X))]
    return np.ascontiguousarray(X)


def run_one(X, level, seed, epochs, shuffle):
    dae = DenoisingAutoencoder(
        n_components=N_COMPONENTS,
        corruption_level=level,
        learning_rate_init=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        shuffle=shuffle,
        n_iter_no_change=epochs + 1,  # never stop early: a fixed budget
        random_state=seed,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed budget
        dae.fit(X)
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "loss_curve": [float(c) for c in dae.loss_curve_],
        "fit_time_s": seconds,
        "time_per_epoch_s": seconds / dae.n_iter_,
        "n_iter": dae.n_iter_,
    }


def compare(runs, level):
    rows = []
    for epoch, published in PUBLISHED[level].items():
        costs = [r["loss_curve"][epoch] for r in runs if epoch < len(r["loss_curve"])]
        if not costs:
            continue
        ours = float(np.mean(costs))
        rel = (ours - published) / published
        rows.append(
            {
                "corruption_level": level,
                "epoch": epoch,
                "published": published,
                "ours": ours,
                "ours_std": float(np.std(costs)),
                "relative_difference": rel,
                "pass": bool(abs(rel) <= TOLERANCE),
            }
        )
    return rows


def print_table(rows, timings):
    header = (
        f"{'corruption':>10} {'epoch':>5} {'published':>9} {'ours':>8} "
        f"{'rel. diff':>9}  result"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['corruption_level']:>10.1f} {r['epoch']:>5d} {r['published']:>9.1f} "
            f"{r['ours']:>8.2f} {100 * r['relative_difference']:>+8.1f}%  "
            f"{'PASS' if r['pass'] else 'FAIL'}"
        )
    print()
    print(f"{'corruption':>10} {'fit time (s)':>12} {'s / epoch':>10}")
    for level, t in timings.items():
        print(f"{level:>10.1f} {t['fit_time_s']:>12.1f} {t['time_per_epoch_s']:>10.3f}")
    print("(timings are indicative only: shared 2-core machine, other jobs running)")


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for level, runs in results.items():
        curve = np.mean([r["loss_curve"] for r in runs], axis=0)
        (line,) = ax.plot(curve, label=f"ours, corruption {level}")
        epochs, costs = zip(*PUBLISHED[level].items(), strict=True)
        ax.plot(epochs, costs, "o", color=line.get_color(), label="Theano tutorial")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training cost")
    ax.set_ylim(60, 140)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main():
    args = parse_args()
    if args.blas_threads:
        with threadpool_limits(args.blas_threads):
            return run(args)
    return run(args)


def run(args):
    shuffle = args.order == "shuffle"
    results, rows, timings = {}, [], {}
    for level in CORRUPTION_LEVELS:
        runs = []
        for seed in args.seeds:
            X = load_data(args.order, seed)
            run = run_one(X, level, seed, args.epochs, shuffle)
            print(
                f"corruption {level}, seed {seed}: {run['n_iter']} epochs in "
                f"{run['fit_time_s']:.1f} s, final cost {run['loss_curve'][-1]:.2f}",
                flush=True,
            )
            runs.append(run)
        results[level] = runs
        rows += compare(runs, level)
        timings[level] = {
            key: float(np.mean([r[key] for r in runs]))
            for key in ("fit_time_s", "time_per_epoch_s")
        }
    print()
    print_table(rows, timings)

    RESULTS.mkdir(exist_ok=True)
    out = Path(args.output) if args.output else RESULTS / f"{NAME}.json"
    png = None if args.no_plot else plot(results, out.with_suffix(".png"))
    payload = {
        "config": {
            "n_components": N_COMPONENTS,
            "learning_rate_init": LEARNING_RATE,
            "batch_size": BATCH_SIZE,
            "epochs": args.epochs,
            "seeds": args.seeds,
            "order": args.order,
            "blas_threads": args.blas_threads,
            "tolerance": TOLERANCE,
        },
        "published": {str(k): v for k, v in PUBLISHED.items()},
        "comparison": rows,
        "timings": {str(k): v for k, v in timings.items()},
        "runs": {str(k): v for k, v in results.items()},
        "machine": machine(),
        "note": "timings indicative only (shared machine)",
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {out}" + (f" and {png}" if png else ""))


if __name__ == "__main__":
    main()
