"""The reference denoising autoencoder in JAX: one jit-compiled ``lax.scan`` per epoch.

The model of ``torch_reference.py`` (sigmoid hidden units, tied weights, cross-entropy
from the logits, plain SGD), written the way a JAX user after speed would write it:
the gradient by ``jax.grad``, and a whole epoch - every mini-batch's noise, forward,
backward and update - compiled by XLA into one program that scans over the
mini-batches, so XLA can fuse the element-wise work around the matrix products::

    x~     = x * mask                       mask ~ Bernoulli(1 - corruption_level)
    y      = sigmoid(x~ W^T + b)            W: (n_hidden, n_visible)
    logits = y W + b'                       tied decoder
    cost   = mean over the batch of the sum over pixels of
             softplus(logits) - x logits    (binary cross-entropy from the logits)

The mini-batches are consecutive rows of X (permute them beforehand for a random
order); the rows that do not fill a last mini-batch are left out (none with the 5000
digits and batches of 20).  The noise comes from JAX's own PRNG.

One thread: XLA's CPU backend runs its Eigen matrix products and its own work in
thread pools sized by ``XLA_FLAGS``.  :func:`one_thread_flags` must run before ``jax``
is imported; :meth:`JaxTrainer.train` reports the CPU time / wall time ratio of its
last call, which stays at 1 when one thread does the work.

JAX is an optional benchmark dependency: ``pip install jax`` (CPU).
"""

import os
import time

import numpy as np

_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def one_thread_flags():
    """Ask XLA for one thread; call before the first ``import jax``."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _ONE_THREAD not in flags:
        os.environ["XLA_FLAGS"] = (flags + " " + _ONE_THREAD).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _import_jax():
    import jax
    import jax.numpy as jnp

    return jax, jnp


def _cost(params, x_tilde, x):
    """Mean over the mini-batch of the summed cross-entropy of reconstructing x."""
    jax, jnp = _import_jax()
    W, b, b_prime = params
    y = jax.nn.sigmoid(x_tilde @ W.T + b)
    logits = y @ W + b_prime
    return jnp.mean(jnp.sum(jax.nn.softplus(logits) - x * logits, axis=1))


def cost_and_grads(W, b, b_prime, x):
    """One noiseless mini-batch: the cost and the gradients (W, b, b'), as numpy."""
    jax, jnp = _import_jax()
    params = tuple(jnp.asarray(p) for p in (W, b, b_prime))
    value, grads = jax.value_and_grad(_cost)(params, x, x)
    return float(value), tuple(np.asarray(g) for g in grads)


def make_epoch(corruption_level, learning_rate):
    """The jit-compiled epoch: ``(params, batches, key) -> (params, mean cost)``."""
    jax, jnp = _import_jax()
    value_and_grad = jax.value_and_grad(_cost)

    def step(params, batch_and_key):
        x, key = batch_and_key
        if corruption_level > 0:
            keep = jax.random.bernoulli(key, 1.0 - corruption_level, x.shape)
            x_tilde = jnp.where(keep, x, jnp.zeros((), x.dtype))
        else:
            x_tilde = x
        value, grads = value_and_grad(params, x_tilde, x)
        params = tuple(
            p - learning_rate * g for p, g in zip(params, grads, strict=True)
        )
        return params, value

    @jax.jit
    def epoch(params, batches, key):
        keys = jax.random.split(key, batches.shape[0])
        params, costs = jax.lax.scan(step, params, (batches, keys))
        return params, jnp.mean(costs)

    return epoch


class JaxTrainer:
    """Parameters, the compiled epoch and a PRNG key; trains epoch by epoch.

    Same interface as ``torch_reference.TorchTrainer``: ``train(epochs)`` continues
    where the last call stopped and appends to ``loss_curve``.  The compilation runs
    in ``__init__`` (one epoch on a copy of the parameters, discarded), so that it is
    not counted as training time.
    """

    def __init__(
        self, X, W, *, corruption_level, batch_size=20, learning_rate=0.1, seed=0
    ):
        jax, jnp = _import_jax()
        X = np.asarray(X)
        n_batches = X.shape[0] // batch_size
        self.batches = jnp.asarray(
            X[: n_batches * batch_size].reshape(n_batches, batch_size, X.shape[1])
        )
        dtype = X.dtype
        self.params = (
            jnp.asarray(W, dtype),
            jnp.zeros(W.shape[0], dtype),
            jnp.zeros(W.shape[1], dtype),
        )
        self.key = jax.random.PRNGKey(seed)
        self._epoch = make_epoch(corruption_level, learning_rate)
        jax.block_until_ready(self._epoch(self.params, self.batches, self.key))
        self.loss_curve = []
        self.cpu_wall_ratio = None

    def train(self, epochs):
        import jax

        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(epochs):
            self.key, key = jax.random.split(self.key)
            self.params, cost = self._epoch(self.params, self.batches, key)
            self.loss_curve.append(float(cost))  # waits for the epoch
        self.cpu_wall_ratio = (time.process_time() - cpu) / (time.perf_counter() - wall)
        return self

    def weights(self):
        """The current (W, b, b') as numpy arrays."""
        return tuple(np.asarray(p) for p in self.params)


# ------------------------------------------------------- the supervised network
def _network_cost(params, x, y_onehot):
    """Mean cross-entropy of sigmoid hidden layers and a softmax head."""
    jax, jnp = _import_jax()
    *hidden, (W, b) = params
    for W_h, b_h in hidden:
        x = jax.nn.sigmoid(x @ W_h + b_h)
    logits = x @ W + b
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.sum(y_onehot * logits, 1))


def make_network_epoch(learning_rate):
    """The jit-compiled fine-tuning epoch: ``(params, xs, ys) -> (params, cost)``."""
    jax, jnp = _import_jax()
    value_and_grad = jax.value_and_grad(_network_cost)

    def step(params, batch):
        x, y = batch
        value, grads = value_and_grad(params, x, y)
        params = jax.tree_util.tree_map(
            lambda p, g: p - learning_rate * g, params, grads
        )
        return params, value

    @jax.jit
    def epoch(params, xs, ys):
        params, costs = jax.lax.scan(step, params, (xs, ys))
        return params, jnp.mean(costs)

    return epoch


class JaxNetworkTrainer:
    """Plain SGD fine-tuning of sigmoid layers and a softmax head, a jit-compiled
    ``lax.scan`` per epoch; the interface of ``torch_reference.TorchMLPTrainer``.

    ``coefs``/``intercepts`` in scikit-learn's layout, ``y`` class indices.  The
    compilation runs in ``__init__`` (one epoch on the parameters, discarded).
    """

    def __init__(self, X, y, coefs, intercepts, *, batch_size=20, learning_rate=0.1):
        jax, jnp = _import_jax()
        X = np.asarray(X)
        n_batches = X.shape[0] // batch_size
        n = n_batches * batch_size
        Y = np.eye(coefs[-1].shape[1], dtype=X.dtype)[np.asarray(y)[:n]]
        self.xs = jnp.asarray(X[:n].reshape(n_batches, batch_size, X.shape[1]))
        self.ys = jnp.asarray(Y.reshape(n_batches, batch_size, Y.shape[1]))
        self.params = [
            (jnp.asarray(W, X.dtype), jnp.asarray(b, X.dtype))
            for W, b in zip(coefs, intercepts, strict=True)
        ]
        self._epoch = make_network_epoch(learning_rate)
        jax.block_until_ready(self._epoch(self.params, self.xs, self.ys))
        self.loss_curve = []

    def train(self, epochs):
        for _ in range(epochs):
            self.params, cost = self._epoch(self.params, self.xs, self.ys)
            self.loss_curve.append(float(cost))  # waits for the epoch
        return self

    def error(self, X, y):
        """Fraction of the rows of ``X`` misclassified."""
        jax, jnp = _import_jax()
        x = jnp.asarray(X)
        *hidden, (W, b) = self.params
        for W_h, b_h in hidden:
            x = jax.nn.sigmoid(x @ W_h + b_h)
        return float(np.mean(np.asarray(jnp.argmax(x @ W + b, 1)) != np.asarray(y)))
