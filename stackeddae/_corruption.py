"""Input corruption for denoising autoencoders.

Each function writes a corrupted copy of the clean mini-batch ``X`` into ``out`` (a
buffer of the same shape and dtype) and never touches ``X``.  Corruption happens only
while training; transform, predict and score see clean data.

Random numbers are drawn as 16-bit integers, compared with a threshold: several times
cheaper than float uniforms, and a probability ``level`` is realised as
``round(level * 65536) / 65536``, within 1e-5 of it.
"""

import math

import numpy as np

_RESOLUTION = 1 << 16


def _uniform16(rng, shape):
    """Uniform 16-bit integers: the generator's raw 64-bit words cut in four.

    Twice as fast as ``rng.integers(0, 2**16, dtype=np.uint16)``.
    """
    n = math.prod(shape)  # np.prod of a tuple costs 3 us, a tenth of the draw
    words = rng.bit_generator.random_raw(-(-n // 4))
    return words.view(np.uint16)[:n].reshape(shape)


def _threshold(level):
    return int(round(level * _RESOLUTION))


def masking(X, level, rng, out, low=0.0, high=1.0):
    """Set each input to 0 with probability ``level`` (Vincent et al.'s masking noise).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((1000, 100))
    >>> out = masking(X, 0.3, np.random.default_rng(0), np.empty_like(X))
    >>> round(float(1 - out.mean()), 2), float(X.min())
    (0.3, 1.0)
    """
    keep = _uniform16(rng, X.shape) >= _threshold(level)
    np.multiply(X, keep, out=out)
    return out


def gaussian(X, level, rng, out, low=0.0, high=1.0):
    """Add isotropic Gaussian noise of standard deviation ``level``."""
    rng.standard_normal(out=out, dtype=out.dtype)
    out *= level
    out += X
    return out


def salt_and_pepper(X, level, rng, out, low=0.0, high=1.0):
    """With probability ``level`` set an input to ``low`` or ``high``, a fair coin each.

    ``low`` and ``high`` are the smallest and largest values the inputs can take: 0
    and 1 for data in [0, 1].
    """
    u = _uniform16(rng, X.shape)
    np.copyto(out, X)
    half = _threshold(level / 2)
    np.copyto(out, low, where=u < half)
    np.copyto(out, high, where=(u >= half) & (u < _threshold(level)))
    return out


def swap(X, level, rng, out, low=0.0, high=1.0):
    """Swap noise: with probability ``level`` replace an input by the same
    feature's value in another row of the mini-batch, drawn uniformly.

    The tabular-data noise of Jahrer's Porto Seguro winning solution (2017): a
    swapped value is one the feature really takes, whatever its scale or type.
    The rows come from the mini-batch, not the whole training set, by measurement
    (``benchmarks/bench_swap_noise.py``): on four scikit-learn tables the codes
    gave the same downstream accuracy either way (at most 0.0023 apart), a step
    took 5-13% less time, and the mini-batch is all it needs (``partial_fit``
    chunks, sparse X).  A batch of one row has no other row and is left as is.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(4, 3)  # column j holds j, j + 3, j + 6, j + 9
    >>> out = swap(X, 0.5, np.random.default_rng(0), np.empty_like(X))
    >>> bool(np.all(out % 3 == X % 3))  # every value stays in its own column
    True
    """
    np.copyto(out, X)
    m, n = X.shape
    if m < 2:
        return out
    swapped = np.flatnonzero(_uniform16(rng, X.shape) < _threshold(level))
    # Flat index r*n + c of a swapped entry; its source is row (r + k) mod m with k
    # uniform in 1..m-1, i.e. the flat index shifted by k*n modulo m*n.
    source = rng.integers(1, m, size=swapped.size)
    source *= n
    source += swapped
    np.remainder(source, m * n, out=source)
    np.put(out, swapped, np.take(X, source))
    return out


def dropout_mask(level, rng, out):
    """Inverted dropout's mask: each entry of ``out`` set to ``1 / (1 - level)``
    (kept) or 0 (dropped, with probability ``level``), in ``out``'s dtype.

    Drawn as masking noise is (16-bit integers against a threshold), the scale
    that of the realised probability, so that a unit's expected output is
    unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> mask = dropout_mask(0.5, np.random.default_rng(0), np.empty((100, 100)))
    >>> sorted(np.unique(mask).tolist()), round(float(mask.mean()), 1)
    ([0.0, 2.0], 1.0)
    """
    # a rate within 2**-17 of 1 would drop every unit (and divide by 0): keep one
    # in _RESOLUTION
    threshold = min(_threshold(level), _RESOLUTION - 1)
    np.greater_equal(_uniform16(rng, out.shape), threshold, out=out)
    out *= _RESOLUTION / (_RESOLUTION - threshold)
    return out


CORRUPTIONS = {
    "masking": masking,
    "gaussian": gaussian,
    "salt_and_pepper": salt_and_pepper,
    "swap": swap,
}

# Allowed corruption levels: a probability for masking, salt-and-pepper and swap
# noise, a standard deviation for Gaussian noise.
LEVEL_RANGES = {
    "masking": (0.0, 1.0),
    "gaussian": (0.0, np.inf),
    "salt_and_pepper": (0.0, 1.0),
    "swap": (0.0, 1.0),
}
