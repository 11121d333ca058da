"""The mini-batch size rule of every stochastic fit, scikit-learn's."""

import warnings

import numpy as np


def effective_batch_size(batch_size, n_samples):
    """``batch_size`` clipped to [1, n_samples] with a warning, as scikit-learn does."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            f"Got `batch_size` larger than the sample size ({n_samples}). "
            "It is going to be clipped.",
            stacklevel=3,
        )
    return int(np.clip(batch_size, 1, n_samples))
