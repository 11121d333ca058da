"""Where the supervised estimators behave as scikit-learn's MLPClassifier/MLPRegressor.

The parameter names promise scikit-learn's meaning, so scikit-learn's MLP is the
referee: these tests pin down the behaviours in which we follow it (issue 15).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import squared_loss
from sklearn.preprocessing import StandardScaler

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._objectives import NetworkObjective


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def noisy_regression():
    X, y = make_regression(200, 10, bias=20, noise=100, random_state=7)
    return X, StandardScaler().fit_transform(y[:, None]).ravel()


def _quietly(fit, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args)


# ------------------------------------------------------------------ L-BFGS


def test_lbfgs_stopped_by_max_fun_warns(iris):
    clf = SdAClassifier(
        pretrain=False, solver="lbfgs", hidden_layer_sizes=50, max_fun=10, tol=0
    )
    with pytest.warns(ConvergenceWarning, match="max_fun=10"):
        clf.fit(*iris)
    assert clf.n_iter_ <= 10


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_lbfgs_tol_is_a_gradient_tolerance_only(noisy_regression, activation):
    # tol used as scipy's ftol too stopped these fits at R^2 0.92-0.97, "converged".
    X, y = noisy_regression
    reg = SdARegressor(
        pretrain=False,
        solver="lbfgs",
        hidden_layer_sizes=50,
        activation=activation,
        tol=1e-3,
        random_state=1,
    )
    reg = _quietly(reg.fit, X, y)
    assert reg.score(X, y) > 0.99


def test_lbfgs_warm_start_refit_keeps_improving(noisy_regression):
    X, y = noisy_regression
    reg = SdARegressor(
        pretrain=False,
        solver="lbfgs",
        hidden_layer_sizes=50,
        activation="tanh",
        tol=1e-3,
        max_iter=30,
        warm_start=True,
        random_state=1,
    )
    _quietly(reg.fit, X, y)
    before = reg.loss_
    with pytest.warns(ConvergenceWarning, match="maximum number"):
        reg.fit(X, y)
    assert reg.n_iter_ == 30 + 30  # not stopped by a relative change of the cost
    assert reg.loss_ < 0.5 * before


# ------------------------------------------------------------------ early stopping


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_validation_set_too_small_to_score_raises(Estimator):
    X, y = make_regression(n_samples=4, n_features=5, random_state=0)
    y = np.arange(4) % 2 if Estimator is SdAClassifier else y
    est = Estimator(pretrain=False, early_stopping=True, validation_fraction=0.25)
    with pytest.raises(ValueError, match="validation set is too small"):
        est.fit(X, y)


def test_classifier_validation_split_is_stratified(monkeypatch):
    # As MLPClassifier (test_early_stopping_stratified): the held-out rows have
    # the classes in the data's proportions, 180 : 16 : 4 -> 45 : 4 : 1 of 50,
    # whatever the seed; and the same seed holds out the same rows.
    y = np.repeat([0, 1, 2], [180, 16, 4])
    X = np.random.default_rng(0).random((200, 3))
    held_out = []
    score = SdAClassifier._validation_score

    def recording(self, X_valid, Y_valid, weights=None):
        held_out.append((X_valid.copy(), Y_valid.argmax(axis=1)))
        return score(self, X_valid, Y_valid, weights)

    monkeypatch.setattr(SdAClassifier, "_validation_score", recording)
    rows = []
    for seed in [0, 1, 2, 3, 4, 0]:
        clf = SdAClassifier(
            pretrain=False,
            hidden_layer_sizes=3,
            early_stopping=True,
            validation_fraction=0.25,
            max_iter=1,
            random_state=seed,
        )
        _quietly(clf.fit, X, y)
        X_valid, classes = held_out[-1]
        assert np.bincount(classes).tolist() == [45, 4, 1]
        rows.append(X_valid)
    assert_allclose(rows[-1], rows[0])  # seed 0 again
    assert not np.array_equal(rows[1], rows[0])


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_best_loss_is_none_with_early_stopping(iris, Estimator):
    X, y = iris
    est = Estimator(
        pretrain=False, hidden_layer_sizes=8, early_stopping=True, max_iter=5
    )
    _quietly(est.fit, X, y)
    assert est.best_loss_ is None
    assert len(est.validation_scores_) == 5
    est.set_params(early_stopping=False, warm_start=True)
    _quietly(est.fit, X, y)  # tracking the training loss again
    assert est.best_loss_ == min(est.loss_curve_[-5:])


def test_best_loss_is_none_with_early_stopping_for_autoencoders(iris):
    X = iris[0]
    for est in (
        DenoisingAutoencoder(
            4, early_stopping=True, max_iter=3, learning_rate_init=0.01
        ),
        StackedDenoisingAutoencoder(
            (4, 2), early_stopping=True, max_iter=3, learning_rate_init=0.01
        ),
    ):
        est.fit(X)
        layers = getattr(est, "autoencoders_", [est])
        assert all(layer.best_loss_ is None for layer in layers)


@pytest.mark.parametrize(
    "Estimator",
    [SdAClassifier, SdARegressor, DenoisingAutoencoder, StackedDenoisingAutoencoder],
)
def test_partial_fit_refuses_early_stopping(iris, Estimator):
    X, y = iris
    params = {"max_iter": 2}
    if Estimator in (SdAClassifier, SdARegressor):
        params["pretrain"] = False
    est = Estimator(early_stopping=True, **params)
    _quietly(est.fit, X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopp"):
        est.partial_fit(X, y)
    fresh = Estimator(early_stopping=True, **params)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopp"):
        fresh.partial_fit(
            X, y, **({"classes": [0, 1, 2]} if Estimator is SdAClassifier else {})
        )


@pytest.mark.parametrize(
    "Estimator",
    [SdAClassifier, SdARegressor, DenoisingAutoencoder, StackedDenoisingAutoencoder],
)
def test_n_iter_no_change_inf_never_stops_early(iris, Estimator):
    X, y = iris
    # tol so large that no epoch counts as an improvement
    params = {"tol": 1e9, "max_iter": 25, "learning_rate_init": 0.01}
    if Estimator in (SdAClassifier, SdARegressor):
        params.update(pretrain=False, hidden_layer_sizes=4)
    else:
        params[
            "hidden_layer_sizes" if "Stacked" in Estimator.__name__ else "n_components"
        ] = 3
    for patience, epochs in [(2, 4), (np.inf, 25)]:
        est = Estimator(n_iter_no_change=patience, **params)
        _quietly(est.fit, X, y)
        layers = getattr(est, "autoencoders_", [est])
        assert [layer.n_iter_ for layer in layers] == [epochs] * len(layers)


# ------------------------------------------------------------------ warm start


def test_warm_start_fit_needs_the_same_classes(iris):
    X, y = iris
    clf = SdAClassifier(
        pretrain=False, hidden_layer_sizes=2, solver="lbfgs", warm_start=True
    )
    _quietly(clf.fit, X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has"):
        clf.fit(X, (y > 0).astype(int))
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has"):
        clf.fit(X[y > 0], y[y > 0])
    _quietly(clf.fit, X, y)  # the same classes are fine
    clf.set_params(warm_start=False)
    _quietly(clf.fit, X, (y > 0).astype(int))  # a fresh fit may change them
    assert clf.classes_.tolist() == [0, 1]


# ------------------------------------------------------------------ the two choices


def test_regressor_loss_is_half_the_mean_squared_error_as_in_sklearn():
    rng = np.random.default_rng(2)
    X, Y = rng.random((9, 4)), rng.standard_normal((9, 3))
    reg = SdARegressor(
        hidden_layer_sizes=5,
        pretrain=False,
        max_iter=2,
        alpha=0.3,
        random_state=0,
        dtype=np.float64,  # against scikit-learn's float64 loss
    )
    _quietly(reg.fit, X, Y)
    penalty = 0.5 * 0.3 * sum(np.vdot(W, W) for W in reg.coefs_) / 9
    expected = squared_loss(Y, reg.predict(X)) + penalty
    assert_allclose(NetworkObjective(reg, 9)(X, Y), expected, rtol=1e-10)


@pytest.mark.parametrize(
    "ours, theirs", [(SdAClassifier, MLPClassifier), (SdARegressor, MLPRegressor)]
)
def test_n_iter_counts_every_epoch_since_the_fresh_fit(iris, ours, theirs):
    # Where we differ on purpose: scikit-learn 1.9 restarts n_iter_ at each call
    # while its loss_curve_ and t_ keep growing; ours grows with them, so that
    # n_iter_ == len(loss_curve_) and an interruption reports the epochs kept.
    X, y = iris
    common = {"hidden_layer_sizes": 4, "max_iter": 3, "warm_start": True}
    runs = {}
    for est in (ours(pretrain=False, **common), theirs(**common)):
        counts = []
        _quietly(est.fit, X, y)
        counts.append((est.n_iter_, len(est.loss_curve_), est.t_))
        est.set_params(max_iter=2)
        _quietly(est.fit, X, y)
        counts.append((est.n_iter_, len(est.loss_curve_), est.t_))
        est.partial_fit(X, y)
        counts.append((est.n_iter_, len(est.loss_curve_), est.t_))
        runs[type(est).__module__.startswith("sklearn")] = counts
    assert runs[False] == [(3, 3, 450), (5, 5, 750), (6, 6, 900)]
    assert runs[True] == [(3, 3, 450), (2, 5, 750), (1, 6, 900)]


# ------------------------------------------------------------------ sample weights


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize(
    "ours, theirs", [(SdAClassifier, MLPClassifier), (SdARegressor, MLPRegressor)]
)
def test_weighted_cost_and_gradients_are_the_mlps(ours, theirs, alpha):
    # scikit-learn's normalisation of sample weights (_backprop): the weighted mean
    # of the rows' losses, the L2 penalty and the gradients over sum(w)
    rng = np.random.default_rng(0)
    X, y = rng.random((9, 4)), np.arange(9) % 3
    # one output: for several, scikit-learn's delta is not its loss's gradient (it
    # averages the loss over the outputs, not the delta)
    Y = np.eye(3)[y] if ours is SdAClassifier else rng.standard_normal((9, 1))
    target = y if ours is SdAClassifier else Y.ravel()
    weights = rng.uniform(0.1, 3.0, 9)
    common = {"hidden_layer_sizes": 5, "alpha": alpha, "max_iter": 1}
    est = _quietly(
        ours(pretrain=False, dtype=np.float64, batch_size=9, **common).fit, X, target
    )
    mlp = _quietly(theirs(activation="logistic", **common).fit, X, target)
    mlp.coefs_ = [c.copy() for c in est.coefs_]
    mlp.intercepts_ = [b.copy() for b in est.intercepts_]
    obj = NetworkObjective(est, 9)
    cost = obj(X, Y, weights)
    n = mlp.n_layers_ - 1
    loss, coef_grads, intercept_grads = mlp._backprop(
        X, Y, weights, [X] + [None] * n, [None] * n, [None] * n, [None] * n
    )
    assert_allclose(cost, loss, rtol=1e-12)
    for g, expected in zip(obj.grads, coef_grads + intercept_grads, strict=True):
        assert_allclose(g, expected, rtol=1e-10, atol=1e-15)


def test_sample_weight_of_ones_is_no_weight_with_early_stopping():
    # scikit-learn's test_mlp_sample_weight_with_early_stopping, for ours: here
    # bit for bit, as weights all 1 take the unweighted path
    X, y = make_regression(
        n_samples=100, n_features=2, n_informative=2, random_state=42
    )
    params = dict(
        pretrain=False,
        hidden_layer_sizes=10,
        solver="adam",
        early_stopping=True,
        tol=1e-2,
        learning_rate_init=0.01,
        batch_size=10,
        random_state=42,
    )
    m1 = _quietly(SdARegressor(**params).fit, X, y, np.ones_like(y))
    m2 = _quietly(SdARegressor(**params).fit, X, y)
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))
    assert m1.validation_scores_ == m2.validation_scores_
