"""Property-based tests (hypothesis) over shapes, dtypes, layouts, corruption and
layer sizes.

The property: a fit either succeeds, with finite weights and correctly shaped,
finite outputs, or raises ValueError / TypeError with a message; never another
exception, a hang, or NaN output.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._corruption import CORRUPTIONS, LEVEL_RANGES
from stackeddae._losses import LOSSES

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

LEVEL_LIMITS = {"masking": 0.95, "salt_and_pepper": 0.95, "swap": 0.95, "gaussian": 3.0}


# ------------------------------------------------------------------ strategies


@st.composite
def data(draw, max_samples=12, max_features=6):
    """A 2-D input X in any dtype, memory layout or sparse format."""
    n = draw(st.integers(1, max_samples))
    d = draw(st.integers(1, max_features))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    kind = draw(st.sampled_from(["unit", "binary", "real", "large", "constant"]))
    if kind == "unit":
        elements = st.floats(0, 1, width=32)
    elif kind == "binary":
        elements = st.sampled_from([0.0, 1.0])
    elif kind == "real":
        elements = st.floats(-10, 10, width=32)
    elif kind == "large":
        elements = st.floats(-1e4, 1e4, width=32)
    else:
        elements = st.just(draw(st.floats(-5, 5, width=32)))
    X = draw(hnp.arrays(np.float64, (n, d), elements=elements))
    if draw(st.booleans()):  # an all-zero, all-one or constant column
        X[:, draw(st.integers(0, d - 1))] = draw(st.sampled_from([0.0, 1.0, 0.5]))
    X = X.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "csr", "csc", "coo"]))
    if layout in ("C", "F"):
        return np.asarray(X, order=layout)
    return sp.csr_matrix(X).asformat(layout)


def corruption(draw, allow_invalid=True):
    name = draw(st.sampled_from(sorted(CORRUPTIONS)))
    valid = st.floats(0.0, LEVEL_LIMITS[name])
    invalid = (
        st.floats(-2.0, -1e-6) | st.floats(1.0, 3.0)
        if name != "gaussian"
        else st.floats(-2.0, -1e-6)
    )
    # one level in five is out of range: the fit must then say so
    use_invalid = allow_invalid and draw(st.sampled_from([0, 0, 0, 0, 1])) == 1
    return name, draw(invalid if use_invalid else valid)


@st.composite
def layer_params(draw, max_layers=3):
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=max_layers))
    name, level = corruption(draw)
    if len(sizes) > 1 and draw(st.booleans()):
        level = draw(
            st.lists(
                st.floats(0.0, LEVEL_LIMITS[name]),
                min_size=len(sizes),
                max_size=len(sizes),
            )
        )
    return dict(
        sizes=sizes,
        corruption=name,
        corruption_level=level,
        activation=draw(st.sampled_from(["sigmoid", "tanh", "relu"])),
        tied_weights=draw(st.booleans()),
        solver=draw(st.sampled_from(["sgd", "adam", "lbfgs"])),
        batch_size=draw(st.sampled_from(["auto", 1, 3, 7, 50])),
        early_stopping=draw(st.sampled_from([0, 0, 0, 1])) == 1,
        learning_rate_init=draw(st.sampled_from([1e-3, 0.1, 10.0])),
    )


def _is_valid_level(name, level):
    levels = np.atleast_1d(np.asarray(level, dtype=float))
    low, high = LEVEL_RANGES[name]
    return bool(np.all((levels >= low) & (levels < high)))


# ------------------------------------------------------------------ checks


def _fit_or_error(fit):
    """Run ``fit``: return the estimator, or None after a proper error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = fit()
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            event(f"error: {str(exc)[:40]}")
            return None
    event("fitted")
    return est


# The training precision: float32, float64, or None (the input's own)
DTYPES = st.sampled_from([np.float32, np.float64, None])


def _expected_dtype(X, dtype):
    if dtype is not None:
        return dtype
    return np.float32 if X.dtype == np.float32 else np.float64


def _assert_finite_state(est):
    """No NaN or infinity in any fitted array, list or number, nested included."""

    def walk(value, where):
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            assert np.all(np.isfinite(value)), where
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}[{k!r}]")
        elif isinstance(value, float) and not where.endswith(
            ("best_loss_", "best_validation_score_")  # fine_tune_best_loss_ too
        ):
            assert np.isfinite(value), where
        elif hasattr(value, "get_params"):
            for k, v in vars(value).items():
                if k.endswith("_") and not k.startswith("__"):
                    walk(v, f"{where}.{k}")

    walk(est, type(est).__name__)
    for name in ("best_loss_", "best_validation_score_", "fine_tune_best_loss_"):
        value = getattr(est, name, None)
        assert value is None or not np.isnan(value), name


def _assert_finite_output(out, shape, dtype=None):
    assert out.shape == shape
    assert np.all(np.isfinite(out))
    if dtype is not None:
        assert out.dtype == dtype


def _dae_from(p, **extra):
    return DenoisingAutoencoder(
        n_components=p["sizes"][0],
        corruption=p["corruption"],
        corruption_level=p["corruption_level"]
        if np.ndim(p["corruption_level"]) == 0
        else p["corruption_level"][0],
        activation=p["activation"],
        tied_weights=p["tied_weights"],
        solver=p["solver"],
        batch_size=p["batch_size"],
        early_stopping=p["early_stopping"],
        learning_rate_init=p["learning_rate_init"],
        max_iter=3,
        random_state=0,
        **extra,
    )


# ------------------------------------------------------------------ estimators


@SETTINGS
@given(
    X=data(),
    p=layer_params(max_layers=1),
    loss=st.sampled_from(["auto", "sq"]),
    dtype=DTYPES,
)
def test_autoencoder_fits_or_fails_cleanly(X, p, loss, dtype):
    loss = "squared_error" if loss == "sq" else "auto"
    dae = _fit_or_error(lambda: _dae_from(p, loss=loss, dtype=dtype).fit(X))
    valid = _is_valid_level(p["corruption"], p["corruption_level"])
    if dae is None:
        assert not valid or (p["early_stopping"] and X.shape[0] < 2)
        return
    assert valid
    n, d = X.shape
    k = p["sizes"][0]
    dtype = _expected_dtype(X, dtype)
    _assert_finite_state(dae)
    assert dae.components_.shape == (k, d) and dae.components_.dtype == dtype
    code = dae.transform(X)
    _assert_finite_output(code, (n, k), dtype)
    _assert_finite_output(dae.inverse_transform(code), (n, d), dtype)
    _assert_finite_output(dae.score_samples(X), (n,))
    assert np.isfinite(dae.score(X))
    if p["solver"] != "lbfgs":  # one more epoch keeps everything finite
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dae.set_params(early_stopping=False).partial_fit(X)
        _assert_finite_state(dae)


@SETTINGS
@given(X=data(), p=layer_params(), dtype=DTYPES)
def test_stack_fits_or_fails_cleanly(X, p, dtype):
    stack = StackedDenoisingAutoencoder(
        hidden_layer_sizes=p["sizes"],
        corruption=p["corruption"],
        corruption_level=p["corruption_level"],
        activation=p["activation"],
        tied_weights=p["tied_weights"],
        solver=p["solver"],
        batch_size=p["batch_size"],
        early_stopping=p["early_stopping"],
        learning_rate_init=p["learning_rate_init"],
        max_iter=2,
        random_state=0,
        dtype=dtype,
    )
    fitted = _fit_or_error(lambda: stack.fit(X))
    valid = _is_valid_level(p["corruption"], p["corruption_level"])
    if fitted is None:
        assert not valid or (p["early_stopping"] and X.shape[0] < 2)
        return
    assert valid
    n, d = X.shape
    dtype = _expected_dtype(X, dtype)
    _assert_finite_state(stack)
    assert len(stack.autoencoders_) == len(p["sizes"])
    assert stack.n_iter_ == sum(ae.n_iter_ for ae in stack.autoencoders_)
    sizes_in = [d, *p["sizes"][:-1]]
    for ae, n_in, n_out in zip(stack.autoencoders_, sizes_in, p["sizes"], strict=True):
        assert ae.components_.shape == (n_out, n_in)
        assert ae.components_.dtype == dtype
    code = stack.transform(X)
    _assert_finite_output(code, (n, p["sizes"][-1]), dtype)
    _assert_finite_output(stack.inverse_transform(code), (n, d), dtype)
    _assert_finite_output(stack.score_samples(X), (n,))


@st.composite
def labels(draw, n):
    # mostly every class present, sometimes a single one (an error), sometimes any
    n_classes = draw(st.sampled_from([2, 3, 2, 3, 1]))
    kind = draw(st.sampled_from(["int", "str", "float"]))
    y = np.arange(n) % n_classes
    if draw(st.booleans()):
        y = np.array(draw(st.permutations(y)))
    if draw(st.sampled_from([0, 0, 0, 1])) == 1:
        y = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    if kind == "str":
        return np.array(["neg", "zero", "pos"])[y]
    return y.astype(float) if kind == "float" else y


@SETTINGS
@given(
    Xy=data().flatmap(lambda X: st.tuples(st.just(X), labels(X.shape[0]))),
    p=layer_params(max_layers=2),
    pretrain=st.booleans(),
)
def test_classifier_fits_or_fails_cleanly(Xy, p, pretrain):
    X, y = Xy
    clf = SdAClassifier(
        hidden_layer_sizes=p["sizes"],
        pretrain=pretrain,
        corruption=p["corruption"],
        corruption_level=p["corruption_level"],
        activation=p["activation"],
        solver=p["solver"],
        batch_size=p["batch_size"],
        early_stopping=p["early_stopping"],
        learning_rate_init=p["learning_rate_init"],
        pretrain_batch_size=p["batch_size"],
        pretrain_max_iter=2,
        max_iter=3,
        random_state=0,
    )
    fitted = _fit_or_error(lambda: clf.fit(X, y))
    classes = np.unique(y)
    if fitted is None:
        valid = _is_valid_level(p["corruption"], p["corruption_level"])
        assert len(classes) < 2 or not valid or p["early_stopping"]
        return
    assert len(classes) >= 2
    if pretrain:  # (pretrain=False: see test_bad_input.py)
        assert _is_valid_level(p["corruption"], p["corruption_level"])
    n = X.shape[0]
    _assert_finite_state(clf)
    assert np.array_equal(clf.classes_, classes)
    proba = clf.predict_proba(X)
    _assert_finite_output(proba, (n, len(classes)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    _assert_finite_output(clf.predict_log_proba(X), (n, len(classes)))
    assert set(clf.predict(X)) <= set(classes)
    _assert_finite_output(clf.transform(X), (n, p["sizes"][-1]))
    assert 0.0 <= clf.score(X, y) <= 1.0


@SETTINGS
@given(
    X=data(),
    p=layer_params(max_layers=2),
    n_outputs=st.sampled_from([0, 1, 2]),
    scale=st.sampled_from([1.0, 100.0]),
)
def test_regressor_fits_or_fails_cleanly(X, p, n_outputs, scale):
    n = X.shape[0]
    rng = np.random.default_rng(n)
    y = scale * rng.standard_normal(n if n_outputs == 0 else (n, n_outputs))
    reg = SdARegressor(
        hidden_layer_sizes=p["sizes"],
        corruption=p["corruption"],
        corruption_level=p["corruption_level"],
        activation=p["activation"],
        solver=p["solver"],
        batch_size=p["batch_size"],
        early_stopping=p["early_stopping"],
        learning_rate_init=p["learning_rate_init"],
        pretrain_max_iter=2,
        max_iter=3,
        random_state=0,
    )
    fitted = _fit_or_error(lambda: reg.fit(X, y))
    if fitted is None:
        valid = _is_valid_level(p["corruption"], p["corruption_level"])
        assert not valid or p["early_stopping"]
        return
    _assert_finite_state(reg)
    # as MLPRegressor: a single output, even of shape (n, 1), predicts shape (n,)
    _assert_finite_output(reg.predict(X), (n,) if n_outputs <= 1 else y.shape)
    _assert_finite_output(reg.transform(X), (n, p["sizes"][-1]))
    if n >= 2:  # (R^2 is undefined on a single sample)
        assert np.isfinite(reg.score(X, y))


# ------------------------------------------------------------------ invalid values


@SETTINGS
@given(
    name=st.sampled_from(sorted(CORRUPTIONS)),
    level=st.floats(allow_nan=True, allow_infinity=True),
    n_layers=st.integers(1, 3),
    per_layer=st.booleans(),
)
def test_any_corruption_level_is_accepted_or_named_in_the_error(
    name, level, n_layers, per_layer
):
    X = np.random.default_rng(0).random((6, 3))
    levels = [0.1] * (n_layers - 1) + [level] if per_layer else level
    stack = StackedDenoisingAutoencoder(
        hidden_layer_sizes=[2] * n_layers,
        corruption=name,
        corruption_level=levels,
        max_iter=1,
        random_state=0,
    )
    low, high = LEVEL_RANGES[name]
    valid = bool(np.isfinite(level) and low <= level < high)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if valid:
            stack.fit(X)
            _assert_finite_state(stack)
        else:
            with pytest.raises(ValueError, match="corruption_level"):
                stack.fit(X)


@SETTINGS
@given(
    sizes=st.one_of(
        st.integers(-3, 4),
        st.lists(st.integers(-3, 4), min_size=0, max_size=3),
        st.lists(st.sampled_from([1, 2, 2.5, "2", None]), min_size=1, max_size=2),
    )
)
def test_any_layer_sizes_are_accepted_or_named_in_the_error(sizes):
    X = np.random.default_rng(0).random((6, 3))
    y = np.arange(6) % 2
    flat = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    valid = bool(flat) and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in flat
    )
    for est in (
        StackedDenoisingAutoencoder(hidden_layer_sizes=sizes, max_iter=1),
        SdAClassifier(hidden_layer_sizes=sizes, pretrain_max_iter=1, max_iter=1),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if valid:
                est.fit(X, y)
                assert est.transform(X).shape == (6, flat[-1])
            else:
                with pytest.raises(ValueError, match="hidden_layer_sizes"):
                    est.fit(X, y)


# ------------------------------------------------------------------ building blocks


@SETTINGS
@given(
    X=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=20),
        elements=st.floats(-100, 100, width=32),
    ),
    name=st.sampled_from(sorted(CORRUPTIONS)),
    level=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**31 - 1),
)
def test_corruption_never_touches_X_and_stays_in_range(X, name, level, seed):
    X.flags.writeable = False
    low, high = (float(X.min()), float(X.max()))
    out = np.empty_like(X)
    result = CORRUPTIONS[name](X, level, np.random.default_rng(seed), out, low, high)
    assert result is out
    assert out.dtype == X.dtype
    assert np.all(np.isfinite(out))
    if name == "masking":
        assert np.all((out == X) | (out == 0))
    elif name == "salt_and_pepper":
        assert np.all((out == X) | (out == low) | (out == high))
    if level == 0 and name != "gaussian":
        np.testing.assert_array_equal(out, X)


@SETTINGS
@given(
    A=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
        elements=st.floats(-1e30, 1e30).map(lambda a: float(np.float32(a))),
    ),
    targets=st.data(),
)
def test_cross_entropy_is_finite_for_any_logit_and_target(A, targets):
    Y = targets.draw(
        hnp.arrays(A.dtype, A.shape, elements=st.sampled_from([0.0, 1.0, 0.25]))
    )
    delta = A.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_row = LOSSES["cross_entropy"](A.copy(), Y, np.empty_like(A), axis=1)
        total = LOSSES["cross_entropy"](delta, Y, np.empty_like(A))
    assert np.all(np.isfinite(per_row)) and np.isfinite(total)
    assert np.all(per_row >= -1e-3 * (1 + np.abs(A).sum(axis=1)))
    # the gradient is sigmoid(A) - Y: within [-1, 1] even at probabilities 0 and 1
    assert np.all(np.isfinite(delta)) and np.all(np.abs(delta) <= 1)
