"""SdAClassifier against its own ablation and scikit-learn baselines on MNIST-5k.

The 5000 bundled digits are split 4000 / 1000 (stratified, ``random_state=0``).  Each
method is fitted on the 4000 for every seed and scored on the 1000:

* ``sda_pretrained``: a 2-hidden-layer SdAClassifier (``SDA_PARAMS``), pretrained;
* ``sda_random_init``: the same network and fine-tuning budget, ``pretrain=False``;
* ``logistic``: LogisticRegression on the raw pixels;
* ``sda_defaults``: ``SdAClassifier()`` with every default (but ``random_state``);
* ``sda_float64``: ``SdAClassifier(dtype=np.float64)``, the defaults trained in float64
  (the default trains in float32 whatever the input);
* ``mlp_defaults``: ``MLPClassifier()`` with every default (but ``random_state``);
* ``svc_defaults``: ``SVC()`` (RBF kernel) with every default.

Each method runs on the digits as float64 (``X.astype(np.float64)``, what a user
passes after ``X / 255.0`` or a scaler) and as float32 (as bundled), ``--dtypes``;
the runs are interleaved (seed, then method, then input dtype), so that the load of
a shared machine falls on all of them alike.

Usage::

    python benchmarks/bench_classifier.py                       # 3 seeds, ~4-5 min
    python benchmarks/bench_classifier.py --seeds 0 --methods sda_pretrained
    python benchmarks/bench_classifier.py --dtypes float64 --methods sda_defaults \
        mlp_defaults svc_defaults
    python benchmarks/bench_classifier.py --methods sda_pretrained sda_random_init \\
        --set max_iter=10 --set hidden_layer_sizes=500,500

``--set name=value`` overrides a parameter of the two ``sda_*`` ablation models (a
comma makes a tuple); this is how the defaults were explored (see DEFAULTS.md).
``sda_defaults`` is not refitted when it equals ``sda_pretrained`` (the case with
the shipped configuration); its row then repeats that one.  Timings are indicative
only: they depend on the machine and its load.
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from stackeddae import SdAClassifier
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
TEST_SIZE = 1000
SPLIT_SEED = 0
SEEDS = (0, 1, 2)
# The pretrained model and its ablation (pretrain=False, same fine-tuning budget):
# the library defaults, spelled out so that this benchmark keeps measuring the same
# model if the defaults change (DEFAULTS.md explains how they were chosen).
SDA_PARAMS = {
    "hidden_layer_sizes": (256, 256),
    "corruption_level": 0.2,
    "pretrain_solver": "adam",
    "pretrain_learning_rate_init": 0.001,
    "pretrain_batch_size": 20,
    "pretrain_max_iter": 5,
    "solver": "adam",
    "learning_rate_init": 0.004,
    "batch_size": 128,
    "alpha": 1e-3,
    "max_iter": 200,
    "tol": 1e-4,
    "n_iter_no_change": 20,
}
LOGISTIC_PARAMS = {"max_iter": 2000}  # lbfgs converges on raw pixels well before
METHODS = (
    "sda_pretrained",
    "sda_random_init",
    "logistic",
    "sda_defaults",
    "sda_float64",
    "mlp_defaults",
    "svc_defaults",
)
INPUT_DTYPES = ("float64", "float32")
PLAIN = (int, float, str, bool, type(None))  # parameters JSON keeps as they are
# BLAS threads: on 2 cores mini-batches of 20-512 rows gain nothing from threads,
# and on a busy machine two OpenBLAS threads were measured 3-20x slower than one.
# 0 leaves the library default (all cores).
BLAS_THREADS = 1
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_classifier"


def make_estimator(method, seed, sda_params):
    if method == "sda_pretrained":
        return SdAClassifier(**sda_params, pretrain=True, random_state=seed)
    if method == "sda_random_init":
        return SdAClassifier(**sda_params, pretrain=False, random_state=seed)
    if method == "logistic":
        return LogisticRegression(**LOGISTIC_PARAMS, random_state=seed)
    if method == "sda_defaults":
        return SdAClassifier(random_state=seed)
    if method == "sda_float64":
        return SdAClassifier(dtype=np.float64, random_state=seed)
    if method == "mlp_defaults":
        return MLPClassifier(random_state=seed)
    if method == "svc_defaults":
        return SVC(random_state=seed)
    raise ValueError(method)


def same_model(est, done, seed, sda_params):
    """The method already run on this seed whose estimator equals ``est``, if any."""
    params = est.get_params()
    for method in ("sda_pretrained", "sda_random_init"):
        if (method, seed) in done:
            other = make_estimator(method, seed, sda_params)
            if type(other) is type(est) and other.get_params() == params:
                return method
    return None


def parse_value(text):
    if "," in text:
        return tuple(parse_value(t) for t in text.split(",") if t)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter of the sda_pretrained / sda_random_init models",
    )
    parser.add_argument(
        "--dtypes", nargs="+", choices=INPUT_DTYPES, default=list(INPUT_DTYPES)
    )
    parser.add_argument("--blas-threads", type=int, default=BLAS_THREADS)
    parser.add_argument(
        "--output", default=None, help="JSON path (default results/<name>.json)"
    )
    return parser.parse_args()


def fit_score(estimator, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    result = {
        "accuracy": float(estimator.score(X_test, y_test)),
        "fit_time_s": seconds,
        "warnings": sorted({str(w.message)[:120] for w in caught}),
    }
    if hasattr(estimator, "n_iter_"):
        result["n_iter"] = int(np.max(estimator.n_iter_))
    return result


def summarize(runs):
    acc = [r["accuracy"] for r in runs]
    return {
        "accuracy_mean": float(np.mean(acc)),
        "accuracy_std": float(np.std(acc)),
        "fit_time_mean_s": float(np.mean([r["fit_time_s"] for r in runs])),
        "n_iter_mean": float(np.mean([r.get("n_iter", np.nan) for r in runs])),
    }


def print_table(summary, seeds):
    header = (
        f"{'method (input)':<26} {'accuracy':>8} {'std':>7} "
        f"{'fit time (s)':>12} {'epochs':>7}"
    )
    print(f"test accuracy on {TEST_SIZE} held-out digits, seeds {seeds}")
    print(header)
    print("-" * len(header))
    for method, s in summary.items():
        print(
            f"{method:<26} {s['accuracy_mean']:>8.4f} {s['accuracy_std']:>7.4f} "
            f"{s['fit_time_mean_s']:>12.1f} {s['n_iter_mean']:>7.1f}"
            + (f"  (= {s['same_as']})" if "same_as" in s else "")
        )
    print("(timings are indicative only: shared 2-core machine, other jobs running)")


def main():
    args = parse_args()
    if args.blas_threads:
        with threadpool_limits(args.blas_threads):
            return run(args)
    return run(args)


def run(args):
    sda_params = dict(SDA_PARAMS)
    for item in args.set:
        name, _, value = item.partition("=")
        sda_params[name] = parse_value(value)
    X, y = load_mnist_5k(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED
    )
    data = {
        dtype: (X_train.astype(dtype), X_test.astype(dtype)) for dtype in args.dtypes
    }
    keys = [f"{m} ({d})" for m in args.methods for d in args.dtypes]
    runs, summary, params = {k: [] for k in keys}, {}, {}
    done = {d: {} for d in args.dtypes}  # (method, seed) -> result, per input dtype
    for seed in args.seeds:
        for method in args.methods:
            for dtype in args.dtypes:
                key = f"{method} ({dtype})"
                est = make_estimator(method, seed, sda_params)
                same = same_model(est, done[dtype], seed, sda_params)
                if same:  # e.g. sda_defaults == sda_pretrained: don't fit it twice
                    result = dict(done[dtype][same, seed], same_as=f"{same} ({dtype})")
                else:
                    X_tr, X_te = data[dtype]
                    result = fit_score(est, X_tr, y_train, X_te, y_test)
                result["seed"] = seed
                done[dtype][method, seed] = result
                print(
                    f"{key:<26} seed {seed}: accuracy {result['accuracy']:.4f} "
                    f"in {result['fit_time_s']:.1f} s ({result.get('n_iter', '-')} "
                    "epochs)" + (f", same model as {same}" if same else ""),
                    flush=True,
                )
                runs[key].append(result)
                params[key] = {
                    k: v
                    if isinstance(v, (int, float, str, bool, type(None)))
                    else repr(v)
                    for k, v in est.get_params().items()
                }
    for key in keys:
        summary[key] = summarize(runs[key])
        if runs[key] and "same_as" in runs[key][0]:
            summary[key]["same_as"] = runs[key][0]["same_as"]
    ratio_keys = [(f"sda_defaults ({d})", f"mlp_defaults ({d})") for d in args.dtypes]
    for sda, mlp in ratio_keys:
        if sda in summary and mlp in summary:
            ratio = summary[sda]["fit_time_mean_s"] / summary[mlp]["fit_time_mean_s"]
            summary[sda]["fit_time_over_mlp"] = ratio
    print()
    print_table(summary, args.seeds)
    for key, s in summary.items():
        if "fit_time_over_mlp" in s:
            print(f"{key}: fit time / MLPClassifier()'s = {s['fit_time_over_mlp']:.2f}")

    RESULTS.mkdir(exist_ok=True)
    out = Path(args.output) if args.output else RESULTS / f"{NAME}.json"
    payload = {
        "config": {
            "test_size": TEST_SIZE,
            "split_seed": SPLIT_SEED,
            "seeds": args.seeds,
            "sda_params": {k: repr(v) for k, v in sda_params.items()},
            "blas_threads": args.blas_threads,
            "input_dtypes": args.dtypes,
        },
        "summary": summary,
        "params": params,
        "runs": runs,
        "machine": platform.platform(),
        "note": "timings indicative only (shared machine)",
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
