"""Divergence: a cost that overflows or turns NaN, in every estimator and phase
(pretraining, fine-tuning, partial_fit, early stopping, L-BFGS), stops the fit with a
DivergenceWarning and keeps the weights of the last finite epoch.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from support import (
    BATCHES,
    MAKERS,
    D,
    N,
    assert_equal_arrays,
    assert_finite_outputs,
    assert_finite_state,
    fit_quiet,
    layer_epochs,
    make_clf,
    make_dae,
    make_deep,
    make_reg,
    make_stack,
    make_target,
    make_X,
    make_y,
    make_y_reg,
    objective_arrays,
    partial_fit_quiet,
    record,
    return_on,
    trained_arrays,
    warning_messages,
)

from stackeddae import (
    DivergenceWarning,
    SdAClassifier,
    SdARegressor,
)
from stackeddae._objectives import DAEObjective, NetworkObjective, UnrolledObjective

DIVERGING = {
    "dae": lambda: make_dae(loss="squared_error", learning_rate_init=1e4, max_iter=5),
    "dae-adam-untied": lambda: make_dae(
        loss="squared_error",
        solver="adam",
        tied_weights=False,
        learning_rate_init=1e4,
        max_iter=5,
    ),
    "stack": lambda: make_stack(
        loss="squared_error", learning_rate_init=1e4, max_iter=5
    ),
    "classifier-fine-tuning": lambda: make_clf(learning_rate_init=1e6, momentum=0.0),
    "classifier-pretraining": lambda: make_clf(pretrain_learning_rate_init=1e6),
    "regressor-fine-tuning": lambda: make_reg(learning_rate_init=1e4),
    "regressor-no-pretraining": lambda: make_reg(
        pretrain=False, learning_rate_init=1e4
    ),
}


@pytest.mark.parametrize("case", list(DIVERGING))
def test_a_diverging_learning_rate_warns_and_leaves_finite_weights(case):
    est = DIVERGING[case]()
    X = np.random.default_rng(0).standard_normal((N, D))
    y = None
    if isinstance(est, SdAClassifier):
        y = make_y()
    elif isinstance(est, SdARegressor):
        y = 10 * make_y_reg()
    with np.errstate(all="ignore"):
        _, caught = record(fit_quiet, est, X, y)
    diverged = warning_messages(caught, DivergenceWarning)
    assert diverged, [str(w.message) for w in caught]
    for message in diverged:
        assert "Lower the learning rate (learning_rate_init)" in message
        assert "weights of the last finite epoch were kept" in message
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)
    # training continues at a sane learning rate, from finite weights
    if case == "classifier-pretraining":
        est.set_params(pretrain_learning_rate_init=0.01)
    else:
        est.set_params(learning_rate_init=0.001)
    n_iter = layer_epochs(est)
    with np.errstate(all="ignore"):
        _, caught = record(partial_fit_quiet, est, X, y)
    assert not warning_messages(caught, DivergenceWarning)
    assert layer_epochs(est) == [n + 1 for n in n_iter]
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_network_divergence_restores_the_last_finite_epoch(
    monkeypatch, patch_objective, kind, bad, solver
):
    X, y = make_X(), make_target(kind)
    params = dict(pretrain=False, solver=solver, learning_rate_init=0.01)
    snapshots = patch_objective(NetworkObjective)
    reference = fit_quiet(MAKERS[kind](**params), X, y)
    monkeypatch.undo()

    # the cost overflows in the 3rd mini-batch of epoch 2
    patch_objective(NetworkObjective, return_on(BATCHES + 3, bad))
    est, caught = record(fit_quiet, MAKERS[kind](**params), X, y)
    assert warning_messages(caught, DivergenceWarning) == [
        f"{type(est).__name__}: fine-tuning the training cost diverged (grew past a "
        "million times its initial value, or became infinite or NaN) after 1 "
        "complete epochs; training stopped and the weights of the last finite "
        "epoch were kept. Lower the learning rate (learning_rate_init) or choose an "
        "adaptive solver such as 'adam'."
    ]
    assert not warning_messages(caught, ConvergenceWarning)
    assert est._stop_status == "diverged"
    assert est.n_iter_ == 1 and est.t_ == N
    assert est.loss_curve_ == reference.loss_curve_[:1]
    assert est._optimizer_state is None
    assert_equal_arrays(trained_arrays(est), snapshots[BATCHES])  # end of epoch 1
    assert_finite_state(est)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("which", ["all", "weights"])
def test_nan_gradients_in_the_last_mini_batch_are_caught_at_the_epochs_end(
    monkeypatch, patch_objective, tied, which
):
    # the cost stays finite, but the last update of epoch 2 writes NaN weights:
    # the end-of-epoch check catches it and restores epoch 1's weights.  "weights":
    # only the weight matrices' gradients are NaN, which the loop hands over as
    # factors (the step in the product) where numpy's BLAS is reached
    X = make_X()
    snapshots = patch_objective(DAEObjective)
    fit_quiet(make_dae(tied_weights=tied, max_iter=3), X)
    monkeypatch.undo()

    def nan_gradients(i, self, Xb, Y, original):
        cost = original(self, Xb, Y)
        if i == 2 * BATCHES:
            for g in self.grads if which == "all" else self.weight_grads:
                g[...] = np.nan
            for k, factor in enumerate(self.factors):
                if factor is not None:  # NaN A: a NaN product
                    self.factors[k] = (np.full_like(factor[0], np.nan),) + factor[1:]
        return cost

    patch_objective(DAEObjective, nan_gradients)
    dae, caught = record(fit_quiet, make_dae(tied_weights=tied, max_iter=3), X)
    assert "after 1 complete epochs" in warning_messages(caught, DivergenceWarning)[0]
    assert dae.n_iter_ == 1
    assert_equal_arrays(objective_arrays(dae), snapshots[BATCHES])
    assert_finite_state(dae)


@pytest.mark.parametrize("kind", ["dae", "regressor"])
def test_divergence_in_partial_fit_keeps_the_weights_before_the_call(
    monkeypatch, patch_objective, kind
):
    X, y = make_X(), make_target(kind)
    est = MAKERS[kind](solver="adam", learning_rate_init=0.01)
    partial_fit_quiet(est, X, y)
    before = [p.copy() for p in trained_arrays(est)]
    loss_curve = list(est.loss_curve_)
    cls = NetworkObjective if kind == "regressor" else DAEObjective
    patch_objective(cls, return_on(3, np.inf))
    _, caught = record(partial_fit_quiet, est, X, y)
    assert len(warning_messages(caught, DivergenceWarning)) == 1
    monkeypatch.undo()
    assert_equal_arrays(trained_arrays(est), before)
    assert est.n_iter_ == 1 and est.loss_curve_ == loss_curve
    assert est._optimizer_state is None  # the diverged moments are dropped
    # and partial_fit starts a fresh optimizer from the kept weights
    partial_fit_quiet(est, X, y)
    assert est.n_iter_ == 2
    assert est._optimizer_state["t"] == BATCHES
    assert_finite_state(est)


def test_divergence_in_the_second_layer_of_a_stack(monkeypatch, patch_objective):
    X = make_X()
    snapshots = patch_objective(DAEObjective)
    fit_quiet(make_stack(max_iter=2), X)
    monkeypatch.undo()
    layer2_initial = snapshots[2 * BATCHES]  # the second layer's first call

    def overflow_in_layer_2(i, self, Xb, Y, original):
        cost = original(self, Xb, Y)
        return np.inf if i > 2 * BATCHES + 1 else cost

    patch_objective(DAEObjective, overflow_in_layer_2)
    stack, caught = record(fit_quiet, make_stack(max_iter=2), X)
    monkeypatch.undo()
    (message,) = warning_messages(caught, DivergenceWarning)
    assert message.startswith("DenoisingAutoencoder: layer 2/2 the training cost")
    bottom, top = stack.autoencoders_
    assert bottom._stop_status == "max_iter" and top._stop_status == "diverged"
    assert_array_equal(layer_epochs(stack), [2, 0])
    assert_equal_arrays(objective_arrays(top), layer2_initial)
    assert_finite_state(stack)
    assert_finite_outputs(stack, X)
    partial_fit_quiet(stack, X)
    assert_array_equal(layer_epochs(stack), [3, 1])
    assert_finite_state(stack)


def test_classifier_fine_tuning_divergence_keeps_the_pretrained_network():
    X, y = make_X(), make_y()
    with np.errstate(all="ignore"):
        clf, caught = record(
            fit_quiet, make_clf(learning_rate_init=1e6, momentum=0.0), X, y
        )
    assert warning_messages(caught, DivergenceWarning)
    assert clf._stop_status == "diverged" and clf.n_iter_ == 0
    # diverged in the first epoch: back to the network fine-tuning started from
    for coef, intercept, ae in zip(
        clf.coefs_, clf.intercepts_, clf.stack_.autoencoders_, strict=False
    ):
        assert_array_equal(coef, ae.components_.T)
        assert_array_equal(intercept, ae.intercept_hidden_)
    assert not np.any(clf.coefs_[-1]) and not np.any(clf.intercepts_[-1])
    uniform = np.full((N, 3), 1 / 3, dtype=clf.coefs_[0].dtype)  # softmax of zeros
    assert_array_equal(clf.predict_proba(X), uniform)
    assert_finite_state(clf)


def test_classifier_pretraining_divergence_still_fine_tunes():
    X, y = np.random.default_rng(0).standard_normal((N, D)), make_y()
    with np.errstate(all="ignore"):
        clf, caught = record(fit_quiet, make_clf(pretrain_learning_rate_init=1e6), X, y)
    messages = warning_messages(caught, DivergenceWarning)
    assert messages and all("layer" in m for m in messages)
    assert any(ae._stop_status == "diverged" for ae in clf.stack_.autoencoders_)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert_finite_state(clf)
    assert_finite_outputs(clf, X, y)


def test_divergence_with_early_stopping_keeps_the_best_finite_epoch(
    monkeypatch, patch_objective
):
    # 54 training samples in mini-batches of 9: 6 mini-batches per epoch
    X = make_X()
    params = dict(early_stopping=True, batch_size=9, max_iter=5, tol=0.0)
    snapshots = patch_objective(DAEObjective)
    fit_quiet(make_dae(**params), X)
    monkeypatch.undo()

    patch_objective(DAEObjective, return_on(2 * BATCHES + 2, np.nan))
    dae, caught = record(fit_quiet, make_dae(**params), X)
    assert warning_messages(caught, DivergenceWarning)
    assert dae.n_iter_ == 2 and len(dae.validation_scores_) == 2
    assert all(np.isfinite(dae.validation_scores_))
    best_epoch = int(np.argmax(dae.validation_scores_)) + 1
    assert_equal_arrays(objective_arrays(dae), snapshots[BATCHES * best_epoch])
    assert_finite_state(dae)


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
    monkeypatch, patch_objective, kind
):
    # L-BFGS has no learning rate, but its cost can overflow all the same: no NaN
    # may reach loss_ / loss_curve_ / the weights, and the user must be told.
    X, y = make_X(), make_target(kind)
    cls = NetworkObjective if kind == "regressor" else DAEObjective
    est = MAKERS[kind](solver="lbfgs", max_iter=20)
    if kind == "regressor":  # the first 2 * BATCHES calls are pretraining
        est.set_params(pretrain=False)
    patch_objective(cls, _nan_from(4))
    _, caught = record(fit_quiet, est, X, y)
    monkeypatch.undo()
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)
    assert warning_messages(caught, DivergenceWarning)


def test_diverged_fine_tuning_keeps_the_last_finite_epoch(monkeypatch, patch_objective):
    X = make_X()
    patch_objective(UnrolledObjective, return_on(9, np.nan))  # epoch 2
    deep, caught = record(make_deep().fit, X)
    monkeypatch.undo()
    [message] = warning_messages(caught, DivergenceWarning)
    assert message.startswith("StackedDenoisingAutoencoder: fine-tuning ")
    assert deep.fine_tune_n_iter_ == 1
    assert_finite_state(deep)
