"""SdARegressor with its default parameters: does it train, and how well?

The regressor shares its defaults with SdAClassifier (chosen on MNIST-5k, see
DEFAULTS.md); a linear head trained with momentum is more prone to diverge than a
softmax one, so this checks the defaults on a few regression problems:

* ``make_regression``: sklearn's synthetic linear problem (20 features, 10
  informative, noise 10), inputs and target standardized;
* ``make_regression raw y``: the same with the raw target (standard deviation ~210),
  which the docstring tells users to standardize;
* ``friedman1``: sklearn's non-linear Friedman #1 problem, inputs in [0, 1],
  target standardized;
* ``digits label``: the digit's label 0-9 as a number, from the MNIST-5k pixels
  (split as in bench_classifier.py), target as is (standard deviation ~2.9);
* ``digits lower half``: the 392 pixels of the lower half of each digit from its
  upper half (multi-output, targets in [0, 1]).

Each is scored (test R^2; for several outputs weighted by their variance, since the
plain average is dominated by near-constant border pixels) for ``SdARegressor()``,
``MLPRegressor()`` and ``Ridge()``, all with defaults but ``random_state``.

Usage::

    python benchmarks/bench_regressor.py               # 3 seeds, ~6 min
    python benchmarks/bench_regressor.py --seeds 0 --problems friedman1
    python benchmarks/bench_regressor.py --set solver=sgd --set learning_rate_init=0.1

Timings are indicative only: they depend on the machine and its load.
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_friedman1, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from stackeddae import SdARegressor
from stackeddae.datasets import load_mnist_5k

try:  # run as a script: benchmarks/ is on sys.path
    from bench_classifier import parse_value
except ImportError:  # imported as benchmarks.bench_regressor
    from .bench_classifier import parse_value

# ----------------------------------------------------------------- configuration
SEEDS = (0, 1, 2)
N_SYNTHETIC = 2000  # samples of the synthetic problems (1/4 held out)
PROBLEMS = (
    "make_regression",
    "make_regression raw y",
    "friedman1",
    "digits label",
    "digits lower half",
)
MODELS = ("sda_defaults", "mlp_defaults", "ridge")
BLAS_THREADS = 1  # see bench_classifier.py
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_regressor"


def standardize(train, test):
    scaler = StandardScaler().fit(train)
    return scaler.transform(train), scaler.transform(test)


def load_problem(name):
    """(X_train, X_test, y_train, y_test) of a problem, as float32 / float64."""
    if name.startswith("digits"):
        X, y = load_mnist_5k(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=1000, stratify=y, random_state=0
        )
        if name == "digits label":
            return X_train, X_test, y_train.astype(np.float64), y_test.astype(float)
        images = [A.reshape(-1, 28, 28) for A in (X_train, X_test)]
        upper = [im[:, :14].reshape(len(im), -1) for im in images]
        lower = [im[:, 14:].reshape(len(im), -1) for im in images]
        return upper[0], upper[1], lower[0], lower[1]
    if name.startswith("make_regression"):
        X, y = make_regression(
            N_SYNTHETIC, n_features=20, n_informative=10, noise=10, random_state=0
        )
    else:
        X, y = make_friedman1(N_SYNTHETIC, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    if name.startswith("make_regression"):
        X_train, X_test = standardize(X_train, X_test)
    if not name.endswith("raw y"):
        y_train, y_test = (
            v.ravel() for v in standardize(y_train[:, None], y_test[:, None])
        )
    return X_train, X_test, y_train, y_test


def make_model(name, seed, sda_params=None):
    if name == "sda_defaults":
        return SdARegressor(**(sda_params or {}), random_state=seed)
    if name == "mlp_defaults":
        return MLPRegressor(random_state=seed)
    return Ridge()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=PROBLEMS)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a default of SdARegressor (to try candidate defaults)",
    )
    parser.add_argument("--blas-threads", type=int, default=BLAS_THREADS)
    parser.add_argument(
        "--output", default=None, help="JSON path (default results/<name>.json)"
    )
    return parser.parse_args()


def describe(warning):
    return f"{warning.category.__name__}: {warning.message}"[:160]


def fit_score(model, data):
    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    caught = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    return {
        "r2": float(
            r2_score(y_test, model.predict(X_test), multioutput="variance_weighted")
        ),
        "fit_time_s": seconds,
        "n_iter": int(getattr(model, "n_iter_", 0) or 0),
        "warnings": sorted({describe(w) for w in caught}),
    }


def main():
    args = parse_args()
    if args.blas_threads:
        with threadpool_limits(args.blas_threads):
            return run(args)
    return run(args)


def run(args):
    sda_params = {}
    for item in args.set:
        name, _, value = item.partition("=")
        sda_params[name] = parse_value(value)
    runs, summary = {}, {}
    for problem in args.problems:
        data = load_problem(problem)
        for model in args.models:
            seeds = args.seeds if model != "ridge" else args.seeds[:1]
            key = f"{problem} | {model}"
            runs[key] = []
            for seed in seeds:
                result = fit_score(make_model(model, seed, sda_params), data)
                result["seed"] = seed
                print(
                    f"{problem:<22} {model:<13} seed {seed}: R^2 {result['r2']:.4f} "
                    f"in {result['fit_time_s']:.1f} s ({result['n_iter']} epochs) "
                    + "; ".join(result["warnings"]),
                    flush=True,
                )
                runs[key].append(result)
            r2 = [r["r2"] for r in runs[key]]
            summary[key] = {
                "problem": problem,
                "model": model,
                "r2_mean": float(np.mean(r2)),
                "r2_std": float(np.std(r2)),
                "fit_time_mean_s": float(np.mean([r["fit_time_s"] for r in runs[key]])),
                "any_warning": any(r["warnings"] for r in runs[key]),
            }
    print()
    header = (
        f"{'problem':<22} {'model':<13} {'test R^2':>8} {'std':>7} "
        f"{'fit time (s)':>12}  warnings"
    )
    print(header)
    print("-" * len(header))
    for s in summary.values():
        print(
            f"{s['problem']:<22} {s['model']:<13} {s['r2_mean']:>8.4f} "
            f"{s['r2_std']:>7.4f} {s['fit_time_mean_s']:>12.1f}  "
            f"{'yes' if s['any_warning'] else ''}"
        )
    print("(timings are indicative only: shared 2-core machine, other jobs running)")

    RESULTS.mkdir(exist_ok=True)
    out = Path(args.output) if args.output else RESULTS / f"{NAME}.json"
    payload = {
        "config": {
            "seeds": args.seeds,
            "n_synthetic": N_SYNTHETIC,
            "blas_threads": args.blas_threads,
            "sda_overrides": {k: repr(v) for k, v in sda_params.items()},
        },
        "summary": list(summary.values()),
        "runs": runs,
        "machine": platform.platform(),
        "note": "timings indicative only (shared machine)",
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
