"""Largest difference between onnxruntime and numpy, case by case.

Runs the cases of ``tests/test_onnx.py`` (same models, same data: every case is
checked on the 1797 digits of ``load_digits``) and prints, for each, the largest
absolute difference between the exported graph's output and the estimator's own
(codes, probabilities or predictions; labels are checked identical), next to the
tolerance the tests require.

Usage::

    python benchmarks/onnx_parity.py      # ~10 s; writes results/onnx_parity.json
"""

import json
import sys
from pathlib import Path

import numpy as np
from _common import machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_onnx as cases  # noqa: E402

from stackeddae import DenoisingAutoencoder, StackedDenoisingAutoencoder  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
AUTOENCODERS = (DenoisingAutoencoder, StackedDenoisingAutoencoder)


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


def main():
    rows = []
    print(f"{'case':<52} {'dtype':<8} {'max |diff|':>10} {'tolerance':>9}")
    for name, dtype, check, model in all_cases():
        difference = check(*model)
        dtype_name = np.dtype(dtype).name
        rows.append({"case": name, "dtype": dtype_name, "max_abs_diff": difference})
        print(
            f"{name:<52} {dtype_name:<8} {difference:>10.2e} "
            f"{cases.TOLERANCE[dtype]:>9.0e}"
        )
    out = RESULTS / "onnx_parity.json"
    out.parent.mkdir(exist_ok=True)
    payload = {"machine": machine(), "tolerance": "1e-5 float32, 1e-10 float64"}
    out.write_text(json.dumps({**payload, "results": rows}, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
