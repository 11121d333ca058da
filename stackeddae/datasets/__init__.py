"""Datasets bundled with stackeddae."""

from ._mnist import load_mnist_5k

__all__ = ["load_mnist_5k"]
