"""Fault tests: divergence, extreme inputs, interruption, determinism, thread safety
and persistence, for all four estimators.

tests/test_training.py covers the basics on a single DenoisingAutoencoder (a real
divergence, KeyboardInterrupt and SIGINT in a plain fit, an interrupted stack in layer
1); this file goes through the same faults in the stack's upper layers, in
pretraining and fine-tuning, in partial_fit, inside the optimizer step, in threads,
with early stopping and with L-BFGS.
"""

import copy
import io
import pickle
import signal
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_validate

from stackeddae import (
    DenoisingAutoencoder,
    DivergenceWarning,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._autoencoder import _DAEObjective
from stackeddae._optimizers import SGDOptimizer
from stackeddae._supervised import _NetworkObjective

N, D = 60, 6  # 60 samples in mini-batches of 10: 6 mini-batches per epoch
BATCHES = 6


def _epochs(est):
    """Epochs per layer for a stack (its n_iter_ is their sum), else [n_iter_]."""
    if isinstance(est, StackedDenoisingAutoencoder):
        return [ae.n_iter_ for ae in est.autoencoders_]
    return [est.n_iter_]


def _X(seed=0, n=N, d=D):
    return np.random.default_rng(seed).random((n, d))


def _y(n=N):
    return np.arange(n) % 3


def _y_reg(n=N):
    X = _X(n=n)
    return X @ np.linspace(-1.0, 1.0, D)


def _dae(**params):
    defaults = dict(n_components=4, max_iter=2, batch_size=10, random_state=0)
    return DenoisingAutoencoder(**{**defaults, **params})


def _stack(**params):
    defaults = dict(hidden_layer_sizes=(5, 4), max_iter=2, batch_size=10)
    return StackedDenoisingAutoencoder(**{**defaults, "random_state": 0, **params})


def _network(cls, **params):
    defaults = dict(
        hidden_layer_sizes=(5, 4),
        pretrain_max_iter=2,
        pretrain_batch_size=10,
        max_iter=3,
        batch_size=10,
        random_state=0,
    )
    return cls(**{**defaults, **params})


def _clf(**params):
    return _network(SdAClassifier, **params)


def _reg(**params):
    return _network(SdARegressor, **params)


MAKERS = {"dae": _dae, "stack": _stack, "classifier": _clf, "regressor": _reg}


def _target(kind, n=N):
    return {"classifier": _y(n), "regressor": _y_reg(n)}.get(kind)


def _record(fn, *args, **kwargs):
    """Call fn; return its result and every warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, caught


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def _fit(est, X, y=None):
    return _quiet(est.fit, X) if y is None else _quiet(est.fit, X, y)


def _partial_fit(est, X, y=None):
    if isinstance(est, SdAClassifier):
        classes = getattr(est, "classes_", None)
        classes = np.unique(y) if classes is None else classes
        return _quiet(est.partial_fit, X, y, classes=classes)
    return _quiet(est.partial_fit, X) if y is None else _quiet(est.partial_fit, X, y)


def _messages(caught, category=Warning):
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def _patch(monkeypatch, cls, action):
    """Wrap ``cls.__call__``; ``action(i, self, X, Y, original)`` runs call i (1-based).

    Returns the list of the parameters at the start of every call (copies).
    """
    original = cls.__call__
    snapshots = []

    def patched(self, X, Y=None):
        snapshots.append([p.copy() for p in self.params])
        return action(len(snapshots), self, X, Y, original)

    monkeypatch.setattr(cls, "__call__", patched)
    return snapshots


def _spy(monkeypatch, cls):
    return _patch(monkeypatch, cls, lambda i, s, X, Y, original: original(s, X, Y))


def _raise_on(n, exc=KeyboardInterrupt):
    def action(i, self, X, Y, original):
        if i == n:
            raise exc
        return original(self, X, Y)

    return action


def _return_on(n, value):
    """From call n on, report ``value`` as the cost (an overflow or a NaN)."""

    def action(i, self, X, Y, original):
        cost = original(self, X, Y)
        return value if i >= n else cost

    return action


def _params(est):
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


def _objective_params(est):
    """The arrays in the order the training objective holds them."""
    if hasattr(est, "coefs_"):
        return [*est.coefs_, *est.intercepts_]
    out = [est.components_, est.intercept_hidden_, est.intercept_visible_]
    return out if est.tied_weights else [*out, est.decoder_components_]


def _assert_equal_arrays(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype
        assert_array_equal(a, e)


def _fitted_attributes(est):
    return {
        k: v
        for k, v in vars(est).items()
        if (k.endswith("_") and not k.startswith("__")) or k.startswith("_")
    }


def _assert_finite_state(est, where=None):
    """No NaN (nor infinity, outside best_loss_ / best_validation_score_) anywhere
    in the fitted state, nested layers included."""
    where = where or type(est).__name__
    for name, value in _fitted_attributes(est).items():
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
        if name not in ("best_loss_", "best_validation_score_"):
            assert np.isfinite(value), where
    elif hasattr(value, "get_params"):
        _assert_finite_state(value, where)


def _outputs(est, X, y=None):
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


def _assert_finite_outputs(est, X, y=None):
    for name, value in _outputs(est, X, y).items():
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name


# =================================================================== divergence

DIVERGING = {
    "dae": lambda: _dae(loss="squared_error", learning_rate_init=1e4, max_iter=5),
    "dae-adam-untied": lambda: _dae(
        loss="squared_error",
        solver="adam",
        tied_weights=False,
        learning_rate_init=1e4,
        max_iter=5,
    ),
    "stack": lambda: _stack(loss="squared_error", learning_rate_init=1e4, max_iter=5),
    "classifier-fine-tuning": lambda: _clf(learning_rate_init=1e6, momentum=0.0),
    "classifier-pretraining": lambda: _clf(pretrain_learning_rate_init=1e6),
    "regressor-fine-tuning": lambda: _reg(learning_rate_init=1e4),
    "regressor-no-pretraining": lambda: _reg(pretrain=False, learning_rate_init=1e4),
}


@pytest.mark.parametrize("case", list(DIVERGING))
def test_a_diverging_learning_rate_warns_and_leaves_finite_weights(case):
    est = DIVERGING[case]()
    X = np.random.default_rng(0).standard_normal((N, D))
    y = None
    if isinstance(est, SdAClassifier):
        y = _y()
    elif isinstance(est, SdARegressor):
        y = 10 * _y_reg()
    with np.errstate(all="ignore"):
        _, caught = _record(_fit, est, X, y)
    diverged = _messages(caught, DivergenceWarning)
    assert diverged, [str(w.message) for w in caught]
    for message in diverged:
        assert "Lower the learning rate (learning_rate_init)" in message
        assert "weights of the last finite epoch were kept" in message
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)
    # training continues at a sane learning rate, from finite weights
    if case == "classifier-pretraining":
        est.set_params(pretrain_learning_rate_init=0.01)
    else:
        est.set_params(learning_rate_init=0.001)
    n_iter = _epochs(est)
    with np.errstate(all="ignore"):
        _, caught = _record(_partial_fit, est, X, y)
    assert not _messages(caught, DivergenceWarning)
    assert _epochs(est) == [n + 1 for n in n_iter]
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_network_divergence_restores_the_last_finite_epoch(
    monkeypatch, kind, bad, solver
):
    X, y = _X(), _target(kind)
    params = dict(pretrain=False, solver=solver, learning_rate_init=0.01)
    snapshots = _spy(monkeypatch, _NetworkObjective)
    reference = _fit(MAKERS[kind](**params), X, y)
    monkeypatch.undo()

    # the cost overflows in the 3rd mini-batch of epoch 2
    _patch(monkeypatch, _NetworkObjective, _return_on(BATCHES + 3, bad))
    est, caught = _record(_fit, MAKERS[kind](**params), X, y)
    assert _messages(caught, DivergenceWarning) == [
        f"{type(est).__name__}: fine-tuning the training cost diverged (grew past a "
        "million times its initial value, or became infinite or NaN) after 1 "
        "complete epochs; training stopped and the weights of the last finite "
        "epoch were kept. Lower the learning rate (learning_rate_init) or choose an "
        "adaptive solver such as 'adam'."
    ]
    assert not _messages(caught, ConvergenceWarning)
    assert est._stop_status == "diverged"
    assert est.n_iter_ == 1 and est.t_ == N
    assert est.loss_curve_ == reference.loss_curve_[:1]
    assert est._optimizer_state is None
    _assert_equal_arrays(_params(est), snapshots[BATCHES])  # end of epoch 1
    _assert_finite_state(est)


@pytest.mark.parametrize("tied", [True, False])
def test_nan_gradients_in_the_last_mini_batch_are_caught_at_the_epochs_end(
    monkeypatch, tied
):
    # the cost stays finite, but the last update of epoch 2 writes NaN weights:
    # the end-of-epoch check catches it and restores epoch 1's weights
    X = _X()
    snapshots = _spy(monkeypatch, _DAEObjective)
    _fit(_dae(tied_weights=tied, max_iter=3), X)
    monkeypatch.undo()

    def nan_gradients(i, self, Xb, Y, original):
        cost = original(self, Xb, Y)
        if i == 2 * BATCHES:
            for g in self.grads:
                g[...] = np.nan
        return cost

    _patch(monkeypatch, _DAEObjective, nan_gradients)
    dae, caught = _record(_fit, _dae(tied_weights=tied, max_iter=3), X)
    assert "after 1 complete epochs" in _messages(caught, DivergenceWarning)[0]
    assert dae.n_iter_ == 1
    _assert_equal_arrays(_objective_params(dae), snapshots[BATCHES])
    _assert_finite_state(dae)


@pytest.mark.parametrize("kind", ["dae", "regressor"])
def test_divergence_in_partial_fit_keeps_the_weights_before_the_call(monkeypatch, kind):
    X, y = _X(), _target(kind)
    est = MAKERS[kind](solver="adam", learning_rate_init=0.01)
    _partial_fit(est, X, y)
    before = [p.copy() for p in _params(est)]
    loss_curve = list(est.loss_curve_)
    cls = _NetworkObjective if kind == "regressor" else _DAEObjective
    _patch(monkeypatch, cls, _return_on(3, np.inf))
    _, caught = _record(_partial_fit, est, X, y)
    assert len(_messages(caught, DivergenceWarning)) == 1
    monkeypatch.undo()
    _assert_equal_arrays(_params(est), before)
    assert est.n_iter_ == 1 and est.loss_curve_ == loss_curve
    assert est._optimizer_state is None  # the diverged moments are dropped
    # and partial_fit starts a fresh optimizer from the kept weights
    _partial_fit(est, X, y)
    assert est.n_iter_ == 2
    assert est._optimizer_state["t"] == BATCHES
    _assert_finite_state(est)


def test_divergence_in_the_second_layer_of_a_stack(monkeypatch):
    X = _X()
    snapshots = _spy(monkeypatch, _DAEObjective)
    _fit(_stack(max_iter=2), X)
    monkeypatch.undo()
    layer2_initial = snapshots[2 * BATCHES]  # the second layer's first call

    def overflow_in_layer_2(i, self, Xb, Y, original):
        cost = original(self, Xb, Y)
        return np.inf if i > 2 * BATCHES + 1 else cost

    _patch(monkeypatch, _DAEObjective, overflow_in_layer_2)
    stack, caught = _record(_fit, _stack(max_iter=2), X)
    monkeypatch.undo()
    (message,) = _messages(caught, DivergenceWarning)
    assert message.startswith("DenoisingAutoencoder: layer 2/2 the training cost")
    bottom, top = stack.autoencoders_
    assert bottom._stop_status == "max_iter" and top._stop_status == "diverged"
    assert_array_equal(_epochs(stack), [2, 0])
    _assert_equal_arrays(_objective_params(top), layer2_initial)
    _assert_finite_state(stack)
    _assert_finite_outputs(stack, X)
    _partial_fit(stack, X)
    assert_array_equal(_epochs(stack), [3, 1])
    _assert_finite_state(stack)


def test_classifier_fine_tuning_divergence_keeps_the_pretrained_network():
    X, y = _X(), _y()
    with np.errstate(all="ignore"):
        clf, caught = _record(_fit, _clf(learning_rate_init=1e6, momentum=0.0), X, y)
    assert _messages(caught, DivergenceWarning)
    assert clf._stop_status == "diverged" and clf.n_iter_ == 0
    # diverged in the first epoch: back to the network fine-tuning started from
    for coef, intercept, ae in zip(
        clf.coefs_, clf.intercepts_, clf.stack_.autoencoders_, strict=False
    ):
        assert_array_equal(coef, ae.components_.T)
        assert_array_equal(intercept, ae.intercept_hidden_)
    assert not np.any(clf.coefs_[-1]) and not np.any(clf.intercepts_[-1])
    assert_array_equal(clf.predict_proba(X), np.full((N, 3), 1 / 3))
    _assert_finite_state(clf)


def test_classifier_pretraining_divergence_still_fine_tunes():
    X, y = np.random.default_rng(0).standard_normal((N, D)), _y()
    with np.errstate(all="ignore"):
        clf, caught = _record(_fit, _clf(pretrain_learning_rate_init=1e6), X, y)
    messages = _messages(caught, DivergenceWarning)
    assert messages and all("layer" in m for m in messages)
    assert any(ae._stop_status == "diverged" for ae in clf.stack_.autoencoders_)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    _assert_finite_state(clf)
    _assert_finite_outputs(clf, X, y)


def test_divergence_with_early_stopping_keeps_the_best_finite_epoch(monkeypatch):
    # 54 training samples in mini-batches of 9: 6 mini-batches per epoch
    X = _X()
    params = dict(early_stopping=True, batch_size=9, max_iter=5, tol=0.0)
    snapshots = _spy(monkeypatch, _DAEObjective)
    _fit(_dae(**params), X)
    monkeypatch.undo()

    _patch(monkeypatch, _DAEObjective, _return_on(2 * BATCHES + 2, np.nan))
    dae, caught = _record(_fit, _dae(**params), X)
    assert _messages(caught, DivergenceWarning)
    assert dae.n_iter_ == 2 and len(dae.validation_scores_) == 2
    assert all(np.isfinite(dae.validation_scores_))
    best_epoch = int(np.argmax(dae.validation_scores_)) + 1
    _assert_equal_arrays(_objective_params(dae), snapshots[BATCHES * best_epoch])
    _assert_finite_state(dae)


def _nan_from(n):
    def action(i, self, X, Y, original):
        cost = original(self, X, Y)
        if i >= n:
            for g in self.grads:
                g[...] = np.nan
            return np.nan
        return cost

    return action


@pytest.mark.parametrize("kind", ["dae", "regressor"])
def test_lbfgs_divergence_warns_and_keeps_nan_out_of_the_fitted_state(
    monkeypatch, kind
):
    # L-BFGS has no learning rate, but its cost can overflow all the same: no NaN
    # may reach loss_ / loss_curve_ / the weights, and the user must be told.
    X, y = _X(), _target(kind)
    cls = _NetworkObjective if kind == "regressor" else _DAEObjective
    est = MAKERS[kind](solver="lbfgs", max_iter=20)
    if kind == "regressor":  # the first 2 * BATCHES calls are pretraining
        est.set_params(pretrain=False)
    _patch(monkeypatch, cls, _nan_from(4))
    _, caught = _record(_fit, est, X, y)
    monkeypatch.undo()
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)
    assert _messages(caught, DivergenceWarning)


# =================================================================== extreme inputs


def _extreme_X(dtype=np.float64):
    """Random values next to all-zero, all-one and constant columns."""
    X = _X(seed=3)
    X[:, 0] = 0.0
    X[:, 1] = 1.0
    X[:, 2] = 0.5
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "activation, loss",
    [
        ("sigmoid", "cross_entropy"),
        ("sigmoid", "squared_error"),
        ("tanh", "squared_error"),
        ("relu", "squared_error"),
        ("relu", "cross_entropy"),
    ],
)
@pytest.mark.parametrize("tied", [True, False])
def test_saturating_pre_activations_give_finite_costs_and_gradients(
    dtype, activation, loss, tied
):
    X = _extreme_X(dtype)
    dae = _fit(_dae(activation=activation, loss=loss, tied_weights=tied), X)
    for p in _objective_params(dae):
        p *= 1e4  # every unit far into saturation (or huge, for relu)
    objective = _DAEObjective(dae, N)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        cost = objective(X)
    assert np.isfinite(cost)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)
    assert all(g.dtype == dtype for g in objective.grads)
    assert np.all(np.isfinite(dae.score_samples(X)))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_saturated_network_gives_finite_costs_and_gradients(kind, activation):
    X, y = _extreme_X(), _target(kind)
    est = _fit(MAKERS[kind](activation=activation, pretrain=False, max_iter=1), X, y)
    for p in [*est.coefs_, *est.intercepts_]:
        p[...] = np.where(np.arange(p.size).reshape(p.shape) % 2, 1e4, -1e4)
    objective = _NetworkObjective(est, N)
    Y = np.eye(3)[y] if kind == "classifier" else y[:, None]
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        cost = objective(X, Y)
        outputs = _outputs(est, X, y)
    assert np.isfinite(cost)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)
    for name, value in outputs.items():
        assert np.all(np.isfinite(value)), name


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize(
    "data",
    ["columns", "all-zero", "all-one", "constant", "sparse-empty", "float32"],
)
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_degenerate_data_trains_to_a_finite_state(kind, data, solver):
    X = {
        "columns": _extreme_X(),
        "all-zero": np.zeros((N, D)),
        "all-one": np.ones((N, D)),
        "constant": np.full((N, D), 0.37),
        "sparse-empty": sp.csr_matrix((N, D)),
        "float32": _extreme_X(np.float32),
    }[data]
    y = _target(kind)
    params = dict(solver=solver)
    if kind in ("classifier", "regressor"):
        params["pretrain_solver"] = solver
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        est = MAKERS[kind](**params).fit(X, y)
    curves = [est.loss_curve_] if hasattr(est, "loss_curve_") else []
    curves += [ae.loss_curve_ for ae in getattr(est, "autoencoders_", [])]
    assert curves and all(np.all(np.isfinite(c)) for c in curves)
    if solver == "sgd":  # (L-BFGS may stop at once, on a zero gradient)
        assert all(len(c) > 0 for c in curves)
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)


@pytest.mark.parametrize("dtype, logit", [(np.float64, 800.0), (np.float32, 120.0)])
def test_cross_entropy_at_reconstructions_of_exactly_zero_and_one(dtype, logit):
    # a decoder whose outputs are the probabilities 0 and 1 to the last bit (1.0, and
    # the sigmoid's floor, the smallest normal number): the naive
    # -[x log p + (1 - x) log(1 - p)] is inf or NaN there, the stable form is not
    X = (_X(seed=4) > 0.5).astype(dtype)
    dae = _fit(_dae(loss="cross_entropy", tied_weights=False), X)
    assert dae.reconstruction_loss_ == "cross_entropy"
    pattern = X[0]
    dae.decoder_components_[...] = 0.0
    dae.intercept_visible_[...] = np.where(pattern == 1, logit, -logit)
    reconstruction = dae.inverse_transform(dae.transform(X))
    low, high = np.unique(reconstruction)
    assert high == 1.0 and 0.0 < low < 1.01 * np.finfo(dtype).tiny
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        scores = dae.score_samples(np.vstack([pattern, 1 - pattern]))
        objective = _DAEObjective(dae, 2)
        objective.level = 0.0
        cost = objective(np.vstack([pattern, 1 - pattern]).astype(dtype))
    # right and certain costs ~0; wrong and certain costs the logit per feature
    np.testing.assert_allclose(scores, [0.0, -D * logit], atol=1e-12, rtol=1e-6)
    np.testing.assert_allclose(cost, D * logit / 2, rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)


def test_softmax_head_at_probabilities_exactly_zero_and_one():
    X, y = _X(), _y()
    clf = _fit(_clf(max_iter=1, alpha=0.0), X, y)
    clf.coefs_[-1][...] = 0.0
    clf.intercepts_[-1][...] = [800.0, -800.0, 0.0]
    proba = clf.predict_proba(X)
    assert np.all(proba[:, 0] == 1.0) and np.all(proba[:, 1] == 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_proba = clf.predict_log_proba(X)
        objective = _NetworkObjective(clf, N)
        cost = objective(X, np.eye(3)[y])
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(log_proba[0], [0.0, -1600.0, -800.0], atol=1e-9)
    # a third of the samples are certain and right, two thirds certain and wrong
    np.testing.assert_allclose(cost, (1600.0 + 800.0) / 3, rtol=1e-9)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)


# =================================================================== interruption


def _interrupted(caught):
    return _messages(caught, UserWarning)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_dae_interrupted_in_partial_fit_keeps_the_completed_mini_batches(
    monkeypatch, solver
):
    X = _X()
    params = dict(solver=solver, learning_rate_init=0.01)
    snapshots = _spy(monkeypatch, _DAEObjective)
    reference = _dae(**params)
    reference.partial_fit(X)
    reference.partial_fit(X)
    monkeypatch.undo()

    dae = _dae(**params)
    dae.partial_fit(X)
    _patch(monkeypatch, _DAEObjective, _raise_on(4))
    _, caught = _record(dae.partial_fit, X)
    monkeypatch.undo()
    assert _interrupted(caught) == [
        "DenoisingAutoencoder: training interrupted by the user after 1 complete "
        "epochs; the weights of the completed mini-batches were kept. The estimator "
        "can be used, or trained further with partial_fit (or fit with "
        "warm_start=True)."
    ]
    assert dae._stop_status == "interrupted"
    assert dae.n_iter_ == 1 and len(dae.loss_curve_) == 1
    _assert_equal_arrays(_objective_params(dae), snapshots[BATCHES + 3])
    if solver == "adam":  # the optimizer counted the 3 completed steps
        assert dae._optimizer_state["t"] == BATCHES + 3
    dae.partial_fit(X)
    assert dae.n_iter_ == 2
    if solver == "adam":
        assert dae._optimizer_state["t"] == 2 * BATCHES + 3
    _assert_finite_state(dae)


def test_dae_interrupted_on_its_first_mini_batch_is_usable(monkeypatch):
    X = _X()
    snapshots = _spy(monkeypatch, _DAEObjective)
    _fit(_dae(), X)
    monkeypatch.undo()
    initial = snapshots[0]

    _patch(monkeypatch, _DAEObjective, _raise_on(1))
    dae, caught = _record(_fit, _dae(), X)
    monkeypatch.undo()
    assert "after 0 complete epochs" in _interrupted(caught)[0]
    assert dae.n_iter_ == 0 and dae.loss_curve_ == []
    _assert_equal_arrays(_objective_params(dae), initial)
    _assert_finite_state(dae)
    _assert_finite_outputs(dae, X)

    # warm_start continues from the kept (initial) weights, not from new ones
    continued = _spy(monkeypatch, _DAEObjective)
    _fit(dae.set_params(warm_start=True), X)
    monkeypatch.undo()
    _assert_equal_arrays(continued[0], initial)
    assert dae.n_iter_ == 2


def test_interrupt_inside_the_optimizer_step_restores_the_last_epoch(monkeypatch):
    X = _X()
    snapshots = _spy(monkeypatch, _DAEObjective)
    _fit(_dae(max_iter=3), X)
    monkeypatch.undo()

    original = SGDOptimizer.update
    steps = []

    def half_applied(self, grads):
        steps.append(1)
        original(self, grads)
        if len(steps) == BATCHES + 3:
            raise KeyboardInterrupt  # after the update of only some arrays

    monkeypatch.setattr(SGDOptimizer, "update", half_applied)
    dae, caught = _record(_fit, _dae(max_iter=3), X)
    monkeypatch.undo()
    assert "interrupted" in _interrupted(caught)[0]
    assert dae.n_iter_ == 1
    _assert_equal_arrays(_objective_params(dae), snapshots[BATCHES])
    _assert_finite_state(dae)


def test_keyboard_interrupt_in_a_worker_thread(monkeypatch):
    X = _X()
    handler = signal.getsignal(signal.SIGINT)
    _patch(monkeypatch, _DAEObjective, _raise_on(3))
    with ThreadPoolExecutor(max_workers=1) as pool:
        dae, caught = pool.submit(_record, _fit, _dae(), X).result()
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler
    assert "interrupted" in _interrupted(caught)[0]
    assert dae._stop_status == "interrupted"
    _assert_finite_outputs(dae, X)


def test_sigint_handler_is_restored_when_fit_fails(monkeypatch):
    handler = signal.getsignal(signal.SIGINT)
    _patch(monkeypatch, _NetworkObjective, _raise_on(2, RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        _fit(_clf(), _X(), _y())
    assert signal.getsignal(signal.SIGINT) is handler


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sigint_during_fine_tuning_stops_after_the_current_mini_batch(
    monkeypatch, kind
):
    X, y = _X(), _target(kind)
    snapshots = _spy(monkeypatch, _NetworkObjective)
    _fit(MAKERS[kind](), X, y)
    monkeypatch.undo()

    def ctrl_c(i, self, Xb, Y, original):
        if i == 3:
            signal.raise_signal(signal.SIGINT)
        return original(self, Xb, Y)

    handler = signal.getsignal(signal.SIGINT)
    _patch(monkeypatch, _NetworkObjective, ctrl_c)
    est, caught = _record(_fit, MAKERS[kind](), X, y)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler
    (message,) = _interrupted(caught)
    assert message.startswith(f"{type(est).__name__}: fine-tuning training interr")
    assert est.n_iter_ == 0
    _assert_equal_arrays(_params(est), snapshots[3])  # the 3rd update was applied


def test_stack_interrupted_in_layer_two_of_three(monkeypatch):
    X = _X()
    params = dict(hidden_layer_sizes=(5, 4, 3))
    snapshots = _spy(monkeypatch, _DAEObjective)
    reference = _fit(_stack(**params), X)
    monkeypatch.undo()
    at_interrupt = 2 * BATCHES + 4  # layer 2, epoch 1, 4th mini-batch
    layer3_initial = snapshots[4 * BATCHES]

    _patch(monkeypatch, _DAEObjective, _raise_on(at_interrupt))
    stack, caught = _record(_fit, _stack(**params), X)
    monkeypatch.undo()
    (message,) = _interrupted(caught)
    assert message.startswith("DenoisingAutoencoder: layer 2/3 training interrupted")
    first, second, third = stack.autoencoders_
    assert_array_equal(_epochs(stack), [2, 0, 0])
    assert [first._stop_status, second._stop_status] == ["max_iter", "interrupted"]
    _assert_equal_arrays(_params(first), _params(reference.autoencoders_[0]))
    _assert_equal_arrays(_objective_params(second), snapshots[at_interrupt - 1])
    # the layer above: initial weights, as a normal fit would have started it with
    assert third.n_features_in_ == 4 and third.loss_curve_ == []
    _assert_equal_arrays(_objective_params(third), layer3_initial)
    _assert_finite_state(stack)
    _assert_finite_outputs(stack, X)
    assert stack.transform(X).shape == (N, 3)

    _partial_fit(stack, X)
    assert_array_equal(_epochs(stack), [3, 1, 1])
    _fit(stack.set_params(warm_start=True), X)
    assert_array_equal(_epochs(stack), [5, 3, 3])
    _assert_finite_state(stack)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("layer", [1, 2])
def test_interrupted_pretraining_skips_fine_tuning(monkeypatch, kind, layer):
    X, y = _X(), _target(kind)
    at_interrupt = (layer - 1) * 2 * BATCHES + 3
    _patch(monkeypatch, _DAEObjective, _raise_on(at_interrupt))
    fine_tuning = _spy(monkeypatch, _NetworkObjective)
    est, caught = _record(_fit, MAKERS[kind](), X, y)
    monkeypatch.undo()
    (message,) = _interrupted(caught)
    assert message.startswith(f"DenoisingAutoencoder: layer {layer}/2 training int")
    assert fine_tuning == []  # never called
    assert est._stop_status == "interrupted"
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    # the network is the (partly) pretrained stack under a zero head
    for coef, intercept, ae in zip(
        est.coefs_, est.intercepts_, est.stack_.autoencoders_, strict=False
    ):
        assert_array_equal(coef, ae.components_.T)
        assert_array_equal(intercept, ae.intercept_hidden_)
    assert not np.any(est.coefs_[-1])
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)
    if kind == "classifier":
        assert_array_equal(est.predict_proba(X), np.full((N, 3), 1 / 3))

    # partial_fit fine-tunes (one epoch) without pretraining again
    stack_weights = [p.copy() for p in _params(est.stack_)]
    pretraining = _spy(monkeypatch, _DAEObjective)
    _partial_fit(est, X, y)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    # and so does a warm-started fit
    _fit(est.set_params(warm_start=True), X, y)
    monkeypatch.undo()
    assert pretraining == []
    assert est.n_iter_ == 1 + 3
    _assert_equal_arrays(_params(est.stack_), stack_weights)
    assert np.any(est.coefs_[-1])
    _assert_finite_state(est)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("pretrain", [True, False])
def test_interrupted_fine_tuning_keeps_the_completed_mini_batches(
    monkeypatch, kind, pretrain
):
    X, y = _X(), _target(kind)
    snapshots = _spy(monkeypatch, _NetworkObjective)
    reference = _fit(MAKERS[kind](pretrain=pretrain), X, y)
    monkeypatch.undo()
    at_interrupt = BATCHES + 3

    _patch(monkeypatch, _NetworkObjective, _raise_on(at_interrupt))
    est, caught = _record(_fit, MAKERS[kind](pretrain=pretrain), X, y)
    monkeypatch.undo()
    (message,) = _interrupted(caught)
    assert "fine-tuning training interrupted by the user after 1 complete" in message
    assert not _messages(caught, ConvergenceWarning)
    assert est._stop_status == "interrupted"
    assert est.n_iter_ == 1 and est.loss_curve_ == reference.loss_curve_[:1]
    _assert_equal_arrays(_params(est), snapshots[at_interrupt - 1])
    _assert_finite_outputs(est, X, y)

    _partial_fit(est, X, y)
    assert est.n_iter_ == 2
    _fit(est.set_params(warm_start=True), X, y)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    _assert_finite_state(est)


@pytest.mark.parametrize("kind", ["dae", "regressor"])
def test_lbfgs_interrupt_keeps_a_usable_estimator(monkeypatch, kind):
    # Ctrl-C during an L-BFGS fit: the same promise as for the stochastic solvers
    X, y = _X(), _target(kind)
    est = MAKERS[kind](solver="lbfgs", max_iter=20)
    cls = _DAEObjective
    if kind == "regressor":
        est.set_params(pretrain=False)
        cls = _NetworkObjective
    _patch(monkeypatch, cls, _raise_on(5))
    escaped = False
    try:
        _, caught = _record(_fit, est, X, y)
    except KeyboardInterrupt:  # (uncaught, it would also stop this test run)
        escaped = True
    finally:
        monkeypatch.undo()
    assert not escaped, "KeyboardInterrupt escaped from an L-BFGS fit"
    assert "interrupted" in " ".join(_interrupted(caught))
    _assert_finite_state(est)
    _assert_finite_outputs(est, X, y)
    _fit(est.set_params(warm_start=True), X, y)
    _assert_finite_state(est)


# =================================================================== determinism


def _assert_same_state(a, b, where="est"):
    """Bit-identical fitted state: every array, number, list and generator."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_state(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif hasattr(a, "get_params"):
        fa, fb = _fitted_attributes(a), _fitted_attributes(b)
        assert fa.keys() == fb.keys(), where
        for k in fa:
            _assert_same_state(fa[k], fb[k], f"{where}.{k}")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


VARIANTS = {
    "dense-sgd-momentum": dict(momentum=0.9),
    "sparse-adam": dict(solver="adam", learning_rate_init=0.01),
    "float32-salt-and-pepper": dict(corruption="salt_and_pepper"),
    "gaussian-untied-early-stopping": dict(
        corruption="gaussian", tied_weights=False, early_stopping=True
    ),
}


def _variant_data(variant, kind):
    X = _X(seed=7) * (_X(seed=8) > 0.3)
    if variant.startswith("sparse"):
        X = sp.csr_matrix(X)
    if variant.startswith("float32"):
        X = X.astype(np.float32)
    return X, _target(kind)


def _variant(kind, variant, **params):
    params = {**VARIANTS[variant], **params}
    if kind in ("classifier", "regressor"):
        params.pop("tied_weights", None)
    return MAKERS[kind](**params)


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_random_state_gives_bit_identical_fits(kind, variant):
    X, y = _variant_data(variant, kind)
    first = _fit(_variant(kind, variant), X, y)
    second = _fit(_variant(kind, variant), X, y)
    _assert_same_state(first, second)
    # refitting the same object, and fitting a clone, start over identically
    _assert_same_state(_fit(first, X, y), second)
    _assert_same_state(_fit(clone(second), X, y), second)
    # different seeds give different weights
    other = _fit(_variant(kind, variant, random_state=1), X, y)
    for a, b in zip(_params(first), _params(other), strict=True):
        if a.ndim == 2:
            assert not np.array_equal(a, b)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_fits_ignore_the_global_random_state(kind):
    X, y = _X(), _target(kind)
    saved = np.random.get_state()  # noqa: NPY002 (the legacy global state, on purpose)
    try:
        np.random.seed(1)  # noqa: NPY002
        first = _fit(MAKERS[kind](), X, y)
        np.random.seed(2)  # noqa: NPY002
        second = _fit(MAKERS[kind](), X, y)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    _assert_same_state(first, second)
    # a RandomState instance seeds as its int would, when freshly made
    third = _fit(MAKERS[kind](random_state=np.random.RandomState(0)), X, y)
    fourth = _fit(MAKERS[kind](random_state=np.random.RandomState(0)), X, y)
    _assert_same_state(third, fourth)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_partial_fit_sequences_are_bit_identical(kind):
    X, y = _X(), _target(kind)
    ests = [MAKERS[kind](solver="adam", learning_rate_init=0.01) for _ in range(2)]
    for est in ests:
        for chunk in (slice(0, 30), slice(30, 60), slice(10, 50)):
            _partial_fit(est, X[chunk], None if y is None else y[chunk])
    _assert_same_state(*ests)


def test_random_state_none_gives_different_fits():
    X = _X()
    a = _fit(_dae(random_state=None), X)
    b = _fit(_dae(random_state=None), X)
    assert not np.array_equal(a.components_, b.components_)


SEARCHES = {
    "dae": (_dae, {"corruption_level": [0.1, 0.4]}),
    "stack": (_stack, {"corruption_level": [[0.1, 0.2], 0.4]}),
    "classifier": (_clf, {"pretrain": [True, False], "corruption_level": [0.1, 0.4]}),
    "regressor": (_reg, {"alpha": [1e-4, 1e-1]}),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_grid_search_is_identical_across_n_jobs(kind):
    maker, grid = SEARCHES[kind]
    X, y = _X(), _target(kind)
    results = {}
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(maker(), grid, cv=2, n_jobs=n_jobs).fit(X, y)
            folds = cross_validate(
                maker(), X, y, cv=2, n_jobs=n_jobs, return_estimator=True
            )
        results[n_jobs] = search, folds
    (s1, f1), (s2, f2) = results[1], results[2]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert_array_equal(s1.cv_results_[key], s2.cv_results_[key])
    assert s1.best_params_ == s2.best_params_
    _assert_same_state(s1.best_estimator_, s2.best_estimator_)
    # the models fitted in the worker processes are bit-identical too
    assert_array_equal(f1["test_score"], f2["test_score"])
    for a, b in zip(f1["estimator"], f2["estimator"], strict=True):
        _assert_same_state(a, b)


# =================================================================== threads


THREAD_CASES = {
    "dae": lambda: _dae(tied_weights=False),
    "stack": _stack,
    "classifier": _clf,
    "regressor": _reg,
}


@pytest.mark.parametrize("kind", list(THREAD_CASES))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_concurrent_inference_matches_single_threaded(kind, sparse):
    X, y = _X(seed=9, n=400), _target(kind, 400)
    est = _fit(THREAD_CASES[kind](), _X(), _target(kind))
    chunks = [slice(start, start + 40) for start in range(0, 400, 40)]
    data = sp.csr_matrix(X) if sparse else X

    def job(chunk):
        return _outputs(est, data[chunk], None if y is None else y[chunk])

    expected = [job(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            results = list(pool.map(job, chunks * 2))
    for got, want in zip(results, expected * 2, strict=True):
        assert got.keys() == want.keys()
        for name in want:
            assert_array_equal(got[name], want[name], err_msg=name)


def test_concurrent_fits_of_clones_match_sequential_fits():
    # fits in threads share nothing: no global random state, no shared buffers
    X, y = _X(), _y()
    models = [_dae(), _stack(), _clf(), _reg()]
    targets = [None, None, y, _y_reg()]
    sequential = [_fit(clone(m), X, t) for m, t in zip(models, targets, strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(clone(m).fit, X, t)
                for m, t in zip(models * 2, targets * 2, strict=True)
            ]
            threaded = [f.result() for f in futures]
    for a, b in zip(threaded, sequential * 2, strict=True):
        _assert_same_state(a, b)


# =================================================================== persistence


PERSISTED = {
    "dae-adam": lambda: _dae(solver="adam", learning_rate_init=0.01),
    "dae-untied-early-stopping": lambda: _dae(
        tied_weights=False, early_stopping=True, corruption="salt_and_pepper"
    ),
    "dae-float32-sparse": lambda: _dae(momentum=0.9),
    "stack": _stack,
    "stack-lbfgs": lambda: _stack(solver="lbfgs", max_iter=5),
    "classifier-strings": _clf,
    "classifier-no-pretraining-adam": lambda: _clf(
        pretrain=False, solver="adam", learning_rate_init=0.01, early_stopping=True
    ),
    "regressor-multi-output": _reg,
}


def _persisted_data(case):
    X = _X()
    y = None
    if case.startswith("classifier"):
        y = np.array(["ant", "bee", "cat"])[_y()]
    elif case.startswith("regressor"):
        y = np.c_[_y_reg(), -_y_reg()]
    if "float32-sparse" in case:
        X = sp.csr_matrix(X * (X > 0.3), dtype=np.float32)
    return X, y


def _round_trips(est, tmp_path):
    copies = {"pickle": pickle.loads(pickle.dumps(est))}
    joblib.dump(est, tmp_path / "model.joblib")
    copies["joblib"] = joblib.load(tmp_path / "model.joblib")
    buffer = io.BytesIO()
    joblib.dump(est, buffer, compress=3)
    buffer.seek(0)
    copies["joblib-compressed"] = joblib.load(buffer)
    data = sio.dumps(est)
    copies["skops"] = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    return copies


def _continue(est, X, y):
    if getattr(est, "solver", "sgd") != "lbfgs":
        early_stopping = est.early_stopping  # which partial_fit refuses
        _partial_fit(est.set_params(early_stopping=False), X, y)
        est.set_params(early_stopping=early_stopping)
    return _fit(est.set_params(warm_start=True), X, y)


@pytest.mark.parametrize("case", list(PERSISTED))
def test_round_trips_give_identical_outputs_and_training(case, tmp_path):
    X, y = _persisted_data(case)
    est = _fit(PERSISTED[case](), X, y)
    expected = _outputs(est, X, y)
    for how, loaded in _round_trips(est, tmp_path).items():
        assert type(loaded) is type(est), how
        _assert_same_state(loaded, est, how)
        got = _outputs(loaded, X, y)
        for name in expected:
            assert_array_equal(got[name], expected[name], err_msg=f"{how} {name}")
        # training continues exactly as the original would have: random
        # generators and optimizer state travel with the model
        _assert_same_state(
            _continue(loaded, X, y), _continue(copy.deepcopy(est), X, y), how
        )


def _check_plain_state(value, where):
    """The fitted state holds only plain data (and the package's estimators)."""
    if isinstance(value, np.ndarray):
        assert value.dtype.kind in "biufU", (where, value.dtype)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain_state(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), where
            _check_plain_state(v, f"{where}[{k!r}]")
    elif isinstance(value, np.random.Generator):
        assert isinstance(value.bit_generator, np.random.PCG64), where
    elif hasattr(value, "get_params"):
        assert type(value).__module__.startswith("stackeddae."), where
        for k, v in _fitted_attributes(value).items():
            _check_plain_state(v, f"{where}.{k}")
    else:
        assert value is None or isinstance(
            value, (bool, int, float, str, np.integer, np.floating, np.bool_)
        ), (where, type(value))


@pytest.mark.parametrize("case", list(PERSISTED))
def test_fitted_state_is_plain_data_and_skops_trusts_only_this_package(case, tmp_path):
    X, y = _persisted_data(case)
    est = _fit(PERSISTED[case](), X, y)
    _check_plain_state(est, type(est).__name__)

    # the secure way to load a model, as the README shows it
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert f"stackeddae.{type(est).__module__.split('.')[-1]}.{type(est).__name__}" in (
        untrusted
    )
    assert all(t.startswith("stackeddae.") for t in untrusted), untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=untrusted)
    _assert_same_state(loaded, est)


@pytest.mark.parametrize("fault", ["interrupted", "diverged"])
@pytest.mark.parametrize("kind", ["stack", "classifier"])
def test_estimators_stopped_by_a_fault_persist_and_resume(
    monkeypatch, fault, kind, tmp_path
):
    X, y = _X(), _target(kind)
    action = _raise_on(3) if fault == "interrupted" else _return_on(3, np.nan)
    _patch(monkeypatch, _DAEObjective, action)
    est, _ = _record(_fit, MAKERS[kind](), X, y)
    monkeypatch.undo()
    _check_plain_state(est, kind)
    expected = _outputs(est, X, y)
    for how, loaded in _round_trips(est, tmp_path).items():
        _assert_same_state(loaded, est, how)
        got = _outputs(loaded, X, y)
        for name in expected:
            assert_array_equal(got[name], expected[name], err_msg=f"{how} {name}")
        _assert_same_state(
            _continue(loaded, X, y), _continue(copy.deepcopy(est), X, y), how
        )
