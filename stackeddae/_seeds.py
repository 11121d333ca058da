"""Seeds: the generator of a fit, and the seeds it draws for nested estimators."""

import numpy as np
from sklearn.utils import check_random_state

# Seeds drawn for nested estimators and generators: valid for every numpy API.
_SEED_BOUND = np.iinfo(np.int32).max


def draw_seed(rng, size=None):
    """A seed (or ``size`` seeds) from a numpy ``Generator`` or ``RandomState``."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(_SEED_BOUND, size=size)
    return rng.randint(_SEED_BOUND, size=size)


def new_generator(random_state):
    """A numpy Generator seeded from a scikit-learn ``random_state``.

    The Generator drives initialisation, shuffling and corruption; an int
    ``random_state`` makes the whole fit bit-for-bit repeatable.
    """
    return np.random.default_rng(draw_seed(check_random_state(random_state)))
