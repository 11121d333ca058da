"""Activation functions: formulas, derivatives, stability and in-place semantics."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from stackeddae._activations import (
    ACTIVATIONS,
    DERIVATIVES,
    HIDDEN_ACTIVATIONS,
    OUTPUT_RANGES,
    identity,
    relu,
    sigmoid,
    softmax,
    tanh,
)

REFERENCE = {
    "identity": lambda x: x,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)),
    "relu": lambda x: np.where(x > 0, x, 0.0),
}


def _inputs(dtype=np.float64, shape=(6, 5), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
def test_elementwise_activation_matches_formula(name):
    x = _inputs()
    expected = REFERENCE[name](x.copy())
    assert_allclose(ACTIVATIONS[name](x.copy()), expected, rtol=1e-12, atol=1e-15)


def test_softmax_matches_formula():
    x = _inputs()
    e = np.exp(x)
    expected = e / e.sum(axis=1, keepdims=True)
    assert_allclose(softmax(x.copy()), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_is_in_place_and_keeps_dtype(name, dtype):
    x = _inputs(dtype)
    original = x.copy()
    out = ACTIVATIONS[name](x)
    assert out is x
    assert out.dtype == dtype
    assert_allclose(x, REFERENCE[name](original.astype(np.float64)), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_in_place_and_keeps_dtype(dtype):
    x = _inputs(dtype)
    out = softmax(x)
    assert out is x
    assert out.dtype == dtype
    assert_allclose(x.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
def test_derivative_matches_finite_differences(name):
    # The derivative is written in terms of the activation's output Z = f(a).
    a = _inputs(seed=1)
    a[np.abs(a) < 1e-3] = 0.5  # keep relu away from its kink
    upstream = np.random.default_rng(2).standard_normal(a.shape)
    f = ACTIVATIONS[name]
    Z = f(a.copy())
    delta = upstream.copy()
    result = DERIVATIVES[name](Z, delta)
    assert result is None  # works in place
    h = 1e-6
    numeric = (f(a + h) - f(a - h)) / (2 * h)
    assert_allclose(delta, upstream * numeric, rtol=1e-7, atol=1e-9)


def test_derivatives_leave_the_output_untouched():
    a = _inputs()
    for name, derivative in DERIVATIVES.items():
        Z = ACTIVATIONS[name](a.copy())
        Z_before = Z.copy()
        derivative(Z, np.ones_like(Z))
        assert_array_equal(Z, Z_before)


def test_relu_derivative_zeroes_inactive_units():
    Z = relu(np.array([[-2.0, 0.0, 3.0, -0.1, 0.7]]))
    delta = np.full_like(Z, 5.0)
    DERIVATIVES["relu"](Z, delta)
    assert_array_equal(delta, [[0.0, 0.0, 5.0, 0.0, 5.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_extremes(dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sigmoid(x.copy())
    assert np.all(np.isfinite(out))
    # clipped at log(tiny): the far left tail is the smallest normal number, not 0
    tiny = np.finfo(dtype).tiny
    assert 0.0 < out[0] < 1.01 * tiny
    assert out[-1] == 1.0
    assert out[2] == 0.5
    assert out[3] == 1.0
    expected = expit(x.astype(np.float64))
    assert_allclose(out, expected, rtol=1e-6, atol=1.01 * tiny)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_saturates_without_nan(dtype):
    out = tanh(np.array([-1000.0, 1000.0], dtype=dtype))
    assert_array_equal(out, [-1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one_and_stable_for_large_inputs(dtype):
    x = np.array(
        [[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0], [1e4, 1e4, 1e4]],
        dtype=dtype,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = softmax(x)
    assert np.all(np.isfinite(out))
    assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    e = np.exp([1.0, 2.0, 0.0])
    assert_allclose(out[0], e / e.sum(), rtol=1e-6)
    assert_allclose(out[1], [0.0, 0.0, 1.0], atol=1e-30)
    assert_allclose(out[2], [1 / 3] * 3, rtol=1e-6)


def test_softmax_is_invariant_to_row_shifts():
    x = _inputs()
    shifted = x + np.arange(x.shape[0])[:, None] * 50.0
    assert_allclose(softmax(x.copy()), softmax(shifted), rtol=1e-10)


def test_identity_returns_its_argument():
    x = _inputs()
    assert identity(x) is x


def test_output_ranges_contain_the_outputs():
    x = _inputs() * 100
    for name in HIDDEN_ACTIVATIONS:
        low, high = OUTPUT_RANGES[name]
        out = ACTIVATIONS[name](x.copy())
        assert np.all(out >= low) and np.all(out <= high)
