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
    python benchmarks/bench_regressor.py --smoke   # seconds: does it run?

Timings are indicative only: they depend on the machine and its load.
"""

import time
import warnings

import numpy as np
from _common import Result, main
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

# ----------------------------------------------------------------- configuration
N_SYNTHETIC = 2000  # samples of the synthetic problems (1/4 held out)
PROBLEMS = (
    "make_regression",
    "make_regression raw y",
    "friedman1",
    "digits label",
    "digits lower half",
)
MODELS = ("sda_defaults", "mlp_defaults", "ridge")
CONFIG = dict(
    seeds=(0, 1, 2),
    problems=PROBLEMS,
    models=MODELS,
    set={},  # overrides of SdARegressor's defaults (to try candidate defaults)
    blas_threads=1,  # see bench_classifier.py
)
SMOKE = dict(
    seeds=(0,),
    problems=("friedman1", "digits lower half"),
    models=("sda_defaults", "ridge"),
    set={"hidden_layer_sizes": (32,), "pretrain_max_iter": 1, "max_iter": 3},
)
COLUMNS = {
    "problem": "",
    "model": "",
    "r2_mean": ("test R^2", ".4f"),
    "r2_std": ("std", ".4f"),
    "fit_time_mean_s": ("fit time (s)", ".1f"),
    "any_warning": ("warnings", ""),
}


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


def measure(cfg):
    with threadpool_limits(cfg.blas_threads or None):
        return run(cfg)


def run(cfg):
    rows = []
    for problem in cfg.problems:
        data = load_problem(problem)
        for model in cfg.models:
            seeds = cfg.seeds if model != "ridge" else cfg.seeds[:1]
            runs = []
            for seed in seeds:
                result = fit_score(make_model(model, seed, cfg.set), data)
                result["seed"] = seed
                print(
                    f"{problem:<22} {model:<13} seed {seed}: R^2 {result['r2']:.4f} "
                    f"in {result['fit_time_s']:.1f} s ({result['n_iter']} epochs) "
                    + "; ".join(result["warnings"]),
                    flush=True,
                )
                runs.append(result)
            r2 = [r["r2"] for r in runs]
            rows.append(
                {
                    "problem": problem,
                    "model": model,
                    "r2_mean": float(np.mean(r2)),
                    "r2_std": float(np.std(r2)),
                    "fit_time_mean_s": float(np.mean([r["fit_time_s"] for r in runs])),
                    "any_warning": any(r["warnings"] for r in runs),
                    "runs": runs,
                }
            )
    return Result(
        rows,
        summary={"n_synthetic": N_SYNTHETIC},
        text="(timings are indicative only: shared 2-core machine, other jobs running)",
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        columns=COLUMNS,
        helps={"set": "override a default of SdARegressor"},
        choices={"problems": PROBLEMS, "models": MODELS},
    )
