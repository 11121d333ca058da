"""The objectives' factored weight gradients: the factors' products are the
gradients the objectives fill otherwise (checked against finite differences in
``test_autoencoder``, ``test_supervised`` and ``test_semi_supervised``)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from support import fit_quiet, numeric_gradient, relative_error

from stackeddae import DenoisingAutoencoder, SdAClassifier, SdARegressor
from stackeddae._objectives import (
    DAEObjective,
    NetworkObjective,
    SemiSupervisedObjective,
)

N = 9


def _data(seed=0, n_features=4):
    return np.random.default_rng(seed).random((N, n_features))


def _both_ways(obj, X, Y, weights, reseed=None):
    """(cost, gradients) filled, then (cost, gradients) from the factors."""
    results = []
    for factored in (False, True):
        if reseed is not None:
            obj.rng = np.random.default_rng(reseed)  # the same noise both ways
        obj.factored = factored
        cost = float(obj(X, Y, weights))
        grads = [g.copy() for g in obj.grads]
        if factored:
            for i, factor in enumerate(obj.factors):
                if factor is not None:
                    A, B, decay = factor
                    grads[i] = A @ B + decay * obj.params[i]
        results.append((cost, grads))
    return results


def _assert_same(results):
    (cost, grads), (cost_f, grads_f) = results
    assert cost_f == cost
    for g, g_f in zip(grads, grads_f, strict=True):
        assert_allclose(g_f, g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_dae_factors_multiply_to_its_gradients(tied, alpha, weighted):
    X = _data()
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=3,
            max_iter=1,
            batch_size=N,
            tied_weights=tied,
            alpha=alpha,
            corruption_level=0.3,
            dtype=np.float64,
            random_state=0,
        ),
        X,
    )
    obj = DAEObjective(dae, N)
    weights = np.linspace(0.5, 2.0, N) if weighted else None
    results = _both_ways(obj, X, None, weights, reseed=1)
    _assert_same(results)
    factored = [i for i, f in enumerate(obj.factors) if f is not None]
    assert factored == ([0] if tied else [0, 3])  # the weight matrices


def _network(cls=SdAClassifier, activation="sigmoid", n=N, **params):
    X = np.random.default_rng(0).random((n, 4))
    y = np.arange(n) % 3
    est = fit_quiet(
        cls(
            hidden_layer_sizes=(5, 4),
            activation=activation,
            max_iter=1,
            pretrain=False,
            batch_size=n,
            dtype=np.float64,
            random_state=0,
            **params,
        ),
        X,
        y if cls is SdAClassifier else X[:, :2],
    )
    Y = np.eye(3)[y] if cls is SdAClassifier else X[:, :2]
    rng = np.random.default_rng(1)
    for p in est.coefs_ + est.intercepts_:  # a non-trivial point, head included
        p[...] = rng.uniform(-1, 1, p.shape)
    return est, X, Y


@pytest.mark.parametrize("cls", [SdAClassifier, SdARegressor])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_network_factors_multiply_to_its_gradients(cls, alpha, weighted):
    est, X, Y = _network(cls, alpha=alpha)
    obj = NetworkObjective(est, N)
    weights = np.linspace(0.5, 2.0, N) if weighted else None
    _assert_same(_both_ways(obj, X, Y, weights))
    assert [f is not None for f in obj.factors] == [True] * 3 + [False] * 3


def test_objectives_fill_gradients_unless_asked_for_factors():
    # the objectives' public meaning (what the gradient checks call) is unchanged
    X = _data()
    dae = fit_quiet(
        DenoisingAutoencoder(n_components=3, max_iter=1, batch_size=N, random_state=0),
        X,
    )
    obj = DAEObjective(dae, N)
    assert not obj.factored
    obj(X.astype(np.float32))
    assert obj.factors == [None] * 3


# ------------------------------------------------------------------ dropout


@pytest.mark.parametrize("cls", [SdAClassifier, SdARegressor])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("rates", [(0.5, 0.5), (0.3, 0.0), (0.0, 0.6)])
def test_dropout_gradient_matches_finite_differences(cls, activation, rates):
    est, X, Y = _network(cls, activation)
    obj = NetworkObjective(est, N, dropout=rates)
    weights = np.linspace(0.5, 2.0, N)

    def cost():  # the same masks at every evaluation
        obj.rng = np.random.default_rng(2)
        return float(obj(X, Y, weights))

    cost()
    analytic = [g.copy() for g in obj.grads]
    dropped = [m for m in obj.masks if m is not None]
    assert all(np.any(m == 0) and np.any(m > 0) for m in dropped)
    error = relative_error(analytic, numeric_gradient(cost, obj.params))
    assert error < 1e-7, error
    # ... and the masks change the gradient: they are not left out of it
    obj.rng = np.random.default_rng(3)
    obj(X, Y, weights)
    assert any(not np.allclose(g, a) for g, a in zip(obj.grads, analytic, strict=True))


def test_dropout_factors_multiply_to_its_gradients():
    est, X, Y = _network()
    obj = NetworkObjective(est, N, dropout=[0.5, 0.2])
    _assert_same(_both_ways(obj, X, Y, None, reseed=4))


@pytest.mark.parametrize("rates", [None, [0.0, 0.0]])
def test_zero_dropout_is_the_objective_without_it(rates):
    est, X, Y = _network()
    plain = NetworkObjective(est, N)
    cost = float(plain(X, Y))
    grads = [g.copy() for g in plain.grads]
    state = est._rng.bit_generator.state
    obj = NetworkObjective(est, N, dropout=rates)
    assert obj.dropout is None  # no buffers, no draws
    assert float(obj(X, Y)) == cost
    for g, expected in zip(obj.grads, grads, strict=True):
        np.testing.assert_array_equal(g, expected)
    assert est._rng.bit_generator.state == state


def test_dropout_drops_at_the_rate_and_scales_the_units_kept():
    n = 4000
    est, X, Y = _network(n=n)
    est.coefs_[0] = np.tile(est.coefs_[0], (1, 40))  # 200 units, 400 on top
    est.intercepts_[0] = np.tile(est.intercepts_[0], 40)
    est.coefs_[1] = np.tile(est.coefs_[1], (40, 100)) / 40
    est.intercepts_[1] = np.tile(est.intercepts_[1], 100)
    est.coefs_[2] = np.tile(est.coefs_[2], (100, 1)) / 100
    obj = NetworkObjective(est, n, dropout=[0.5, 0.2])
    obj(X, Y)
    for rate, out, mask, dropped in zip(
        (0.5, 0.2), obj.outputs, obj.masks, obj.dropped, strict=False
    ):
        kept = mask > 0
        assert abs(1 - kept.mean() - rate) < 0.01  # each unit dropped at the rate
        values = np.unique(mask)  # the scale of the realised rate, within 1e-5
        assert len(values) == 2 and values[0] == 0
        assert_allclose(values[1], 1 / (1 - rate), rtol=1e-5)
        np.testing.assert_array_equal(dropped, out * mask)
        # the expected input of the layer above is the undropped output
        assert_allclose(dropped.mean(axis=0), out.mean(axis=0), rtol=0.1)
    # the layer above reads the dropped outputs: its input to the head is not
    # the undropped network's
    np.testing.assert_array_equal(
        obj.outputs[1],
        1 / (1 + np.exp(-(obj.dropped[0] @ est.coefs_[1] + est.intercepts_[1]))),
    )


def test_dropout_keeps_float32_and_allocates_its_buffers_once():
    est, X, Y = _network()
    for name in ("coefs_", "intercepts_"):
        setattr(est, name, [p.astype(np.float32) for p in getattr(est, name)])
    obj = NetworkObjective(est, N, dropout=[0.5, 0.5])
    buffers = [id(b) for b in obj.masks + obj.dropped]
    for m in (N, 5, N):  # a shorter last mini-batch, then a full one
        obj(X[:m].astype(np.float32), Y[:m].astype(np.float32))
    assert [id(b) for b in obj.masks + obj.dropped] == buffers
    assert all(b.dtype == np.float32 for b in obj.masks + obj.dropped + obj.grads)


# (the "consistency" term's target, the clean prediction, is a constant of the
# gradient but not of finite differences: it has no such check, with or without)
@pytest.mark.parametrize("loss", ["entropy", "pseudo_label"])
def test_dropout_gradient_of_the_semi_supervised_objective(loss):
    est, X, Y = _network(unlabeled_loss=loss)
    Y[::3] = 0  # unlabeled rows
    obj = SemiSupervisedObjective(est, N, ramp=1, dropout=[0.5, 0.5])

    def cost():  # the same masks (and noise) at every evaluation
        obj.rng = np.random.default_rng(2)
        obj.seen = 0
        return float(obj(X, Y))

    cost()
    analytic = [g.copy() for g in obj.grads]
    error = relative_error(analytic, numeric_gradient(cost, obj.params))
    assert error < 1e-7, error


def test_dropout_leaves_the_consistency_target_clean():
    # the corrupted row's target is the whole network's prediction on the clean row
    est, X, Y = _network(unlabeled_loss="consistency")
    Y[::3] = 0  # unlabeled rows
    obj = SemiSupervisedObjective(est, N, ramp=1, dropout=[0.5, 0.5])
    obj(X, Y)
    np.testing.assert_allclose(obj.soft[:N], est.predict_proba(X), rtol=1e-12)
