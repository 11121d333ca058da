"""Stochastic optimizers over a flat list of parameter arrays.

Modelled on ``sklearn/neural_network/_stochastic_optimizers.py``, with two changes:
updates are applied in place (the gradient buffers are used as scratch space, so a
step allocates nothing), and everything an optimizer must remember between calls
(velocities, moment estimates, step count, current learning rate) lives in the dict
``state`` of plain numbers and arrays.  An estimator keeps that dict, not the object,
so a fitted model pickles to plain data and ``partial_fit`` resumes where it stopped.
"""

import numpy as np
from scipy.linalg.blas import get_blas_funcs


def _axpy(p):
    """BLAS y <- a x + y for p's dtype; it updates a contiguous y in place."""
    return get_blas_funcs("axpy", (p,))


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

    def update(self, grads):
        """Apply one step in place. ``grads`` is overwritten."""
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
        self._flat = [(_axpy(p), p.ravel()) for p in params]

    def _init_state(self):
        state = super()._init_state()
        if self.momentum:
            state["velocities"] = self._zeros()
        return state

    def update(self, grads):
        lr, mu = self.learning_rate, self.momentum
        if not mu:  # p += -lr * g in one BLAS pass, in place
            for (axpy, p1), g in zip(self._flat, grads, strict=True):
                axpy(g.ravel(), p1, a=-lr)
            return
        # BLAS scal/axpy in place: 3 passes (4 with Nesterov) instead of 5 (7)
        for (axpy, p1), g, v in zip(
            self._flat, grads, self.state["velocities"], strict=True
        ):
            g1, v1 = g.ravel(), v.ravel()
            v *= mu
            axpy(g1, v1, a=-lr)  # v = mu v - lr g
            if self.nesterovs_momentum:  # p += mu v - lr g
                axpy(v1, p1, a=mu)
                axpy(g1, p1, a=-lr)
            else:
                axpy(v1, p1)


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

    def update(self, grads):
        lr = self.learning_rate
        for p, g, acc, tmp in zip(
            self.params, grads, self.state["accumulators"], self._scratch, strict=True
        ):
            np.multiply(g, g, out=tmp)
            self._accumulate(acc, tmp)
            np.sqrt(acc, out=tmp)
            tmp += self.epsilon
            g /= tmp
            _axpy(p)(g.ravel(), p.ravel(), a=-lr)


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
        acc *= self.rho
        _axpy(acc)(g_squared.ravel(), acc.ravel(), a=1 - self.rho)


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

    def update(self, grads):
        rho, eps = self.rho, self.epsilon
        state = self.state
        for p, g, a, s, tmp in zip(
            self.params,
            grads,
            state["grad_averages"],
            state["step_averages"],
            self._scratch,
            strict=True,
        ):
            axpy, g1, tmp1 = _axpy(p), g.ravel(), tmp.ravel()
            np.multiply(g, g, out=tmp)
            a *= rho
            axpy(tmp1, a.ravel(), a=1 - rho)  # a = rho a + (1 - rho) g^2
            np.add(s, eps, out=tmp)
            np.sqrt(tmp, out=tmp)
            g *= tmp
            np.add(a, eps, out=tmp)
            np.sqrt(tmp, out=tmp)
            g /= tmp  # g now holds -d
            np.multiply(g, g, out=tmp)
            s *= rho
            axpy(tmp1, s.ravel(), a=1 - rho)  # s = rho s + (1 - rho) d^2
            axpy(g1, p.ravel(), a=-1.0)  # p += d


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

    def update(self, grads):
        state = self.state
        state["t"] += 1
        t, b1, b2 = state["t"], self.beta_1, self.beta_2
        step = self.learning_rate * np.sqrt(1 - b2**t) / (1 - b1**t)
        for p, g, m, v in zip(
            self.params, grads, state["ms"], state["vs"], strict=True
        ):
            axpy, g1 = _axpy(p), g.ravel()
            m *= b1
            axpy(g1, m.ravel(), a=1 - b1)  # m = b1 m + (1 - b1) g
            g *= g
            v *= b2
            axpy(g1, v.ravel(), a=1 - b2)  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=g)
            g += self.epsilon
            np.divide(m, g, out=g)
            axpy(g1, p.ravel(), a=-step)


OPTIMIZERS = {
    "sgd": SGDOptimizer,
    "adagrad": AdaGradOptimizer,
    "rmsprop": RMSPropOptimizer,
    "adadelta": AdaDeltaOptimizer,
    "adam": AdamOptimizer,
}
