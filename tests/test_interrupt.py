"""Interruption: Ctrl-C (KeyboardInterrupt or SIGINT) in pretraining, fine-tuning,
partial_fit, inside an optimizer step, in a thread or in L-BFGS keeps the completed
work, and training resumes from there.
"""

import signal
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from support import (
    BATCHES,
    MAKERS,
    N,
    assert_equal_arrays,
    assert_finite_outputs,
    assert_finite_state,
    fit_quiet,
    layer_epochs,
    make_clf,
    make_dae,
    make_deep,
    make_stack,
    make_target,
    make_X,
    make_y,
    objective_arrays,
    partial_fit_quiet,
    raise_on,
    record,
    trained_arrays,
    warning_messages,
)

from stackeddae._objectives import DAEObjective, NetworkObjective, UnrolledObjective
from stackeddae._optimizers import SGDOptimizer


def _interrupted(caught):
    return warning_messages(caught, UserWarning)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_dae_interrupted_in_partial_fit_keeps_the_completed_mini_batches(
    monkeypatch, patch_objective, solver
):
    X = make_X()
    params = dict(solver=solver, learning_rate_init=0.01)
    snapshots = patch_objective(DAEObjective)
    reference = make_dae(**params)
    reference.partial_fit(X)
    reference.partial_fit(X)
    monkeypatch.undo()

    dae = make_dae(**params)
    dae.partial_fit(X)
    patch_objective(DAEObjective, raise_on(4))
    _, caught = record(dae.partial_fit, X)
    monkeypatch.undo()
    assert _interrupted(caught) == [
        "DenoisingAutoencoder: training interrupted by the user after 1 complete "
        "epochs; the weights of the completed mini-batches were kept. The estimator "
        "can be used, or trained further with partial_fit (or fit with "
        "warm_start=True)."
    ]
    assert dae._stop_status == "interrupted"
    assert dae.n_iter_ == 1 and len(dae.loss_curve_) == 1
    assert_equal_arrays(objective_arrays(dae), snapshots[BATCHES + 3])
    if solver == "adam":  # the optimizer counted the 3 completed steps
        assert dae._optimizer_state["t"] == BATCHES + 3
    dae.partial_fit(X)
    assert dae.n_iter_ == 2
    if solver == "adam":
        assert dae._optimizer_state["t"] == 2 * BATCHES + 3
    assert_finite_state(dae)


def test_dae_interrupted_on_its_first_mini_batch_is_usable(
    monkeypatch, patch_objective
):
    X = make_X()
    snapshots = patch_objective(DAEObjective)
    fit_quiet(make_dae(), X)
    monkeypatch.undo()
    initial = snapshots[0]

    patch_objective(DAEObjective, raise_on(1))
    dae, caught = record(fit_quiet, make_dae(), X)
    monkeypatch.undo()
    assert "after 0 complete epochs" in _interrupted(caught)[0]
    assert dae.n_iter_ == 0 and dae.loss_curve_ == []
    assert_equal_arrays(objective_arrays(dae), initial)
    assert_finite_state(dae)
    assert_finite_outputs(dae, X)

    # warm_start continues from the kept (initial) weights, not from new ones
    continued = patch_objective(DAEObjective)
    fit_quiet(dae.set_params(warm_start=True), X)
    monkeypatch.undo()
    assert_equal_arrays(continued[0], initial)
    assert dae.n_iter_ == 2


def test_interrupt_inside_the_optimizer_step_restores_the_last_epoch(
    monkeypatch, patch_objective
):
    X = make_X()
    snapshots = patch_objective(DAEObjective)
    fit_quiet(make_dae(max_iter=3), X)
    monkeypatch.undo()

    original = SGDOptimizer.update
    steps = []

    def half_applied(self, grads, factors=None):
        steps.append(1)
        original(self, grads, factors)
        if len(steps) == BATCHES + 3:
            raise KeyboardInterrupt  # after the update of only some arrays

    monkeypatch.setattr(SGDOptimizer, "update", half_applied)
    dae, caught = record(fit_quiet, make_dae(max_iter=3), X)
    monkeypatch.undo()
    # the message says that the epoch's start was restored, not that its
    # completed mini-batches were kept
    assert _interrupted(caught) == [
        "DenoisingAutoencoder: training interrupted by the user after 1 complete "
        "epochs; it came inside an optimizer step, which may have updated some "
        "arrays only, so the weights of the start of the interrupted epoch were "
        "restored (and the optimizer's state reset). The estimator can be used, or "
        "trained further with partial_fit (or fit with warm_start=True)."
    ]
    assert dae.n_iter_ == 1
    assert_equal_arrays(objective_arrays(dae), snapshots[BATCHES])
    assert_finite_state(dae)


def test_keyboard_interrupt_in_a_worker_thread(monkeypatch, patch_objective):
    X = make_X()
    handler = signal.getsignal(signal.SIGINT)
    patch_objective(DAEObjective, raise_on(3))
    with ThreadPoolExecutor(max_workers=1) as pool:
        dae, caught = pool.submit(record, fit_quiet, make_dae(), X).result()
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler
    assert "interrupted" in _interrupted(caught)[0]
    assert dae._stop_status == "interrupted"
    assert_finite_outputs(dae, X)


def test_sigint_handler_is_restored_when_fit_fails(monkeypatch, patch_objective):
    handler = signal.getsignal(signal.SIGINT)
    patch_objective(NetworkObjective, raise_on(2, RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        fit_quiet(make_clf(), make_X(), make_y())
    assert signal.getsignal(signal.SIGINT) is handler


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sigint_during_fine_tuning_stops_after_the_current_mini_batch(
    monkeypatch, patch_objective, kind
):
    X, y = make_X(), make_target(kind)
    snapshots = patch_objective(NetworkObjective)
    fit_quiet(MAKERS[kind](), X, y)
    monkeypatch.undo()

    def ctrl_c(i, self, Xb, Y, original):
        if i == 3:
            signal.raise_signal(signal.SIGINT)
        return original(self, Xb, Y)

    handler = signal.getsignal(signal.SIGINT)
    patch_objective(NetworkObjective, ctrl_c)
    est, caught = record(fit_quiet, MAKERS[kind](), X, y)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is handler
    (message,) = _interrupted(caught)
    assert message.startswith(f"{type(est).__name__}: fine-tuning training interr")
    assert est.n_iter_ == 0
    assert_equal_arrays(trained_arrays(est), snapshots[3])  # the 3rd update was applied


def test_stack_interrupted_in_layer_two_of_three(monkeypatch, patch_objective):
    X = make_X()
    params = dict(hidden_layer_sizes=(5, 4, 3))
    snapshots = patch_objective(DAEObjective)
    reference = fit_quiet(make_stack(**params), X)
    monkeypatch.undo()
    at_interrupt = 2 * BATCHES + 4  # layer 2, epoch 1, 4th mini-batch
    layer3_initial = snapshots[4 * BATCHES]

    patch_objective(DAEObjective, raise_on(at_interrupt))
    stack, caught = record(fit_quiet, make_stack(**params), X)
    monkeypatch.undo()
    (message,) = _interrupted(caught)
    assert message.startswith("DenoisingAutoencoder: layer 2/3 training interrupted")
    first, second, third = stack.autoencoders_
    assert_array_equal(layer_epochs(stack), [2, 0, 0])
    assert [first._stop_status, second._stop_status] == ["max_iter", "interrupted"]
    assert_equal_arrays(
        trained_arrays(first), trained_arrays(reference.autoencoders_[0])
    )
    assert_equal_arrays(objective_arrays(second), snapshots[at_interrupt - 1])
    # the layer above: initial weights, as a normal fit would have started it with
    assert third.n_features_in_ == 4 and third.loss_curve_ == []
    assert_equal_arrays(objective_arrays(third), layer3_initial)
    assert_finite_state(stack)
    assert_finite_outputs(stack, X)
    assert stack.transform(X).shape == (N, 3)

    partial_fit_quiet(stack, X)
    assert_array_equal(layer_epochs(stack), [3, 1, 1])
    fit_quiet(stack.set_params(warm_start=True), X)
    assert_array_equal(layer_epochs(stack), [5, 3, 3])
    assert_finite_state(stack)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("layer", [1, 2])
def test_interrupted_pretraining_skips_fine_tuning(
    monkeypatch, patch_objective, kind, layer
):
    X, y = make_X(), make_target(kind)
    at_interrupt = (layer - 1) * 2 * BATCHES + 3
    patch_objective(DAEObjective, raise_on(at_interrupt))
    fine_tuning = patch_objective(NetworkObjective)
    est, caught = record(fit_quiet, MAKERS[kind](), X, y)
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
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)
    if kind == "classifier":
        uniform = np.full((N, 3), 1 / 3, dtype=est.coefs_[0].dtype)  # zero head
        assert_array_equal(est.predict_proba(X), uniform)

    # partial_fit fine-tunes (one epoch) without pretraining again
    stack_weights = [p.copy() for p in trained_arrays(est.stack_)]
    pretraining = patch_objective(DAEObjective)
    partial_fit_quiet(est, X, y)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    # and so does a warm-started fit
    fit_quiet(est.set_params(warm_start=True), X, y)
    monkeypatch.undo()
    assert pretraining == []
    assert est.n_iter_ == 1 + 3
    assert_equal_arrays(trained_arrays(est.stack_), stack_weights)
    assert np.any(est.coefs_[-1])
    assert_finite_state(est)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("pretrain", [True, False])
def test_interrupted_fine_tuning_keeps_the_completed_mini_batches(
    monkeypatch, patch_objective, kind, pretrain
):
    X, y = make_X(), make_target(kind)
    snapshots = patch_objective(NetworkObjective)
    reference = fit_quiet(MAKERS[kind](pretrain=pretrain), X, y)
    monkeypatch.undo()
    at_interrupt = BATCHES + 3

    patch_objective(NetworkObjective, raise_on(at_interrupt))
    est, caught = record(fit_quiet, MAKERS[kind](pretrain=pretrain), X, y)
    monkeypatch.undo()
    (message,) = _interrupted(caught)
    assert "fine-tuning training interrupted by the user after 1 complete" in message
    assert not warning_messages(caught, ConvergenceWarning)
    assert est._stop_status == "interrupted"
    assert est.n_iter_ == 1 and est.loss_curve_ == reference.loss_curve_[:1]
    assert_equal_arrays(trained_arrays(est), snapshots[at_interrupt - 1])
    assert_finite_outputs(est, X, y)

    partial_fit_quiet(est, X, y)
    assert est.n_iter_ == 2
    fit_quiet(est.set_params(warm_start=True), X, y)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert_finite_state(est)


@pytest.mark.parametrize("kind", ["dae", "regressor"])
def test_lbfgs_interrupt_keeps_a_usable_estimator(monkeypatch, patch_objective, kind):
    # Ctrl-C during an L-BFGS fit: the same promise as for the stochastic solvers
    X, y = make_X(), make_target(kind)
    est = MAKERS[kind](solver="lbfgs", max_iter=20)
    cls = DAEObjective
    if kind == "regressor":
        est.set_params(pretrain=False)
        cls = NetworkObjective
    patch_objective(cls, raise_on(5))
    escaped = False
    try:
        _, caught = record(fit_quiet, est, X, y)
    except KeyboardInterrupt:  # (uncaught, it would also stop this test run)
        escaped = True
    finally:
        monkeypatch.undo()
    assert not escaped, "KeyboardInterrupt escaped from an L-BFGS fit"
    (message,) = _interrupted(caught)
    # L-BFGS counts iterations, and has no mini-batches
    after = f"interrupted by the user after {est.n_iter_} complete iterations; "
    assert after in message
    assert message.endswith(
        "the weights of the last completed iteration were kept. The estimator can "
        "be used, or trained further with fit and warm_start=True."
    )
    assert_finite_state(est)
    assert_finite_outputs(est, X, y)
    fit_quiet(est.set_params(warm_start=True), X, y)
    assert_finite_state(est)


def test_interrupted_fine_tuning_keeps_a_usable_stack(monkeypatch, patch_objective):
    X = make_X()
    patch_objective(UnrolledObjective, raise_on(8))  # epoch 2, mini-batch 2
    deep, caught = record(make_deep().fit, X)
    monkeypatch.undo()
    messages = warning_messages(caught, UserWarning)
    assert any("fine-tuning training interrupted" in m for m in messages), messages
    assert deep.fine_tune_n_iter_ == 1
    assert deep._fine_tune_stop_status == "interrupted"
    assert np.all(np.isfinite(deep.score_samples(X)))


def test_interrupted_pretraining_skips_stack_fine_tuning(monkeypatch, patch_objective):
    X = make_X()
    patch_objective(DAEObjective, raise_on(8))  # layer 2
    fine_tuning = patch_objective(UnrolledObjective)
    deep, _ = record(make_deep().fit, X)
    monkeypatch.undo()
    assert not fine_tuning and deep.fine_tune_n_iter_ == 0
