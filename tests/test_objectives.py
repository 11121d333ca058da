"""The objectives' factored weight gradients: the factors' products are the
gradients the objectives fill otherwise (checked against finite differences in
``test_autoencoder``, ``test_supervised`` and ``test_semi_supervised``)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from support import fit_quiet

from stackeddae import DenoisingAutoencoder, SdAClassifier, SdARegressor
from stackeddae._objectives import DAEObjective, NetworkObjective

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


@pytest.mark.parametrize("cls", [SdAClassifier, SdARegressor])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_network_factors_multiply_to_its_gradients(cls, alpha, weighted):
    X = _data()
    y = np.arange(N) % 3
    est = fit_quiet(
        cls(
            hidden_layer_sizes=(5, 4),
            max_iter=1,
            pretrain=False,
            alpha=alpha,
            batch_size=N,
            dtype=np.float64,
            random_state=0,
        ),
        X,
        y if cls is SdAClassifier else X[:, :2],
    )
    Y = np.eye(3)[y] if cls is SdAClassifier else X[:, :2]
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
