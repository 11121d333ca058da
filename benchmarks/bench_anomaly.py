"""Anomaly detection on MNIST-5k: ReconstructionOutlierDetector against the classics.

The 5000 bundled digits are split 4000 / 1000 (stratified, ``random_state=0``), as in
the other benchmarks.  Two settings, scored by the area under the ROC curve (AUROC)
of each method's anomaly score on the 1000 test digits:

* ``one_class`` (Ruff et al. 2018, "Deep One-Class Classification", Table 1): for
  each digit c, fit on the ~400 training digits of class c only, then rank the 1000
  test digits (10% class c, normal; 90% other digits, anomalies); the mean over the
  ten classes is the headline number;
* ``0-4 vs 5-9``: fit on the ~2000 training digits 0-4, detect the test digits 5-9
  among all 1000 (a harder task: the normal class is itself five digits).

Methods, all fitted in the same run with their defaults but for the parameters
named here:

* ``detector``: ``ReconstructionOutlierDetector(random_state=seed)``, its defaults
  (reconstruction divergence plus the distance to the 5 nearest training codes);
* ``divergence_only``: the same with ``n_neighbors=None``, the divergence alone;
* ``dae_defaults``: ``DenoisingAutoencoder(max_iter=50, random_state=seed)``
  (the pretraining defaults), scored by ``-score_samples`` (the KL divergence);
* ``pca``: PCA keeping 90% of the variance, squared reconstruction error;
* ``iforest``: ``IsolationForest(random_state=seed)``;
* ``ocsvm``: ``OneClassSVM(gamma="scale", nu=0.1)``;
* ``lof``: ``LocalOutlierFactor(novelty=True)``.

Usage::

    python benchmarks/bench_anomaly.py                 # 3 seeds, a few minutes
    python benchmarks/bench_anomaly.py --seeds 0 --methods detector pca
    python benchmarks/bench_anomaly.py --smoke         # seconds: does it run?

The randomised methods (``detector``, ``dae_defaults``, ``iforest``) are averaged
over the seeds; the others are deterministic and fitted once.
"""

import time
import warnings

import numpy as np
from _common import Result, main, pivot, table
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder, ReconstructionOutlierDetector
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
TEST_SIZE = 1000
SPLIT_SEED = 0
PCA_VARIANCE = 0.9
# Published one-class means on the full MNIST (Ruff et al. 2018, Table 1), for
# orientation only: other data (60000 training digits), other preprocessing.
PUBLISHED = {
    "OC-SVM": 0.913,
    "IsolationForest": 0.923,
    "deep convolutional AE": 0.896,
    "Deep SVDD": 0.935,
}


class _PCAReconstruction:
    """PCA reconstruction error, with the outlier detectors' score convention."""

    def __init__(self):
        self.pca = PCA(n_components=PCA_VARIANCE, random_state=0)

    def fit(self, X):
        self.pca.fit(X)
        return self

    def score_samples(self, X):
        return -np.sum((self.pca.inverse_transform(self.pca.transform(X)) - X) ** 2, 1)


# method -> (factory of seed, whether the seed matters); every model's
# ``score_samples`` is higher for more normal samples.
METHODS = {
    "detector": (lambda seed: ReconstructionOutlierDetector(random_state=seed), True),
    "divergence_only": (
        lambda seed: ReconstructionOutlierDetector(n_neighbors=None, random_state=seed),
        True,
    ),
    "dae_defaults": (
        lambda seed: DenoisingAutoencoder(max_iter=50, random_state=seed),
        True,
    ),
    "pca": (lambda seed: _PCAReconstruction(), False),
    "iforest": (lambda seed: IsolationForest(random_state=seed), True),
    "ocsvm": (lambda seed: OneClassSVM(gamma="scale", nu=0.1), False),
    "lof": (lambda seed: LocalOutlierFactor(novelty=True), False),
}


CONFIG = dict(
    seeds=(0, 1, 2),
    methods=tuple(METHODS),
    classes=tuple(range(10)),  # the one-class tasks (the 0-4 vs 5-9 task always runs)
    blas_threads=1,
    max_fit_rows=None,  # at most this many training digits per task (None: all)
)
SMOKE = dict(
    seeds=(0,), methods=("divergence_only", "pca"), classes=(0,), max_fit_rows=200
)


def settings(X_train, y_train, y_test, classes):
    """(name, training rows, anomaly labels of the test digits) of every task."""
    for c in classes:
        yield f"digit {c}", X_train[y_train == c], y_test != c
    yield "0-4 vs 5-9", X_train[y_train < 5], y_test >= 5


def auroc(model, X_fit, X_test, is_anomaly):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_fit)
    seconds = time.perf_counter() - start
    return float(roc_auc_score(is_anomaly, -model.score_samples(X_test))), seconds


def measure(cfg):
    X, y = load_mnist_5k(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED
    )
    tasks = list(settings(X_train, y_train, y_test, cfg.classes))
    rows = []
    with threadpool_limits(cfg.blas_threads):
        for method in cfg.methods:
            make, seeded = METHODS[method]
            one_class = []
            for name, X_fit, is_anomaly in tasks:
                X_fit = X_fit[: cfg.max_fit_rows]
                runs = [
                    auroc(make(seed), X_fit, X_test, is_anomaly)
                    for seed in (cfg.seeds if seeded else cfg.seeds[:1])
                ]
                aucs, seconds = zip(*runs, strict=True)
                rows.append(
                    {
                        "method": method,
                        "task": name,
                        "auroc": float(np.mean(aucs)),
                        "auroc_per_seed": list(aucs),
                        "fit_time_s": float(np.mean(seconds)),
                        "n_fit": len(X_fit),
                    }
                )
                if name.startswith("digit"):
                    one_class.append(rows[-1])
                print(
                    f"{method:<15} {name:<11} AUROC {np.mean(aucs):.4f} "
                    f"(seeds {', '.join(f'{a:.4f}' for a in aucs)}), "
                    f"fit {np.mean(seconds):.2f} s on {len(X_fit)} digits",
                    flush=True,
                )
            rows.append(
                {
                    "method": method,
                    "task": f"mean of {len(one_class)}",  # the headline number
                    "auroc": float(np.mean([r["auroc"] for r in one_class])),
                    "auroc_per_seed": list(
                        np.mean([r["auroc_per_seed"] for r in one_class], axis=0)
                    ),
                    "fit_time_s": float(np.mean([r["fit_time_s"] for r in one_class])),
                }
            )
    return Result(
        rows,
        summary={
            "split": {"test_size": TEST_SIZE, "random_state": SPLIT_SEED},
            "pca_variance": PCA_VARIANCE,
            "published_one_class_means": PUBLISHED,
        },
        tables=[
            table(
                pivot(rows, "task", "method", "auroc"),
                {"task": ("normal data", ""), **{m: ".4f" for m in cfg.methods}},
                title="AUROC of -score_samples on the 1000 test digits",
            ),
            table(
                pivot(rows, "task", "method", "fit_time_s"),
                {"task": ("normal data", ""), **{m: ".2f" for m in cfg.methods}},
                title="fit time, s (indicative only: shared machine)",
            ),
        ],
        text="published one-class means on the full MNIST (Ruff et al. 2018), for "
        "orientation: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()),
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, choices={"methods": METHODS})
