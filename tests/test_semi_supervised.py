"""Unlabeled rows (``unlabeled_label``): pretraining sees every row, the supervised
loss the labeled ones, and the unlabeled term of the classifier's fine-tuning."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from support import (
    fit_quiet,
    make_clf,
    make_reg,
    numeric_gradient,
    quietly,
    record,
    warning_messages,
)
from support import relative_error as relative

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
    _supervised,
)
from stackeddae._objectives import (
    UNLABELED_LOSSES,
    NetworkObjective,
    SemiSupervisedObjective,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


def _hide(y, n_labeled, marker=-1, seed=0):
    """y with all but ``n_labeled`` rows (the first ones) set to ``marker``."""
    hidden = np.array(y, dtype=object if isinstance(marker, str) else None)
    rows = np.random.default_rng(seed).permutation(len(y))[n_labeled:]
    hidden[rows] = marker
    return hidden


@pytest.fixture
def pretrained_rows(monkeypatch):
    """The number of rows of each pretraining of this test."""
    rows = []
    fit = StackedDenoisingAutoencoder._fit

    def counting(self, X, *args, **kwargs):
        rows.append(X.shape[0])
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(StackedDenoisingAutoencoder, "_fit", counting)
    return rows


# ------------------------------------------------------ the unlabeled term


@pytest.mark.parametrize("loss", ["pseudo_label", "entropy", "spreading"])
def test_semi_supervised_objective_gradient_with_and_without_weights(loss):
    rng = np.random.default_rng(0)
    X, y = rng.random((9, 4)), np.arange(9) % 3
    clf = fit_quiet(
        make_clf(dtype=np.float64, unlabeled_loss=loss, unlabeled_weight=0.7), X, y
    )
    obj = SemiSupervisedObjective(clf, 9, ramp=0)  # the full weight at once
    for p in obj.params:
        p[...] = rng.uniform(-1, 1, p.shape)
    Y = np.eye(3)[y]
    Y[[1, 4, 5]] = 0  # unlabeled
    if loss == "spreading":  # soft targets times the weight, as the fit puts them
        Y[[1, 4, 5]] = 0.7 * rng.dirichlet(np.ones(3), size=3)
    float(obj(X, Y))
    analytic = [g.copy() for g in obj.grads]
    numeric = numeric_gradient(lambda: float(obj(X, Y)), obj.params)
    assert relative(analytic, numeric) < 1e-7
    # with sample weights a row's weight scales its whole term, labeled or not;
    # the mean is over the total weight of the mini-batch's rows
    weights = rng.uniform(0.1, 3.0, 9)
    float(obj(X, Y, weights))
    analytic = [g.copy() for g in obj.grads]
    numeric = numeric_gradient(lambda: float(obj(X, Y, weights)), obj.params)
    assert relative(analytic, numeric) < 1e-7
    # weights all 1: the unweighted objective
    np.testing.assert_allclose(obj(X, Y, np.ones(9)), obj(X, Y), rtol=1e-12)
    # integer weights: the objective of the rows repeated
    counts = np.array([2, 1, 3, 1, 2, 1, 1, 4, 1])
    weighted = float(obj(X, Y, counts.astype(float)))
    grads = [g.copy() for g in obj.grads]
    repeated = SemiSupervisedObjective(clf, counts.sum(), ramp=0)
    expected = float(repeated(np.repeat(X, counts, axis=0), np.repeat(Y, counts, 0)))
    np.testing.assert_allclose(weighted, expected, rtol=1e-12)
    for g, e in zip(grads, repeated.grads, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14)


def test_semi_supervised_objective_on_labeled_rows_is_the_network_objective():
    rng = np.random.default_rng(1)
    X, y = rng.random((9, 4)), np.arange(9) % 3
    clf = fit_quiet(make_clf(dtype=np.float64), X, y)
    Y = np.eye(3)[y]
    plain, semi = NetworkObjective(clf, 9), SemiSupervisedObjective(clf, 9, ramp=0)
    np.testing.assert_allclose(semi(X, Y), plain(X, Y), rtol=1e-12)
    for a, b in zip(semi.grads, plain.grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_unlabeled_weight_ramps_up_from_zero():
    rng = np.random.default_rng(2)
    X, y = rng.random((8, 4)), np.arange(8) % 2
    clf = fit_quiet(make_clf(dtype=np.float64, alpha=0.0, unlabeled_weight=1.0), X, y)
    Y = np.zeros((8, 2))  # all unlabeled
    clf.t_ = 0  # a fresh fit
    obj = SemiSupervisedObjective(clf, 8, ramp=16)
    costs = [float(obj(X, Y)) for _ in range(3)]  # weights 1/2, 1, 1
    assert costs[0] == pytest.approx(costs[1] / 2) and costs[1] == costs[2]
    clf.t_ = 8  # partial_fit after one mini-batch: the ramp goes on
    assert float(SemiSupervisedObjective(clf, 8, ramp=16)(X, Y)) == costs[1]


# ------------------------------------------------------ the classifier


def test_unlabeled_rows_pretrain_and_are_no_class(digits, pretrained_rows):
    X, y = digits
    y_semi = _hide(y, 60)
    clf = fit_quiet(make_clf(unlabeled_label=-1), X, y_semi)
    assert pretrained_rows == [300]
    assert_array_equal(clf.classes_, np.arange(10))
    assert -1 not in clf.predict(X)


def _recording_labels(seen):
    """An objective patch that records each mini-batch's row sums of Y (1 for a
    labeled row, 0 for an unlabeled one) and trains as usual."""
    return lambda i, obj, Xb, Yb, original: (
        seen.append(Yb.sum(axis=1)) or original(obj, Xb, Yb)
    )


def test_without_weight_fine_tuning_sees_labeled_rows_only(digits, patch_objective):
    X, y = digits
    seen = []
    patch_objective(NetworkObjective, _recording_labels(seen))
    clf = make_clf(unlabeled_label=-1, unlabeled_weight=0.0)
    clf = fit_quiet(clf, X, _hide(y, 60))
    seen = np.concatenate(seen)
    assert_array_equal(seen, 1)
    assert len(seen) == 60 * clf.n_iter_


def test_unlabeled_term_visits_unlabeled_rows(digits, patch_objective):
    X, y = digits
    seen = []
    patch_objective(SemiSupervisedObjective, _recording_labels(seen))
    clf = make_clf(
        unlabeled_label=-1, unlabeled_loss="entropy", unlabeled_weight=0.3, max_iter=4
    )
    clf = fit_quiet(clf, X, _hide(y, 60))
    seen = np.concatenate(seen)
    # an epoch: the 60 labeled rows and 60 unlabeled ones; 4 visit all 240
    assert (seen == 0).sum() == 240 and (seen == 1).sum() == 240
    assert clf.t_ == 480


def _recording_targets(seen):
    """An objective patch that records each mini-batch's Y and trains as usual."""
    return lambda i, obj, Xb, Yb, original: (
        seen.append(Yb.copy()) or original(obj, Xb, Yb)
    )


def test_by_default_unlabeled_rows_fine_tune_on_spread_labels(digits, patch_objective):
    X, y = digits
    y_semi = _hide(y, 60)
    seen = []
    patch_objective(SemiSupervisedObjective, _recording_targets(seen))
    clf = make_clf(unlabeled_label=-1, unlabeled_weight=0.5, max_iter=4)
    clf = fit_quiet(clf, X, y_semi)
    seen = np.concatenate(seen)
    sums = seen.sum(axis=1)
    labeled = np.isclose(sums, 1)
    # every labeled row and as many unlabeled ones, each a soft target of sum 0.5,
    # in each of the 3 rounds
    assert labeled.sum() == 720 and np.isclose(sums[~labeled], 0.5).sum() == 720
    soft = seen[~labeled]
    assert ((soft > 0) & (soft < 0.5)).any(axis=1).mean() > 0.5  # not one-hot
    assert len(np.unique(soft.argmax(axis=1))) == 10  # every class spread


def _recording_spread(monkeypatch):
    """The arguments of each call of ``spread_labels``, which still spreads."""
    calls = []
    original = _supervised.spread_labels
    monkeypatch.setattr(
        _supervised,
        "spread_labels",
        lambda codes, Y, k: calls.append((codes, Y, k)) or original(codes, Y, k),
    )
    return calls


def test_spread_targets_come_from_the_network_codes(digits, monkeypatch):
    # the graph is built over every hidden layer's codes, not over the inputs
    X, y = digits
    spread = _recording_spread(monkeypatch)
    clf = make_clf(
        hidden_layer_sizes=(12, 8),
        unlabeled_label=-1,
        unlabeled_neighbors=5,
        unlabeled_rounds=1,
    )
    y_semi = _hide(y, 60)
    clf = fit_quiet(clf, X, y_semi)
    [(codes, Y_labeled, k)] = spread
    assert codes.shape == (300, 12 + 8) and k == 5
    assert Y_labeled.shape == (60, 10)  # the labeled rows first, one-hot
    assert_array_equal(np.sort(Y_labeled.argmax(axis=1)), np.sort(y[y_semi != -1]))


def test_each_round_spreads_over_the_codes_of_the_last_rounds_network(
    digits, monkeypatch
):
    X, y = digits
    y_semi = _hide(y, 60)
    spread = _recording_spread(monkeypatch)
    params = dict(hidden_layer_sizes=(12, 8), unlabeled_label=-1, max_iter=5)
    once = fit_quiet(make_clf(**params, unlabeled_rounds=1), X, y_semi)
    fit_quiet(make_clf(**params, unlabeled_rounds=3), X, y_semi)
    assert len(spread) == 1 + 3
    (pretrained, *_), rounds = spread[0], [codes for codes, *_ in spread[1:]]
    # the first round over the pretrained codes, the second over the codes of
    # the network that one round fine-tuned (the labeled rows first), the third
    # over others again
    assert_array_equal(rounds[0], pretrained)
    train = np.concatenate([np.flatnonzero(y_semi != -1), np.flatnonzero(y_semi == -1)])
    np.testing.assert_allclose(
        rounds[1], np.hstack(list(once._hidden_codes(X[train]))), rtol=1e-5
    )
    assert not np.allclose(rounds[2], rounds[1])


def test_rounds_run_their_epochs_one_after_the_other(digits, patch_objective):
    X, y = digits
    seen = []
    patch_objective(SemiSupervisedObjective, _recording_labels(seen))
    clf = make_clf(unlabeled_label=-1, unlabeled_rounds=2, max_iter=3)
    clf = fit_quiet(clf, X, _hide(y, 60))
    # n_iter_ counts the epochs of both rounds, each 60 labeled and 60 unlabeled
    # rows
    assert clf.n_iter_ == 6 and clf.t_ == 6 * 120 and len(clf.loss_curve_) == 6
    assert len(np.concatenate(seen)) == 720


def test_the_stopping_rule_starts_afresh_each_round(digits):
    # a rule that stops any round after a few epochs stops each round so; were
    # its count carried over, the second round would stop after one epoch
    X, y = digits
    params = dict(unlabeled_label=-1, tol=1e6, n_iter_no_change=2, max_iter=50)
    once = fit_quiet(make_clf(**params, unlabeled_rounds=1), X, _hide(y, 60))
    twice = fit_quiet(make_clf(**params, unlabeled_rounds=2), X, _hide(y, 60))
    assert once.n_iter_ < 10 and twice.n_iter_ == 2 * once.n_iter_


def test_early_stopping_rule_starts_afresh_each_round(digits):
    # tol so large that no epoch counts as better: each round stops after
    # n_iter_no_change + 1 epochs; were the count carried over, the second
    # round would stop after one
    X, y = digits
    params = dict(unlabeled_label=-1, early_stopping=True, tol=1e6, n_iter_no_change=2)
    once = fit_quiet(make_clf(**params, unlabeled_rounds=1), X, _hide(y, 100))
    twice = fit_quiet(make_clf(**params, unlabeled_rounds=2), X, _hide(y, 100))
    assert once.n_iter_ == 3 and twice.n_iter_ == 6


def test_early_stopping_ends_on_the_best_weights_of_any_round(monkeypatch):
    # a round whose validation score never beats an earlier round's must not
    # leave its own last weights: the fit ends on the best ones, which score
    # best_validation_score_
    X, y = load_digits(return_X_y=True)
    X, y = (X[:600] / 16).astype(np.float32), _hide(y[:600], 200)
    rounds, scorers = [], []
    train = _supervised.train

    def recording(est, *args, validation=None, **kwargs):
        scorers.append(validation)
        before = est.best_validation_score_
        status = train(est, *args, validation=validation, **kwargs)
        rounds.append(est.best_validation_score_ > before)
        return status

    monkeypatch.setattr(_supervised, "train", recording)
    for seed in (1, 6):
        rounds.clear()
        clf = make_clf(
            unlabeled_label=-1,
            early_stopping=True,
            validation_fraction=0.3,
            n_iter_no_change=2,
            solver="sgd",
            learning_rate_init=0.5,
            fine_tune_corruption_level=0.0,  # the seeds were found without noise
            random_state=seed,
        )
        clf = fit_quiet(clf, X, y)
        assert not all(rounds)  # a round found no better weights
        assert scorers[-1]() == clf.best_validation_score_


def test_only_the_last_round_warns_that_it_did_not_converge(digits):
    X, y = digits
    clf = make_clf(unlabeled_label=-1, max_iter=2, unlabeled_rounds=3)
    _, caught = record(clf.fit, X, _hide(y, 60))
    assert len(warning_messages(caught, ConvergenceWarning)) == 1
    assert clf.n_iter_ == 6


def test_ctrl_c_while_spreading_keeps_the_rounds_done(digits, monkeypatch):
    X, y = digits
    calls = []
    original = _supervised.spread_labels

    def interrupted_second_time(codes, Y, k):
        calls.append(k)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(codes, Y, k)

    monkeypatch.setattr(_supervised, "spread_labels", interrupted_second_time)
    clf = make_clf(unlabeled_label=-1, max_iter=4, unlabeled_rounds=3)
    _, caught = record(clf.fit, X, _hide(y, 60))
    assert len(calls) == 2 and clf.n_iter_ == 4  # the first round's epochs
    assert clf._stop_status == "interrupted"
    assert any("interrupted by the user" in m for m in warning_messages(caught))
    assert all(np.isfinite(c).all() for c in clf.coefs_)
    assert clf.predict(X).shape == (300,)


def test_spread_labels_is_zhou_et_al_over_the_symmetric_knn_graph():
    # Zhou et al.'s iteration F <- alpha S F + (1 - alpha) Y from F = (1 - alpha) Y,
    # S = D^-1/2 W D^-1/2 with W the k-NN graph made symmetric (an edge where either
    # row is the other's neighbour; 1/2 one way, 1 both ways) and D its degrees plus
    # the row itself: after n steps, (I - (alpha S)^(n+1)) (I - alpha S)^-1 (1 -
    # alpha) Y, each row then normalised
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(40, 3))
    Y_labeled = np.eye(3)[[0, 1, 2, 0, 1]]
    k, alpha, n = 4, _supervised.SPREAD_ALPHA, _supervised.SPREAD_ITERATIONS
    distances = np.linalg.norm(codes[:, None] - codes[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    W = np.zeros((40, 40))
    W[np.arange(40)[:, None], np.argsort(distances, axis=1)[:, :k]] = 1
    W = (W + W.T) / 2
    assert (W == 0.5).any()  # some edges one way only
    scale = 1 / np.sqrt(W.sum(axis=1) + 1)
    S = scale[:, None] * W * scale[None]
    Y = np.zeros((40, 3))
    Y[:5] = Y_labeled
    fixed_point = np.linalg.solve(np.eye(40) - alpha * S, (1 - alpha) * Y)
    F = fixed_point - np.linalg.matrix_power(alpha * S, n + 1) @ fixed_point
    F /= F.sum(axis=1, keepdims=True)
    spread = _supervised.spread_labels(codes, Y_labeled, k)
    np.testing.assert_allclose(spread, F, rtol=1e-9)
    np.testing.assert_allclose(spread.sum(axis=1), 1)


def test_spread_labels_leaves_a_row_no_label_reaches_without_target():
    # two clusters far apart, labels in one only: the other's rows get zero rows
    codes = np.concatenate([np.arange(6.0), 100 + np.arange(6.0)])[:, None]
    spread = _supervised.spread_labels(codes, np.eye(2)[[0, 1]], 2)
    assert_array_equal(spread[6:], 0)
    np.testing.assert_allclose(spread[:6].sum(axis=1), 1)


def test_spreading_pays_at_few_labels(digits):
    # 3 labels per class on 300 digits: the spread targets beat the labeled rows
    X, y = digits
    labeled = np.concatenate([np.flatnonzero(y == c)[:3] for c in range(10)])
    y_semi = np.full_like(y, -1)
    y_semi[labeled] = y[labeled]
    unlabeled = y_semi == -1
    scores = {}
    for weight in (0.0, 1.0):
        clf = SdAClassifier(
            (64,), unlabeled_label=-1, unlabeled_weight=weight, random_state=0
        )
        clf = fit_quiet(clf, X, y_semi)
        scores[weight] = clf.score(X[unlabeled], y[unlabeled])
    assert scores[1.0] > scores[0.0] + 0.03


def test_partial_fit_spreads_over_a_small_chunk(digits):
    X, y = digits
    y_chunk = np.full(5, -1)
    y_chunk[:2] = y[:2]
    clf = make_clf(unlabeled_label=-1)  # 7 neighbours wanted, 4 others there
    quietly(clf.partial_fit, X[:5], y_chunk, classes=np.arange(10))
    # one spreading, one pass: the 2 labeled rows and 2 unlabeled ones
    assert clf.t_ == 4 and clf.n_iter_ == 1


@pytest.mark.parametrize("name", ["unlabeled_neighbors", "unlabeled_rounds"])
def test_spreading_parameters_are_validated(digits, name):
    X, y = digits
    with pytest.raises(ValueError, match=name):
        make_clf(unlabeled_label=-1, **{name: 0}).fit(X, _hide(y, 60))


def test_consistency_without_noise_adds_nothing():
    rng = np.random.default_rng(3)
    X, y = rng.random((9, 4)), np.arange(9) % 3
    Y = np.eye(3)[y]
    Y[[1, 4, 5]] = 0
    clf = make_clf(
        dtype=np.float64,
        alpha=0.0,
        unlabeled_loss="consistency",
        unlabeled_weight=1.0,
        corruption_level=0.0,
    )
    clf = fit_quiet(clf, X, y)
    semi, plain = SemiSupervisedObjective(clf, 9, ramp=0), NetworkObjective(clf, 6)
    # the clean prediction is the corrupted one: the unlabeled rows' term is its
    # entropy, without gradient; the labeled rows train as without unlabeled ones
    labeled = Y.sum(axis=1) == 1
    proba = clf.predict_proba(X)[~labeled]
    cost = semi(X, Y)
    expected = plain(X[labeled], Y[labeled]) * 6 / 9 - np.sum(proba * np.log(proba)) / 9
    np.testing.assert_allclose(cost, expected, rtol=1e-10)
    for g, h in zip(semi.grads, plain.grads, strict=True):
        np.testing.assert_allclose(g, h * 6 / 9, rtol=1e-9, atol=1e-14)


def test_string_labels_with_minus_one_in_an_object_array(digits):
    X, y = digits
    names = np.array(["zero", "one", "two"], dtype=object)[y % 3]
    y_semi = names.copy()
    y_semi[60:] = -1
    clf = fit_quiet(make_clf(unlabeled_label=-1), X, y_semi)
    assert_array_equal(clf.classes_, ["one", "two", "zero"])
    assert set(clf.predict(X)) <= {"zero", "one", "two"}
    assert clf.score(X, y_semi) == clf.score(X[:60], names[:60])


def test_score_uses_labeled_rows_only(digits):
    X, y = digits
    clf = fit_quiet(make_clf(unlabeled_label=-1), X, y)
    y_test = _hide(y, 100, seed=3)
    labeled = y_test != -1
    assert clf.score(X, y_test) == clf.score(X[labeled], y[labeled])
    weights = np.linspace(0.5, 1.5, 300)
    assert clf.score(X, y_test, sample_weight=weights) == clf.score(
        X[labeled], y[labeled], sample_weight=weights[labeled]
    )


def test_no_labeled_row_is_a_clear_error(digits):
    X, y = digits
    with pytest.raises(ValueError, match="every label of y is the unlabeled marker"):
        make_clf(unlabeled_label=-1).fit(X, np.full(300, -1))


def test_minus_one_plus_one_binary_stays_binary_by_default(digits):
    X, y = digits
    y_pm = np.where(y % 2, 1, -1)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*unlabeled")
        clf = fit_quiet(make_clf(), X, y_pm)
    assert_array_equal(clf.classes_, [-1, 1])
    # the marker asked for: one class left, a clear error rather than a silent fit
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_clf(unlabeled_label=-1).fit(X, y_pm)


def test_minus_one_zero_one_stays_three_classes_by_default(digits):
    X, y = digits
    y3 = y % 3 - 1
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*unlabeled")
        clf = fit_quiet(make_clf(), X, y3)
    assert_array_equal(clf.classes_, [-1, 0, 1])


def test_minus_one_on_most_rows_of_many_classes_warns(digits):
    X, y = digits
    with pytest.warns(UserWarning, match="pass unlabeled_label=-1"):
        quietly(make_clf(max_iter=1).fit, X, _hide(y, 60))


def test_early_stopping_holds_out_labeled_rows(digits):
    X, y = digits
    y_semi = _hide(y, 100)
    clf = fit_quiet(
        make_clf(unlabeled_label=-1, early_stopping=True, validation_fraction=0.2),
        X,
        y_semi,
    )
    assert clf.validation_scores_
    labeled = y_semi != -1
    Y = (y_semi[:, None] == clf.classes_).astype(np.float32)
    train, _ = clf._split_validation(X, Y, labeled)
    held_out = np.setdiff1d(np.arange(300), train)
    assert len(held_out) == 20 and labeled[held_out].all()


def test_partial_fit_with_unlabeled_rows(digits, pretrained_rows):
    X, y = digits
    y_semi = _hide(y, 60)
    clf = make_clf(unlabeled_label=-1)
    with pytest.raises(ValueError, match="unlabeled marker"):
        clf.partial_fit(X, y_semi, classes=np.arange(-1, 10))
    quietly(clf.partial_fit, X[:150], y_semi[:150], classes=np.arange(10))
    quietly(clf.partial_fit, X[150:], y_semi[150:])
    assert pretrained_rows == [150]
    assert_array_equal(clf.classes_, np.arange(10))


def test_clone_keeps_the_semi_supervised_parameters():
    clf = SdAClassifier(
        unlabeled_label=-1, unlabeled_loss="entropy", unlabeled_weight=0.3
    )
    params = clone(clf).get_params()
    assert params["unlabeled_label"] == -1 and params["unlabeled_loss"] == "entropy"
    assert params["unlabeled_weight"] == 0.3


# ------------------------------------- fine_tune_corruption_level="auto"

SPREADING_NOISE = _supervised.AUTO_FINE_TUNE_NOISE["spreading"]


def _same_fit(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(p, q)


@pytest.mark.parametrize("make", [make_clf, make_reg])
def test_auto_noise_and_dropout_are_zero_in_a_supervised_fit(digits, make):
    X, y = digits
    auto = fit_quiet(make(), X, y)
    params = auto.get_params()
    assert params["fine_tune_corruption_level"] == params["dropout"] == "auto"
    assert (auto.fine_tune_corruption_level_, auto.dropout_) == (0.0, 0.0)
    explicit = make(fine_tune_corruption_level=0.0, dropout=0.0)
    _same_fit(auto, fit_quiet(explicit, X, y))


def test_auto_noise_with_unlabeled_rows_is_the_spreading_level(digits):
    X, y = digits
    y_semi = _hide(y, 60)
    auto = fit_quiet(make_clf(unlabeled_label=-1), X, y_semi)
    assert SPREADING_NOISE > 0
    assert auto.fine_tune_corruption_level_ == SPREADING_NOISE
    level = make_clf(unlabeled_label=-1, fine_tune_corruption_level=SPREADING_NOISE)
    _same_fit(auto, fit_quiet(level, X, y_semi))
    clean = fit_quiet(
        make_clf(unlabeled_label=-1, fine_tune_corruption_level=0.0), X, y_semi
    )
    assert clean.fine_tune_corruption_level_ == 0.0
    assert not np.array_equal(auto.coefs_[0], clean.coefs_[0])


def test_auto_noise_has_a_level_for_every_unlabeled_term():
    assert set(_supervised.AUTO_FINE_TUNE_NOISE) == set(UNLABELED_LOSSES)


def test_the_noise_level_used_is_a_float(digits):
    X, y = digits
    clf = fit_quiet(make_clf(fine_tune_corruption_level=0), X, y)
    assert type(clf.fine_tune_corruption_level_) is float


def test_an_explicit_noise_level_overrides_auto(digits):
    X, y = digits
    clf = fit_quiet(make_clf(fine_tune_corruption_level=0.3), X, y)
    assert clf.fine_tune_corruption_level_ == 0.3
    clf = make_clf(unlabeled_label=-1, fine_tune_corruption_level=0.3)
    assert fit_quiet(clf, X, _hide(y, 60)).fine_tune_corruption_level_ == 0.3
    with pytest.raises(ValueError, match="fine_tune_corruption_level.*lbfgs"):
        make_clf(solver="lbfgs", fine_tune_corruption_level=0.3).fit(X, y)
    with pytest.raises(ValueError, match="fine_tune_corruption_level"):
        make_clf(fine_tune_corruption_level="none").fit(X, y)


# ---------------------------------------------------------------- dropout="auto"

SPREADING_DROPOUT = _supervised.AUTO_DROPOUT["spreading"]
PER_CLASS = _supervised.AUTO_DROPOUT_LABELED_PER_CLASS


@pytest.fixture(scope="module")
def two_digits():
    """100 rows of two classes: "auto"'s 30 labeled rows a class fit in them."""
    X, y = load_digits(return_X_y=True)
    two = np.flatnonzero(y < 2)[:100]
    return (X[two] / 16).astype(np.float32), y[two]


def _per_class(y, n):
    """y with the first ``n`` rows of each class labeled, the others -1."""
    hidden = np.full_like(y, -1)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)[:n]
        hidden[rows] = label
    return hidden


@pytest.mark.parametrize(
    "per_class, rate", [(PER_CLASS - 1, 0.0), (PER_CLASS, SPREADING_DROPOUT)]
)
def test_auto_dropout_starts_at_30_labeled_rows_a_class(two_digits, per_class, rate):
    X, y = two_digits
    y_semi = _per_class(y, per_class)
    auto = fit_quiet(make_clf(unlabeled_label=-1), X, y_semi)
    assert auto.get_params()["dropout"] == "auto"
    assert type(auto.dropout_) is float and auto.dropout_ == rate
    _same_fit(auto, fit_quiet(make_clf(unlabeled_label=-1, dropout=rate), X, y_semi))


@pytest.mark.parametrize(
    "validation_fraction, rate", [(0.1, SPREADING_DROPOUT), (0.5, 0.0)]
)
def test_auto_dropout_counts_the_labeled_rows_fine_tuning_trains_on(
    two_digits, validation_fraction, rate
):
    # 45 labeled rows a class, of which early stopping holds out its share
    X, y = two_digits
    clf = make_clf(
        unlabeled_label=-1,
        early_stopping=True,
        validation_fraction=validation_fraction,
    )
    assert fit_quiet(clf, X, _per_class(y, 45)).dropout_ == rate


def test_auto_dropout_counts_every_class_given_to_partial_fit(two_digits):
    X, y = two_digits  # 30 labeled rows of each of two classes: 20 a class of 3
    clf = make_clf(unlabeled_label=-1)
    quietly(clf.partial_fit, X, _per_class(y, PER_CLASS), classes=[0, 1, 2])
    assert clf.dropout_ == 0.0


def test_auto_dropout_is_the_spreading_rate_and_changes_the_fit(two_digits):
    X, y = two_digits
    y_semi = _per_class(y, PER_CLASS)
    assert SPREADING_DROPOUT == 0.2 and PER_CLASS == 30  # DEFAULTS.md, 8th round
    auto = fit_quiet(make_clf(unlabeled_label=-1), X, y_semi)
    undropped = fit_quiet(make_clf(unlabeled_label=-1, dropout=0.0), X, y_semi)
    assert undropped.dropout_ == 0.0
    assert not np.array_equal(auto.coefs_[0], undropped.coefs_[0])


@pytest.mark.parametrize(
    "params, noise",
    [
        (dict(unlabeled_weight=0.0), 0.0),  # the labeled rows alone
        (dict(solver="lbfgs"), 0.0),  # the labeled rows alone, neither allowed
        (dict(unlabeled_loss="entropy"), 0.0),  # terms chosen without either
        (dict(unlabeled_loss="pseudo_label"), 0.0),
        # the term corrupts every input at the first layer's level: the
        # attribute says so, and the fit is the one an explicit level gives
        (dict(unlabeled_loss="consistency", corruption_level=[0.2, 0.3]), 0.2),
    ],
)
def test_auto_noise_and_dropout_where_not_chosen_for(two_digits, params, noise):
    X, y = two_digits
    y_semi = _per_class(y, PER_CLASS)  # enough labels for the spreading's dropout
    auto = fit_quiet(make_clf(unlabeled_label=-1, **params), X, y_semi)
    assert (auto.fine_tune_corruption_level_, auto.dropout_) == (noise, 0.0)
    explicit = make_clf(
        unlabeled_label=-1, fine_tune_corruption_level=noise, dropout=0.0, **params
    )
    _same_fit(auto, fit_quiet(explicit, X, y_semi))


def test_auto_dropout_has_a_rate_for_every_unlabeled_term():
    assert set(_supervised.AUTO_DROPOUT) == set(UNLABELED_LOSSES)


def test_an_explicit_dropout_overrides_auto(digits, two_digits):
    X, y = digits
    assert fit_quiet(make_clf(dropout=0.3), X, y).dropout_ == 0.3
    clf = make_clf(unlabeled_label=-1, dropout=[0.0, 0.1])
    assert fit_quiet(clf, X, _hide(y, 60)).dropout_ == [0.0, 0.1]  # 6 a class
    X2, y2 = two_digits
    clf = make_clf(unlabeled_label=-1, dropout=0.0)
    assert fit_quiet(clf, X2, _per_class(y2, PER_CLASS)).dropout_ == 0.0
    with pytest.raises(ValueError, match="dropout.*lbfgs"):
        make_clf(solver="lbfgs", dropout=0.3).fit(X, y)
    with pytest.raises(ValueError, match="dropout"):
        make_clf(dropout="none").fit(X, y)


def test_auto_noise_and_dropout_follow_each_partial_fit_chunk(two_digits):
    X, y = two_digits
    clf = make_clf(unlabeled_label=-1)
    chunks = [  # rows, labels, then the noise level and the dropout rate of each
        (X[:60], y[:60], 0.0, 0.0),  # no unlabeled row: neither
        (X, _per_class(y, PER_CLASS), SPREADING_NOISE, SPREADING_DROPOUT),
        (X, _per_class(y, PER_CLASS - 1), SPREADING_NOISE, 0.0),  # few labels
    ]
    for i, (X_chunk, y_chunk, noise, rate) in enumerate(chunks):
        classes = [0, 1] if i == 0 else None
        quietly(clf.partial_fit, X_chunk, y_chunk, classes=classes)
        assert (clf.fine_tune_corruption_level_, clf.dropout_) == (noise, rate)
    params = clone(clf).get_params()
    assert params["fine_tune_corruption_level"] == params["dropout"] == "auto"


def test_regressor_auto_noise_and_dropout_are_zero_with_unlabeled_rows(digits):
    X, y = digits
    target = y.astype(float) / 10
    target[60:] = np.nan
    reg = fit_quiet(make_reg(unlabeled_label=np.nan), X, target)
    assert (reg.fine_tune_corruption_level_, reg.dropout_) == (0.0, 0.0)


# ------------------------------------------------------ the regressor


def test_regressor_nan_targets_raise_unless_asked(digits, pretrained_rows):
    X, y = digits
    target = y.astype(float) / 10
    target[60:] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make_reg().fit(X, target)
    reg = fit_quiet(make_reg(unlabeled_label=np.nan), X, target)
    assert pretrained_rows == [300]
    assert reg.score(X, target) == reg.score(X[:60], target[:60])


def test_regressor_row_with_some_nan_targets_raises(digits):
    X, y = digits
    Y = np.column_stack([y, y]).astype(float)
    Y[5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN targets beside numbers"):
        make_reg(unlabeled_label=np.nan).fit(X, Y)


def test_regressor_fine_tunes_on_labeled_rows_only(digits, patch_objective):
    X, y = digits
    target = y.astype(float) / 10
    target[60:] = np.nan
    batches = patch_objective(NetworkObjective)
    reg = fit_quiet(
        make_reg(unlabeled_label=np.nan, max_iter=2, batch_size=60), X, target
    )
    assert len(batches) == 2 and reg.t_ == 120
    assert np.isfinite(reg.predict(X)).all()


def test_regressor_early_stopping_scores_the_labeled_rows_averaged_r2(
    digits, monkeypatch
):
    # the held-out rows are labeled ones, and their score is r2_score's average
    # over the outputs (a second output of another scale must not dominate)
    X, y = digits
    Y = np.column_stack([y / 10, 100 * (y % 3)]).astype(float)
    Y[80:] = np.nan
    scored = []
    original = SdARegressor._validation_score

    def spy(self, X_valid, Y_valid, weights=None):
        score = original(self, X_valid, Y_valid, weights)
        scored.append((X_valid.copy(), Y_valid.copy(), score))
        return score

    monkeypatch.setattr(SdARegressor, "_validation_score", spy)
    reg = fit_quiet(
        make_reg(
            unlabeled_label=np.nan,
            early_stopping=True,
            validation_fraction=0.25,
            max_iter=1,
        ),
        X,
        Y,
    )
    ((X_valid, Y_valid, score),) = scored
    assert len(Y_valid) == 20 and np.isfinite(Y_valid).all()
    expected = r2_score(Y_valid, reg.predict(X_valid), multioutput="uniform_average")
    assert score == pytest.approx(expected, rel=1e-5)
    assert reg.validation_scores_ == [score]


# ------------------------------------------------------ cache and grid search


def test_cache_key_is_the_rows_not_the_labels(tmp_path, digits, monkeypatch):
    X, y = digits
    trainings = []
    fit = DenoisingAutoencoder._fit
    monkeypatch.setattr(
        DenoisingAutoencoder,
        "_fit",
        lambda self, *a, **k: trainings.append(1) or fit(self, *a, **k),
    )
    for n_labeled, seed in [(300, 0), (60, 0), (30, 1)]:
        quietly(
            make_clf(unlabeled_label=-1, memory=tmp_path).fit,
            X,
            _hide(y, n_labeled, seed=seed),
        )
    assert len(trainings) == 2  # two layers, trained once


def test_grid_search_scored_on_labeled_rows_shares_pretraining(
    tmp_path, digits, pretrained_rows, monkeypatch
):
    X, y = digits
    y_semi = _hide(y, 100)
    labeled, unlabeled = np.flatnonzero(y_semi != -1), np.flatnonzero(y_semi == -1)
    # every unlabeled row trains in every fold; test folds hold labeled rows
    cv = [
        (np.concatenate([unlabeled, labeled[train]]), labeled[test])
        for train, test in StratifiedKFold(2).split(labeled, y_semi[labeled])
    ]
    trainings = []
    fit = DenoisingAutoencoder._fit
    monkeypatch.setattr(
        DenoisingAutoencoder,
        "_fit",
        lambda self, *a, **k: trainings.append(1) or fit(self, *a, **k),
    )
    grid = {"learning_rate_init": [1e-3, 1e-2], "unlabeled_weight": [0.0, 1.0]}
    est = make_clf(unlabeled_label=-1, memory=tmp_path)
    search = quietly(GridSearchCV(est, grid, cv=cv).fit, X, y_semi)
    assert len(trainings) == 2 * 2 + 2  # 2 layers x 2 folds, then the refit
    assert pretrained_rows[:4] == [250] * 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # a plain splitter works too: the unlabeled rows of a test fold are not scored
    plain = quietly(
        GridSearchCV(make_clf(unlabeled_label=-1), grid, cv=2).fit, X, y_semi
    )
    assert np.isfinite(plain.cv_results_["mean_test_score"]).all()
