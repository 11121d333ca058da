"""Compare the solvers on the reference DAE: cost after a fixed number of epochs.

Each solver trains ``DenoisingAutoencoder(n_components=100, corruption_level=0.3)``
on the 5000 bundled digits for the same number of epochs with its usual step size,
and the script prints the cost of the first and last epoch, the clean reconstruction
cost at the end, and the time per epoch.  L-BFGS runs full-batch iterations instead
of epochs (one cost evaluation touches every sample, like an epoch).

Usage::

    python benchmarks/bench_optimizers.py              # 10 epochs each, ~1 min
    python benchmarks/bench_optimizers.py --epochs 3   # quick look
    python benchmarks/bench_optimizers.py --smoke      # seconds: does it run?
"""

import time
import warnings

from _common import main
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae._losses import MINIMUM_COSTS
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
CONFIG = dict(
    epochs=10,
    rows=5000,  # of the bundled digits
    seed=0,
    batch_size=20,
    blas_threads=1,  # mini-batches of 20 rows gain nothing from a second thread
)
SMOKE = dict(epochs=1, rows=500)
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
COLUMNS = {
    "solver": "",
    "first_cost": ("epoch 1 cost", ".2f"),
    "last_cost": ".2f",
    "clean_cost": ".2f",
    "seconds_per_epoch": ("s / epoch", ".3f"),
}


def measure(cfg):
    X = load_mnist_5k(return_X_y=True)[0][: cfg.rows]
    rows = []
    with threadpool_limits(cfg.blas_threads, user_api="blas"):
        for name, params in SOLVERS.items():
            dae = DenoisingAutoencoder(
                n_components=100,
                corruption_level=0.3,
                batch_size=cfg.batch_size,
                max_iter=cfg.epochs,
                tol=0,
                random_state=cfg.seed,
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


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        columns=COLUMNS,
        title="DAE 784-100, masking 0.3 (lbfgs: iterations for epochs)",
    )
