"""Losses computed from an output layer's pre-activations.

Each loss pairs with the output activation of its canonical link (cross-entropy with the
sigmoid, softmax cross-entropy with the softmax, squared error with the identity), so
the gradient with respect to the pre-activation is simply ``prediction - target``
(times 2 for squared error) and the cost can be computed stably from the
pre-activation, never from a saturated probability.

Signature: ``loss(A, Y, work, axis=None, scale=1.0) -> cost``.  ``A`` holds the
pre-activations and is overwritten with ``scale`` times the gradient of the *summed*
cost with respect to them (``scale=1/m`` gives the mean cost's gradient without a pass
of its own); ``work`` is a scratch buffer shaped like ``A``.  The cost is summed over
everything (``axis=None``) or per sample (``axis=1``).  Nothing is allocated beyond a
row vector.

Every BLAS call here is numpy's: scipy's BLAS is another OpenBLAS with a thread pool
of its own, whose threads and numpy's, spinning after a call, took each other's cores
(a numpy product then a scipy axpy: 0.25 ms on one thread, 11 ms on two).
"""

import numpy as np
from scipy.special import entr

from ._constant_rows import constant_row

# Below -clip, softplus(A) and s(A) are under the dtype's epsilon (e^-17 = 4e-8,
# e^-37 = 9e-17): clipping there changes neither by more than rounding, keeps exp(-A)
# finite, and bounds the cancellation in A + log(1 + exp(-A)) by clip * epsilon.
_LOGIT_CLIP = {np.dtype(np.float32): 17.0, np.dtype(np.float64): 37.0}


def _inner(X, Y, axis):
    """Sum of X * Y, in total (one BLAS dot) or per row."""
    if axis is None:
        return np.vdot(X, Y)
    return np.einsum("ij,ij->i", X, Y)


# Largest A summed flat against a cached row of ones (a mini-batch of 1024 x 1024
# at most): L-BFGS's full batch is summed by numpy, as a row of ones that size would
# stay cached for the life of the process.
_FLAT_SUM_MAX = 1 << 20


def _sum(A, axis):
    """Sum of A, in total or per row, as a BLAS product with ones (2x ``A.sum``)."""
    if axis is None and A.flags.c_contiguous:
        if A.size > _FLAT_SUM_MAX:
            return A.sum()
        return np.dot(A.reshape(-1), constant_row(1.0, A.size, A.dtype))
    total = np.dot(A, constant_row(1.0, A.shape[1], A.dtype))
    return total if axis is not None else total.sum()


def _sum_log(D, work, axis):
    """Sum of log(D) for 1 <= D <= 1 + exp(clip), with a quarter of the logs.

    A product of four such entries stays below 1e30 (float32) or 1e65 (float64),
    far from overflow, so the logs of products replace four logs each: the log is
    the dearest pass of the cost.  For a total, the flat arrays are split in
    contiguous halves, which numpy multiplies twice as fast as column blocks.
    """
    if axis is None:
        D, work = D.reshape(1, -1), work.reshape(1, -1)
    q = D.shape[1] // 4
    np.multiply(D[:, : 2 * q], D[:, 2 * q : 4 * q], out=work[:, : 2 * q])
    np.multiply(work[:, :q], work[:, q : 2 * q], out=work[:, :q])
    total = _sum(np.log(work[:, :q], out=work[:, :q]), axis)
    if D.shape[1] > 4 * q:
        rest = work[:, 4 * q :]
        total += _sum(np.log(D[:, 4 * q :], out=rest), axis)
    return total


def _delta(A, Y, scale):
    """A <- scale * (A - Y) in place: A held the prediction, now the delta."""
    A -= Y
    if scale != 1:
        A *= scale


def cross_entropy(A, Y, work, axis=None, scale=1.0):
    """Bernoulli cross-entropy -[Y log s(A) + (1 - Y) log(1 - s(A))].

    Written as softplus(A) - Y A with softplus(A) = A + log(1 + exp(-A)), which is
    exact for large positive A; A is clipped from below where exp(-A) would overflow.
    The same ``1 + exp(-A)`` gives the sigmoid for the gradient s(A) - Y, so the
    cost costs a quarter of a ``log`` pass (see ``_sum_log``).

    Examples
    --------
    >>> import numpy as np
    >>> A, Y = np.array([[0.0, 800.0, -800.0]]), np.array([[1.0, 1.0, 0.0]])
    >>> round(float(cross_entropy(A.copy(), Y, np.empty_like(A))), 12)  # log 2 + 0 + 0
    0.69314718056
    """
    ya = _inner(Y, A, axis)
    np.maximum(A, constant_row(-_LOGIT_CLIP[A.dtype], A.shape[1], A.dtype), out=A)
    cost = _sum(A, axis) - ya
    np.negative(A, out=A)
    np.exp(A, out=A)
    A += 1
    cost += _sum_log(A, work, axis)
    np.divide(1.0, A, out=A)  # s(A); faster than np.reciprocal on float32
    _delta(A, Y, scale)
    return cost


def squared_error(A, Y, work, axis=None, scale=1.0):
    """Squared error sum (A - Y)**2 of a linear (identity) output.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 2.0]])
    >>> float(squared_error(A, np.array([[0.0, 0.0]]), None)), A
    (5.0, array([[2., 4.]]))
    """
    A -= Y
    cost = _inner(A, A, axis)
    A *= 2 * scale
    return cost


def half_squared_error(A, Y, work, axis=None, scale=1.0):
    """Half the squared error, averaged over outputs: MLPRegressor's loss.

    ``sum (A - Y)**2 / (2 n_outputs)``, so that the mean over samples is
    ``sklearn.neural_network._base.squared_loss`` and ``alpha`` and the step size
    mean what they mean for ``MLPRegressor``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 2.0]])
    >>> float(half_squared_error(A, np.array([[0.0, 0.0]]), None)), A
    (1.25, array([[0.5, 1. ]]))
    """
    factor = 2 * A.shape[1]
    return squared_error(A, Y, work, axis, scale / factor) / factor


def softmax_cross_entropy(A, Y, work, axis=None, scale=1.0):
    """Multinomial cross-entropy -sum Y log softmax(A), Y one-hot (or probabilities).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0, 0.0]])
    >>> float(softmax_cross_entropy(A, np.array([[1.0, 0.0]]), None)), A
    (0.6931471805599453, array([[-0.5,  0.5]]))
    """
    A -= A.max(axis=1, keepdims=True)
    cost = -_inner(Y, A, axis)
    np.exp(A, out=A)
    total = A.sum(axis=1, keepdims=True)
    log_total = np.log(total)
    cost += log_total.sum() if axis is None else log_total[:, 0]
    np.divide(A, total, out=A)
    _delta(A, Y, scale)
    return cost


def l2_penalty(weights, grads, alpha, m, work=None):
    """Add scikit-learn's L2 term (alpha / 2m) ||W||^2 to the gradients; its cost.

    As in scikit-learn's MLP the penalty is divided by the mini-batch size ``m``.
    ``work``, a flat scratch buffer as large as the largest weight matrix, spares a
    temporary per call (a training step passes one).  ``grads=None``: the cost
    only (a factored gradient carries the term as its decay, ``alpha / m``).
    """
    cost = 0.0
    for W, g in zip(weights, grads or [None] * len(weights), strict=True):
        cost += float(np.vdot(W, W))
        if g is None:
            continue
        if work is None:
            g += (alpha / m) * W
        else:  # g += (alpha / m) W with no weight-sized temporary
            scaled = work[: W.size].reshape(W.shape)
            np.multiply(W, alpha / m, out=scaled)
            g += scaled
    return 0.5 * alpha * cost / m


def bernoulli_entropy(Y):
    """Per-sample entropy of Bernoulli targets, -sum_j [y log y + (1 - y) log(1 - y)].

    The lowest cross-entropy any prediction reaches on the row (at z = y), with
    0 log 0 = 0.  Targets outside [0, 1], which only new data can hold (fitting
    refuses them), count as clipped into it, so the score of such data stays finite.

    Examples
    --------
    >>> import numpy as np
    >>> bernoulli_entropy(np.array([[0.5, 0.0, 1.0], [0.5, 0.5, 2.0]])).round(6)
    array([0.693147, 1.386294])
    """
    P = np.clip(np.asarray(Y, dtype=np.float64), 0.0, 1.0)
    H = entr(P)
    H += entr(np.subtract(1.0, P, out=P))
    return H.sum(axis=1)


def no_minimum_cost(Y):
    """Per-sample lowest squared error: 0, reached by z = y."""
    return np.zeros(Y.shape[0])


LOSSES = {
    "cross_entropy": cross_entropy,
    "squared_error": squared_error,
    "half_squared_error": half_squared_error,
    "softmax_cross_entropy": softmax_cross_entropy,
}

# The lowest per-sample cost a reconstruction loss can reach on targets Y (a perfect
# reconstruction): a cost less it is a divergence, 0 for a perfect reconstruction of
# any input.  For cross-entropy it is the input's own entropy, which would otherwise
# make inky images look unusual whatever the model learned.
MINIMUM_COSTS = {
    "cross_entropy": bernoulli_entropy,
    "squared_error": no_minimum_cost,
}

# The output activation that each loss is the canonical partner of.
OUTPUT_ACTIVATIONS = {
    "cross_entropy": "sigmoid",
    "squared_error": "identity",
    "half_squared_error": "identity",
    "softmax_cross_entropy": "softmax",
}
