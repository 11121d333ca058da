"""Activation functions, applied in place, and their derivatives.

Every function here overwrites its argument: the training loop owns preallocated
buffers and the activations fill them, so no mini-batch allocates.  The derivatives
are written in terms of the activation's *output* (as in scikit-learn's
``sklearn/neural_network/_base.py``), which is what backpropagation has at hand.
"""

import numpy as np

from ._constant_rows import constant_row

# Below log(tiny), s(x) = exp(x) would be subnormal and exp(-x) may overflow.
_SIGMOID_FLOOR = {
    np.dtype(t): float(np.log(np.finfo(t).tiny)) for t in (np.float32, np.float64)
}


def identity(X):
    """Leave ``X`` unchanged (the linear decoder / regression head)."""
    return X


def sigmoid(X):
    """Logistic sigmoid 1 / (1 + exp(-X)), in place.

    In-place passes are about twice as fast as ``scipy.special.expit`` on float32.
    X is first clipped from below at log(tiny), where s(X) = exp(X) reaches the
    smallest normal number, so that exp(-X) cannot overflow; below it the result
    stays at tiny (1e-38 in float32) instead of falling to 0.  Clipping costs a
    third of what silencing the overflow with ``np.errstate`` costs per call.

    Examples
    --------
    >>> import numpy as np
    >>> s = sigmoid(np.array([0.0, 1000.0, -1000.0]))
    >>> s[:2], bool(0 < s[2] < 1e-300)
    (array([0.5, 1. ]), True)
    """
    np.maximum(X, constant_row(_SIGMOID_FLOOR[X.dtype], X.shape[-1], X.dtype), out=X)
    np.negative(X, out=X)
    np.exp(X, out=X)
    X += 1
    np.divide(1, X, out=X)  # 1.5x faster than np.reciprocal on float32
    return X


def tanh(X):
    """Hyperbolic tangent, in place."""
    return np.tanh(X, out=X)


def relu(X):
    """Rectified linear unit max(X, 0), in place."""
    return np.maximum(X, 0, out=X)


def softmax(X):
    """Row-wise softmax, in place, shifted by the row maximum for stability.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    X -= X.max(axis=1, keepdims=True)
    np.exp(X, out=X)
    X /= X.sum(axis=1, keepdims=True)
    return X


def identity_derivative(Z, delta):
    """Multiply ``delta`` by the derivative of the identity (a no-op)."""


def sigmoid_derivative(Z, delta):
    """Multiply ``delta`` in place by s'(a) = Z (1 - Z), Z being s(a)."""
    delta *= Z
    delta *= 1 - Z


def tanh_derivative(Z, delta):
    """Multiply ``delta`` in place by 1 - Z**2, Z being tanh(a)."""
    delta *= 1 - Z**2


def relu_derivative(Z, delta):
    """Zero ``delta`` in place where the unit was inactive (Z == 0)."""
    delta[Z == 0] = 0


ACTIVATIONS = {
    "identity": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "softmax": softmax,
}

DERIVATIVES = {
    "identity": identity_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
}

# The range of each hidden activation's output decides the loss ``"auto"`` picks
# for the layer above it in a stack.
OUTPUT_RANGES = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, np.inf),
    "identity": (-np.inf, np.inf),
}

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
# An autoencoder's code may be linear too, as the top layer of a deep autoencoder
# (Hinton & Salakhutdinov 2006); a layer above it reconstructs it with squared error.
CODE_ACTIVATIONS = (*HIDDEN_ACTIVATIONS, "identity")
