"""Read-only rows of one value, made once rather than per mini-batch.

numpy vectorises ``maximum`` against an array, not against a scalar (which is 2x
slower), so the activations and losses clip against a row that broadcasts over the
rows of X; and they sum by a BLAS product with a row of ones.
"""

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def constant_row(value, n_columns, dtype):
    """A read-only row of ``value``, made once rather than per mini-batch."""
    row = np.full(n_columns, value, dtype)
    row.flags.writeable = False
    return row
