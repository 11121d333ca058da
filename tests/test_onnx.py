"""ONNX export: onnxruntime's outputs against the estimators' own, case by case."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae.datasets import load_mnist_5k
from stackeddae.onnx import to_onnx

# Largest difference allowed between onnxruntime and numpy, by the graph's dtype.
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
N_FIT = 300  # rows fitted; every case is checked on all 1797 digits
# Enough fine-tuning for confident predictions (probabilities from ~0 to ~1), fast.
TRAINING = dict(
    pretrain_max_iter=1, max_iter=20, learning_rate_init=0.01, random_state=0
)

_digits = load_digits()
X_DIGITS, Y_DIGITS = _digits.data / 16, _digits.target
LABELS = {
    "int": Y_DIGITS,
    "str": np.array("zero one two three four five six seven eight nine".split())[
        Y_DIGITS
    ],
    "float": (Y_DIGITS % 3).astype(np.float64),
    "binary": Y_DIGITS % 2,
    "binary_str": np.where(Y_DIGITS % 2 == 1, "odd", "even"),
}


def _fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X[:N_FIT], None if y is None else y[:N_FIT])


def _run(onx, X):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(onx.SerializeToString(), options)
    return session.run(None, {"X": X})


def _assert_close(actual, expected, dtype):
    """Within the dtype's tolerance; returns the largest difference."""
    assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype])
    return float(np.max(np.abs(np.asarray(actual, np.float64) - expected)))


# ----------------------------------------------------------------- the models
def autoencoder(cls, dtype, activation, tied_weights):
    """A small fitted (stacked) autoencoder and the data to check it on."""
    X = X_DIGITS.astype(dtype)
    params = dict(
        activation=activation, tied_weights=tied_weights, max_iter=2, dtype=dtype
    )
    if cls is DenoisingAutoencoder:
        est = DenoisingAutoencoder(12, **params, random_state=0)
    else:
        est = StackedDenoisingAutoencoder((16, 8), **params, random_state=0)
    if activation == "relu":  # squared error suits relu codes; sgd at 0.1 may diverge
        est.set_params(solver="adam", learning_rate_init=0.01)
    return _fit(est, X), X


def classifier(dtype, labels, activation="sigmoid"):
    X = X_DIGITS.astype(dtype)
    clf = SdAClassifier(
        (16, 8),
        activation=activation,
        dtype=dtype,
        **TRAINING,
    )
    return _fit(clf, X, LABELS[labels]), X


# Three labels a digit may have: odd, at least 5, has a loop.
MULTILABEL = np.column_stack(
    [Y_DIGITS % 2, Y_DIGITS >= 5, np.isin(Y_DIGITS, [0, 6, 8, 9])]
).astype(int)


def multilabel_classifier(dtype):
    X = X_DIGITS.astype(dtype)
    clf = SdAClassifier((16, 8), dtype=dtype, **TRAINING)
    return _fit(clf, X, MULTILABEL), X


def regressor(dtype, n_outputs, activation="sigmoid"):
    X = X_DIGITS.astype(dtype)
    Y = np.column_stack([Y_DIGITS / 9, X_DIGITS[:, 20], X_DIGITS[:, 43]])
    y = Y[:, 0] if n_outputs == 1 else Y[:, :n_outputs]
    reg = SdARegressor((16, 8), activation=activation, dtype=dtype, **TRAINING)
    return _fit(reg, X, y), X


def pipeline(dtype, final):
    X = X_DIGITS.astype(dtype)
    if final.startswith("stack"):
        layers = "all" if final == "all-layers stack+logistic" else "top"
        steps = [
            StackedDenoisingAutoencoder(
                (16, 8),
                max_iter=2,
                random_state=0,
                dtype=dtype,
                transform_layers=layers,
            ),
            LogisticRegression(max_iter=300),
        ]
    else:
        steps = [SdAClassifier((16,), dtype=dtype, **TRAINING)]
    return _fit(make_pipeline(MinMaxScaler(), *steps), X, Y_DIGITS), X


# --------------------------------------------------------------- the checks
def check_transformer(est, X):
    [code] = _run(to_onnx(est, X), X)
    assert code.dtype == X.dtype
    expected = est.transform(X)  # in the model's training precision
    # the graph computes in X's precision: the coarser of the two sets the tolerance
    coarser = np.float32 if np.float32 in (X.dtype, expected.dtype) else np.float64
    return _assert_close(code, expected, coarser)


def _labels_and_dicts(outputs, clf):
    labels, dicts = outputs
    assert all(list(row) == clf.classes_.tolist() for row in dicts)
    proba = [[row[c] for c in clf.classes_] for row in dicts]
    return labels, np.array(proba, dtype=np.float32)  # ZipMap is float32 only


def _labels_and_columns(outputs, clf):
    labels, *columns = outputs
    return labels, np.column_stack(columns)


def _indices_and_proba(outputs, clf):
    indices, proba = outputs
    return clf.classes_[indices], proba


def _with_class_labels(outputs, clf):
    labels, proba, classes = outputs
    assert_array_equal(classes, clf.classes_)
    return labels, proba


# skl2onnx's classifier options -> (options, (labels, probabilities) from the outputs)
CLASSIFIER_OPTIONS = {
    "zipmap=False": ({"zipmap": False}, lambda outputs, clf: outputs),
    "zipmap=True": ({}, _labels_and_dicts),  # the default
    "zipmap=columns": ({"zipmap": "columns"}, _labels_and_columns),
    "nocl": ({"zipmap": False, "nocl": True}, _indices_and_proba),
    "output_class_labels": (
        {"zipmap": False, "output_class_labels": True},
        _with_class_labels,
    ),
}


def check_classifier(clf, X, option="zipmap=False"):
    """Labels identical, probabilities close."""
    options, read = CLASSIFIER_OPTIONS[option]
    labels, proba = read(_run(to_onnx(clf, X, options=options), X), clf)
    assert_array_equal(labels, clf.predict(X))
    assert proba.dtype == X.dtype
    return _assert_close(proba, clf.predict_proba(X), X.dtype.type)


def check_pipeline(pipe, X):
    """Through skl2onnx.to_onnx itself, with the Pipeline's own options."""
    onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    labels, proba = _run(onx, X)
    assert_array_equal(labels, pipe.predict(X))
    return _assert_close(proba, pipe.predict_proba(X), X.dtype.type)


def check_regressor(reg, X):
    [prediction] = _run(to_onnx(reg, X), X)
    expected = reg.predict(X).reshape(len(X), -1)  # (N, 1) for one output
    assert prediction.shape == expected.shape
    return _assert_close(prediction, expected, X.dtype.type)


# ------------------------------------------------------------------ the tests
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tied_weights", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cls", [DenoisingAutoencoder, StackedDenoisingAutoencoder])
def test_autoencoder_transform(cls, activation, tied_weights, dtype):
    check_transformer(*autoencoder(cls, dtype, activation, tied_weights))


@pytest.mark.parametrize("transform_layers", ["top", "all"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_fine_tuned_stack_with_a_linear_code(dtype, transform_layers):
    X = X_DIGITS.astype(dtype)
    deep = StackedDenoisingAutoencoder(
        (16, 2),
        activation=["sigmoid", "identity"],
        max_iter=2,
        fine_tune_max_iter=3,
        dtype=dtype,
        random_state=0,
        transform_layers=transform_layers,
    )
    greedy = _fit(clone(deep).set_params(fine_tune_max_iter=0), X)
    deep = _fit(deep, X)
    assert not np.allclose(deep.transform(X), greedy.transform(X))
    check_transformer(deep, X)


@pytest.mark.parametrize(
    "fit_dtype, run_dtype", [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_graph_computes_in_the_input_dtype(fit_dtype, run_dtype):
    """A float64 model runs in float32 for float32 input, and the reverse."""
    est, _ = autoencoder(StackedDenoisingAutoencoder, fit_dtype, "sigmoid", True)
    check_transformer(est, X_DIGITS.astype(run_dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_layers", [1, 3])
def test_all_layers_transform_is_the_concatenation(n_layers, dtype):
    sizes = (16, 8, 4)[:n_layers]
    est = StackedDenoisingAutoencoder(
        sizes, max_iter=2, random_state=0, dtype=dtype, transform_layers="all"
    )
    est, X = _fit(est, X_DIGITS.astype(dtype)), X_DIGITS.astype(dtype)
    [code] = _run(to_onnx(est, X), X)
    assert code.shape == (len(X), sum(sizes))
    check_transformer(est, X)


def test_predictors_export_predict_whatever_transform_layers():
    clf, X = classifier(np.float32, "int")
    check_classifier(clf.set_params(transform_layers="all"), X)
    reg, X = regressor(np.float32, 3)
    check_regressor(reg.set_params(transform_layers="all"), X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_saturated_sigmoid_units(dtype):
    """numpy's clipped sigmoid gives tiny where ONNX gives 0: within tolerance."""
    dae, X = autoencoder(DenoisingAutoencoder, dtype, "sigmoid", True)
    dae.intercept_hidden_[:] = -1000.0
    code = dae.transform(X)
    assert np.all((code > 0) & (code <= 2 * np.finfo(dtype).tiny))  # all saturated
    check_transformer(dae, X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", list(LABELS))
def test_classifier_labels_and_probabilities(labels, dtype):
    clf, X = classifier(dtype, labels)
    assert clf.coefs_[-1].shape[1] == len(clf.classes_)  # binary: a 2-way softmax
    check_classifier(clf, X)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_classifier_activations(activation):
    check_classifier(*classifier(np.float32, "int", activation))


@pytest.fixture(scope="module")
def string_classifier():
    return classifier(np.float32, "str")


@pytest.mark.parametrize("option", list(CLASSIFIER_OPTIONS))
def test_classifier_options(string_classifier, option):
    """zipmap (dicts, columns), nocl (class indices), output_class_labels."""
    check_classifier(*string_classifier, option)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_classifier(dtype):
    """Sigmoid probabilities (N, n_labels), labels thresholded at 0.5."""
    clf, X = multilabel_classifier(dtype)
    labels, proba = _run(to_onnx(clf, X, options={"zipmap": False}), X)
    assert labels.shape == proba.shape == (len(X), 3)
    assert 0 < labels.mean() < 1  # both values predicted
    check_classifier(clf, X)


@pytest.mark.parametrize(
    "option", [name for name in CLASSIFIER_OPTIONS if name != "nocl"]
)
def test_multilabel_classifier_options(option):
    """zipmap (dicts, columns) and output_class_labels (nocl: labels are 0/1)."""
    check_classifier(*multilabel_classifier(np.float32), option)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_predict(n_outputs, dtype):
    check_regressor(*regressor(dtype, n_outputs))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_regressor_activations(activation):
    check_regressor(*regressor(np.float64, 3, activation))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "final", ["stack+logistic", "all-layers stack+logistic", "classifier"]
)
def test_pipeline(final, dtype):
    """MinMaxScaler -> our estimator(s) -> ..."""
    check_pipeline(*pipeline(dtype, final))


# ---------------------------------------------------------- what is refused
def test_integer_input_is_refused():
    est, _ = autoencoder(DenoisingAutoencoder, np.float64, "sigmoid", True)
    with pytest.raises(TypeError, match="float32 or float64 inputs only"):
        to_onnx(est, (X_DIGITS * 16).astype(np.int64))


def test_float64_zipmap_is_refused():
    """ONNX's ZipMap takes float32 only; the error says what to do instead."""
    clf, X = classifier(np.float64, "int")
    with pytest.raises(NotImplementedError, match=r"'zipmap': False"):
        to_onnx(clf, X)


@pytest.mark.parametrize(
    "est", [SdAClassifier(), SdARegressor(), StackedDenoisingAutoencoder()]
)
def test_unfitted_is_refused(est):
    with pytest.raises(NotFittedError):
        to_onnx(est, X_DIGITS)


# ----------------------------------------------------------------- packaging
def test_import_stackeddae_does_not_import_skl2onnx():
    code = "import sys, stackeddae; print({'skl2onnx', 'onnx'} & set(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "set()"


def _readme_block(section):
    """The first python code block of the README's section ``section``."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", body, re.DOTALL).group(1)


def test_readme_deploying_a_model():
    """The README's snippet, run as written on a small version of the Quickstart."""
    X, y = load_mnist_5k(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0
    )
    X_train, X_test, y_train = X_train[:300], X_test[:200], y_train[:300]
    pipe = make_pipeline(
        MinMaxScaler(),
        StackedDenoisingAutoencoder((16, 8), max_iter=1, random_state=0),
        LogisticRegression(max_iter=200),
    )
    grid = {"stackeddenoisingautoencoder__corruption_level": [0.1, 0.3]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train, y_train)
    namespace = {"search": search, "X_test": X_test}
    exec(_readme_block("Deploying a model"), namespace)
    assert_array_equal(namespace["labels"], search.predict(X_test))
    _assert_close(namespace["probabilities"], search.predict_proba(X_test), np.float32)
