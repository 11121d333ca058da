"""Datasets: 5000 MNIST digits bundled with stackeddae, and all of MNIST fetched."""

from ._mnist import fetch_mnist, load_mnist_5k

__all__ = ["fetch_mnist", "load_mnist_5k"]
