"""Largest difference between onnxruntime and numpy, case by case.

Runs the cases of ``tests/test_onnx.py`` (same models, same data: every case is
checked on the 1797 digits of ``load_digits``) and prints, for each, the largest
absolute difference between the exported graph's output and the estimator's own
(codes, probabilities or predictions; labels are checked identical), next to the
tolerance the tests require.

Usage::

    python benchmarks/onnx_parity.py      # ~10 s; writes results/onnx_parity.json
    python benchmarks/onnx_parity.py --smoke   # the first three cases

Needs the ``onnx`` extra (skl2onnx, onnxruntime, onnx) and pytest (the cases are the
tests').
"""

import sys
from itertools import islice
from pathlib import Path

import numpy as np
from _common import Result, main, require

from stackeddae import DenoisingAutoencoder, StackedDenoisingAutoencoder

TESTS = Path(__file__).resolve().parents[1] / "tests"
AUTOENCODERS = (DenoisingAutoencoder, StackedDenoisingAutoencoder)
CONFIG = dict(cases=None)  # how many cases, in the order of the tests (None: all)
SMOKE = dict(cases=3)
COLUMNS = {"case": "", "dtype": "", "max_abs_diff": ".2e", "tolerance": ".0e"}
cases = None  # tests/test_onnx.py, imported by measure


def saturated(dtype):
    dae, X = cases.autoencoder(DenoisingAutoencoder, dtype, "sigmoid", True)
    dae.intercept_hidden_[:] = -1000.0
    return dae, X


def all_cases():
    """(case, dtype, check, model and data), in the order of the tests."""
    for cls in AUTOENCODERS:
        for activation in cases.ACTIVATIONS:
            for tied in (True, False):
                for dtype in cases.DTYPES:
                    name = f"{cls.__name__} {activation} tied={tied}"
                    model = cases.autoencoder(cls, dtype, activation, tied)
                    yield name, dtype, cases.check_transformer, model
    for fit_dtype, run_dtype in [(np.float64, np.float32), (np.float32, np.float64)]:
        sda, _ = cases.autoencoder(
            StackedDenoisingAutoencoder, fit_dtype, "sigmoid", True
        )
        model = sda, cases.X_DIGITS.astype(run_dtype)
        name = f"stack fitted in {np.dtype(fit_dtype)}"
        yield name, run_dtype, cases.check_transformer, model
    for dtype in cases.DTYPES:
        name = "DenoisingAutoencoder saturated sigmoid"
        yield name, dtype, cases.check_transformer, saturated(dtype)
    for labels in cases.LABELS:
        for dtype in cases.DTYPES:
            name = f"SdAClassifier labels={labels}"
            yield name, dtype, cases.check_classifier, cases.classifier(dtype, labels)
    for activation in ("tanh", "relu"):
        model = cases.classifier(np.float32, "int", activation)
        yield f"SdAClassifier {activation}", np.float32, cases.check_classifier, model
    string_classifier = cases.classifier(np.float32, "str")
    for option in cases.CLASSIFIER_OPTIONS:
        yield (
            f"SdAClassifier {option}",
            np.float32,
            lambda clf, X, option=option: cases.check_classifier(clf, X, option),
            string_classifier,
        )
    for n_outputs in (1, 3):
        for dtype in cases.DTYPES:
            name = f"SdARegressor outputs={n_outputs}"
            yield name, dtype, cases.check_regressor, cases.regressor(dtype, n_outputs)
    for activation in ("tanh", "relu"):
        model = cases.regressor(np.float64, 3, activation)
        yield f"SdARegressor {activation}", np.float64, cases.check_regressor, model
    for final in ("stack+logistic", "classifier"):
        for dtype in cases.DTYPES:
            name = f"Pipeline MinMaxScaler -> {final}"
            yield name, dtype, cases.check_pipeline, cases.pipeline(dtype, final)


def measure(cfg):
    global cases
    for module in ("onnxruntime", "skl2onnx", "pytest"):
        require(module, "(the onnx extra, and the tests' pytest)")
    sys.path.insert(0, str(TESTS))
    import test_onnx as cases

    rows = []
    for name, dtype, check, model in islice(all_cases(), cfg.cases):
        rows.append(
            {
                "case": name,
                "dtype": np.dtype(dtype).name,
                "max_abs_diff": check(*model),
                "tolerance": cases.TOLERANCE[dtype],
            }
        )
        print(f"{name} {rows[-1]['dtype']}: {rows[-1]['max_abs_diff']:.2e}", flush=True)
    return Result(rows, summary={"tolerance": "1e-5 float32, 1e-10 float64"})


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, columns=COLUMNS)
