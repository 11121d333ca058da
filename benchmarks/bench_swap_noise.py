"""Swap noise: replacement values from the mini-batch or from the whole training set?

Swap noise replaces an input, with probability p, by the same feature's value in
another row.  ``stackeddae`` draws that row from the mini-batch; the alternative is
any row of the training set.  This script compares the two on small tables that
ship with scikit-learn: ``QuantileTransformer(output_distribution="normal")``, a
``DenoisingAutoencoder`` with swap noise, then ``LogisticRegression`` on its codes,
cross-validated (stratified k-fold, the same folds for both), beside masking noise at
the same level and LogisticRegression on the transformed columns alone; then the time
of one training step (the variants taking turns) and of one corruption call on a
mini-batch (masking noise for scale).  The training-set variant is this script's own
function, put in the corruption table for its fits.

Usage::

    python benchmarks/bench_swap_noise.py                  # ~5 min on 2 busy cores
    python benchmarks/bench_swap_noise.py --seeds 0 --folds 2   # quick look
    python benchmarks/bench_swap_noise.py --no-accuracy    # the timings only
    python benchmarks/bench_swap_noise.py --smoke          # seconds: does it run?
"""

import time
import warnings

import numpy as np
from _common import Result, main, pivot, table
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
CONFIG = dict(
    tables=("breast_cancer", "wine", "digits", "make_classification"),
    level=0.15,  # Jahrer's swap probability
    n_components=128,
    learning_rate_init=1e-3,  # adam
    max_iter=30,
    batch_sizes=(16, 128),
    seeds=(0, 1, 2),
    folds=5,
    accuracy=True,  # --no-accuracy: the timings only
    timing_table="make_classification",
    timing_epochs=10,
    timing_repeats=5,  # fits per variant; the best one counts
    call_shapes=("16x30", "128x30", "128x200", "512x784"),  # rows x columns
    call_repeats=200,  # corruption calls per shape; the median counts
    blas_threads=1,
)
SMOKE = dict(
    tables=("wine",),
    max_iter=2,
    batch_sizes=(16,),
    seeds=(0,),
    folds=3,  # QuantileTransformer's 100 quantiles fit in 2/3 of wine's rows
    timing_table="wine",
    timing_epochs=1,
    timing_repeats=1,
    call_shapes=("16x30",),
    call_repeats=5,
)


def load_table(name):
    if name == "make_classification":
        return make_classification(
            3000, 20, n_informative=8, n_redundant=4, n_clusters_per_class=3,
            flip_y=0.05, random_state=0,
        )  # fmt: skip
    loaders = {
        "breast_cancer": load_breast_cancer,
        "wine": load_wine,
        "digits": load_digits,
    }
    return loaders[name](return_X_y=True)


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


# name -> (autoencoder class, parameters of its own); None: no autoencoder
VARIANTS = {
    "from batch": (DenoisingAutoencoder, {}),
    "from train": (TrainingSetSwapDAE, {}),
    "masking": (DenoisingAutoencoder, {"corruption": "masking"}),
    "no DAE": None,
}


def dae_params(cfg):
    return dict(
        n_components=cfg.n_components,
        corruption="swap",
        corruption_level=cfg.level,
        solver="adam",
        learning_rate_init=cfg.learning_rate_init,
        max_iter=cfg.max_iter,
    )


# ------------------------------------------------------------- measurements
def accuracy(cfg, variant, X, y, batch_size, seed):
    """Mean cross-validated accuracy of the pipeline, and its seconds."""
    steps = [QuantileTransformer(output_distribution="normal", n_quantiles=100)]
    if variant is not None:
        cls, params = variant
        params = {**dae_params(cfg), **params}
        steps.append(cls(**params, batch_size=batch_size, random_state=seed))
    pipe = make_pipeline(*steps, LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(cfg.folds, shuffle=True, random_state=0)
    start = time.perf_counter()
    scores = cross_val_score(pipe, X, y, cv=cv)
    return float(scores.mean()), time.perf_counter() - start


def training_step_us(cfg, X, batch_size, fits):
    """Best microseconds per mini-batch of a DAE fit (the whole training step), for
    each variant; the variants take turns, so that a busy spell hits them alike."""
    quantiles = min(1000, len(X))  # the default, or every row of a small table
    gauss = QuantileTransformer(output_distribution="normal", n_quantiles=quantiles)
    X = gauss.fit_transform(X)
    best = dict.fromkeys(fits, np.inf)
    for _ in range(cfg.timing_repeats):
        for name, (cls, params) in fits.items():
            params = {**dae_params(cfg), **params, "max_iter": cfg.timing_epochs}
            dae = cls(**params, batch_size=batch_size, random_state=0)
            start = time.perf_counter()
            dae.fit(X)
            best[name] = min(best[name], time.perf_counter() - start)
    steps = cfg.timing_epochs * -(-len(X) // batch_size)
    return {name: 1e6 * seconds / steps for name, seconds in best.items()}


def call_us(noise, shape, level, repeats):
    """Median microseconds of one corruption call on a float32 mini-batch."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape, dtype=np.float32)
    _POOL["X"] = rng.standard_normal((5000, shape[1]), dtype=np.float32)
    out = np.empty_like(X)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        noise(X, level, rng, out)
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


def measure(cfg):
    rows = []
    with threadpool_limits(cfg.blas_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in cfg.tables if cfg.accuracy else ():
            X, y = load_table(name)
            for batch_size, (variant, spec) in (
                (b, v) for b in cfg.batch_sizes for v in VARIANTS.items()
            ):
                runs = [accuracy(cfg, spec, X, y, batch_size, s) for s in cfg.seeds]
                rows.append(
                    {
                        "measure": "accuracy",
                        "case": f"{name} {X.shape[0]}x{X.shape[1]}, batch {batch_size}",
                        "variant": variant,
                        "value": float(np.mean([a for a, _ in runs])),
                        "seconds": float(np.mean([t for _, t in runs])),
                    }
                )
            print(f"{name}: done", flush=True)
        fits = {k: v for k, v in VARIANTS.items() if v is not None}
        fits["no noise"] = (DenoisingAutoencoder, {"corruption_level": 0.0})
        X = load_table(cfg.timing_table)[0]
        for batch_size in cfg.batch_sizes:
            times = training_step_us(cfg, X, batch_size, fits)
            rows += [
                {
                    "measure": "training step us",
                    "case": f"{cfg.timing_table}, batch {batch_size}",
                    "variant": variant,
                    "value": us,
                }
                for variant, us in times.items()
            ]
        noises = {"from batch": swap, "from train": swap_from_training_set}
        noises["masking"] = masking
        for text in cfg.call_shapes:
            shape = tuple(int(n) for n in text.split("x"))
            rows += [
                {
                    "measure": "corruption call us",
                    "case": text,
                    "variant": variant,
                    "value": call_us(noise, shape, cfg.level, cfg.call_repeats),
                }
                for variant, noise in noises.items()
            ]
    # measure -> (title, format of its values)
    kinds = {
        "accuracy": (
            f"swap noise {cfg.level}: CV accuracy of LogisticRegression on the codes"
            f" (mean of {len(cfg.seeds)} seeds)",
            ".4f",
        ),
        "training step us": (
            "one training step, microseconds (best of the fits)",
            ".1f",
        ),
        "corruption call us": ("one corruption call, microseconds (median)", ".1f"),
    }
    tables = []
    for kind, (title, fmt) in kinds.items():
        of_kind = [row for row in rows if row["measure"] == kind]
        if of_kind:
            columns = {"case": "", **dict.fromkeys([*VARIANTS, "no noise"], fmt)}
            wide = pivot(of_kind, "case", "variant", "value")
            tables.append(table(wide, columns, title))
    return Result(rows, tables=tables)


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__)
