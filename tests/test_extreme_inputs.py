"""Extreme inputs: saturated units, degenerate data and certain predictions give
finite costs, gradients and outputs.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from support import (
    MAKERS,
    D,
    N,
    all_outputs,
    assert_finite_outputs,
    assert_finite_state,
    fit_quiet,
    make_clf,
    make_dae,
    make_target,
    make_X,
    make_y,
    objective_arrays,
)

from stackeddae._objectives import DAEObjective, NetworkObjective


def _extreme_X(dtype=np.float64):
    """Random values next to all-zero, all-one and constant columns."""
    X = make_X(seed=3)
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
    dae = fit_quiet(
        make_dae(activation=activation, loss=loss, tied_weights=tied, dtype=dtype), X
    )
    for p in objective_arrays(dae):
        p *= 1e4  # every unit far into saturation (or huge, for relu)
    objective = DAEObjective(dae, N)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        cost = objective(X)
    assert np.isfinite(cost)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)
    assert all(g.dtype == dtype for g in objective.grads)
    assert np.all(np.isfinite(dae.score_samples(X)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_saturated_network_gives_finite_costs_and_gradients(kind, activation, dtype):
    X, y = _extreme_X(dtype), make_target(kind)
    est = fit_quiet(
        MAKERS[kind](activation=activation, pretrain=False, max_iter=1, dtype=dtype),
        X,
        y,
    )
    for p in [*est.coefs_, *est.intercepts_]:
        p[...] = np.where(np.arange(p.size).reshape(p.shape) % 2, 1e4, -1e4)
    objective = NetworkObjective(est, N)
    Y = (np.eye(3)[y] if kind == "classifier" else y[:, None]).astype(dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        cost = objective(X, Y)
        outputs = all_outputs(est, X, y)
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
    y = make_target(kind)
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
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)


@pytest.mark.parametrize("dtype, logit", [(np.float64, 800.0), (np.float32, 120.0)])
def test_cross_entropy_at_reconstructions_of_exactly_zero_and_one(dtype, logit):
    # a decoder whose outputs are the probabilities 0 and 1 to the last bit (1.0, and
    # the sigmoid's floor, the smallest normal number): the naive
    # -[x log p + (1 - x) log(1 - p)] is inf or NaN there, the stable form is not
    X = (make_X(seed=4) > 0.5).astype(dtype)
    dae = fit_quiet(make_dae(loss="cross_entropy", tied_weights=False, dtype=dtype), X)
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
        objective = DAEObjective(dae, 2)
        objective.level = 0.0
        cost = objective(np.vstack([pattern, 1 - pattern]).astype(dtype))
    # right and certain costs ~0; wrong and certain costs the logit per feature
    np.testing.assert_allclose(scores, [0.0, -D * logit], atol=1e-12, rtol=1e-6)
    np.testing.assert_allclose(cost, D * logit / 2, rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)


def test_softmax_head_at_probabilities_exactly_zero_and_one():
    X, y = make_X(), make_y()
    # float64: the costs of +-800 logits are checked to 1e-9
    clf = fit_quiet(make_clf(max_iter=1, alpha=0.0, dtype=np.float64), X, y)
    clf.coefs_[-1][...] = 0.0
    clf.intercepts_[-1][...] = [800.0, -800.0, 0.0]
    proba = clf.predict_proba(X)
    assert np.all(proba[:, 0] == 1.0) and np.all(proba[:, 1] == 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_proba = clf.predict_log_proba(X)
        objective = NetworkObjective(clf, N)
        cost = objective(X, np.eye(3)[y])
    assert np.all(np.isfinite(log_proba))
    np.testing.assert_allclose(log_proba[0], [0.0, -1600.0, -800.0], atol=1e-9)
    # a third of the samples are certain and right, two thirds certain and wrong
    np.testing.assert_allclose(cost, (1600.0 + 800.0) / 3, rtol=1e-9)
    assert all(np.all(np.isfinite(g)) for g in objective.grads)
