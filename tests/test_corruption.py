"""Input corruption: noise statistics, no writes to X, dtypes and determinism."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from stackeddae._corruption import (
    CORRUPTIONS,
    dropout_mask,
    gaussian,
    masking,
    salt_and_pepper,
    swap,
)

SHAPE = (200, 500)  # 100 000 entries: fractions are within ~0.002 (1 s.d.)


def _readonly(X):
    X = np.ascontiguousarray(X)
    X.setflags(write=False)
    return X


def _data(dtype=np.float64, seed=0):
    # in [0.25, 0.75]: never equal to 0, 1 or the salt-and-pepper values
    X = 0.25 + 0.5 * np.random.default_rng(seed).random(SHAPE)
    return _readonly(X.astype(dtype))


@pytest.mark.parametrize("level", [0.1, 0.3, 0.75])
def test_masking_zeroes_the_requested_fraction_and_keeps_the_rest(level):
    X = _data()
    before = X.copy()
    out = np.empty_like(X)
    result = masking(X, level, np.random.default_rng(1), out)
    assert result is out
    masked = out == 0
    assert abs(masked.mean() - level) < 0.01
    assert_array_equal(out[~masked], X[~masked])
    assert_array_equal(X, before)


def test_masking_is_independent_across_entries():
    X = _data()
    out = masking(X, 0.5, np.random.default_rng(2), np.empty_like(X))
    per_column = (out == 0).mean(axis=0)
    per_row = (out == 0).mean(axis=1)
    # every row and column sees about half of its entries masked
    assert np.all(np.abs(per_column - 0.5) < 0.15)
    assert np.all(np.abs(per_row - 0.5) < 0.1)


@pytest.mark.parametrize("level", [0.1, 0.5, 2.0])
def test_gaussian_noise_has_the_requested_std(level):
    X = _data()
    before = X.copy()
    out = np.empty_like(X)
    result = gaussian(X, level, np.random.default_rng(3), out)
    assert result is out
    noise = out - X
    assert abs(noise.mean()) < 0.01 * level
    assert_allclose(noise.std(), level, rtol=0.01)
    assert_array_equal(X, before)


@pytest.mark.parametrize("level", [0.2, 0.5])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-2.0, 3.0)])
def test_salt_and_pepper_sets_half_low_half_high(level, low, high):
    X = _data()
    before = X.copy()
    out = np.empty_like(X)
    result = salt_and_pepper(X, level, np.random.default_rng(4), out, low, high)
    assert result is out
    is_low, is_high = out == low, out == high
    assert abs(is_low.mean() - level / 2) < 0.01
    assert abs(is_high.mean() - level / 2) < 0.01
    untouched = ~(is_low | is_high)
    assert abs(untouched.mean() - (1 - level)) < 0.01
    assert_array_equal(out[untouched], X[untouched])
    assert_array_equal(X, before)


def _labelled(shape=SHAPE):
    """X[i, j] = 1000 i + j: every value tells its row and its column."""
    rows, cols = np.indices(shape)
    return _readonly((1000.0 * rows + cols).astype(np.float32))


@pytest.mark.parametrize("level", [0.05, 0.15, 0.5])
def test_swap_takes_each_value_from_its_own_column_in_another_row(level):
    X = _labelled()
    before = X.copy()
    out = np.empty_like(X)
    assert swap(X, level, np.random.default_rng(11), out) is out
    rows, cols = np.indices(X.shape)
    assert_array_equal(out % 1000, cols)  # every value from its own column
    source = out // 1000
    swapped = source != rows  # ... and, where swapped, from another row
    assert abs(swapped.mean() - level) < 0.01
    assert_array_equal(out[~swapped], X[~swapped])
    assert_array_equal(X, before)
    # the other row is uniform over the m - 1 others: offsets 1..m-1 about equally
    offsets = (source - rows)[swapped] % SHAPE[0]
    counts = np.bincount(offsets.astype(int), minlength=SHAPE[0])
    assert counts[0] == 0
    expected = swapped.sum() / (SHAPE[0] - 1)
    assert np.all(np.abs(counts[1:] - expected) < 6 * np.sqrt(expected))


def test_swap_of_two_rows_by_hand():
    # With two rows the other row is the only source: a swap exchanges the two
    # values of a column.  At level 0.99999 (65535 / 65536) every entry is swapped
    # but for a 1 in 65536 chance, so the rows come out exchanged.
    X = _readonly(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    out = swap(X, 0.99999, np.random.default_rng(12), np.empty_like(X))
    assert_array_equal(out, [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]])
    half = swap(X, 0.5, np.random.default_rng(12), np.empty_like(X))
    assert np.all((half == X) | (half == X[::-1]))
    assert np.any(half == X) and np.any(half != X)


def test_swap_near_one_swaps_almost_everything():
    X = _labelled()
    out = swap(X, 0.999, np.random.default_rng(13), np.empty_like(X))
    assert (out != X).mean() > 0.995
    assert_array_equal(out % 1000, X % 1000)


def test_swap_leaves_a_single_row_unchanged():
    X = _labelled((1, 20))
    out = swap(X, 0.5, np.random.default_rng(14), np.full_like(X, np.nan))
    assert_array_equal(out, X)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_level_zero_leaves_data_unchanged(name, dtype):
    X = _data(dtype)
    out = np.full_like(X, np.nan)
    CORRUPTIONS[name](X, 0.0, np.random.default_rng(5), out)
    assert_array_equal(out, X)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_float32_stays_float32(name):
    X = _data(np.float32)
    out = np.empty_like(X)
    result = CORRUPTIONS[name](X, 0.3, np.random.default_rng(6), out)
    assert result.dtype == np.float32
    assert X.dtype == np.float32
    assert np.all(np.isfinite(result))
    # the corruption did something, and not everywhere
    changed = (result != X).mean()
    assert 0.2 < changed < (1.0 if name == "gaussian" else 0.4) + 1e-9


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_same_seed_same_noise_different_seed_different_noise(name):
    X = _data()
    a = CORRUPTIONS[name](X, 0.3, np.random.default_rng(7), np.empty_like(X))
    b = CORRUPTIONS[name](X, 0.3, np.random.default_rng(7), np.empty_like(X))
    c = CORRUPTIONS[name](X, 0.3, np.random.default_rng(8), np.empty_like(X))
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_successive_draws_differ(name):
    # the generator advances: two mini-batches get different noise
    X = _data()
    rng = np.random.default_rng(9)
    a = CORRUPTIONS[name](X, 0.3, rng, np.empty_like(X))
    b = CORRUPTIONS[name](X, 0.3, rng, np.empty_like(X))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_never_writes_to_a_readonly_input(name):
    X = _data()
    assert not X.flags.writeable
    out = CORRUPTIONS[name](X, 0.5, np.random.default_rng(10), np.empty_like(X))
    assert out is not X
    assert not np.shares_memory(out, X)


@pytest.mark.parametrize("level", [0.2, 0.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_drops_at_the_level_and_keeps_the_expectation(level, dtype):
    out = np.empty((500, 400), dtype)
    mask = dropout_mask(level, np.random.default_rng(0), out)
    assert mask is out and mask.dtype == dtype
    values = np.unique(mask)
    assert len(values) == 2 and values[0] == 0
    np.testing.assert_allclose(values[1], 1 / (1 - level), rtol=1e-5)
    assert abs((mask == 0).mean() - level) < 0.005
    assert abs(mask.mean() - 1) < 0.01  # a unit's expected output unchanged


def test_dropout_mask_near_one_keeps_a_unit_in_each_resolution_step():
    # a rate within 2**-17 of 1 rounds to dropping every unit: it keeps 1 in 2**16
    mask = dropout_mask(1 - 2**-18, np.random.default_rng(0), np.empty((512, 512)))
    assert np.all(np.isfinite(mask))
    assert set(np.unique(mask).tolist()) <= {0.0, 2.0**16}
