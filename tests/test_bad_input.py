"""Bad input: every case gets a clear error naming the problem (and the remedy).

Walks the list of issue 5: non-finite values, the cross-entropy range, shapes and
feature counts, unconvertible data, bad labels and targets, invalid parameters, and
the promise that the caller's arrays are never modified (read-only arrays, memmaps).
"""

import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from support import fit_quiet, make_dae, make_network, make_stack, make_X

from stackeddae import (
    SdAClassifier,
    SdARegressor,
)

N_SAMPLES, N_FEATURES = 30, 5


def _y(n=N_SAMPLES):
    return np.arange(n) % 2


def _X(seed=0, n=N_SAMPLES, d=N_FEATURES):
    return make_X(seed, n, d)


def _dae(**params):
    return make_dae(**{"n_components": 3, **params})


def _stack(**params):
    return make_stack(**{"hidden_layer_sizes": (4, 3), **params})


def _network(cls, **params):
    defaults = {"hidden_layer_sizes": (4, 3), "pretrain_max_iter": 1, "max_iter": 2}
    return make_network(cls, **{**defaults, **params})


MAKERS = {
    "dae": _dae,
    "stack": _stack,
    "classifier": lambda **p: _network(SdAClassifier, **p),
    "regressor": lambda **p: _network(SdARegressor, **p),
}
SUPERVISED = {"classifier", "regressor"}


def _target(kind, n=N_SAMPLES):
    if kind == "classifier":
        return _y(n)
    if kind == "regressor":
        return np.linspace(-1.0, 1.0, n)
    return None


def _partial_fit(kind, est, X, y=None):
    if kind == "classifier":
        return est.partial_fit(X, y, classes=np.unique(_y()))
    return est.partial_fit(X) if y is None else est.partial_fit(X, y)


def _fitted(kind, **params):
    return fit_quiet(MAKERS[kind](**params), _X(), _target(kind))


def _calls(kind, est, X, y):
    """Every public method that takes X, as zero-argument callables."""
    calls = {
        "fit": lambda: fit_quiet(MAKERS[kind](), X, y),
        "partial_fit": lambda: _partial_fit(kind, MAKERS[kind](), X, y),
        "partial_fit_fitted": lambda: _partial_fit(kind, est, X, y),
        "transform": lambda: est.transform(X),
        "score": lambda: est.score(X) if y is None else est.score(X, y),
    }
    if kind in SUPERVISED:
        calls["predict"] = lambda: est.predict(X)
    else:
        calls["score_samples"] = lambda: est.score_samples(X)
    if kind == "classifier":
        calls["predict_proba"] = lambda: est.predict_proba(X)
        calls["predict_log_proba"] = lambda: est.predict_log_proba(X)
    return calls


def _all_calls():
    cases = []
    for kind in MAKERS:
        for method in _calls(kind, None, None, None):
            cases.append((kind, method))
    return cases


# ------------------------------------------------------------ non-finite values


@pytest.mark.parametrize("kind, method", _all_calls())
@pytest.mark.parametrize(
    "value, message",
    [(np.nan, "Input X contains NaN"), (np.inf, "infinity"), (-np.inf, "infinity")],
    ids=["nan", "inf", "-inf"],
)
def test_non_finite_X_is_rejected_by_every_method(kind, method, value, message):
    est = _fitted(kind)
    X = _X(seed=1)
    X[3, 2] = value
    weights_before = _weights(est)
    with pytest.raises(ValueError, match=message):
        _calls(kind, est, X, _target(kind))[method]()
    # a rejected call leaves the fitted model untouched
    for before, after in zip(weights_before, _weights(est), strict=True):
        assert_array_equal(before, after)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_non_finite_sparse_X_is_rejected(kind):
    X = sp.csr_matrix(_X())
    X.data[4] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fit_quiet(MAKERS[kind](), X, _target(kind))
    est = _fitted(kind)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.transform(X)


@pytest.mark.parametrize("kind", sorted(SUPERVISED))
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_y_is_rejected(kind, value):
    y = _target(kind).astype(float)
    y[5] = value
    with pytest.raises(ValueError, match=r"Input y contains (NaN|infinity)"):
        fit_quiet(MAKERS[kind](), _X(), y)


def test_nan_code_in_inverse_transform_is_rejected():
    for est in (_fitted("dae"), _fitted("stack")):
        code = est.transform(_X())
        code[0, 0] = np.nan
        with pytest.raises(ValueError, match="Input contains NaN"):
            est.inverse_transform(code)


def _weights(est):
    if hasattr(est, "coefs_"):
        return [*est.coefs_, *est.intercepts_]
    layers = est.autoencoders_ if hasattr(est, "autoencoders_") else [est]
    return [a for ae in layers for a in (ae.components_, ae.intercept_visible_)]


# ------------------------------------------------------ cross-entropy data range


def _check_range_message(message, low, high):
    assert "cross-entropy" in message
    assert "[0, 1]" in message
    assert f"[{low:.4g}, {high:.4g}]" in message  # the actual range, to debug
    assert "MinMaxScaler" in message
    assert "loss='squared_error'" in message


@pytest.mark.parametrize("maker", [_dae, _stack], ids=["dae", "stack"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("shift", [-0.5, 0.5])
def test_cross_entropy_outside_unit_interval_names_the_remedy(maker, sparse, shift):
    X = _X() + shift
    low, high = X.min(), X.max()
    if sparse:
        X[X < 0.2 + shift] = 0.0  # implicit zeros count as values too
        low, high = min(X.min(), 0.0), X.max()
        X = sp.csr_matrix(X)
    with pytest.raises(ValueError) as excinfo:
        fit_quiet(maker(loss="cross_entropy"), X)
    _check_range_message(str(excinfo.value), low, high)
    # "auto" picks the squared error for such data instead of failing
    est = fit_quiet(maker(loss="auto"), X)
    first = est if maker is _dae else est.autoencoders_[0]
    assert first.reconstruction_loss_ == "squared_error"


@pytest.mark.parametrize("maker", [_dae, _stack], ids=["dae", "stack"])
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_cross_entropy_range_checked_when_training_continues(maker, how):
    est = fit_quiet(maker(loss="auto"), _X())  # data in [0, 1]: cross-entropy
    X = _X(seed=2) * 3.0
    with pytest.raises(ValueError) as excinfo:
        if how == "partial_fit":
            est.partial_fit(X)
        else:
            fit_quiet(est.set_params(warm_start=True), X)
    _check_range_message(str(excinfo.value), X.min(), X.max())


@pytest.mark.parametrize("maker", [_dae, _stack], ids=["dae", "stack"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_cross_entropy_range_check_does_not_copy_X(maker, sparse):
    # 4 MB of data: the check must read it in place, allocating next to nothing
    X = np.random.default_rng(0).random((5000, 100)) * 2.0
    if sparse:
        X = sp.random(5000, 100, density=0.5, format="csr", random_state=0) * 2.0
        nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    else:
        nbytes = X.nbytes
    est = maker(loss="cross_entropy")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="MinMaxScaler"):
            est.fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * nbytes, (peak, nbytes)


# ------------------------------------------------------------ shapes and types


@pytest.mark.parametrize("kind", list(MAKERS))
def test_wrong_number_of_features_after_fitting(kind):
    est = _fitted(kind)
    X = _X(d=N_FEATURES - 1)
    y = _target(kind)
    expected = (
        f"X has {N_FEATURES - 1} features, but {type(est).__name__} is expecting "
        f"{N_FEATURES} features"
    )
    calls = _calls(kind, est, X, y)
    for method in ["partial_fit_fitted", *list(calls)[3:]]:
        with pytest.raises(ValueError, match=re.escape(expected)):
            calls[method]()
    with pytest.raises(ValueError, match=re.escape(expected)):
        fit_quiet(est.set_params(warm_start=True), X, y)
    # a fresh fit (no warm start) may change the number of features
    fit_quiet(est.set_params(warm_start=False), X, y)
    assert est.n_features_in_ == N_FEATURES - 1


@pytest.mark.parametrize("kind", list(MAKERS))
def test_1d_X_says_to_reshape(kind):
    est = _fitted(kind)
    X = _X()[:, 0]
    for method, call in _calls(kind, est, X, _target(kind)).items():
        with pytest.raises(
            ValueError, match=r"(?s)Expected 2D array.*Reshape your data"
        ) as exc:
            call()
        assert "reshape(-1, 1)" in str(exc.value), method


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize(
    "shape, what", [((0, N_FEATURES), "0 sample"), ((N_SAMPLES, 0), "0 feature")]
)
def test_empty_X(kind, shape, what):
    X = np.empty(shape)
    y = _target(kind, shape[0])
    with pytest.raises(ValueError, match=f"Found array with {what}.*minimum of 1"):
        fit_quiet(MAKERS[kind](), X, y)
    if shape[0] == 0:  # inference on no samples is refused too
        est = _fitted(kind)
        with pytest.raises(ValueError, match="0 sample"):
            est.transform(np.empty(shape))


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize(
    "X, message",
    [
        (_X().astype(np.complex128), "Complex data not supported"),
        (np.full((N_SAMPLES, N_FEATURES), "a", dtype=object), "could not convert"),
        ([["x"] * N_FEATURES] * N_SAMPLES, "could not convert"),
        (np.array([[0.5, None]] * N_SAMPLES, dtype=object), "NaN"),
        (np.full((N_SAMPLES, N_FEATURES), {"a": 1}, dtype=object), "float"),
    ],
    ids=["complex", "object-str", "list-of-str", "object-None", "object-dict"],
)
def test_unconvertible_data(kind, X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fit_quiet(MAKERS[kind](), X, _target(kind))


def test_non_float_dtypes_are_converted_not_rejected():
    X = _X()
    for Xc in [(X > 0.5), (X > 0.5).astype(np.int64), X.astype(np.float16)]:
        dae = fit_quiet(_dae(), Xc)
        assert dae.components_.dtype == np.float64
        assert np.all(np.isfinite(dae.transform(Xc)))


# ------------------------------------------------------------ labels and targets


def _sklearn_error(y):
    try:
        MLPClassifier(max_iter=1).fit(_X(), y)
    except (ValueError, TypeError) as exc:
        return type(exc)
    return None


@pytest.mark.parametrize(
    "y",
    [
        np.array(["a", 1] * (N_SAMPLES // 2), dtype=object),
        np.linspace(0.0, 1.0, N_SAMPLES),
        np.array([[0, 1, 2]] * N_SAMPLES),
        np.r_[np.nan, _y()[1:]],
        np.array([1 + 1j, 2] * (N_SAMPLES // 2)),
    ],
    ids=["mixed-str-int", "continuous", "multiclass-multioutput", "nan", "complex"],
)
def test_labels_rejected_by_sklearn_classifiers_are_rejected(y):
    expected = _sklearn_error(y)
    assert expected is not None  # scikit-learn's own MLPClassifier refuses them
    clf = MAKERS["classifier"]()
    with pytest.raises(expected) as excinfo:
        fit_quiet(clf, _X(), y)
    assert str(excinfo.value)
    with pytest.raises((ValueError, TypeError)):
        clf.partial_fit(_X(), y, classes=np.unique(_y()))


def test_string_labels_are_accepted_as_sklearn_does():
    y = np.array(["cat", "dog", "emu"])[np.arange(N_SAMPLES) % 3]
    clf = fit_quiet(MAKERS["classifier"](), _X(), y)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(clf.predict(_X())) <= {"cat", "dog", "emu"}
    assert 0.0 <= clf.score(_X(), y) <= 1.0


@pytest.mark.parametrize("label", [0, "only"])
def test_single_class_is_rejected(label):
    y = np.full(N_SAMPLES, label)
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class"):
        fit_quiet(MAKERS["classifier"](), _X(), y)
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        MAKERS["classifier"]().partial_fit(_X(), y, classes=[label])


def test_partial_fit_labels_outside_classes_are_rejected():
    clf = MAKERS["classifier"]()
    with pytest.raises(ValueError, match=r"not seen before \(\[7\]\)"):
        clf.partial_fit(_X(), np.r_[7, _y()[1:]], classes=[0, 1])


@pytest.mark.parametrize("kind", sorted(SUPERVISED))
@pytest.mark.parametrize("delta", [-1, 1])
def test_y_of_the_wrong_length(kind, delta):
    X, y = _X(), _target(kind, N_SAMPLES + delta)
    message = r"inconsistent numbers of samples: \[30, " + str(N_SAMPLES + delta)
    with pytest.raises(ValueError, match=message):
        fit_quiet(MAKERS[kind](), X, y)
    with pytest.raises(ValueError, match=message):
        _partial_fit(kind, MAKERS[kind](), X, y)
    est = _fitted(kind)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y)


@pytest.mark.parametrize("kind", sorted(SUPERVISED))
def test_missing_y(kind):
    with pytest.raises(ValueError, match="requires y to be passed"):
        MAKERS[kind]().fit(_X(), None)


def test_regressor_rejects_string_targets():
    with pytest.raises(ValueError, match="could not convert string to float"):
        fit_quiet(MAKERS["regressor"](), _X(), np.array(["a", "b"] * (N_SAMPLES // 2)))


# ------------------------------------------------------------ invalid parameters

# (estimators, params, a regex the message must match: the name and what's allowed)
INVALID_PARAMS = [
    (["dae"], dict(n_components=-1), r"'n_components'.*range \[1, inf\)"),
    (["dae"], dict(n_components=0), r"'n_components'.*range \[1, inf\)"),
    (["dae"], dict(n_components=2.5), r"'n_components'.*int"),
    (["dae"], dict(n_components="3"), r"'n_components'.*int"),
    (["dae"], dict(n_components=True), r"n_components"),
    (
        ["stack", "classifier", "regressor"],
        dict(hidden_layer_sizes=(4, -1)),
        r"'hidden_layer_sizes'.*positive integer",
    ),
    (
        ["stack", "classifier", "regressor"],
        dict(hidden_layer_sizes=(4, 0)),
        r"'hidden_layer_sizes'.*positive integer",
    ),
    (
        ["stack", "classifier", "regressor"],
        dict(hidden_layer_sizes=()),
        r"'hidden_layer_sizes'.*non-empty",
    ),
    (
        ["stack", "classifier", "regressor"],
        dict(hidden_layer_sizes=(4, 2.5)),
        r"'hidden_layer_sizes'.*positive integer",
    ),
    (
        ["stack", "classifier", "regressor"],
        dict(hidden_layer_sizes=-3),
        r"'hidden_layer_sizes'.*\[1, inf\)",
    ),
    (list(MAKERS), dict(corruption_level=1.0), r"'corruption_level'.*\[0, 1\)"),
    (list(MAKERS), dict(corruption_level=-0.1), r"'corruption_level'.*\[0"),
    (list(MAKERS), dict(corruption_level=np.nan), r"'corruption_level'"),
    (
        list(MAKERS),
        dict(corruption="salt_and_pepper", corruption_level=1.5),
        r"'corruption_level'.*\[0, 1\).*salt_and_pepper",
    ),
    (
        list(MAKERS),
        dict(corruption="gaussian", corruption_level=-1.0),
        r"'corruption_level'.*\[0",
    ),
    (
        list(MAKERS),
        dict(corruption="gaussian", corruption_level=np.inf),
        r"'corruption_level'",
    ),
    (list(MAKERS), dict(corruption_level="0.3"), r"'corruption_level'"),
    (list(MAKERS), dict(corruption="bogus"), r"'corruption'.*'masking'"),
    (list(MAKERS), dict(solver="newton"), r"'solver'.*'adam'"),
    (list(MAKERS), dict(activation="softmax"), r"'activation'.*'sigmoid'"),
    (list(MAKERS), dict(activation="Sigmoid"), r"'activation'.*'sigmoid'"),
    (["dae", "stack"], dict(loss="mse"), r"'loss'.*'squared_error'"),
    (list(MAKERS), dict(batch_size=0), r"'batch_size'.*'auto'.*\[1, inf\)"),
    (list(MAKERS), dict(learning_rate_init=0.0), r"'learning_rate_init'.*\(0"),
    (list(MAKERS), dict(learning_rate_init=-1.0), r"'learning_rate_init'.*\(0"),
    (list(MAKERS), dict(learning_rate="fast"), r"'learning_rate'.*'constant'"),
    (list(MAKERS), dict(max_iter=0), r"'max_iter'.*\[1, inf\)"),
    (list(MAKERS), dict(alpha=-1.0), r"'alpha'.*\[0"),
    (list(MAKERS), dict(momentum=1.5), r"'momentum'.*\[0.0, 1.0\]"),
    (list(MAKERS), dict(validation_fraction=1.0), r"'validation_fraction'"),
    (list(MAKERS), dict(tied_weights="yes"), r"'tied_weights'.*bool"),
    (["dae", "stack"], dict(sparsity_target=0.0), r"'sparsity_target'.*\(0"),
    (["dae", "stack"], dict(sparsity_weight=-1.0), r"'sparsity_weight'"),
    (["classifier", "regressor"], dict(pretrain="yes"), r"'pretrain'.*bool"),
    (
        ["classifier", "regressor"],
        dict(pretrain_solver="newton"),
        r"'pretrain_solver'.*'adam'",
    ),
    (
        ["classifier", "regressor"],
        dict(pretrain_batch_size=-5),
        r"'pretrain_batch_size'.*\[1, inf\)",
    ),
    (
        ["classifier", "regressor"],
        dict(pretrain_learning_rate_init=0.0),
        r"'pretrain_learning_rate_init'",
    ),
    (
        ["classifier", "regressor"],
        dict(pretrain_max_iter=0),
        r"'pretrain_max_iter'.*\[1, inf\)",
    ),
    (
        ["classifier", "regressor"],
        dict(pretrain_momentum=-0.5),
        r"'pretrain_momentum'",
    ),
]


def _invalid_cases():
    cases = []
    for kinds, params, message in INVALID_PARAMS:
        for kind in kinds:
            name = "-".join(f"{k}={v!r}" for k, v in params.items())
            cases.append(pytest.param(kind, params, message, id=f"{kind}-{name}"))
    return cases


@pytest.mark.parametrize("kind, params, message", _invalid_cases())
def test_invalid_parameters_are_reported_at_fit_time(kind, params, message):
    est = MAKERS[kind](**params)  # constructing never validates (sklearn rule)
    # (sklearn's InvalidParameterError is both a ValueError and a TypeError)
    with pytest.raises((ValueError, TypeError), match=message):
        fit_quiet(est, _X(), _target(kind))
    if params.get("solver") != "lbfgs":
        with pytest.raises((ValueError, TypeError), match=message):
            _partial_fit(kind, MAKERS[kind](**params), _X(), _target(kind))


@pytest.mark.parametrize("kind", ["stack", "classifier", "regressor"])
@pytest.mark.parametrize("levels", [[0.1], [0.1, 0.2, 0.3], [[0.1, 0.2]]])
def test_per_layer_list_of_the_wrong_length(kind, levels):
    message = (
        r"'corruption_level' parameter must be a scalar or have one entry per layer "
        r"\(2 layers from hidden_layer_sizes\)"
    )
    with pytest.raises(ValueError, match=message):
        fit_quiet(MAKERS[kind](corruption_level=levels), _X(), _target(kind))


@pytest.mark.parametrize("kind", ["stack", "classifier", "regressor"])
@pytest.mark.parametrize("levels", [[0.1, 1.0], [-0.2, 0.1], [0.1, np.nan]])
def test_per_layer_entry_out_of_range(kind, levels):
    with pytest.raises(ValueError, match=r"'corruption_level'.*\[0, 1\)"):
        fit_quiet(MAKERS[kind](corruption_level=levels), _X(), _target(kind))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("levels", [[0.1, 0.2, 0.3], [0.1, 1.0]])
def test_invalid_per_layer_corruption_is_reported_without_pretraining(kind, levels):
    # corruption_level is a parameter of the estimator whatever `pretrain` says:
    # an invalid value must not pass silently only to fail after
    # set_params(pretrain=True).
    with pytest.raises(ValueError, match="'corruption_level'"):
        fit_quiet(
            MAKERS[kind](corruption_level=levels, pretrain=False), _X(), _target(kind)
        )


def test_gaussian_corruption_level_above_one_is_valid():
    dae = fit_quiet(_dae(corruption="gaussian", corruption_level=2.0), _X())
    assert np.all(np.isfinite(dae.components_))


# ------------------------------------------------------ the caller's arrays


def _read_only(a):
    a = np.array(a, copy=True, order="K")
    a.flags.writeable = False
    return a


def _exercise(kind, X, y, code_dtype=None):
    """Fit, continue and use an estimator on X (and y), touching every method."""
    est = fit_quiet(MAKERS[kind](shuffle=False), X, y)  # views of X reach the objective
    _partial_fit(kind, est, X, y)
    fit_quiet(est.set_params(warm_start=True), X, y)
    est.transform(X)
    if kind in SUPERVISED:
        est.predict(X)
        est.score(X, y)
        if kind == "classifier":
            est.predict_proba(X)
            est.predict_log_proba(X)
    else:
        est.score_samples(X)
        est.score(X)
        code = _read_only(est.transform(X))
        est.inverse_transform(code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MAKERS[kind]().fit_transform(X)
    return est


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_read_only_arrays_are_accepted_and_untouched(kind, dtype, order):
    X = _read_only(np.asarray(_X(), dtype=dtype, order=order))
    y = None if kind not in SUPERVISED else _read_only(_target(kind))
    expected_X, expected_y = X.copy(), None if y is None else y.copy()
    _exercise(kind, X, y)
    assert_array_equal(X, expected_X)
    if y is not None:
        assert_array_equal(y, expected_y)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_read_only_sparse_input(kind):
    X = sp.csr_matrix(_X() * (_X(seed=5) > 0.3))
    for a in (X.data, X.indices, X.indptr):
        a.flags.writeable = False
    expected = X.toarray()
    _exercise(kind, X, _target(kind))
    assert_array_equal(X.toarray(), expected)


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("mode", ["r", "r+", "c"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memmapped_inputs_are_never_modified(kind, mode, dtype, tmp_path):
    X0 = _X().astype(dtype)
    path = tmp_path / "X.dat"
    X0.tofile(path)
    X = np.memmap(path, dtype=dtype, mode=mode, shape=X0.shape)
    y = None
    if kind in SUPERVISED:
        y0 = np.asarray(_target(kind), dtype=np.float64)
        y0.tofile(tmp_path / "y.dat")
        y = np.memmap(tmp_path / "y.dat", dtype=np.float64, mode=mode, shape=y0.shape)
    _exercise(kind, X, y)
    assert_array_equal(X, X0)
    assert_array_equal(np.fromfile(path, dtype=dtype).reshape(X0.shape), X0)
    if y is not None:
        assert_array_equal(y, y0)


@pytest.mark.parametrize("kind", sorted(SUPERVISED))
def test_writable_2d_float_targets_are_untouched(kind):
    # a C-contiguous float64 target of shape (n, 1) needs no conversion: make sure
    # the training loop only ever reads it
    X = _X()
    y = np.asarray(_target(kind), dtype=np.float64)
    if kind == "regressor":
        y = np.ascontiguousarray(np.c_[y, -y])
    expected = y.copy()
    for shuffle in (False, True):
        fit_quiet(MAKERS[kind](shuffle=shuffle), X, y)
        assert_array_equal(y, expected)
