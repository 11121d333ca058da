"""Swap noise: replacement values from the mini-batch or from the whole training set?

Swap noise replaces an input, with probability p, by the same feature's value in
another row.  ``stackeddae`` draws that row from the mini-batch; the alternative is
any row of the training set.  This script compares the two on small tables that
ship with scikit-learn: ``QuantileTransformer(output_distribution="normal")``, a
``DenoisingAutoencoder`` with swap noise, then ``LogisticRegression`` on its codes,
cross-validated (stratified k-fold, the same folds for both), beside masking noise at
the same level and LogisticRegression on the transformed columns alone; and the time
of one corruption call on a mini-batch (masking noise for scale).  The training-set
variant is this script's own function, put in the corruption table for its fits.

Usage::

    python benchmarks/bench_swap_noise.py            # ~5 min on 2 busy cores
    python benchmarks/bench_swap_noise.py --quick    # one seed, 2 folds
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import machine
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae._corruption import (
    CORRUPTIONS,
    _threshold,
    _uniform16,
    masking,
    swap,
)

# ----------------------------------------------------------------- configuration
LEVEL = 0.15  # Jahrer's swap probability
DAE = dict(
    n_components=128,
    corruption="swap",
    corruption_level=LEVEL,
    solver="adam",
    learning_rate_init=1e-3,
    max_iter=30,
)
BATCH_SIZES = [16, 128]
SEEDS = [0, 1, 2]
FOLDS = 5
TIMING_SHAPES = [(16, 30), (128, 30), (128, 200), (512, 784)]
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_swap_noise"


def tables():
    X, y = make_classification(
        3000, 20, n_informative=8, n_redundant=4, n_clusters_per_class=3,
        flip_y=0.05, random_state=0,
    )  # fmt: skip
    return {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "digits": load_digits(return_X_y=True),
        "make_classification": (X, y),
    }


# ------------------------------------------------- the training-set variant
_POOL = {}


def swap_from_training_set(X, level, rng, out, low=0.0, high=1.0):
    """As ``swap``, the source row drawn from the whole training set."""
    pool = _POOL["X"]
    np.copyto(out, X)
    n = X.shape[1]
    swapped = np.flatnonzero(_uniform16(rng, X.shape) < _threshold(level))
    rows = rng.integers(0, pool.shape[0], size=swapped.size)
    np.put(out, swapped, pool[rows, swapped % n])
    return out


class TrainingSetSwapDAE(DenoisingAutoencoder):
    """A DAE whose swap noise draws from all the rows it is fitted to."""

    def fit(self, X, y=None):
        _POOL["X"] = np.ascontiguousarray(X, dtype=self.dtype)
        CORRUPTIONS["swap"] = swap_from_training_set
        try:
            return super().fit(X, y)
        finally:
            CORRUPTIONS["swap"] = swap


# name -> (autoencoder class, parameters besides DAE's); None: no autoencoder
VARIANTS = {
    "batch": (DenoisingAutoencoder, {}),
    "training set": (TrainingSetSwapDAE, {}),
    "masking": (DenoisingAutoencoder, {"corruption": "masking"}),
    "raw": None,
}


def accuracy(variant, X, y, batch_size, seed, folds):
    steps = [QuantileTransformer(output_distribution="normal", n_quantiles=100)]
    if variant is not None:
        cls, params = variant
        steps.append(cls(**{**DAE, **params}, batch_size=batch_size, random_state=seed))
    pipe = make_pipeline(*steps, LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    start = time.perf_counter()
    scores = cross_val_score(pipe, X, y, cv=cv)
    return float(scores.mean()), time.perf_counter() - start


def training_step_times(table, batch_size, fits, epochs=10, repeats=5):
    """Best microseconds per mini-batch of a DAE fit (the whole training step), for
    each variant; the variants take turns, so that a busy spell hits them alike."""
    X = QuantileTransformer(output_distribution="normal").fit_transform(table)
    best = dict.fromkeys(fits, np.inf)
    for _ in range(repeats):
        for name, (cls, params) in fits.items():
            dae = cls(**{**DAE, **params, "max_iter": epochs}, batch_size=batch_size)
            start = time.perf_counter()
            dae.set_params(random_state=0).fit(X)
            best[name] = min(best[name], time.perf_counter() - start)
    steps = epochs * -(-len(X) // batch_size)
    return {name: 1e6 * seconds / steps for name, seconds in best.items()}


def step_time(noise, shape, repeats=200):
    """Median seconds of one corruption call on a float32 mini-batch."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape, dtype=np.float32)
    _POOL["X"] = rng.standard_normal((5000, shape[1]), dtype=np.float32)
    out = np.empty_like(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        noise(X, LEVEL, rng, out)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--timings-only", action="store_true", help="keep the saved accuracies"
    )
    args = parser.parse_args()
    seeds, folds = (SEEDS[:1], 2) if args.quick else (SEEDS, FOLDS)
    saved = RESULTS / f"{NAME}.json"
    results = {
        "machine": machine(),
        "config": {**DAE, "seeds": seeds, "folds": folds},
        "accuracy": [],
    }
    if args.timings_only and saved.exists():
        previous = json.loads(saved.read_text())
        results.update(config=previous["config"], accuracy=previous["accuracy"])
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, (X, y) in tables().items():
            if args.timings_only:
                break
            for batch_size in BATCH_SIZES:
                row = {"table": name, "shape": list(X.shape), "batch_size": batch_size}
                for variant, spec in VARIANTS.items():
                    runs = [accuracy(spec, X, y, batch_size, s, folds) for s in seeds]
                    row[variant] = float(np.mean([a for a, _ in runs]))
                    row[f"{variant} s"] = float(np.mean([t for _, t in runs]))
                results["accuracy"].append(row)
                print(row, flush=True)
        X = tables()["make_classification"][0]
        fits = {k: v for k, v in VARIANTS.items() if v is not None}
        fits["no noise"] = (DenoisingAutoencoder, {"corruption_level": 0.0})
        results["training_step_us"] = [
            {"batch_size": b, **training_step_times(X, b, fits)} for b in BATCH_SIZES
        ]
        noises = {
            "masking": masking,
            "swap, batch": swap,
            "swap, training set": swap_from_training_set,
        }
        results["step_us"] = [
            {
                "shape": list(shape),
                **{k: 1e6 * step_time(f, shape) for k, f in noises.items()},
            }
            for shape in TIMING_SHAPES
        ]
    print(f"\nswap noise {LEVEL}, CV accuracy of LogisticRegression on the codes")
    print(
        f"{'table':<20} {'batch':>5} {'from batch':>11} {'from train':>11} "
        f"{'masking':>8} {'no DAE':>8}   fit s: {'batch':>6} {'train':>6}"
    )
    for r in results["accuracy"]:
        print(
            f"{r['table']:<20} {r['batch_size']:>5} {r['batch']:>11.4f} "
            f"{r['training set']:>11.4f} {r['masking']:>8.4f} {r['raw']:>8.4f}   "
            f"       {r['batch s']:>6.2f} {r['training set s']:>6.2f}"
        )
    print("\none training step (make_classification), microseconds (best of 5)")
    print(f"{'batch':<12}" + "".join(f"{k:>14}" for k in fits))
    for r in results["training_step_us"]:
        cells = "".join(f"{r[k]:>14.1f}" for k in fits)
        print(f"{r['batch_size']:<12}{cells}")
    print("\none corruption call, microseconds (median)")
    print(f"{'shape':<12}" + "".join(f"{k:>20}" for k in noises))
    for r in results["step_us"]:
        cells = "".join(f"{r[k]:>20.1f}" for k in noises)
        print(f"{str(tuple(r['shape'])):<12}{cells}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
