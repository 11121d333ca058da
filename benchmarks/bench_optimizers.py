"""Compare the solvers on the reference DAE: cost after a fixed number of epochs.

Each solver trains ``DenoisingAutoencoder(n_components=100, corruption_level=0.3)``
on the 5000 bundled digits for the same number of epochs with its usual step size,
and the script prints the cost of the first and last epoch, the clean reconstruction
cost at the end, and the time per epoch.  L-BFGS runs full-batch iterations instead
of epochs (one cost evaluation touches every sample, like an epoch).

Usage::

    python benchmarks/bench_optimizers.py              # 10 epochs each, ~1 min
    python benchmarks/bench_optimizers.py --epochs 3   # quick look
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae._losses import MINIMUM_COSTS
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
EPOCHS = 10
BATCH_SIZE = 20
BLAS_THREADS = 1  # mini-batches of 20 rows gain nothing from a second thread
SOLVERS = {
    "sgd": dict(solver="sgd", learning_rate_init=0.1),
    "sgd+momentum": dict(
        solver="sgd", learning_rate_init=0.02, momentum=0.9, nesterovs_momentum=False
    ),
    "sgd+nesterov": dict(solver="sgd", learning_rate_init=0.02, momentum=0.9),
    "adagrad": dict(solver="adagrad", learning_rate_init=0.01),
    "rmsprop": dict(solver="rmsprop", learning_rate_init=0.001),
    "adadelta": dict(solver="adadelta", epsilon=1e-6),
    "adam": dict(solver="adam", learning_rate_init=0.001),
    "lbfgs": dict(solver="lbfgs"),
}
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_optimizers"


def run(epochs, seed):
    X, _ = load_mnist_5k(return_X_y=True)
    rows = []
    for name, params in SOLVERS.items():
        dae = DenoisingAutoencoder(
            n_components=100,
            corruption_level=0.3,
            batch_size=BATCH_SIZE,
            max_iter=epochs,
            tol=0,
            random_state=seed,
            **params,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dae.fit(X)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "solver": name,
                "params": params,
                "first_cost": dae.loss_curve_[0],
                "last_cost": dae.loss_curve_[-1],
                # the training cost of clean X: score() leaves out its minimum
                "clean_cost": float(
                    MINIMUM_COSTS[dae.reconstruction_loss_](X).mean() - dae.score(X)
                ),
                "epochs": dae.n_iter_,
                "seconds_per_epoch": seconds / max(dae.n_iter_, 1),
            }
        )
        print(
            f"{name:>13}: {rows[-1]['last_cost']:.2f} after {dae.n_iter_} epochs",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        rows = run(args.epochs, args.seed)
    print(
        f"\nDAE 784-100, masking 0.3, batch {BATCH_SIZE}, {args.epochs} epochs "
        f"(lbfgs: iterations), 5000 digits, {BLAS_THREADS} BLAS thread(s)"
    )
    print(
        f"{'solver':>13} {'epoch 1 cost':>12} {'last cost':>10} "
        f"{'clean cost':>10} {'s / epoch':>10}"
    )
    for r in rows:
        print(
            f"{r['solver']:>13} {r['first_cost']:>12.2f} {r['last_cost']:>10.2f} "
            f"{r['clean_cost']:>10.2f} {r['seconds_per_epoch']:>10.3f}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{NAME}.json"
    out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "processor": platform.processor(),
                "epochs": args.epochs,
                "seed": args.seed,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
