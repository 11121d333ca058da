"""Read-only rows of one value, made once rather than per mini-batch.

numpy vectorises ``maximum`` against an array, not against a scalar (which is 2x
slower), so the activations and losses clip against a row that broadcasts over the
rows of X; and they sum by a BLAS product with a row of ones, as long as a
mini-batch.  The rows are kept while they fit in ``MAX_BYTES`` together, the oldest
made dropped first: a fit reuses its few rows at every mini-batch, and the rows of
fits long gone do not stay for the life of the process.
"""

import threading

import numpy as np

# The bytes the kept rows may take together: the few rows of a fit (a flat sum of a
# float64 mini-batch of 1024 x 1024, the largest, takes 8 MiB) and then some.
MAX_BYTES = 16 << 20

_rows = {}  # (value, n_columns, dtype) -> row, in the order they were made
_kept_bytes = 0
_lock = threading.Lock()  # taken by misses only: the eviction and its count


def constant_row(value, n_columns, dtype):
    """A read-only row of ``n_columns`` times ``value`` in ``dtype``."""
    row = _rows.get((value, n_columns, dtype))
    if row is None:
        row = _make(value, n_columns, dtype)
    return row


def _make(value, n_columns, dtype):
    global _kept_bytes
    row = np.full(n_columns, value, dtype)
    row.flags.writeable = False
    if row.nbytes > MAX_BYTES:
        return row  # used once, never kept
    with _lock:
        key = (value, n_columns, dtype)
        if key in _rows:  # another thread made it meanwhile
            return _rows[key]
        while _kept_bytes + row.nbytes > MAX_BYTES:
            _kept_bytes -= _rows.pop(next(iter(_rows))).nbytes
        _rows[key] = row
        _kept_bytes += row.nbytes
    return row
