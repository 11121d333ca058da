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


CORRUPTIONS = {
    "masking": masking,
    "gaussian": gaussian,
    "salt_and_pepper": salt_and_pepper,
}

# Allowed corruption levels: a probability for masking and salt-and-pepper noise, a
# standard deviation for Gaussian noise.
LEVEL_RANGES = {
    "masking": (0.0, 1.0),
    "gaussian": (0.0, np.inf),
    "salt_and_pepper": (0.0, 1.0),
}
