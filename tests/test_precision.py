"""The training precision (``dtype``): float32 by default, float64 or the input's."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_methods_subset_invariance
from support import MAKERS, all_outputs, fit_quiet, make_target, make_X, trained_arrays

import stackeddae._training as training
from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

KINDS = list(MAKERS)


def _outputs(est, X):
    """The float arrays of every inference method (not labels, not scores)."""
    outputs = all_outputs(est, X, make_target(_kind(est)))
    return {k: v for k, v in outputs.items() if k != "score" and v.dtype.kind == "f"}


def _kind(est):
    return {"SdAClassifier": "classifier", "SdARegressor": "regressor"}.get(
        type(est).__name__
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "dtype, X_dtype, expected",
    [
        ("default", np.float64, np.float32),
        ("default", np.float32, np.float32),
        (np.float64, np.float32, np.float64),
        (np.float64, np.float64, np.float64),
        (None, np.float32, np.float32),
        (None, np.float64, np.float64),
        (None, np.int64, np.float64),
    ],
)
def test_weights_and_outputs_are_in_the_training_precision(
    kind, dtype, X_dtype, expected
):
    params = {} if dtype == "default" else {"dtype": dtype}
    X = (make_X() > 0.5 if X_dtype == np.int64 else make_X()).astype(X_dtype)
    est = fit_quiet(MAKERS[kind](**params), X, make_target(kind))
    assert all(w.dtype == expected for w in trained_arrays(est))
    # whatever the input's dtype at inference
    for X_new in (X, X.astype(np.float64)):
        for name, out in _outputs(est, X_new).items():
            # a regressor predicts in float64, as scikit-learn's checks require, and
            # reconstruction scores are float64 (batch-independent; see below)
            float64 = name == "score_samples" or (
                kind == "regressor" and name == "predict"
            )
            assert out.dtype == (np.float64 if float64 else expected), name


@pytest.mark.parametrize("kind", KINDS)
def test_float64_input_trains_as_its_float32_copy(kind):
    # the default casts once, and the rest of the fit is the float32 fit
    X, y = make_X(), make_target(kind)
    a = fit_quiet(MAKERS[kind](), X, y)
    b = fit_quiet(MAKERS[kind](), X.astype(np.float32), y)
    for wa, wb in zip(trained_arrays(a), trained_arrays(b), strict=True):
        assert_array_equal(wa, wb)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_the_callers_X_is_never_modified(kind, sparse):
    X = make_X()
    X[X < 0.3] = 0.0
    X = sp.csr_matrix(X) if sparse else X
    before = X.copy()
    est = fit_quiet(MAKERS[kind](), X, make_target(kind))
    _outputs(est, X)
    if sparse:
        assert X.dtype == np.float64 and (X != before).nnz == 0
    else:
        assert X.dtype == np.float64 and np.array_equal(X, before)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_in_the_training_precision_is_not_copied(monkeypatch, kind, dtype):
    seen = []
    original = training.TrainingLoop.run

    def run(self, X, *args, **kwargs):
        seen.append(X)
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(training.TrainingLoop, "run", run)
    X = make_X().astype(dtype)
    fit_quiet(MAKERS[kind](dtype=dtype), X, make_target(kind))
    # the first loop (the first layer, or fine-tuning without a stack) reads X itself
    assert seen and seen[0] is X


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continued_fits_keep_the_fitted_precision(kind, how):
    X, y = make_X(), make_target(kind)
    est = fit_quiet(MAKERS[kind](dtype=np.float64), X, y)
    # neither a new dtype nor float32 data changes the precision of a continued fit
    est.set_params(dtype=np.float32, warm_start=True)
    if how == "partial_fit":
        est.partial_fit(X.astype(np.float32), y)
    else:
        fit_quiet(est, X.astype(np.float32), y)
    assert all(w.dtype == np.float64 for w in trained_arrays(est))
    # a fresh fit takes the new one
    fit_quiet(est.set_params(warm_start=False), X, y)
    assert all(w.dtype == np.float32 for w in trained_arrays(est))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_pretraining_trains_in_the_same_precision(kind):
    est = fit_quiet(MAKERS[kind](dtype=np.float64), make_X(), make_target(kind))
    assert est.pretraining_stack().dtype == np.float64
    for ae in est.stack_.autoencoders_:
        assert ae.components_.dtype == np.float64


def test_each_layer_trains_in_the_stack_precision():
    stack = StackedDenoisingAutoencoder(hidden_layer_sizes=(3, 2), dtype=None)
    assert [p["dtype"] for p in stack.layer_params()] == [None, None]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "dtype, preserved",
    [(np.float32, ["float32"]), (np.float64, ["float64"]), (None, None)],
)
def test_tags_say_which_dtypes_transform_preserves(kind, dtype, preserved):
    tags = MAKERS[kind](dtype=dtype).__sklearn_tags__()
    if preserved is None:
        assert set(tags.transformer_tags.preserves_dtype) == {"float32", "float64"}
    else:
        assert tags.transformer_tags.preserves_dtype == preserved


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float16, "float32", np.int32])
def test_other_dtypes_are_refused(kind, dtype):
    with pytest.raises(InvalidParameterError, match="'dtype' parameter"):
        MAKERS[kind](dtype=dtype).fit(make_X(), make_target(kind))


def test_detector_default_autoencoder_trains_in_float32():
    X = make_X(n=40)
    detector = ReconstructionOutlierDetector(random_state=0).fit(X)
    assert detector.estimator_.dtype == np.float32
    assert detector.estimator_.components_.dtype == np.float32
    assert detector.score_samples(X).dtype == np.float64  # its own sums


def _subset_invariance_estimators(dtype):
    dae = DenoisingAutoencoder(8, solver="adam", max_iter=20, dtype=dtype)
    return [
        SdARegressor(hidden_layer_sizes=(8,), dtype=dtype, random_state=0),
        ReconstructionOutlierDetector(dae, random_state=0),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [0, 1], ids=["regressor", "detector"])
def test_outputs_do_not_depend_on_the_batch(index, dtype):
    # scikit-learn's check (1e-7): in float32 too, as regression predictions and
    # reconstruction scores are computed in float64 from the trained weights
    est = _subset_invariance_estimators(dtype)[index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_methods_subset_invariance(type(est).__name__, est)


@pytest.mark.parametrize("kind", ["dae", "stack"])
def test_scores_are_float64_and_batch_independent_in_float32(kind):
    est = fit_quiet(
        MAKERS[kind](dtype=np.float32), np.random.default_rng(0).random((40, 6))
    )
    X = np.random.default_rng(1).random((40, 6))
    whole = est.score_samples(X)
    parts = np.concatenate([est.score_samples(X[i : i + 7]) for i in range(0, 40, 7)])
    assert whole.dtype == np.float64
    np.testing.assert_array_equal(parts, whole)
