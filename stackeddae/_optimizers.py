"""Stochastic optimizers over a flat list of parameter arrays.

Modelled on ``sklearn/neural_network/_stochastic_optimizers.py``, with two changes:
updates are applied in place (the gradient buffers are used as scratch space, so a
step allocates nothing), and everything an optimizer must remember between calls
(velocities, moment estimates, step count, current learning rate) lives in the dict
``state`` of plain numbers and arrays.  An estimator keeps that dict, not the object,
so a fitted model pickles to plain data and ``partial_fit`` resumes where it stopped.

The updates are numpy passes, not scipy's BLAS axpy: scipy's OpenBLAS keeps a thread
pool apart from numpy's, and the two, alternating in a step, took each other's cores
(a numpy product then a scipy axpy: 0.25 ms on one thread, 11 ms on two).  An axpy
y += a x is two passes here, x *= a then y += x, over the gradient, which is scratch.

``update(grads, factors)`` also takes weight gradients as the factors of a product
(``factors[i] = (A, B, decay)``: the gradient of ``params[i]`` is
``A @ B + decay * params[i]``; see ``_objectives``), taken by numpy's own BLAS
(``_blas.gemm``): plain SGD folds the whole step into the product,
``W <- (1 - lr decay) W - lr A B``, and the other optimizers have the product
written into the gradient, times the learning rate where the update scales by it.

Plain SGD folds an L2 decay into the product (beta = 1 - lr decay) in float64 only.
Rounded to float64, beta keeps ``lr decay`` to 1.1e-16, a relative 3e-7 of the
smallest in fits (alpha 1e-4, batch 256, lr 1e-3: 4e-10).  Rounded to float32 it
keeps it to 3e-8 only, as large as ``lr decay`` in common fits (DAE alpha 1e-4,
batch 20, lr 0.1: 5e-7, changed by 4.6%; below 3e-8: lost), and the error is the
same at every step: a bias that adds up, where the rounding of the passes varies
in sign with the gradient and averages out.  Even where beta keeps it to 2e-4
(``lr decay`` 1e-4), 3000 steps ended 6e-5 from the float64 run, against 1.4e-6 by
passes.  So a float32 step with a decay takes the product into the gradient,
``g = lr (A B + decay W)``, then ``W -= g``.
"""

import numpy as np

from ._blas import gemm

# the dtypes whose beta = 1 - lr decay keeps the decay (see the module docstring)
_DECAY_IN_THE_PRODUCT = frozenset({np.dtype(np.float64)})


def take_products(params, grads, factors, scale=1.0):
    """g <- scale (A @ B + decay p) for each factored gradient; None: unchanged."""
    for p, g, factor in zip(params, grads, factors, strict=True):
        if factor is None:
            continue
        A, B, decay = factor
        if decay:
            np.multiply(p, scale * decay, out=g)
        if gemm(scale, A, B, 1.0 if decay else 0.0, g):
            continue
        if decay:  # numpy's way: the product beside the decay
            product = np.matmul(A, B)
            product *= scale
            g += product
        else:  # into the gradient itself, no temporary
            np.matmul(A, B, out=g)
            if scale != 1.0:
                g *= scale


class BaseOptimizer:
    """Base class: a learning rate, its schedule, and in-place updates.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update in place.
    learning_rate_init : float
        The initial step size.
    lr_schedule : {"constant", "invscaling", "adaptive"}
        As in scikit-learn's ``MLPClassifier``: "invscaling" divides the step by
        ``(t + 1) ** power_t`` with ``t`` the number of samples seen; "adaptive"
        divides it by 5 each time training stops improving.
    power_t : float
        Exponent of the "invscaling" schedule.
    state : dict or None
        What a previous optimizer over the same parameters left in ``state``.
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        power_t=0.5,
        state=None,
    ):
        self.params = params
        self.learning_rate_init = learning_rate_init
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        self.state = state if state is not None else self._init_state()

    def _init_state(self):
        return {"learning_rate": float(self.learning_rate_init)}

    @property
    def learning_rate(self):
        return self.state["learning_rate"]

    def _zeros(self):
        return [np.zeros_like(p) for p in self.params]

    def update(self, grads, factors=None):
        """Apply one step in place. ``grads`` is overwritten; ``factors`` (or
        None): the factored weight gradients (see the module docstring)."""
        raise NotImplementedError

    def iteration_ends(self, time_step):
        """Adjust the learning rate after an epoch; ``time_step`` counts samples."""
        if self.lr_schedule == "invscaling":
            self.state["learning_rate"] = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Called when training stopped improving; returns whether to stop."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.state["learning_rate"] /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:g}.")
        return False


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    v <- momentum * v - lr * g;  p <- p + v  (or p + momentum * v - lr * g with
    Nesterov's momentum).  With ``momentum=0`` this is plain p <- p - lr * g.

    Examples
    --------
    >>> import numpy as np
    >>> p = [np.array([1.0, 2.0])]
    >>> sgd = SGDOptimizer(p, learning_rate_init=0.1, momentum=0)
    >>> sgd.update([np.array([1.0, -1.0])])
    >>> p[0]
    array([0.9, 2.1])
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        state=None,
    ):
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        super().__init__(params, learning_rate_init, lr_schedule, power_t, state)

    def _init_state(self):
        state = super()._init_state()
        if self.momentum:
            state["velocities"] = self._zeros()
        return state

    def update(self, grads, factors=None):
        # Python floats: a numpy float64 scalar would make float32 passes float64
        lr, mu = float(self.learning_rate), float(self.momentum)
        if factors is None:
            factors = [None] * len(grads)
        if not mu:  # p -= lr g
            for p, g, factor in zip(self.params, grads, factors, strict=True):
                if factor is None:
                    g *= lr
                else:
                    A, B, decay = factor
                    if (not decay or p.dtype in _DECAY_IN_THE_PRODUCT) and gemm(
                        -lr, A, B, 1.0 - lr * decay, p
                    ):
                        continue  # the step in the product
                    take_products([p], [g], [factor], lr)  # g = lr (A B + decay p)
                p -= g
            return
        take_products(self.params, grads, factors, lr)  # lr g, in the product
        for p, g, v, factor in zip(
            self.params, grads, self.state["velocities"], factors, strict=True
        ):
            if factor is None:
                g *= lr
            v *= mu
            v -= g  # v = mu v - lr g
            if self.nesterovs_momentum:  # p += mu v - lr g
                p -= g
                np.multiply(v, mu, out=g)
                p += g
            else:
                p += v


class AdaGradOptimizer(BaseOptimizer):
    """AdaGrad (Duchi et al. 2011): p <- p - lr * g / (sqrt(sum of g**2) + eps)."""

    def __init__(
        self,
        params,
        learning_rate_init=0.01,
        lr_schedule="constant",
        power_t=0.5,
        epsilon=1e-8,
        state=None,
    ):
        self.epsilon = epsilon
        super().__init__(params, learning_rate_init, lr_schedule, power_t, state)
        self._scratch = self._zeros()  # g**2 and the step's denominator

    def _init_state(self):
        return {**super()._init_state(), "accumulators": self._zeros()}

    def _accumulate(self, acc, g_squared):
        acc += g_squared

    def update(self, grads, factors=None):
        if factors is not None:
            take_products(self.params, grads, factors)
        lr = float(self.learning_rate)
        for p, g, acc, tmp in zip(
            self.params, grads, self.state["accumulators"], self._scratch, strict=True
        ):
            np.multiply(g, g, out=tmp)
            self._accumulate(acc, tmp)
            np.sqrt(acc, out=tmp)
            tmp += self.epsilon
            tmp *= 1 / lr
            g /= tmp  # lr g / (sqrt(acc) + eps)
            p -= g


class RMSPropOptimizer(AdaGradOptimizer):
    """RMSProp (Tieleman & Hinton 2012): AdaGrad with a decaying average.

    a <- rho * a + (1 - rho) * g**2;  p <- p - lr * g / (sqrt(a) + eps).
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.001,
        lr_schedule="constant",
        power_t=0.5,
        rho=0.9,
        epsilon=1e-8,
        state=None,
    ):
        self.rho = rho
        super().__init__(
            params, learning_rate_init, lr_schedule, power_t, epsilon, state
        )

    def _accumulate(self, acc, g_squared):
        g_squared *= 1 - float(self.rho)
        acc *= float(self.rho)
        acc += g_squared


class AdaDeltaOptimizer(BaseOptimizer):
    """AdaDelta (Zeiler 2012): no learning rate; the step's scale is learned.

    a <- rho a + (1 - rho) g**2;  d = -sqrt(s + eps) / sqrt(a + eps) * g;
    s <- rho s + (1 - rho) d**2;  p <- p + d.   ``learning_rate_init`` is ignored.
    """

    def __init__(
        self,
        params,
        learning_rate_init=1.0,
        lr_schedule="constant",
        power_t=0.5,
        rho=0.95,
        epsilon=1e-6,
        state=None,
    ):
        self.rho = rho
        self.epsilon = epsilon
        super().__init__(params, 1.0, "constant", power_t, state)
        self._scratch = self._zeros()

    def _init_state(self):
        return {
            **super()._init_state(),
            "grad_averages": self._zeros(),
            "step_averages": self._zeros(),
        }

    def update(self, grads, factors=None):
        if factors is not None:
            take_products(self.params, grads, factors)
        rho, eps = float(self.rho), float(self.epsilon)
        state = self.state
        for p, g, a, s, tmp in zip(
            self.params,
            grads,
            state["grad_averages"],
            state["step_averages"],
            self._scratch,
            strict=True,
        ):
            np.multiply(g, g, out=tmp)
            tmp *= 1 - rho
            a *= rho
            a += tmp  # a = rho a + (1 - rho) g^2
            np.add(s, eps, out=tmp)
            np.sqrt(tmp, out=tmp)
            g *= tmp
            np.add(a, eps, out=tmp)
            np.sqrt(tmp, out=tmp)
            g /= tmp  # g now holds -d
            np.multiply(g, g, out=tmp)
            tmp *= 1 - rho
            s *= rho
            s += tmp  # s = rho s + (1 - rho) d^2
            p -= g  # p += d


class AdamOptimizer(BaseOptimizer):
    """Adam (Kingma & Ba 2014) with bias correction folded into the step size.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g**2;
    p <- p - lr sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps).
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.001,
        lr_schedule="constant",
        power_t=0.5,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        state=None,
    ):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        super().__init__(params, learning_rate_init, lr_schedule, power_t, state)

    def _init_state(self):
        return {
            **super()._init_state(),
            "t": 0,
            "ms": self._zeros(),
            "vs": self._zeros(),
        }

    def update(self, grads, factors=None):
        if factors is not None:
            take_products(self.params, grads, factors)
        state = self.state
        state["t"] += 1
        t, b1, b2 = state["t"], float(self.beta_1), float(self.beta_2)
        step = float(self.learning_rate * np.sqrt(1 - b2**t) / (1 - b1**t))
        for p, g, m, v in zip(
            self.params, grads, state["ms"], state["vs"], strict=True
        ):
            m -= g
            m *= b1
            m += g  # m = b1 m + (1 - b1) g
            g *= g
            g *= 1 - b2
            v *= b2
            v += g  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=g)
            g += self.epsilon
            g *= 1 / step
            np.divide(m, g, out=g)
            p -= g


OPTIMIZERS = {
    "sgd": SGDOptimizer,
    "adagrad": AdaGradOptimizer,
    "rmsprop": RMSPropOptimizer,
    "adadelta": AdaDeltaOptimizer,
    "adam": AdamOptimizer,
}
