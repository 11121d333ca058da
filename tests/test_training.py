"""The shared training loop: bookkeeping, stopping rules, early stopping,
divergence, interruption and warm starts."""

import signal
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import xlogy
from sklearn.exceptions import ConvergenceWarning
from support import fit_quiet, make_clf, make_dae, make_X, raise_on

from stackeddae import (
    DenoisingAutoencoder,
    DivergenceWarning,
    SdAClassifier,
    StackedDenoisingAutoencoder,
    _blas,
)
from stackeddae._objectives import (
    DAEObjective,
    NetworkObjective,
    SemiSupervisedObjective,
)
from stackeddae._training import History, MixedRows, Settings, TrainingLoop


def _data(n=60, d=8, seed=0):
    return np.random.default_rng(seed).random((n, d))


def _cost(dae, X):
    """Mean training cost (cross-entropy) of clean X: minus the score (a mean KL
    divergence) plus the mean entropy of X, computed by hand."""
    entropy = -(xlogy(X, X) + xlogy(1 - X, 1 - X)).sum(axis=1)
    return entropy.mean() - dae.score(X)


def _dae(**params):
    return make_dae(**{"max_iter": 15, **params})  # the DenoisingAutoencoder default


# --------------------------------------------------------------- bookkeeping


def test_loss_curve_has_one_entry_per_epoch():
    X = _data()
    with pytest.warns(ConvergenceWarning, match="maximum number of epochs"):
        dae = _dae(max_iter=5, tol=0.0).fit(X)
    assert dae.n_iter_ == 5
    assert len(dae.loss_curve_) == 5
    assert dae.t_ == 5 * 60
    assert dae.loss_ == dae.loss_curve_[-1]
    assert dae.best_loss_ == min(dae.loss_curve_)
    assert all(np.isfinite(dae.loss_curve_))
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]
    assert dae.validation_scores_ is None
    assert dae.best_validation_score_ is None


def test_loss_curve_entry_is_the_epoch_mean_cost():
    # One mini-batch per epoch and no noise: epoch k's cost is the cost of the
    # weights after k - 1 updates, i.e. the clean cost of a (k - 1)-epoch fit.
    X = _data()
    params = dict(batch_size=60, corruption_level=0.0, shuffle=False, dtype=np.float64)
    one = fit_quiet(_dae(max_iter=1, **params), X)
    two = fit_quiet(_dae(max_iter=2, **params), X)
    assert_allclose(two.loss_curve_[0], one.loss_curve_[0], rtol=1e-12)
    assert_allclose(two.loss_curve_[1], _cost(one, X), rtol=1e-10)


def test_loss_curve_averages_the_mini_batch_costs(patch_objective):
    costs = []

    def spy(i, self, X, Y, original):
        cost = original(self, X, Y)
        costs.append(float(cost))
        return cost

    patch_objective(DAEObjective, spy)
    dae = fit_quiet(_dae(max_iter=2), _data())
    assert len(costs) == 12  # 6 mini-batches per epoch
    assert_allclose(dae.loss_curve_, [np.mean(costs[:6]), np.mean(costs[6:])])


OBJECTIVES = {
    "dae": (DAEObjective, lambda **p: _dae(**p)),
    "classifier": (NetworkObjective, lambda **p: make_clf(pretrain=False, **p)),
}


@pytest.mark.parametrize("kind", list(OBJECTIVES))
def test_loss_curve_is_the_mean_cost_per_sample(patch_objective, kind):
    # As scikit-learn's MLP: each mini-batch's mean cost weighs by its size, so a
    # short last mini-batch (60 rows in 25, 25 and 10) counts for its 10 rows.
    costs, sizes = [], []

    def spy(i, self, X, Y, original):
        cost = original(self, X, Y)
        costs.append(float(cost))
        sizes.append(X.shape[0])
        return cost

    cls, make = OBJECTIVES[kind]
    patch_objective(cls, spy)
    X, y = _data(), np.arange(60) % 3
    est = make(max_iter=2, batch_size=25)
    fit_quiet(est, X) if kind == "dae" else fit_quiet(est, X, y)
    assert sizes == [25, 25, 10] * 2
    per_sample = [np.dot(costs[k : k + 3], sizes[k : k + 3]) / 60 for k in (0, 3)]
    assert_allclose(est.loss_curve_, per_sample, rtol=1e-12)


def test_loss_curve_of_a_mixed_epoch_is_the_mean_cost_per_row_visited(
    patch_objective,
):
    # With unlabeled rows in fine-tuning (MixedRows), "per sample" is per row the
    # epoch visits: its 30 labeled rows and 30 of the 50 unlabeled ones, each
    # unlabeled row costing its weighted term; not per labeled row, nor per row of X.
    costs, sizes = [], []

    def spy(i, self, X, Y, original):
        cost = original(self, X, Y)
        costs.append(float(cost))
        sizes.append(X.shape[0])
        return cost

    patch_objective(SemiSupervisedObjective, spy)
    X, y = _data(n=80), np.r_[np.arange(30) % 3, np.full(50, -1)]
    est = make_clf(
        pretrain=False,
        unlabeled_label=-1,
        unlabeled_weight=0.5,
        unlabeled_rounds=1,
        max_iter=2,
        batch_size=25,
    )
    fit_quiet(est, X, y)
    assert sizes == [25, 25, 10] * 2
    per_row = [np.dot(costs[k : k + 3], sizes[k : k + 3]) / 60 for k in (0, 3)]
    assert_allclose(est.loss_curve_, per_row, rtol=1e-12)
    assert est.t_ == 2 * 60


def test_verbose_prints_one_line_per_epoch(capsys):
    fit_quiet(_dae(max_iter=3, verbose=True), _data())
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3 cost")


# --------------------------------------------------------------- stopping


def test_tol_and_n_iter_no_change_stop_early():
    # a tolerance no epoch can beat: epoch 1 improves on +inf, then
    # n_iter_no_change + 1 epochs without improvement stop training
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        dae = _dae(max_iter=50, tol=1e3, n_iter_no_change=2).fit(X)
    assert dae.n_iter_ == 4
    assert len(dae.loss_curve_) == 4
    assert dae._stop_status == "converged"


def test_stops_when_the_loss_stalls():
    # a tiny learning rate and no noise: the loss barely moves, so it does not
    # improve by tol after the first epoch
    X = _data()
    dae = _dae(
        max_iter=100,
        tol=1e-2,
        n_iter_no_change=3,
        learning_rate_init=1e-6,
        corruption_level=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        dae.fit(X)
    assert dae.n_iter_ == 5


def test_adaptive_schedule_divides_the_rate_until_it_is_tiny():
    X = _data(n=20)
    dae = _dae(
        max_iter=100,
        tol=1e3,
        n_iter_no_change=1,
        learning_rate="adaptive",
        learning_rate_init=0.1,
    )
    dae.fit(X)
    # epoch 1 improves on +inf; then every 2 epochs the rate is divided by 5
    # (8 times, 0.1 -> 2.56e-7) and the 9th time training stops
    assert dae.n_iter_ == 1 + 2 * 9
    assert_allclose(dae._optimizer_state["learning_rate"], 0.1 / 5**8)


def test_invscaling_schedule_during_fit():
    X = _data()
    dae = fit_quiet(
        _dae(max_iter=2, learning_rate="invscaling", learning_rate_init=0.2), X
    )
    assert_allclose(dae._optimizer_state["learning_rate"], 0.2 / (120 + 1) ** 0.5)


# --------------------------------------------------------------- early stopping


def _spy_on_validation(monkeypatch):
    captured = {}
    original = DenoisingAutoencoder._split_validation

    def spy(self, X, weights=None):
        X_train, validation = original(self, X, weights)
        captured["n_train"] = X_train.shape[0]
        captured["validation"] = validation
        return X_train, validation

    monkeypatch.setattr(DenoisingAutoencoder, "_split_validation", spy)
    return captured


def test_early_stopping_fills_validation_scores_and_restores_best(monkeypatch):
    captured = _spy_on_validation(monkeypatch)
    X = _data()
    dae = _dae(
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=2,
        tol=0.0,
        max_iter=30,
        batch_size=5,
        learning_rate_init=0.5,
        corruption_level=0.5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        dae.fit(X)
    scores = dae.validation_scores_
    assert captured["n_train"] == 45
    assert len(scores) == dae.n_iter_ == len(dae.loss_curve_)
    assert dae.n_iter_ < 30
    assert dae.best_validation_score_ == max(scores)
    best = int(np.argmax(scores))
    assert best < len(scores) - 1 and scores[-1] < max(scores)
    # the kept weights are the best epoch's, not the last one's
    assert_allclose(captured["validation"](), dae.best_validation_score_, rtol=1e-12)
    # and the validation score is the mean negative reconstruction cost
    assert all(s < 0 for s in scores)


class _Quadratic:
    """cost = |w|^2, for driving the training loop directly."""

    def __init__(self, batch_size):
        self.batch_size = batch_size
        self.params = [np.array([3.0, -2.0])]
        self.grads = [np.zeros(2)]

    def __call__(self, X, Y=None):
        w = self.params[0]
        self.grads[0][...] = 2 * w
        return float(w @ w)


def test_early_stopping_restores_the_best_epochs_weights():
    # the loop alone: settings, a fresh record and an objective, no estimator
    settings = Settings(
        solver="sgd",
        learning_rate_init=0.1,
        learning_rate="constant",
        power_t=0.5,
        max_iter=50,
        max_fun=15000,
        tol=0.0,
        n_iter_no_change=2,
        shuffle=False,
        verbose=0,
        n_jobs=None,
        optimizer_params={"momentum": 0.0},
    )
    history = History.fresh(early_stopping=True)
    objective = _Quadratic(batch_size=1)
    loop = TrainingLoop(objective, settings, history, np.random.default_rng(0))
    script = iter([1.0, 3.0, 2.0, 0.0, -1.0, 5.0])
    snapshots = []

    def validation():
        snapshots.append(objective.params[0].copy())
        return next(script)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = loop.run(np.zeros((2, 1)), validation=validation)
    assert status == "converged"
    assert history.n_iter_ == 5  # 3 epochs without improvement after the best (2nd)
    assert history.validation_scores_ == [1.0, 3.0, 2.0, 0.0, -1.0]
    assert history.best_validation_score_ == 3.0
    assert history.best_loss_ is None  # the validation score is what is tracked
    assert_array_equal(objective.params[0], snapshots[1])
    assert not np.array_equal(snapshots[1], snapshots[-1])


def test_classifier_early_stopping_scores_accuracy():
    rng = np.random.default_rng(1)
    y = np.arange(80) % 2
    X = np.clip(y[:, None] * 0.6 + 0.2 + 0.05 * rng.standard_normal((80, 4)), 0, 1)
    clf = SdAClassifier(
        hidden_layer_sizes=(4,),
        pretrain_max_iter=1,
        max_iter=5,
        batch_size=10,
        early_stopping=True,
        validation_fraction=0.25,
        random_state=0,
    )
    fit_quiet(clf, X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


# --------------------------------------------------------------- divergence


def test_divergence_warns_and_keeps_the_last_finite_epoch(patch_objective):
    X = np.random.default_rng(0).standard_normal((60, 8))  # standardized data
    params = dict(loss="squared_error", learning_rate_init=1e3, max_iter=15)
    with pytest.warns(DivergenceWarning, match="training cost"):
        with np.errstate(all="ignore"):
            dae = _dae(**params).fit(X)
    assert dae._stop_status == "diverged"
    assert dae.n_iter_ < 15
    assert len(dae.loss_curve_) == dae.n_iter_
    assert all(np.isfinite(dae.loss_curve_))
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        assert np.all(np.isfinite(getattr(dae, name))), name
    assert dae._optimizer_state is None
    assert np.all(np.isfinite(dae.transform(X)))
    # the weights are exactly those at the end of the last complete epoch: the
    # ones an identical fit has when it starts the next epoch (6 mini-batches each)
    snapshots = patch_objective(DAEObjective)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            _dae(**params).fit(X)
    expected = snapshots[6 * dae.n_iter_]
    kept = [dae.components_, dae.intercept_hidden_, dae.intercept_visible_]
    for p, e in zip(kept, expected, strict=True):
        assert_array_equal(p, e)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_divergence_leaves_finite_weights(activation, dtype):
    X = np.random.default_rng(3).standard_normal((60, 8)).astype(dtype)
    dae = _dae(
        max_iter=15,
        activation=activation,
        loss="squared_error",
        learning_rate_init=1e3,
        dtype=dtype,
    )
    with pytest.warns(DivergenceWarning):
        with np.errstate(all="ignore"):
            dae.fit(X)
    assert all(np.isfinite(dae.loss_curve_))
    assert np.all(np.isfinite(dae.components_))
    assert dae.components_.dtype == dtype
    assert len(dae.loss_curve_) == dae.n_iter_
    assert np.all(np.isfinite(dae.intercept_visible_))
    assert np.all(np.isfinite(dae.transform(X)))


# --------------------------------------------------------------- interruption


def test_keyboard_interrupt_keeps_completed_mini_batches(monkeypatch, patch_objective):
    X = _data()
    # reference: the weights at the start of the 9th mini-batch of a normal fit
    snapshots = patch_objective(DAEObjective)
    fit_quiet(_dae(max_iter=2), X)
    expected = snapshots[8]
    monkeypatch.undo()

    calls = patch_objective(DAEObjective, raise_on(9))
    dae = _dae(max_iter=5)
    with pytest.warns(UserWarning, match="interrupted") as record:
        dae.fit(X)
    assert not any(issubclass(w.category, ConvergenceWarning) for w in record)
    assert len(calls) == 9
    assert dae._stop_status == "interrupted"
    assert dae.n_iter_ == 1  # 6 mini-batches per epoch: the 2nd was cut short
    assert len(dae.loss_curve_) == 1
    kept = [dae.components_, dae.intercept_hidden_, dae.intercept_visible_]
    for p, e in zip(kept, expected, strict=True):
        assert_array_equal(p, e)
    monkeypatch.undo()

    # a usable estimator: it transforms, scores, and trains on
    assert dae.transform(X).shape == (60, 4)
    assert np.all(np.isfinite(dae.score_samples(X)))
    dae.partial_fit(X)
    assert dae.n_iter_ == 2
    assert len(dae.loss_curve_) == 2


def test_sigint_stops_after_the_current_mini_batch(monkeypatch, patch_objective):
    X = _data()
    snapshots = patch_objective(DAEObjective)
    fit_quiet(_dae(max_iter=2), X)
    monkeypatch.undo()

    def ctrl_c_on_third_call(i, self, X, Y, original):
        if i == 3:
            signal.raise_signal(signal.SIGINT)
        return original(self, X, Y)

    calls = patch_objective(DAEObjective, ctrl_c_on_third_call)
    handler = signal.getsignal(signal.SIGINT)
    dae = _dae(max_iter=5)
    with pytest.warns(UserWarning, match="interrupted"):
        dae.fit(X)
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    assert len(calls) == 3
    assert dae.n_iter_ == 0
    # the third mini-batch's update was applied, then training stopped
    assert_array_equal(dae.components_, snapshots[3][0])


def test_interrupted_stack_initialises_the_untrained_layers(
    monkeypatch, patch_objective
):
    X = _data()
    patch_objective(DAEObjective, raise_on(3))
    sda = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(5, 3), max_iter=2, batch_size=10, random_state=0
    )
    with pytest.warns(UserWarning, match="layer 1/2 training interrupted"):
        sda.fit(X)
    monkeypatch.undo()
    assert [ae.n_iter_ for ae in sda.autoencoders_] == [0, 0]
    assert sda.autoencoders_[1].n_features_in_ == 5
    assert sda.transform(X).shape == (60, 3)
    sda.partial_fit(X)
    assert [ae.n_iter_ for ae in sda.autoencoders_] == [1, 1]


# --------------------------------------------------------------- warm start


def test_warm_start_continues_n_iter():
    X = _data()
    dae = fit_quiet(_dae(max_iter=3, warm_start=True), X)
    assert dae.n_iter_ == 3
    fit_quiet(dae, X)
    assert dae.n_iter_ == 6
    assert len(dae.loss_curve_) == 6
    assert dae.t_ == 6 * 60
    # plain SGD carries no optimizer state: 3 + 3 epochs equal 6 epochs
    six = fit_quiet(_dae(max_iter=6), X)
    assert_allclose(dae.components_, six.components_, rtol=1e-12)
    assert_allclose(dae.loss_curve_, six.loss_curve_, rtol=1e-12)


def test_without_warm_start_fit_starts_over():
    X = _data()
    dae = fit_quiet(_dae(max_iter=3), X)
    first = dae.components_.copy()
    fit_quiet(dae, X)
    assert dae.n_iter_ == 3
    assert_array_equal(dae.components_, first)


def test_partial_fit_keeps_the_optimizer_state():
    X = _data()
    dae = _dae(solver="adam", learning_rate_init=0.01)
    dae.partial_fit(X)
    assert dae._optimizer_state["t"] == 6
    dae.partial_fit(X)
    assert dae._optimizer_state["t"] == 12


@pytest.mark.parametrize("solver", ["sgd", "adagrad", "rmsprop", "adadelta", "adam"])
def test_every_solver_reduces_the_loss(solver):
    X = _data()
    lr = {"sgd": 0.1, "adagrad": 0.1, "rmsprop": 0.01, "adadelta": 1.0, "adam": 0.01}
    dae = fit_quiet(
        _dae(solver=solver, learning_rate_init=lr[solver], max_iter=5, momentum=0.5),
        X,
    )
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]


def test_lbfgs_fit():
    X = _data(n=30)
    dae = fit_quiet(
        _dae(solver="lbfgs", max_iter=10, corruption_level=0.0, dtype=np.float64), X
    )
    assert 1 <= dae.n_iter_ <= 10
    assert len(dae.loss_curve_) == dae.n_iter_
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]
    assert_allclose(dae.loss_, _cost(dae, X), rtol=1e-10)
    assert not hasattr(dae, "partial_fit")


def test_partial_fit_over_chunks_reaches_the_cost_of_fit():
    """Epochs of partial_fit over ten chunks end close to fit on the whole."""
    from stackeddae.datasets import load_mnist_5k

    X = load_mnist_5k(return_X_y=True)[0][::5]
    params = dict(n_components=32, corruption_level=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = DenoisingAutoencoder(max_iter=5, **params).fit(X)
    chunked = DenoisingAutoencoder(**params)
    for _ in range(5):
        for chunk in np.array_split(X, 10):
            chunked.partial_fit(chunk)
    assert chunked.n_iter_ == 50
    cost_full, cost_chunked = _cost(full, X), _cost(chunked, X)
    assert abs(cost_chunked - cost_full) / cost_full < 0.03


def test_progress_bar_with_verbose_2(capsys):
    pytest.importorskip("tqdm")
    X = np.random.default_rng(0).random((60, 6))
    StackedDenoisingAutoencoder((4, 2), max_iter=2, verbose=2, random_state=0).fit(X)
    err = capsys.readouterr().err
    assert "layer 1/2" in err and "layer 2/2" in err


def test_mixed_rows_pair_the_labeled_rows_with_a_cycle_of_unlabeled_ones():
    labeled, unlabeled = np.arange(4), np.arange(4, 14)
    rows, rng = MixedRows(labeled, unlabeled), np.random.default_rng(0)
    epochs = [rows.epoch(rng, shuffle=True) for _ in range(5)]
    assert len(rows) == 8 and all(len(e) == 8 for e in epochs)
    for epoch in epochs:  # every labeled row once, and 4 unlabeled ones
        assert_array_equal(np.sort(epoch[epoch < 4]), labeled)
    # 5 epochs take 20 unlabeled rows: each of the 10 twice, as two cycles
    visits = np.bincount(np.concatenate(epochs), minlength=14)[4:]
    assert_array_equal(visits, 2)
    # without shuffling, in order; fewer unlabeled rows than labeled: all of them
    few = MixedRows(np.arange(5), np.arange(5, 8))
    assert_array_equal(few.epoch(rng, shuffle=False), np.arange(8))


@pytest.mark.parametrize("solver, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0)])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fits_take_the_weight_gradients_as_factors(
    monkeypatch, patch_objective, solver, momentum, alpha, dtype
):
    # the loop hands the optimizer the factors of the weight gradients (plain SGD
    # steps in the product); the fit is the one of filled gradients, to rounding
    X = make_X()
    params = dict(solver=solver, momentum=momentum, alpha=alpha, dtype=dtype)
    modes = []
    patch_objective(
        DAEObjective,
        lambda i, obj, X, Y, call: modes.append(obj.factored) or call(obj, X, Y),
    )
    factored = fit_quiet(make_dae(**params), X)
    monkeypatch.setattr("stackeddae._training.blas_available", lambda dtype: False)
    filled = fit_quiet(make_dae(**params), X)
    assert modes and all(modes[: len(modes) // 2])
    assert not any(modes[len(modes) // 2 :])
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    assert_allclose(factored.components_, filled.components_, **tol)
    assert_allclose(factored.intercept_hidden_, filled.intercept_hidden_, **tol)


def _factored_modes(patch_objective):
    """Each DAEObjective call's ``factored``, and the objectives called."""
    modes, objectives = [], []

    def spy(i, obj, X, Y, call):
        modes.append(obj.factored)
        objectives.append(obj)
        return call(obj, X, Y)

    patch_objective(DAEObjective, spy)
    return modes, objectives


def test_a_dtype_without_numpys_gemm_fills_the_gradients(monkeypatch, patch_objective):
    # numpy's gemm found for float64 only: a float32 fit must not hand over
    # factors that the optimizer would then multiply by numpy, allocating
    found = _blas._functions()
    float64_only = {d: f for d, f in found.items() if d == np.dtype(np.float64)}
    monkeypatch.setattr(_blas, "_functions", lambda: float64_only)
    modes, _ = _factored_modes(patch_objective)
    fit_quiet(make_dae(dtype=np.float32), make_X())
    assert modes and not any(modes)
    modes.clear()
    fit_quiet(make_dae(dtype=np.float64), make_X())
    assert modes and all(modes)


def test_the_objective_fills_its_gradients_again_after_the_fit(patch_objective):
    # factored is the loop's setting for its run, not the objective's for good
    modes, objectives = _factored_modes(patch_objective)
    fit_quiet(make_dae(), make_X())
    assert all(modes)
    assert not objectives[-1].factored
