"""Few labels: SdAClassifier(unlabeled_label=-1) against the semi-supervised peers.

For each number of labels and each draw, that many training rows keep their label
(drawn stratified: the same number per class, as in the literature) and the others
are marked -1.  Every method runs in the same process on the same draw, one BLAS
thread each (``--blas-threads``), and is scored on the test rows:

- ``SdA semi-supervised``: ``SdAClassifier(unlabeled_label=-1)`` with its defaults,
  fitted on every training row (pretraining on all of them, fine-tuning on the
  labeled ones and on the unlabeled ones against the class distributions that label
  spreading gives them over the network's codes: the pretrained ones, then, in
  each of the later ``unlabeled_rounds``, the fine-tuned ones; the inputs under
  masking noise 0.1, ``fine_tune_corruption_level="auto"``, and from 30 labeled
  rows a class the hidden units under dropout 0.2, ``dropout="auto"``), and ``SdA
  semi, pretraining only`` the same without the unlabeled rows' term in
  fine-tuning (``unlabeled_weight=0``, the default before the spreading term; no
  noise, no dropout);
- on the labeled rows alone: ``LogisticRegression``, ``MLPClassifier()`` and
  ``SdAClassifier()``;
- on every row: ``SelfTrainingClassifier`` over ``LogisticRegression`` and over
  ``SVC``, ``LabelSpreading(kernel="knn", n_neighbors=7)`` and
  ``LabelPropagation(kernel="knn", n_neighbors=7)`` (the default RBF kernel's
  gamma=20 gives zero affinities on 784 pixels).

``--dataset digits`` (default): the bundled 5000 MNIST digits, the fixed stratified
split of 4000 training and 1000 test rows.  ``--dataset mnist``: full MNIST
(60000/10000, the standard split) from ``stackeddae.datasets.fetch_mnist``, its files
put in place offline by ``mnist_data.py`` (``mnist_data_home()``).  The
published full-MNIST test errors (Lee 2013, pseudo-label + DAE; ladder networks,
Rasmus et al. 2015) are printed beside the results for orientation.

    python benchmarks/bench_semi_supervised.py                  # bundled digits
    python benchmarks/bench_semi_supervised.py --dataset mnist  # full MNIST
    python benchmarks/bench_semi_supervised.py --smoke          # seconds: does it run?
"""

import time
import warnings

import numpy as np
from _common import Result, main, pivot, table
from mnist_data import mnist_data_home
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.semi_supervised import (
    LabelPropagation,
    LabelSpreading,
    SelfTrainingClassifier,
)
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from stackeddae import SdAClassifier
from stackeddae.datasets import fetch_mnist, load_mnist_5k

CONFIG = dict(
    dataset="digits",
    labels=(100, 600, 1000, 3000),
    draws=3,
    methods=(
        "SdA semi-supervised",
        "SdA semi, pretraining only",
        "LogisticRegression",
        "MLPClassifier",
        "SdAClassifier",
        "SelfTraining(LogReg)",
        "SelfTraining(SVC)",
        "LabelSpreading",
        "LabelPropagation",
    ),
    n_train=None,  # the first rows of the training split only (None: all)
    sda=dict(),  # parameters of both SdAClassifiers beyond their defaults
    # BLAS threads of each fit (0: the library default): on the shared 2 cores one
    # thread, as in the other benchmarks
    blas_threads=1,
)
SMOKE = dict(
    labels=(50,),
    draws=1,
    n_train=400,
    sda=dict(hidden_layer_sizes=(32,), pretrain_max_iter=1, max_iter=3),
)
HELPS = {
    "dataset": "digits: the bundled 5000; mnist: full MNIST (fetch_mnist)",
    "labels": "numbers of labeled training rows",
    "draws": "label draws per number of labels (seeds 0, 1, ...)",
    "methods": "the methods to run",
    "sda": "NAME=VALUE parameters of the SdAClassifiers (e.g. max_iter=20)",
}
CHOICES = {"dataset": ("digits", "mnist"), "methods": CONFIG["methods"]}

# Published full-MNIST test errors (%) by number of labels.
PUBLISHED = {
    "Lee 2013 pseudo-label + DAE": {100: 10.49, 600: 4.01, 1000: 3.46, 3000: 2.69},
    "ladder networks (Rasmus et al. 2015)": {100: 1.06},
}


def _load(dataset):
    if dataset == "digits":
        X, y = load_mnist_5k(return_X_y=True)
        return train_test_split(X, y, test_size=1000, stratify=y, random_state=0)
    data_home = mnist_data_home()
    X_train, y_train = fetch_mnist(data_home=data_home, subset="train", return_X_y=True)
    X_test, y_test = fetch_mnist(data_home=data_home, subset="test", return_X_y=True)
    return X_train, X_test, y_train, y_test


def _methods(sda):
    """name -> (make the estimator, whether it sees the unlabeled rows)."""
    logreg = lambda: LogisticRegression(max_iter=1000)  # noqa: E731
    return {
        "SdA semi-supervised": (
            lambda seed: SdAClassifier(unlabeled_label=-1, random_state=seed, **sda),
            True,
        ),
        "SdA semi, pretraining only": (
            lambda seed: SdAClassifier(
                unlabeled_label=-1, unlabeled_weight=0.0, random_state=seed, **sda
            ),
            True,
        ),
        "LogisticRegression": (lambda seed: logreg(), False),
        "MLPClassifier": (lambda seed: MLPClassifier(random_state=seed), False),
        "SdAClassifier": (
            lambda seed: SdAClassifier(random_state=seed, **sda),
            False,
        ),
        "SelfTraining(LogReg)": (lambda seed: SelfTrainingClassifier(logreg()), True),
        "SelfTraining(SVC)": (
            lambda seed: SelfTrainingClassifier(
                SVC(probability=True, random_state=seed)
            ),
            True,
        ),
        "LabelSpreading": (
            lambda seed: LabelSpreading(kernel="knn", n_neighbors=7),
            True,
        ),
        "LabelPropagation": (
            lambda seed: LabelPropagation(kernel="knn", n_neighbors=7),
            True,
        ),
    }


def measure(cfg):
    X_train, X_test, y_train, y_test = _load(cfg.dataset)
    if cfg.n_train is not None:
        X_train, y_train = X_train[: cfg.n_train], y_train[: cfg.n_train]
    methods = _methods(dict(cfg.sda))
    rows = []
    for n_labels in cfg.labels:
        for draw in range(cfg.draws):
            labeled, _ = train_test_split(
                np.arange(len(y_train)),
                train_size=n_labels,
                stratify=y_train,
                random_state=draw,
            )
            y_semi = np.full_like(y_train, -1)
            y_semi[labeled] = y_train[labeled]
            for name in cfg.methods:
                make, semi = methods[name]
                est = make(draw)
                seen = slice(None) if semi else labeled
                X, y = X_train[seen], y_semi[seen]
                start = time.perf_counter()
                with (
                    threadpool_limits(cfg.blas_threads or None),
                    warnings.catch_warnings(),
                ):
                    warnings.simplefilter("ignore")  # convergence, clipped batches
                    est.fit(X, y)
                    seconds = time.perf_counter() - start
                    accuracy = float(np.mean(est.predict(X_test) == y_test))
                rows.append(
                    {
                        "labels": n_labels,
                        "draw": draw,
                        "method": name,
                        "accuracy": accuracy,
                        "fit_seconds": seconds,
                    }
                )
                print(
                    f"{n_labels:5d} labels, draw {draw}: {name:22s} "
                    f"{accuracy:.3f} ({seconds:.1f} s)",
                    flush=True,
                )
    return _result(rows, cfg)


def _result(rows, cfg):
    summary = []
    for name in cfg.methods:
        for n_labels in cfg.labels:
            mine = [r for r in rows if r["method"] == name and r["labels"] == n_labels]
            acc = np.array([r["accuracy"] for r in mine])
            summary.append(
                {
                    "method": name,
                    "labels": n_labels,
                    "accuracy": float(acc.mean()),
                    "std": float(acc.std()),
                    "fit_seconds": float(np.mean([r["fit_seconds"] for r in mine])),
                }
            )

    def wide(value, spec, title):
        long = [{**r, "n": str(r["labels"])} for r in summary]
        columns = {"method": ""} | {str(n): spec for n in cfg.labels}
        return table(pivot(long, "method", "n", value), columns, title=title)

    accuracy = wide(
        "accuracy",
        ".3f",
        f"test accuracy, mean of {cfg.draws} draws, by number of labels",
    )
    spread = wide("std", ".3f", "standard deviation over the draws")
    seconds = wide("fit_seconds", ".1f", "fit seconds, mean of the draws")
    published = table(
        [
            {"method": name} | {str(n): 1 - e / 100 for n, e in errors.items()}
            for name, errors in PUBLISHED.items()
        ],
        {"method": ""} | {str(n): ".4f" for n in (100, 600, 1000, 3000)},
        title="published full-MNIST test accuracy (60000 rows; for orientation)",
    )
    return Result(
        rows,
        summary={"by_method": summary, "published_error_percent": PUBLISHED},
        tables=[accuracy, spread, seconds, published],
    )


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        helps=HELPS,
        choices=CHOICES,
    )
