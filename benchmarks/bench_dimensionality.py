"""Dimensionality reduction: the deep autoencoder against PCA, kernel PCA, Isomap
and the greedy-only stack.

Hinton & Salakhutdinov (2006, "Reducing the Dimensionality of Data with Neural
Networks") pretrain a stack layer by layer, unroll it into an encoder and a mirrored
decoder and fine-tune the whole on the reconstruction; on MNIST its 30-dimensional
codes reconstruct the test digits with a squared error of 3.00 per image against
13.87 for PCA.  Here, at each code size (2, 10, 30 by default), all in the same run:

* ``pca``: ``PCA(d)``;
* ``kernel_pca``: ``KernelPCA(d, kernel="rbf", fit_inverse_transform=True)`` (its
  reconstruction is the learned pre-image), only up to ``kernel_max_rows``
  training rows;
* ``isomap``: ``Isomap(n_components=d)`` (no reconstruction), same limit;
* ``greedy``: ``StackedDenoisingAutoencoder(hidden + (d,))`` pretrained layer by
  layer, sigmoid layers under a linear code, no fine-tuning;
* ``deep``: the same stack, then fine-tuned as a deep autoencoder
  (``fine_tune_max_iter`` epochs; the greedy stack continued by a warm start, which
  is the same fit as one with ``fine_tune_max_iter`` set from the start).

Measured on the test rows: the reconstruction error per image (squared error summed
over the pixels, mean over the images: Hinton's measure), the accuracy of a 1-NN
classifier and of a logistic regression (on standardised codes) trained on the
training rows' codes, and the fit time (seconds; pretraining plus fine-tuning for
``deep``).

``--validate`` chooses the fine-tuning recipe first, on the training rows only: they
are split 3:1 (stratified), the stack is pretrained once on the larger part at the
code size ``validate_code_size``, each recipe of ``grid`` fine-tunes a copy of it,
and the recipe with the lowest reconstruction error on the held-out quarter is the
one the test run uses.  The test rows are never seen before the final run.

Datasets: ``digits``, the 5000 bundled MNIST digits split 4000 / 1000
(``train_test_split(test_size=1000, stratify=y, random_state=0)``), and ``mnist``,
the standard 60000 / 10000 split of ``stackeddae.datasets.fetch_mnist``, its files in
``data_home`` (scikit-learn's data folder by default) or put there without internet
by ``mnist_data.mnist_data_home``.

Usage::

    python benchmarks/bench_dimensionality.py                  # bundled digits
    python benchmarks/bench_dimensionality.py --validate       # choose the recipe
    python benchmarks/bench_dimensionality.py --dataset mnist --hidden 1000 500 250 \\
        --methods pca greedy deep                              # full MNIST
    python benchmarks/bench_dimensionality.py --smoke          # seconds: does it run?
"""

import copy
import itertools
import time
import warnings

import numpy as np
from _common import Result, Usage, main, pivot, table
from mnist_data import mnist_data_home
from sklearn.decomposition import PCA, KernelPCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import Isomap
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stackeddae import StackedDenoisingAutoencoder
from stackeddae.datasets import fetch_mnist, load_mnist_5k

# ----------------------------------------------------------------- configuration
METHODS = ("pca", "kernel_pca", "isomap", "greedy", "deep")
# Published test errors per image on the full MNIST, 30-dimensional codes
# (Hinton & Salakhutdinov 2006, Fig. 2 caption), for orientation only.
PUBLISHED = {"deep autoencoder": 3.00, "logistic PCA": 8.01, "PCA": 13.87}

CONFIG = dict(
    dataset="digits",
    code_sizes=(2, 10, 30),
    methods=METHODS,
    hidden=(512, 256),  # the sigmoid layers under the linear code
    pretrain_epochs=5,
    pretrain_solver="adam",
    pretrain_learning_rate=1e-3,
    pretrain_batch_size=20,
    # the recipe --validate chose on the digits' training rows (README)
    fine_tune=dict(
        fine_tune_max_iter=50,
        fine_tune_learning_rate_init=3e-3,
        fine_tune_batch_size=100,
        fine_tune_corruption_level=0.0,
    ),
    validate=False,
    validate_code_size=30,
    grid=dict(
        fine_tune_learning_rate_init=(1e-3, 3e-3),
        fine_tune_corruption_level=(0.0, 0.2),
    ),
    kernel_max_rows=10000,
    data_home=None,
    seed=0,
    n_jobs=None,
)
SMOKE = dict(
    code_sizes=(2,),
    hidden=(16,),
    pretrain_epochs=1,
    fine_tune=dict(fine_tune_max_iter=2),
    grid=dict(fine_tune_corruption_level=(0.0, 0.2)),
    validate_code_size=2,
    n_rows=(400, 100),
)
CONFIG["n_rows"] = (4000, 1000)  # digits: training and test rows
HELPS = {
    "hidden": "sizes of the layers under the code",
    "fine_tune": "the fine-tuning recipe (without --validate)",
    "grid": "the recipes --validate tries (NAME=v1,v2 ...)",
    "n_rows": "digits only: training and test rows",
    "data_home": "mnist only: the folder of fetch_mnist's data (see mnist_data.py)",
}


# ----------------------------------------------------------------- data
def load(cfg):
    """(X_train, y_train, X_test, y_test) of the dataset."""
    if cfg.dataset == "mnist":
        # the published files, put in place offline by mnist_data.py if missing
        data_home = mnist_data_home(cfg.data_home)
        (X_train, y_train), (X_test, y_test) = (
            fetch_mnist(data_home=data_home, subset=subset, return_X_y=True)
            for subset in ("train", "test")
        )
        return X_train, y_train, X_test, y_test
    X, y = load_mnist_5k(return_X_y=True)
    n_train, n_test = cfg.n_rows
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=n_train, test_size=n_test, stratify=y, random_state=0
    )
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------- the methods
def stack(cfg, code_size):
    """The greedy stack; fine-tuned later by a warm start."""
    n_hidden = len(cfg.hidden)
    return StackedDenoisingAutoencoder(
        (*cfg.hidden, code_size),
        activation=["sigmoid"] * n_hidden + ["identity"],
        solver=cfg.pretrain_solver,
        learning_rate_init=cfg.pretrain_learning_rate,
        batch_size=cfg.pretrain_batch_size,
        max_iter=cfg.pretrain_epochs,
        warm_start=True,
        random_state=cfg.seed,
        n_jobs=cfg.n_jobs,
    )


def fine_tuned(greedy, recipe, X):
    """A copy of the fitted greedy stack, fine-tuned with ``recipe``; its seconds."""
    deep = copy.deepcopy(greedy).set_params(**recipe)
    start = time.perf_counter()
    deep.fit(X)
    return deep, time.perf_counter() - start


def reconstruction_error(model, X):
    """Squared error summed over the pixels, mean over the images."""
    X_rec = model.inverse_transform(model.transform(X))
    return float(np.mean(np.sum((np.asarray(X_rec, np.float64) - X) ** 2, axis=1)))


def code_accuracies(codes_train, y_train, codes_test, y_test):
    knn = KNeighborsClassifier(1).fit(codes_train, y_train)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(codes_train, y_train)
    return {
        "knn_accuracy": float(knn.score(codes_test, y_test)),
        "logistic_accuracy": float(logistic.score(codes_test, y_test)),
    }


def evaluate(method, model, seconds, code_size, data, reconstructs=True):
    X_train, y_train, X_test, y_test = data
    codes_train = np.asarray(model.transform(X_train), np.float64)
    codes_test = np.asarray(model.transform(X_test), np.float64)
    row = {"code_size": code_size, "method": method, "fit_seconds": seconds}
    row["test_error"] = reconstruction_error(model, X_test) if reconstructs else None
    row.update(code_accuracies(codes_train, y_train, codes_test, y_test))
    return row


def timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


# ----------------------------------------------------------------- validation
def recipes(grid):
    names = list(grid)
    values = [np.atleast_1d(grid[name]).tolist() for name in names]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)
    ]


def validate(cfg, X_train, y_train):
    """The recipe of ``grid`` with the lowest held-out error, and the rows tried."""
    X_fit, X_valid = train_test_split(
        X_train, test_size=0.25, stratify=y_train, random_state=cfg.seed
    )
    greedy = stack(cfg, cfg.validate_code_size).fit(X_fit)
    tried = [{"recipe": "greedy", "valid_error": reconstruction_error(greedy, X_valid)}]
    for recipe in recipes(cfg.grid):
        deep, seconds = fine_tuned(greedy, {**cfg.fine_tune, **recipe}, X_fit)
        error = reconstruction_error(deep, X_valid)
        tried.append({"recipe": recipe, "valid_error": error, "seconds": seconds})
        print(f"validation {recipe}: {error:.3f} ({seconds:.0f} s)", flush=True)
    best = min(tried[1:], key=lambda row: row["valid_error"])
    return {**cfg.fine_tune, **best["recipe"]}, tried


# ----------------------------------------------------------------- the run
def measure(cfg):
    unknown = set(cfg.methods) - set(METHODS)
    if unknown:
        raise Usage(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    data = load(cfg)
    X_train, y_train = data[0], data[1]
    summary = {"published_30d_mnist": PUBLISHED}
    recipe = dict(cfg.fine_tune)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budgets
        if cfg.validate:
            recipe, tried = validate(cfg, X_train, y_train)
            summary["validation"] = tried
        summary["recipe"] = recipe
        kernels = len(X_train) <= cfg.kernel_max_rows
        rows = []
        for d in cfg.code_sizes:
            if "pca" in cfg.methods:
                model, seconds = timed_fit(PCA(d, random_state=cfg.seed), X_train)
                rows.append(evaluate("pca", model, seconds, d, data))
            if "kernel_pca" in cfg.methods and kernels:
                kpca = KernelPCA(
                    d, kernel="rbf", fit_inverse_transform=True, random_state=cfg.seed
                )
                model, seconds = timed_fit(kpca, X_train)
                rows.append(evaluate("kernel_pca", model, seconds, d, data))
            if "isomap" in cfg.methods and kernels:
                model, seconds = timed_fit(Isomap(n_components=d), X_train)
                rows.append(evaluate("isomap", model, seconds, d, data, False))
            if {"greedy", "deep"} & set(cfg.methods):
                greedy, pretraining = timed_fit(stack(cfg, d), X_train)
                if "greedy" in cfg.methods:
                    rows.append(evaluate("greedy", greedy, pretraining, d, data))
            if "deep" in cfg.methods:
                deep, seconds = fine_tuned(greedy, recipe, X_train)
                rows.append(evaluate("deep", deep, pretraining + seconds, d, data))
            print(table(rows[-len(cfg.methods) :]), flush=True)
    tables = [
        table(pivot(rows, "code_size", "method", key), title=f"{key} (test rows)")
        for key in ("test_error", "knn_accuracy", "logistic_accuracy", "fit_seconds")
    ]
    published = ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED.items())
    text = (
        f"\nrecipe: {recipe}\nHinton & Salakhutdinov 2006, full MNIST, 30-d codes, "
        f"test error per image: {published} (orientation only: other data)"
    )
    if cfg.validate:
        text = (
            table(
                [
                    {"recipe": str(r["recipe"]), "valid_error": r["valid_error"]}
                    for r in summary["validation"]
                ],
                {"recipe": "", "valid_error": ".3f"},
                title="\nvalidation on the training rows "
                f"(code size {cfg.validate_code_size})",
            )
            + text
        )
    return Result(rows, summary=summary, tables=tables, text=text)


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        helps=HELPS,
        choices={"dataset": ["digits", "mnist"]},
    )
