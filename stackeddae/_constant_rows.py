"""Read-only rows of one value, made once rather than per mini-batch.

numpy vectorises ``maximum`` against an array, not against a scalar (which is 2x
slower), so the activations and losses clip against a row that broadcasts over the
rows of X; and they sum by a BLAS product with a row of ones, as long as a
mini-batch.  The rows are kept while they fit in ``MAX_BYTES`` together, the least
recently used dropped first: a fit reuses its few rows at every mini-batch (its
full-size row stays while its last, shorter batch's rows come and go), and the rows
of fits long gone do not stay for the life of the process.
"""

import threading
from collections import OrderedDict

import numpy as np

# The bytes the kept rows may take together: the few rows of a fit (a flat sum of a
# float64 mini-batch of 1024 x 1024, the largest, takes 8 MiB) and then some.
MAX_BYTES = 16 << 20

_rows = OrderedDict()  # (value, n_columns, dtype) -> row, least recently used first
_kept_bytes = 0
_lock = threading.Lock()  # taken by misses only: the eviction and its count


def constant_row(value, n_columns, dtype):
    """A read-only row of ``n_columns`` times ``value`` in ``dtype``."""
    key = (value, n_columns, dtype)
    try:  # a hit takes no lock: each OrderedDict call is atomic
        _rows.move_to_end(key)
        return _rows[key]
    except KeyError:  # not kept, or dropped by another thread meanwhile
        return _make(value, n_columns, dtype)


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
            _kept_bytes -= _rows.popitem(last=False)[1].nbytes
        _rows[key] = row
        _kept_bytes += row.nbytes
    return row
