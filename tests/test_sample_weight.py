"""``sample_weight`` across the estimators, with scikit-learn's semantics (issue 23).

Zero weights are dropped rows, and weights all 1 no weights, bit for bit in every
setting (the rows are dropped and the weights set aside before training starts);
integer weights are repeated rows, to rounding, where training is deterministic
(L-BFGS, or one full mini-batch, without noise); each mini-batch hands its rows'
own weights to the objective, through one reused buffer.  The objectives' weighted
gradients are checked by finite differences beside the unweighted ones
(``tests/README.md``); ``memory=`` with weights in ``test_cache.py``; the detector's
weighted quartiles in ``test_outlier.py``.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import accuracy_score, r2_score
from support import (
    all_outputs,
    assert_same_state,
    make_clf,
    make_dae,
    make_deep,
    make_reg,
    make_stack,
    make_X,
    make_y,
    make_y_reg,
    quietly,
)

from stackeddae import (
    ReconstructionOutlierDetector,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._objectives import DAEObjective, NetworkObjective, UnrolledObjective
from stackeddae._unrolled import _split_validation

MAKERS = {
    "dae": make_dae,
    "stack": make_stack,
    "deep": make_deep,
    "classifier": make_clf,
    "regressor": make_reg,
}
TARGETS = {"classifier": make_y, "regressor": make_y_reg}


def _fit(est, X, y=None, **kwargs):
    return (
        quietly(est.fit, X, **kwargs) if y is None else quietly(est.fit, X, y, **kwargs)
    )


def _data(kind, n=60):
    X = make_X(n=n)
    target = TARGETS.get(kind)
    return X, None if target is None else target(n)


def _weights(n=60, seed=0, zeros=True):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.2, 3.0, n)
    if zeros:
        weights[rng.permutation(n)[: n // 4]] = 0
    return weights


def _take(y, rows):
    return None if y is None else y[rows]


def _outputs(est, X, y):
    out = all_outputs(est, X, y)
    out.pop("score")  # its y differs between the two fits compared
    return out


# ----------------------------------------------- zero weights, weights of 1


SETTINGS = {
    "defaults": {},
    "early_stopping": {"early_stopping": True, "validation_fraction": 0.2},
    "adam": {"solver": "adam", "learning_rate_init": 0.01},
    "lbfgs": {"solver": "lbfgs", "max_iter": 5},
}


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("kind", MAKERS)
def test_zero_weights_are_dropped_rows_bit_for_bit(kind, settings):
    X, y = _data(kind)
    weights = _weights()
    kept = weights > 0
    params = SETTINGS[settings]
    weighted = _fit(MAKERS[kind](**params), X, y, sample_weight=weights)
    dropped = _fit(
        MAKERS[kind](**params), X[kept], _take(y, kept), sample_weight=weights[kept]
    )
    assert_same_state(weighted, dropped)
    # and 0/1 weights are the fit of the kept rows, unweighted
    ones = _fit(MAKERS[kind](**params), X, y, sample_weight=kept.astype(float))
    plain = _fit(MAKERS[kind](**params), X[kept], _take(y, kept))
    assert_same_state(ones, plain)


@pytest.mark.parametrize("kind", MAKERS)
def test_weights_change_the_fit(kind):
    X, y = _data(kind)
    weighted = _fit(MAKERS[kind](), X, y, sample_weight=_weights(zeros=False))
    plain = _fit(MAKERS[kind](), X, y)
    assert not np.array_equal(weighted.transform(X), plain.transform(X))


def _partial_fit(est, X, y, weights):
    if y is None:
        return quietly(est.partial_fit, X, sample_weight=weights)
    if isinstance(est, SdAClassifier):
        return quietly(est.partial_fit, X, y, sample_weight=weights, classes=[0, 1, 2])
    return quietly(est.partial_fit, X, y, sample_weight=weights)


@pytest.mark.parametrize("kind", MAKERS)
def test_partial_fit_zero_weights_are_dropped_rows(kind):
    X, y = _data(kind)
    weights = _weights(seed=1)
    kept = weights > 0
    weighted, dropped = MAKERS[kind](), MAKERS[kind]()
    for _ in range(2):
        _partial_fit(weighted, X, y, weights)
        _partial_fit(dropped, X[kept], _take(y, kept), weights[kept])
    assert_same_state(weighted, dropped)
    plain = MAKERS[kind]()
    for _ in range(2):
        _partial_fit(plain, X[kept], _take(y, kept), None)
    assert not np.array_equal(weighted.transform(X), plain.transform(X))


def test_semi_supervised_zero_weights_drop_unlabeled_rows_too():
    X, y = make_X(), make_y().astype(int)
    y[::3] = -1
    weights = _weights(seed=2)
    kept = weights > 0
    params = {"unlabeled_label": -1, "unlabeled_weight": 0.5}
    weighted = _fit(make_clf(**params), X, y, sample_weight=weights)
    dropped = _fit(make_clf(**params), X[kept], y[kept], sample_weight=weights[kept])
    assert_same_state(weighted, dropped)


@pytest.mark.parametrize("kind", MAKERS)
def test_weights_of_one_are_no_weights_bit_for_bit(kind):
    X, y = _data(kind)
    ones = _fit(MAKERS[kind](early_stopping=True), X, y, sample_weight=np.ones(60))
    plain = _fit(MAKERS[kind](early_stopping=True), X, y)
    assert_same_state(ones, plain)


# ----------------------------------------------- integer weights, repeated rows

_DETERMINISTIC = {
    "lbfgs": {
        "solver": "lbfgs",
        "pretrain_solver": "lbfgs",
        "fine_tune_solver": "lbfgs",
    },
    # one mini-batch (shuffled or not: its sum is the same, to rounding)
    "full batch": {
        "batch_size": 1000,
        "pretrain_batch_size": 1000,
        "fine_tune_batch_size": 1000,
    },
}


def _deterministic(kind, how, shuffle):
    params = {**_DETERMINISTIC[how], "corruption_level": 0.0, "dtype": np.float64}
    if kind in ("dae", "stack", "deep"):
        params.pop("pretrain_solver", None)
        params.pop("pretrain_batch_size", None)
    if kind not in ("stack", "deep"):
        params.pop("fine_tune_solver", None)
        params.pop("fine_tune_batch_size", None)
    if kind == "deep":
        params["fine_tune_corruption_level"] = 0.0
    if how == "full batch":
        params["shuffle"] = shuffle
    return MAKERS[kind](**params)


@pytest.mark.parametrize(
    "how, shuffle", [("lbfgs", True), ("full batch", False), ("full batch", True)]
)
@pytest.mark.parametrize("kind", MAKERS)
def test_integer_weights_are_repeated_rows(kind, how, shuffle):
    X, y = _data(kind, n=30)
    counts = np.random.default_rng(3).integers(0, 4, 30)
    weighted = _fit(
        _deterministic(kind, how, shuffle), X, y, sample_weight=counts.astype(float)
    )
    repeated = _fit(
        _deterministic(kind, how, shuffle),
        np.repeat(X, counts, axis=0),
        None if y is None else np.repeat(y, counts),
    )
    for name, out in _outputs(weighted, X, y).items():
        assert_allclose(out, _outputs(repeated, X, y)[name], rtol=1e-7, err_msg=name)


# ----------------------------------------------- the loop hands each row its weight


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_mini_batch_gets_its_rows_weights_in_one_buffer(monkeypatch, shuffle):
    X = make_X()  # distinct rows: a row's weight is looked up by its values
    weights = _weights(zeros=False)
    seen = []
    original = DAEObjective.__call__

    def recording(self, Xb, Y=None, w=None):
        seen.append((Xb.copy(), w.copy(), w))
        return original(self, Xb, Y, w)

    monkeypatch.setattr(DAEObjective, "__call__", recording)
    _fit(make_dae(shuffle=shuffle, corruption_level=0.0), X, sample_weight=weights)
    assert len(seen) == 12  # 2 epochs of 6 mini-batches
    X32 = X.astype(np.float32)  # the rows as trained on
    for Xb, w, _ in seen:
        rows = [np.flatnonzero((X32 == row).all(axis=1))[0] for row in Xb]
        assert_array_equal(w, weights[rows].astype(np.float32))
    if shuffle:  # gathered into the one buffer, not allocated per mini-batch
        assert all(np.shares_memory(w, seen[0][2]) for _, _, w in seen)


def test_objectives_take_no_weights_when_there_are_none(patch_objective):
    calls = []

    def action(i, self, X, Y, original):
        calls.append(i)
        return original(self, X, Y)

    patch_objective(DAEObjective, action)
    _fit(make_dae(), make_X(), sample_weight=np.ones(60))
    assert len(calls) == 12


# ----------------------------------------------- scores, validation scores


@pytest.mark.parametrize("make", [make_dae, make_stack])
def test_autoencoder_score_is_the_weighted_mean(make):
    X = make_X()
    est = _fit(make(), X)
    weights = _weights()
    expected = np.average(est.score_samples(X), weights=weights)
    assert est.score(X, sample_weight=weights) == pytest.approx(expected, rel=1e-12)
    assert est.score(X) == np.mean(est.score_samples(X))


def test_autoencoder_early_stopping_score_is_weighted():
    X, weights = make_X(), _weights(zeros=False)
    dae = _fit(make_dae(), X)
    dae._rng = np.random.default_rng(5)
    train, score = dae._split_validation(X.astype(np.float32), weights)
    valid = np.setdiff1d(np.arange(60), train)
    expected = np.average(dae.score_samples(X[valid]), weights=weights[valid])
    assert score() == pytest.approx(expected, rel=1e-6)


def test_unrolled_early_stopping_score_is_weighted():
    X, weights = make_X(), _weights(zeros=False)
    stack = _fit(make_deep(), X)
    train, score = _split_validation(stack, np.random.default_rng(5), X, weights)
    valid = np.setdiff1d(np.arange(60), train)
    expected = np.average(stack.score_samples(X[valid]), weights=weights[valid])
    assert score() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_supervised_early_stopping_score_is_weighted(kind):
    X, y = _data(kind)
    weights = _weights(zeros=False)
    est = _fit(MAKERS[kind](dtype=np.float64), X, y)
    Y = np.eye(3)[y] if kind == "classifier" else y[:, None]
    score = est._validation_score(X, Y, weights)
    if kind == "classifier":
        assert score == accuracy_score(y, est.predict(X), sample_weight=weights)
        assert score == est.score(X, y, sample_weight=weights)
    else:
        expected = r2_score(y, est.predict(X), sample_weight=weights)
        assert score == pytest.approx(expected, rel=1e-12)
        assert score != est._validation_score(X, Y)


def test_early_stopping_validation_scores_follow_the_weights():
    X, y = make_X(), make_y()
    params = {"early_stopping": True, "validation_fraction": 0.3, "max_iter": 4}
    a = _fit(make_clf(**params), X, y, sample_weight=_weights(zeros=False))
    b = _fit(make_clf(**params), X, y, sample_weight=_weights(seed=9, zeros=False))
    assert len(a.validation_scores_) == 4
    assert a.validation_scores_ != b.validation_scores_


# ----------------------------------------------- validation of the weights


@pytest.mark.parametrize(
    "est",
    [make_dae(), make_stack(), make_clf(), make_reg(), ReconstructionOutlierDetector()],
    ids=lambda est: type(est).__name__,
)
def test_bad_weights_raise(est):
    X = make_X()
    y = {SdAClassifier: make_y(), SdARegressor: make_y_reg()}.get(type(est))
    args = (X,) if y is None else (X, y)
    weights = np.ones(60)
    weights[3] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        est.fit(*args, sample_weight=weights)
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.fit(*args, sample_weight=np.zeros(60))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        est.fit(*args, sample_weight=np.ones(59))
    X_copy, w = X.copy(), _weights()
    w_copy = w.copy()
    quietly(est.fit, *args, sample_weight=w)
    assert_array_equal(X, X_copy)
    assert_array_equal(w, w_copy)


def test_objectives_normalise_by_the_total_weight():
    # scikit-learn's normalisation, not the mean over the mini-batch's rows: weights
    # all 2 give the unweighted mean cost with half the L2 penalty
    X, y = make_X(n=10), make_y(10)
    clf = _fit(make_clf(pretrain=False, alpha=0.5, dtype=np.float64), X, y)
    Y = np.eye(3)[y]
    plain = NetworkObjective(clf, 10)(X, Y)
    penalty = 0.5 * 0.5 * sum(np.vdot(W, W) for W in clf.coefs_) / 10
    doubled = NetworkObjective(clf, 10)(X, Y, np.full(10, 2.0))
    assert doubled == pytest.approx(plain - penalty / 2, rel=1e-12)
    stack = _fit(make_deep(dtype=np.float64, fine_tune_corruption_level=0.0), X)
    unrolled = UnrolledObjective(stack, 10)
    assert unrolled(X, None, np.full(10, 2.0)) == pytest.approx(unrolled(X), rel=1e-12)


def test_stack_layers_train_on_the_weights():
    # every layer, not only the first: the weighted stack's top layer differs from
    # the one trained on the same codes without weights
    X = make_X()
    weights = _weights(zeros=False)
    stack = _fit(make_stack(), X, sample_weight=weights)
    codes = stack.autoencoders_[0].transform(X.astype(np.float32))
    top = stack.autoencoders_[1]
    again = _fit(make_dae(**{**top.get_params()}), codes, sample_weight=weights)
    plain = _fit(make_dae(**{**top.get_params()}), codes)
    assert_array_equal(again.components_, top.components_)
    assert not np.array_equal(plain.components_, top.components_)
    assert isinstance(stack, StackedDenoisingAutoencoder)
