"""Weight initialisation per activation (biases always start at zero)."""

import numpy as np


def init_weights(rng, n_in, n_out, activation, dtype):
    """Draw a ``(n_out, n_in)`` weight matrix, uniform in +-bound.

    bound = sqrt(6 / (n_in + n_out)) for tanh and identity (Glorot & Bengio 2010),
    four times that for the sigmoid, whose slope at 0 is a quarter of tanh's, and
    sqrt(6 / n_in) for relu (He et al. 2015).  Drawn in float64, then cast, so a
    float32 and a float64 fit with the same seed start from the same weights.

    Examples
    --------
    >>> import numpy as np
    >>> W = init_weights(np.random.default_rng(0), 784, 100, "sigmoid", np.float32)
    >>> W.shape, W.dtype, bool(np.abs(W).max() <= 4 * np.sqrt(6 / 884))
    ((100, 784), dtype('float32'), True)
    """
    if activation == "relu":
        bound = np.sqrt(6.0 / n_in)
    else:
        bound = np.sqrt(6.0 / (n_in + n_out))
        if activation == "sigmoid":
            bound *= 4.0
    return rng.uniform(-bound, bound, size=(n_out, n_in)).astype(dtype)
