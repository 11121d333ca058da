"""Small estimators, data and checks that the test files share.

Four small estimators (``MAKERS``) over 60 samples of 6 features in mini-batches of
10 (``BATCHES`` = 6 per epoch), quiet fits, warning records, the actions that
``patch_objective`` (tests/conftest.py) runs on a training objective's calls, and
checks of a fitted state: finite, or bit-identical to another.
"""

import warnings

import numpy as np
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

N, D = 60, 6  # 60 samples in mini-batches of 10: 6 mini-batches per epoch
BATCHES = 6


def layer_epochs(est):
    """Epochs per layer for a stack (its n_iter_ is their sum), else [n_iter_]."""
    if isinstance(est, StackedDenoisingAutoencoder):
        return [ae.n_iter_ for ae in est.autoencoders_]
    return [est.n_iter_]


def make_X(seed=0, n=N, d=D):
    return np.random.default_rng(seed).random((n, d))


def make_y(n=N):
    return np.arange(n) % 3


def make_y_reg(n=N):
    X = make_X(n=n)
    return X @ np.linspace(-1.0, 1.0, D)


def make_dae(**params):
    defaults = dict(n_components=4, max_iter=2, batch_size=10, random_state=0)
    return DenoisingAutoencoder(**{**defaults, **params})


def make_stack(**params):
    defaults = dict(hidden_layer_sizes=(5, 4), max_iter=2, batch_size=10)
    return StackedDenoisingAutoencoder(**{**defaults, "random_state": 0, **params})


def make_deep(**params):
    """A stack of three layers fine-tuned for 3 epochs (a deep autoencoder)."""
    defaults = dict(
        hidden_layer_sizes=(5, 4, 3),
        fine_tune_max_iter=3,
        fine_tune_batch_size=10,
        fine_tune_learning_rate_init=0.01,
    )
    return make_stack(**{**defaults, **params})


def make_network(cls, **params):
    defaults = dict(
        hidden_layer_sizes=(5, 4),
        pretrain_max_iter=2,
        pretrain_batch_size=10,
        max_iter=3,
        batch_size=10,
        random_state=0,
    )
    return cls(**{**defaults, **params})


def make_clf(**params):
    return make_network(SdAClassifier, **params)


def make_reg(**params):
    return make_network(SdARegressor, **params)


MAKERS = {
    "dae": make_dae,
    "stack": make_stack,
    "classifier": make_clf,
    "regressor": make_reg,
}


def make_target(kind, n=N):
    return {"classifier": make_y(n), "regressor": make_y_reg(n)}.get(kind)


def record(fn, *args, **kwargs):
    """Call fn; return its result and every warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, caught


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def fit_quiet(est, X, y=None):
    return quietly(est.fit, X) if y is None else quietly(est.fit, X, y)


def partial_fit_quiet(est, X, y=None):
    if isinstance(est, SdAClassifier):
        classes = getattr(est, "classes_", None)
        classes = np.unique(y) if classes is None else classes
        return quietly(est.partial_fit, X, y, classes=classes)
    return quietly(est.partial_fit, X) if y is None else quietly(est.partial_fit, X, y)


def warning_messages(caught, category=Warning):
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def raise_on(n, exc=KeyboardInterrupt):
    def action(i, self, X, Y, original):
        if i == n:
            raise exc
        return original(self, X, Y)

    return action


def return_on(n, value):
    """From call n on, report ``value`` as the cost (an overflow or a NaN)."""

    def action(i, self, X, Y, original):
        cost = original(self, X, Y)
        return value if i >= n else cost

    return action


def trained_arrays(est):
    """The trained arrays of an estimator, flat, bottom to top."""
    if hasattr(est, "coefs_"):
        return [*est.coefs_, *est.intercepts_]
    layers = est.autoencoders_ if hasattr(est, "autoencoders_") else [est]
    out = []
    for ae in layers:
        out += [ae.components_, ae.intercept_hidden_, ae.intercept_visible_]
        if not ae.tied_weights:
            out.append(ae.decoder_components_)
    return out


def objective_arrays(est):
    """The arrays in the order the training objective holds them."""
    if hasattr(est, "coefs_"):
        return [*est.coefs_, *est.intercepts_]
    out = [est.components_, est.intercept_hidden_, est.intercept_visible_]
    return out if est.tied_weights else [*out, est.decoder_components_]


def assert_equal_arrays(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype
        assert_array_equal(a, e)


def fitted_attributes(est):
    return {
        k: v
        for k, v in vars(est).items()
        if (k.endswith("_") and not k.startswith("__")) or k.startswith("_")
    }


def assert_finite_state(est, where=None):
    """No NaN (nor infinity, outside best_loss_ / best_validation_score_) anywhere
    in the fitted state, nested layers included."""
    where = where or type(est).__name__
    for name, value in fitted_attributes(est).items():
        _assert_finite_value(value, f"{where}.{name}", name)


def _assert_finite_value(value, where, name):
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        assert np.all(np.isfinite(value)), where
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _assert_finite_value(v, f"{where}[{i}]", name)
    elif isinstance(value, dict):
        for k, v in value.items():
            _assert_finite_value(v, f"{where}[{k!r}]", name)
    elif isinstance(value, (float, np.floating)):
        assert not np.isnan(value), where
        if not name.endswith(("best_loss_", "best_validation_score_")):
            assert np.isfinite(value), where
    elif hasattr(value, "get_params"):
        assert_finite_state(value, where)


def all_outputs(est, X, y=None):
    """Every inference output of a fitted estimator."""
    out = {"transform": est.transform(X)}
    if isinstance(est, SdAClassifier):
        out["predict_proba"] = est.predict_proba(X)
        out["predict_log_proba"] = est.predict_log_proba(X)
        out["predict"] = est.predict(X)
        out["score"] = np.array(est.score(X, y))
    elif isinstance(est, SdARegressor):
        out["predict"] = est.predict(X)
        out["score"] = np.array(est.score(X, y))
    else:
        out["score_samples"] = est.score_samples(X)
        out["inverse_transform"] = est.inverse_transform(out["transform"])
        out["score"] = np.array(est.score(X))
    return out


def assert_finite_outputs(est, X, y=None):
    for name, value in all_outputs(est, X, y).items():
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name


def assert_same_state(a, b, where="est"):
    """Bit-identical fitted state: every array, number, list and generator."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_state(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif hasattr(a, "get_params"):
        fa, fb = fitted_attributes(a), fitted_attributes(b)
        assert fa.keys() == fb.keys(), where
        for k in fa:
            assert_same_state(fa[k], fb[k], f"{where}.{k}")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def numeric_gradient(cost, params, h=1e-5):
    """Central differences of ``cost()`` with respect to every entry of ``params``."""
    numeric = []
    for p in params:
        g = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            saved = p[idx]
            p[idx] = saved + h
            plus = cost()
            p[idx] = saved - h
            minus = cost()
            p[idx] = saved
            g[idx] = (plus - minus) / (2 * h)
        numeric.append(g)
    return numeric


def relative_error(analytic, numeric):
    """|a - n| / (|a| + |n|) over all the arrays, flattened."""
    a = np.concatenate([g.ravel() for g in analytic])
    n = np.concatenate([g.ravel() for g in numeric])
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))
