"""The reference denoising autoencoder written plainly in PyTorch (CPU), for benchmarks.

This is the model of ``stackeddae.DenoisingAutoencoder`` with its defaults (sigmoid
hidden units, tied weights, cross-entropy reconstruction loss, masking noise, plain
SGD) written the way a PyTorch user would write it: ``nn.Parameter`` weights,
``F.linear``, autograd, ``torch.optim.SGD``::

    x~     = x * mask                       mask ~ Bernoulli(1 - corruption_level)
    y      = sigmoid(x~ W^T + b)            W: (n_hidden, n_visible)
    logits = y W + b'                       tied decoder
    cost   = mean over the batch of the sum over pixels of
             binary_cross_entropy_with_logits(logits, x)

The mini-batches are contiguous slices of one tensor, in order (permute the rows
beforehand for a random order): the fastest plain way in PyTorch, much faster than a
``DataLoader`` over a ``TensorDataset``, which collates every batch sample by sample.
The noise comes from torch's own generator, so the corrupted inputs differ from
stackeddae's; with ``corruption_level=0`` the two compute the same numbers up to
float32 rounding.

Also here, for the benchmarks that compare the two: the shared initial weights
(:func:`initial_weights`), a stackeddae DAE that starts from given weights
(:func:`stackeddae_from_weights`), and :func:`same_threads`, which sets the thread
count of torch and of numpy's BLAS together.

PyTorch is an optional benchmark dependency; on these machines install the CPU build
with ``pip install torch==2.13.0``.
"""

import time
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits
from torch import nn

from stackeddae import DenoisingAutoencoder
from stackeddae._init import init_weights
from stackeddae._training import reset_history

TORCH_DTYPES = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}


# ------------------------------------------------------------------- the model
class TorchDAE(nn.Module):
    """Tied-weight denoising autoencoder with sigmoid units (logits out)."""

    def __init__(self, W, b_hidden=None, b_visible=None, dtype=torch.float32):
        super().__init__()
        n_hidden, n_visible = W.shape
        self.W = nn.Parameter(torch.tensor(np.asarray(W), dtype=dtype))
        self.b = nn.Parameter(
            torch.zeros(n_hidden, dtype=dtype)
            if b_hidden is None
            else torch.tensor(np.asarray(b_hidden), dtype=dtype)
        )
        self.b_prime = nn.Parameter(
            torch.zeros(n_visible, dtype=dtype)
            if b_visible is None
            else torch.tensor(np.asarray(b_visible), dtype=dtype)
        )

    def encode(self, x):
        return torch.sigmoid(F.linear(x, self.W, self.b))

    def forward(self, x):
        """Decoder pre-activation (logits) of the reconstruction of ``x``."""
        return F.linear(self.encode(x), self.W.t(), self.b_prime)


def reconstruction_cost(logits, x):
    """Mean over the batch of the summed per-pixel cross-entropy."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()


def corrupt(x, level, generator):
    """Masking noise: each input set to 0 with probability ``level``."""
    if level == 0:
        return x
    mask = torch.empty_like(x).bernoulli_(1 - level, generator=generator)
    return x * mask


def sgd_step(model, optimizer, x, level, generator):
    """One mini-batch: corrupt, forward, backward, SGD update; returns the cost."""
    loss = reconstruction_cost(model(corrupt(x, level, generator)), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


class TorchTrainer:
    """A model, its SGD optimizer and a noise generator; trains epoch by epoch.

    ``X`` (numpy, float32 or float64) is converted once; every epoch visits its rows
    in order, ``batch_size`` at a time.  Calling :meth:`train` again continues.
    """

    def __init__(
        self, X, W, *, corruption_level, batch_size=20, learning_rate=0.1, seed=0
    ):
        dtype = TORCH_DTYPES[np.asarray(X).dtype]
        self.X = torch.from_numpy(np.ascontiguousarray(X))
        self.model = TorchDAE(W, dtype=dtype)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        self.generator = torch.Generator().manual_seed(seed)
        self.level = corruption_level
        self.batch_size = batch_size
        self.loss_curve = []
        self.epoch_times = []

    def train(self, epochs):
        n = self.X.shape[0]
        for _ in range(epochs):
            start = time.perf_counter()
            total, n_batches = 0.0, 0
            for first in range(0, n, self.batch_size):
                x = self.X[first : first + self.batch_size]
                total += sgd_step(
                    self.model, self.optimizer, x, self.level, self.generator
                )
                n_batches += 1
            self.loss_curve.append(total / n_batches)
            self.epoch_times.append(time.perf_counter() - start)
        return self

    def steps(self, n_steps, first=0):
        """``n_steps`` mini-batches from row ``first`` on, wrapping around."""
        n = self.X.shape[0]
        for _ in range(n_steps):
            if first + self.batch_size > n:
                first = 0
            x = self.X[first : first + self.batch_size]
            sgd_step(self.model, self.optimizer, x, self.level, self.generator)
            first += self.batch_size
        return first


# ------------------------------------------------- the stackeddae counterpart
def initial_weights(seed, n_visible, n_hidden, dtype=np.float32):
    """stackeddae's initial W (uniform, 4 sqrt(6 / (n_in + n_out)) for sigmoid)."""
    return init_weights(
        np.random.default_rng(seed), n_visible, n_hidden, "sigmoid", dtype
    )


def stackeddae_from_weights(W, X, *, seed=0, **params):
    """A DenoisingAutoencoder set to start from ``W`` and zero biases.

    One mini-batch of ``X`` initialises the estimator (loss, input range, n features);
    then the weights are overwritten, the history is reset, the noise generator is
    reseeded with ``seed``, and ``warm_start=True`` makes the next ``fit`` continue
    from there.  ``params`` are DenoisingAutoencoder parameters (``max_iter`` applies
    to the next ``fit``; ``n_iter_no_change`` defaults to never stopping early).
    """
    params.setdefault("n_iter_no_change", 1 << 30)
    max_iter = params.pop("max_iter", 1)
    dae = DenoisingAutoencoder(
        n_components=W.shape[0], max_iter=1, random_state=seed, **params
    )
    batch = dae.batch_size if isinstance(dae.batch_size, int) else 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X[:batch])
    np.copyto(dae.components_, W)
    dae.intercept_hidden_[:] = 0
    dae.intercept_visible_[:] = 0
    reset_history(dae, dae.early_stopping)
    dae._rng = np.random.default_rng(seed)
    dae.set_params(warm_start=True, max_iter=max_iter)
    return dae


def fit_quietly(est, X, *args):
    """``est.fit`` without the ConvergenceWarning of a fixed epoch budget."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, *args)


# --------------------------------------------------------------------- threads
@contextmanager
def same_threads(n):
    """Limit numpy's BLAS (and any OpenMP pool) and torch to ``n`` threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)


# ------------------------------------------------------- the supervised network
class TorchMLP(nn.Module):
    """Sigmoid hidden layers and a softmax head (logits out), from given weights.

    ``coefs`` and ``intercepts`` are in scikit-learn's layout (``coefs[i]`` of shape
    (n_inputs, n_outputs)), as ``SdAClassifier.coefs_``: the fine-tuning network of a
    stacked denoising autoencoder.
    """

    def __init__(self, coefs, intercepts, dtype=torch.float32):
        super().__init__()
        self.coefs = nn.ParameterList(
            nn.Parameter(torch.tensor(np.asarray(W), dtype=dtype)) for W in coefs
        )
        self.intercepts = nn.ParameterList(
            nn.Parameter(torch.tensor(np.asarray(b), dtype=dtype)) for b in intercepts
        )

    def forward(self, x):
        *hidden, last = zip(self.coefs, self.intercepts, strict=True)
        for W, b in hidden:
            x = torch.sigmoid(torch.addmm(b, x, W))
        return torch.addmm(last[1], x, last[0])


class TorchMLPTrainer:
    """Plain SGD on the mean cross-entropy of a :class:`TorchMLP`, epoch by epoch.

    Every epoch visits the rows of ``X`` in order, ``batch_size`` at a time, as the
    Theano tutorial's fine-tuning does; ``y`` holds class indices.
    """

    def __init__(self, X, y, coefs, intercepts, *, batch_size=20, learning_rate=0.1):
        dtype = TORCH_DTYPES[np.asarray(X).dtype]
        self.X = torch.from_numpy(np.ascontiguousarray(X))
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.model = TorchMLP(coefs, intercepts, dtype=dtype)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        self.batch_size = batch_size
        self.loss_curve = []

    def train(self, epochs):
        n = self.X.shape[0]
        for _ in range(epochs):
            total, n_batches = 0.0, 0
            for first in range(0, n, self.batch_size):
                x = self.X[first : first + self.batch_size]
                y = self.y[first : first + self.batch_size]
                loss = F.cross_entropy(self.model(x), y)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                total += loss.item()
                n_batches += 1
            self.loss_curve.append(total / n_batches)
        return self

    def error(self, X, y):
        """Fraction of the rows of ``X`` misclassified."""
        with torch.no_grad():
            logits = self.model(torch.from_numpy(np.ascontiguousarray(X)))
        return float(np.mean(logits.argmax(1).numpy() != np.asarray(y)))
