"""Losses from pre-activations: costs, deltas, saturation, per-sample sums, L2."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from stackeddae._losses import (
    LOSSES,
    MINIMUM_COSTS,
    OUTPUT_ACTIVATIONS,
    bernoulli_entropy,
    cross_entropy,
    l2_penalty,
    softmax_cross_entropy,
    squared_error,
)


def _naive_cross_entropy(A, Y):
    p = 1.0 / (1.0 + np.exp(-A))
    return -(Y * np.log(p) + (1 - Y) * np.log(1 - p))


def _naive_squared_error(A, Y):
    return (A - Y) ** 2


def _naive_half_squared_error(A, Y):
    return (A - Y) ** 2 / (2 * A.shape[1])  # averaged over outputs, as scikit-learn


def _naive_softmax_cross_entropy(A, Y):
    p = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    return -Y * np.log(p)


NAIVE = {
    "cross_entropy": _naive_cross_entropy,
    "squared_error": _naive_squared_error,
    "half_squared_error": _naive_half_squared_error,
    "softmax_cross_entropy": _naive_softmax_cross_entropy,
}


def _problem(name, shape=(5, 4), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.uniform(-3, 3, shape)
    if name == "cross_entropy":
        Y = rng.random(shape)
        Y[0, :2] = [0.0, 1.0]
    elif name in ("squared_error", "half_squared_error"):
        Y = rng.standard_normal(shape)
    else:  # probabilities summing to one per row; one-hot rows too
        Y = rng.random(shape)
        Y /= Y.sum(axis=1, keepdims=True)
        Y[0] = np.eye(shape[1])[1]
    return A.astype(dtype), Y.astype(dtype)


@pytest.mark.parametrize("name", list(LOSSES))
def test_cost_matches_naive_formula(name):
    A, Y = _problem(name)
    expected = NAIVE[name](A, Y).sum()
    cost = LOSSES[name](A.copy(), Y, np.empty_like(A))
    assert_allclose(cost, expected, rtol=1e-12)


@pytest.mark.parametrize("name", list(LOSSES))
def test_delta_is_prediction_minus_target(name):
    A, Y = _problem(name)
    expected = {
        "cross_entropy": 1.0 / (1.0 + np.exp(-A)) - Y,
        "squared_error": 2 * (A - Y),
        "half_squared_error": (A - Y) / A.shape[1],
        "softmax_cross_entropy": np.exp(A) / np.exp(A).sum(axis=1, keepdims=True) - Y,
    }[name]
    delta = A.copy()
    LOSSES[name](delta, Y, np.empty_like(A))
    assert_allclose(delta, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("layout", ["contiguous", "column_view", "float64_target"])
def test_scale_multiplies_the_delta_not_the_cost(name, layout):
    # scale=1/m gives the mean cost's gradient; the BLAS path needs a contiguous A
    A, Y = _problem(name, dtype=np.float32)
    A0 = A.copy()
    expected_cost = LOSSES[name](A0, Y, np.empty_like(A))
    if layout == "column_view":
        wide = np.zeros((A.shape[0], 2 * A.shape[1]), A.dtype)
        wide[:, : A.shape[1]] = A
        A = wide[:, : A.shape[1]]
    if layout == "float64_target":
        Y = Y.astype(np.float64)
    cost = LOSSES[name](A, Y, np.empty_like(A), scale=0.25)
    assert_allclose(cost, expected_cost, rtol=1e-6)
    assert_allclose(A, 0.25 * A0, rtol=1e-5, atol=1e-7)
    if layout == "column_view":
        assert_array_equal(wide[:, A.shape[1] :], 0.0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_delta_matches_finite_differences_of_cost(name):
    A, Y = _problem(name, seed=1)
    loss = LOSSES[name]
    delta = A.copy()
    loss(delta, Y, np.empty_like(A))
    h = 1e-6
    numeric = np.empty_like(A)
    for idx in np.ndindex(A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[idx] += h
        Am[idx] -= h
        cp = loss(Ap, Y, np.empty_like(A))
        cm = loss(Am, Y, np.empty_like(A))
        numeric[idx] = (cp - cm) / (2 * h)
    assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_sample_costs_sum_to_total(name, dtype):
    A, Y = _problem(name, shape=(7, 3), seed=2, dtype=dtype)
    delta_total, delta_rows = A.copy(), A.copy()
    total = LOSSES[name](delta_total, Y, np.empty_like(A))
    rows = LOSSES[name](delta_rows, Y, np.empty_like(A), axis=1)
    assert rows.shape == (7,)
    assert_allclose(rows, NAIVE[name](A.astype(np.float64), Y).sum(axis=1), rtol=1e-5)
    assert_allclose(rows.sum(), total, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_array_equal(delta_rows, delta_total)


@pytest.mark.parametrize("name", list(LOSSES))
def test_float32_cost_close_to_float64(name):
    A, Y = _problem(name, seed=3)
    A32, Y32 = A.astype(np.float32), Y.astype(np.float32)
    c32 = LOSSES[name](A32, Y32, np.empty_like(A32))
    c64 = LOSSES[name](A.copy(), Y, np.empty_like(A))
    assert_allclose(c32, c64, rtol=1e-5)
    assert A32.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_saturated_logits_are_finite_and_exact(dtype):
    A = np.array([[1000.0, -1000.0, 1000.0, -1000.0]], dtype=dtype)
    Y = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    delta = A.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_element = cross_entropy(A.T.copy(), Y.T.copy(), np.empty_like(A.T), axis=1)
        total = cross_entropy(delta, Y, np.empty_like(A))
    assert np.all(np.isfinite(per_element))
    # exact limits: right and confident costs 0, wrong and confident costs |A|
    assert_allclose(per_element, [0.0, 0.0, 1000.0, 1000.0], rtol=1e-6, atol=1e-6)
    assert np.isfinite(total)
    assert_allclose(total, 2000.0, rtol=1e-6)
    assert_allclose(delta, [[0.0, 0.0, 1.0, -1.0]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a", [-1000.0, -750.0, -90.0, -85.0, -40.0, 40.0, 90.0, 1000])
def test_cross_entropy_wrong_and_confident_costs_the_logit(dtype, a):
    # x = 1 with logit a < 0 costs softplus(-a) ~ -a; x = 0 with a > 0 costs ~ a.
    y = 1.0 if a < 0 else 0.0
    A = np.array([[a]], dtype=dtype)
    cost = cross_entropy(A, np.array([[y]], dtype=dtype), np.empty_like(A))
    expected = np.logaddexp(0.0, abs(a))
    assert np.isfinite(cost)
    assert_allclose(cost, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_equals_softplus_form_over_a_wide_range(dtype):
    # logits from -1e4 to 1e4, beyond both dtypes' clipping points, any target
    rng = np.random.default_rng(4)
    a = np.concatenate([np.linspace(-1e4, 1e4, 401), rng.uniform(-120, 120, 400)])
    y = np.concatenate([rng.random(700), np.zeros(50), np.ones(51)])
    A = a.astype(dtype)[:, None]
    Y = y.astype(dtype)[:, None]
    a64, y64 = A[:, 0].astype(np.float64), Y[:, 0].astype(np.float64)
    expected = np.logaddexp(0.0, a64) - y64 * a64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost = cross_entropy(A, Y, np.empty_like(A), axis=1)
    assert np.all(np.isfinite(cost))
    tol = 1e-9 if dtype == np.float64 else 1e-6
    assert np.all(np.abs(cost - expected) <= tol * (np.abs(a64) + 1))
    assert_allclose(A[:, 0], expit(a64) - y64, atol=1e-6)


def test_softmax_cross_entropy_is_stable_for_large_logits():
    A = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    delta = A.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = softmax_cross_entropy(delta, Y, None, axis=1)
    assert_allclose(rows, [0.0, 1000.0], atol=1e-9)
    assert_allclose(delta, [[0.0, 0.0, 0.0], [0.0, 1.0, -1.0]], atol=1e-12)


def test_squared_error_example():
    A = np.array([[1.0, 2.0], [0.0, -1.0]])
    Y = np.array([[0.0, 0.0], [1.0, 1.0]])
    delta = A.copy()
    cost = squared_error(delta, Y, np.empty_like(A))
    assert cost == 1 + 4 + 1 + 4
    assert_array_equal(delta, [[2.0, 4.0], [-2.0, -4.0]])


def test_output_activations_are_canonical_links():
    assert OUTPUT_ACTIVATIONS == {
        "cross_entropy": "sigmoid",
        "squared_error": "identity",
        "half_squared_error": "identity",
        "softmax_cross_entropy": "softmax",
    }


def test_l2_penalty_cost_and_gradient():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    start = [rng.standard_normal(w.shape) for w in weights]
    grads = [g.copy() for g in start]
    alpha, m = 0.3, 8
    cost = l2_penalty(weights, grads, alpha, m)
    expected = 0.5 * alpha * sum((w**2).sum() for w in weights) / m
    assert_allclose(cost, expected, rtol=1e-12)
    for w, g, g0 in zip(weights, grads, start, strict=True):
        assert_allclose(g, g0 + alpha / m * w, rtol=1e-12)


def test_l2_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((2, 3))
    alpha, m, h = 0.7, 5, 1e-6
    grads = [np.zeros_like(W)]
    l2_penalty([W], grads, alpha, m)
    numeric = np.empty_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        cp = l2_penalty([Wp], [np.zeros_like(W)], alpha, m)
        cm = l2_penalty([Wm], [np.zeros_like(W)], alpha, m)
        numeric[idx] = (cp - cm) / (2 * h)
    assert_allclose(grads[0], numeric, rtol=1e-7)


def test_l2_penalty_zero_alpha_changes_nothing():
    W = np.ones((2, 2))
    g = np.full((2, 2), 3.0)
    assert l2_penalty([W], [g], 0.0, 4) == 0.0
    assert_array_equal(g, 3.0)


def test_bernoulli_entropy_against_scipy_stats():
    from scipy.stats import bernoulli

    Y = np.random.default_rng(3).random((4, 7))
    Y[0, :3] = [0.0, 1.0, 0.5]  # 0 log 0 = 0 at both ends
    expected = bernoulli(Y).entropy().sum(axis=1)
    assert_allclose(bernoulli_entropy(Y), expected, rtol=1e-12)
    assert_allclose(bernoulli_entropy(Y.astype(np.float32)), expected, rtol=1e-6)


def test_bernoulli_entropy_clips_targets_outside_the_unit_interval():
    Y = np.array([[-0.5, 0.3, 1.5]])
    assert_allclose(bernoulli_entropy(Y), bernoulli_entropy(np.clip(Y, 0, 1)))
    assert np.all(np.isfinite(bernoulli_entropy(Y)))


@pytest.mark.parametrize("name", list(MINIMUM_COSTS))
def test_minimum_cost_is_the_cost_of_a_perfect_prediction(name):
    # the cheapest prediction of Y is Y itself: logit(Y) for cross-entropy
    Y = np.random.default_rng(4).uniform(0.01, 0.99, (5, 6))
    A = np.log(Y / (1 - Y)) if name == "cross_entropy" else Y.copy()
    cost = LOSSES[name](A.copy(), Y, np.empty_like(A), axis=1)
    assert_allclose(cost, MINIMUM_COSTS[name](Y), rtol=1e-10, atol=1e-12)
    # and any other prediction costs more
    worse = LOSSES[name](A + 0.1, Y, np.empty_like(A), axis=1)
    assert np.all(worse > MINIMUM_COSTS[name](Y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_by_blas_equal_numpy_sums(dtype):
    # the cost's sums are BLAS products with ones: in total or per row, on
    # contiguous arrays and on column blocks of them
    from stackeddae._losses import _sum

    A = np.random.default_rng(0).standard_normal((6, 12)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for block in (A, A[:, 3:9]):
        assert_allclose(_sum(block, None), block.sum(dtype=np.float64), rtol=rtol)
        assert_allclose(_sum(block, 1), block.sum(axis=1, dtype=np.float64), rtol=rtol)
        assert _sum(block, 1).dtype == dtype


def test_full_batch_sums_cache_no_row_of_their_size(monkeypatch):
    # L-BFGS sums its whole batch: a cached row of ones that long would stay
    import stackeddae._losses as losses

    lengths = []
    row = losses.constant_row

    def recording(value, n, dtype):
        lengths.append(n)
        return row(value, n, dtype)

    monkeypatch.setattr(losses, "constant_row", recording)
    A = np.random.default_rng(0).random((losses._FLAT_SUM_MAX // 100 + 1, 100))
    assert_allclose(losses._sum(A, None), A.sum(), rtol=1e-12)
    assert max(lengths, default=0) <= losses._FLAT_SUM_MAX
