"""predict_proba latency: numpy (SdAClassifier itself) against onnxruntime.

A 784-256-256-10 SdAClassifier is fitted briefly on the 4000 training digits of the
bundled MNIST-5k (only latency matters here, so pretraining and fine-tuning are
short), exported with ``stackeddae.onnx.to_onnx`` (float32, ``zipmap=False``) and
asked for the probabilities of the 1000 test digits:

``numpy``
    ``clf.predict_proba(batch)``, with one BLAS thread (threadpoolctl).
``numpy forward``
    For information: the same arithmetic without ``predict_proba``'s input
    validation (``softmax(clf._forward(batch))``), to show what the checks cost.
``onnxruntime``
    ``session.run(["probabilities"], {"X": batch})``, one intra-op and one inter-op
    thread (``SessionOptions``), default graph optimizations.

At batch 1 (the test digits one after another: a service answering one request) and
batch 1000 (all of them at once).  The variants are interleaved: each repeat times
them one after another (reversing the order at each repeat) for about ``--seconds``
each; the table gives the medians over repeats, and ``ratio`` = numpy time /
onnxruntime time (``best``: the ratio of the fastest repeats, less sensitive to
other jobs).  Before timing, the two outputs are compared (largest absolute
difference of the probabilities).

Usage::

    python benchmarks/bench_inference.py                  # ~30 s
    python benchmarks/bench_inference.py --repeats 3 --seconds 0.1   # quick look
    python benchmarks/bench_inference.py --smoke   # seconds: does it run?

Needs the ``onnx`` extra (skl2onnx, onnxruntime, onnx).
"""

import time
import warnings

import numpy as np
from _common import Result, main, require
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from stackeddae import SdAClassifier
from stackeddae._activations import softmax
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
HIDDEN = (256, 256)
FIT_PARAMS = {"pretrain_max_iter": 1, "max_iter": 3, "random_state": 0}
TEST_SIZE = 1000
SPLIT_SEED = 0
CONFIG = dict(
    batch_sizes=(1, 1000),
    repeats=21,
    seconds=0.2,  # target length of one timed run of one variant
)
SMOKE = dict(repeats=1, seconds=0.01)
COLUMNS = {
    "batch_size": ("batch", "d"),
    "numpy_us": ("numpy µs", ".1f"),
    "forward_us": ("forward µs", ".1f"),
    "onnxruntime_us": ("onnxruntime µs", ".1f"),
    "ratio_numpy_over_onnxruntime": ("ratio", ".2f"),
    "numpy_samples_per_s": ("numpy samples/s", ".0f"),
    "onnxruntime_samples_per_s": ("ort samples/s", ".0f"),
    "ratio_of_best": ("best", ".2f"),
}


def fit_classifier():
    X, y = load_mnist_5k(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SdAClassifier(HIDDEN, **FIT_PARAMS).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - t0
    layers = "-".join(str(W.shape[0]) for W in clf.coefs_) + f"-{len(clf.classes_)}"
    print(
        f"fitted a {layers} SdAClassifier in {fit_seconds:.1f} s "
        f"(test accuracy {clf.score(X_test, y_test):.3f})"
    )
    return clf, X_test, fit_seconds


def single_thread_session(onx):
    ort = require("onnxruntime", "(the onnx extra)", "pip install stackeddae[onnx]")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def variants(clf, session):
    """name -> function of one batch returning its probabilities."""
    return {
        "numpy": clf.predict_proba,
        "numpy forward": lambda batch: softmax(clf._forward(batch)),
        "onnxruntime": lambda batch: session.run(["probabilities"], {"X": batch})[0],
    }


def seconds_per_call(predict, batches, n_calls):
    t0 = time.perf_counter()
    for i in range(n_calls):
        predict(batches[i % len(batches)])
    return (time.perf_counter() - t0) / n_calls


def calibrate(predict, batches, seconds):
    """Calls per timed run so that it lasts about ``seconds``."""
    n = 1
    while (elapsed := seconds_per_call(predict, batches, n) * n) < seconds / 10:
        n *= 4
    return max(1, int(n * seconds / max(elapsed, 1e-9)))


def time_batch(funcs, X_test, batch_size, cfg):
    batches = [X_test[i : i + batch_size] for i in range(0, len(X_test), batch_size)]
    n_calls = {name: calibrate(f, batches, cfg.seconds) for name, f in funcs.items()}
    times = {name: [] for name in funcs}
    order = list(funcs)
    for _ in range(cfg.repeats):
        for name in order:
            times[name].append(seconds_per_call(funcs[name], batches, n_calls[name]))
        order.reverse()  # no variant always runs first
    medians = {name: float(np.median(t)) for name, t in times.items()}
    best = {name: float(np.min(t)) for name, t in times.items()}
    return {
        "batch_size": batch_size,
        "numpy_us": medians["numpy"] * 1e6,
        "forward_us": medians["numpy forward"] * 1e6,
        "onnxruntime_us": medians["onnxruntime"] * 1e6,
        "numpy_samples_per_s": batch_size / medians["numpy"],
        "onnxruntime_samples_per_s": batch_size / medians["onnxruntime"],
        "calls_per_run": n_calls,
        "seconds_per_call": times,
        "median_seconds_per_call": medians,
        "ratio_numpy_over_onnxruntime": medians["numpy"] / medians["onnxruntime"],
        "best_seconds_per_call": best,
        "ratio_of_best": best["numpy"] / best["onnxruntime"],
    }


def measure(cfg):
    require("skl2onnx", "(the onnx extra)", "pip install stackeddae[onnx]")
    from stackeddae.onnx import to_onnx

    clf, X_test, fit_seconds = fit_classifier()
    session = single_thread_session(to_onnx(clf, X_test, options={"zipmap": False}))
    with threadpool_limits(1, user_api="blas"):
        funcs = variants(clf, session)
        difference = float(
            np.max(np.abs(funcs["numpy"](X_test) - funcs["onnxruntime"](X_test)))
        )
        print(f"largest |numpy - onnxruntime| probability: {difference:.2e}\n")
        rows = [time_batch(funcs, X_test, b, cfg) for b in cfg.batch_sizes]
    return Result(
        rows,
        summary={
            "layers": [X_test.shape[1], *HIDDEN, len(clf.classes_)],
            "dtype": str(X_test.dtype),
            "fit_params": FIT_PARAMS,
            "fit_seconds": fit_seconds,
            "threads": 1,
            "max_abs_difference": difference,
        },
        text="ratio = numpy time / onnxruntime time (medians; > 1: onnxruntime "
        "faster); best: the same ratio of the fastest repeats;\n"
        "forward = numpy without input validation",
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, columns=COLUMNS)
