"""The cache of read-only constant rows: right values, reused, bounded by bytes."""

import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from stackeddae._constant_rows import MAX_BYTES, constant_row


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_holds_its_value_read_only_and_is_made_once(dtype):
    row = constant_row(-17.0, 5, np.dtype(dtype))
    assert row.dtype == dtype and not row.flags.writeable
    assert_array_equal(row, np.full(5, -17.0, dtype))
    assert constant_row(-17.0, 5, np.dtype(dtype)) is row


def test_the_rows_kept_take_at_most_max_bytes():
    # twelve rows of a quarter of the budget each: at most four stay
    n = MAX_BYTES // 4 // 8
    rows = [
        weakref.ref(constant_row(float(value), n, np.dtype(np.float64)))
        for value in np.arange(12) + 0.5
    ]
    gc.collect()
    kept = [ref() for ref in rows if ref() is not None]
    assert 1 <= len(kept) <= 4
    assert sum(row.nbytes for row in kept) <= MAX_BYTES
    # the last made is among them, ready for the next mini-batch
    assert rows[-1]() is not None


def test_a_row_larger_than_the_budget_is_made_but_not_kept():
    n = MAX_BYTES // 8 + 1
    row = constant_row(2.5, n, np.dtype(np.float64))
    assert row.shape == (n,) and row[0] == row[-1] == 2.5
    ref = weakref.ref(row)
    del row
    gc.collect()
    assert ref() is None


def test_a_row_used_again_outlives_older_rows_not_used_since():
    # a fit's full-size mini-batch row is made first and used at every batch: rows
    # made after it must not push it out while it is in use (least recently used
    # goes first, not the oldest made)
    f64, quarter = np.dtype(np.float64), MAX_BYTES // 4 // 8
    constant_row(0.25, MAX_BYTES // 8, f64)  # fills the budget: the rest is gone
    first, second, _ = (constant_row(v, quarter, f64) for v in (1.5, 2.5, 3.5))
    assert constant_row(1.5, quarter, f64) is first  # used again
    constant_row(4.5, quarter, f64)  # the budget is full
    constant_row(5.5, quarter, f64)  # one must go: the least recently used
    assert constant_row(1.5, quarter, f64) is first
    assert constant_row(2.5, quarter, f64) is not second
