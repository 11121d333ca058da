"""The one training loop: every fit, partial_fit, pretraining layer and fine-tuning.

An *objective* is the model-specific part: it owns preallocated buffers, exposes
``params`` and ``grads`` (flat lists of arrays, updated in place) and ``batch_size``
(its buffers' capacity), and ``objective(X_batch, Y_batch)`` returns the mean cost of
the mini-batch and fills ``grads``; optionally ``input_buffer``, where it wants the
loop to gather the mini-batch's rows.

Everything else lives here: shuffling and batching (sparse rows are densified one
mini-batch at a time), the optimizer, ``loss_curve_`` and the stopping rules of
scikit-learn's MLP, early stopping with the best weights restored, and the two ways a
fit can end early without losing work: a diverging cost (the weights of the last
finite epoch are restored) and Ctrl-C (training stops after the current mini-batch).

The estimator passed in provides the hyper-parameters under scikit-learn's MLP names
(``solver``, ``max_iter``, ``tol``, ...) and receives the fitted bookkeeping
attributes (``loss_curve_``, ``n_iter_``, ``t_``, ...).
"""

import signal
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._optimizers import OPTIMIZER_PARAMS, OPTIMIZERS
from ._threads import blas_threads as training_threads


class DivergenceWarning(UserWarning):
    """Training stopped because the cost diverged (exploded, or became NaN)."""


def new_generator(random_state):
    """A numpy Generator seeded from a scikit-learn ``random_state``.

    The Generator drives initialisation, shuffling and corruption; an int
    ``random_state`` makes the whole fit bit-for-bit repeatable.
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def make_optimizer(est, params, state=None):
    """The optimizer named by ``est.solver``, configured from ``est``'s parameters."""
    extra = {
        name: getattr(est, attr) for name, attr in OPTIMIZER_PARAMS[est.solver].items()
    }
    return OPTIMIZERS[est.solver](
        params,
        learning_rate_init=est.learning_rate_init,
        lr_schedule=est.learning_rate,
        power_t=est.power_t,
        state=state,
        **extra,
    )


def effective_batch_size(batch_size, n_samples):
    """``batch_size`` clipped to [1, n_samples] with a warning, as scikit-learn does."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            f"Got `batch_size` larger than the sample size ({n_samples}). "
            "It is going to be clipped.",
            stacklevel=3,
        )
    return int(np.clip(batch_size, 1, n_samples))


def reset_history(est, early_stopping):
    """Start the bookkeeping attributes of a fresh (not incremental) fit."""
    est.n_iter_ = 0
    est.t_ = 0
    est.loss_ = None  # until an epoch completes
    est.loss_curve_ = []
    est.best_loss_ = np.inf
    est._no_improvement_count = 0
    if early_stopping:
        est.validation_scores_ = []
        est.best_validation_score_ = -np.inf
    else:
        est.validation_scores_ = None
        est.best_validation_score_ = None


@contextmanager
def _deferred_interrupt():
    """Turn Ctrl-C into a flag that the loop checks after each mini-batch.

    Signal handlers can only be installed from the main thread; elsewhere (fits run
    by threads) a KeyboardInterrupt propagates as usual and is caught by the loop.
    """
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: flag.append(signum))
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class _Diverged(Exception):
    pass


# A cost this many times larger than where the fit started (or than 1, if it started
# below 1) is divergence even while still finite: weights grown by orders of
# magnitude saturate every unit, and training never comes back from there.
_DIVERGENCE_FACTOR = 1e6


def _progress_bar(est, label, n_updates):
    """A tqdm bar over the fit's mini-batches when ``verbose >= 2`` and tqdm exists."""
    if est.verbose < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(
            "verbose >= 2 asks for a progress bar, which needs tqdm "
            "(pip install tqdm); printing one line per epoch instead.",
            stacklevel=4,
        )
        return None
    return tqdm(total=n_updates, desc=label.strip() or type(est).__name__, leave=False)


def _batch(X, index, buffer):
    """Rows ``index`` (a slice or an index array) of X as a dense C array."""
    if sp.issparse(X):
        rows = X[index]
        return rows.toarray(out=buffer[: rows.shape[0]])
    if isinstance(index, slice):
        return X[index]
    return np.take(X, index, axis=0, out=buffer[: len(index)])


def _restore(params, saved):
    for p, s in zip(params, saved, strict=True):
        np.copyto(p, s)


def _is_finite(params):
    return all(np.isfinite(np.sum(p)) for p in params)


def fit_stochastic(
    est,
    objective,
    X,
    Y=None,
    *,
    incremental=False,
    validation=None,
    label="",
    rows=None,
):
    """Train ``objective``'s parameters by mini-batch gradient descent.

    Parameters
    ----------
    est : estimator
        Supplies the hyper-parameters and receives ``loss_curve_``, ``n_iter_``,
        ``t_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
        ``loss_`` and ``_optimizer_state``.
    objective : callable
        See the module docstring.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Training inputs (C-ordered if dense; CSR if sparse).
    Y : ndarray of shape (n_samples, n_outputs) or None
        Training targets, or None for an autoencoder.
    incremental : bool
        One pass over the data, continuing the optimizer's state (``partial_fit``).
    validation : callable or None
        Returns a validation score (higher is better) of the current weights; given
        only when early stopping is on.
    label : str
        Prefix of the verbose lines, e.g. ``"layer 2/3 "``.
    rows : ndarray of int or None
        Train on these rows of X only (the rest being held out for validation),
        without copying them out of X.

    Returns
    -------
    status : {"max_iter", "converged", "diverged", "interrupted"}
    """
    params = objective.params
    n_samples = X.shape[0] if rows is None else len(rows)
    batch_size = objective.batch_size
    state = getattr(est, "_optimizer_state", None) if incremental else None
    optimizer = make_optimizer(est, params, state)
    if validation is not None and est.validation_scores_ is None:
        est.validation_scores_ = []
        est.best_validation_score_ = -np.inf
    rng = est._rng
    max_iter = 1 if incremental else est.max_iter
    last_epoch = est.n_iter_ + max_iter
    needs_buffer = est.shuffle or sp.issparse(X) or rows is not None
    x_buffer = getattr(objective, "input_buffer", None)  # rows land where it reads them
    if x_buffer is None and needs_buffer:
        x_buffer = np.empty((batch_size, X.shape[1]), X.dtype)
    y_buffer = None
    if Y is not None and (est.shuffle or rows is not None):
        y_buffer = np.empty((batch_size, Y.shape[1]), Y.dtype)
    last_good = [p.copy() for p in params]
    best = None
    status = "max_iter"
    updating = False
    cost_limit = None
    bar = _progress_bar(est, label, max_iter * -(-n_samples // batch_size))
    with _deferred_interrupt() as interrupted, training_threads(est.n_jobs):
        try:
            for _ in range(max_iter):
                start_time = time.perf_counter()
                order = rows
                if est.shuffle:
                    order = rng.permutation(n_samples)
                    order = order if rows is None else rows[order]
                total = 0.0
                n_batches = 0
                for start in range(0, n_samples, batch_size):
                    stop = min(start + batch_size, n_samples)
                    index = slice(start, stop) if order is None else order[start:stop]
                    Xb = _batch(X, index, x_buffer)
                    Yb = None if Y is None else _batch(Y, index, y_buffer)
                    cost = objective(Xb, Yb)
                    if cost_limit is None:
                        cost_limit = _DIVERGENCE_FACTOR * max(float(cost), 1.0)
                    if not cost <= cost_limit:  # also catches NaN
                        raise _Diverged
                    updating = True
                    optimizer.update(objective.grads)
                    updating = False
                    total += float(cost)
                    n_batches += 1
                    if bar is not None:
                        bar.update()
                    if interrupted:
                        raise KeyboardInterrupt
                if not _is_finite(params):
                    raise _Diverged
                epoch_cost = total / n_batches
                est.n_iter_ += 1
                est.t_ += n_samples
                est.loss_curve_.append(epoch_cost)
                est.loss_ = epoch_cost
                optimizer.iteration_ends(est.t_)
                for p, saved in zip(params, last_good, strict=True):
                    np.copyto(saved, p)
                if validation is not None:
                    est.validation_scores_.append(float(validation()))
                if bar is not None:
                    bar.set_postfix(epoch=est.n_iter_, cost=f"{epoch_cost:.4g}")
                elif est.verbose:
                    _print_epoch(
                        est,
                        label,
                        epoch_cost,
                        last_epoch,
                        incremental,
                        time.perf_counter() - start_time,
                    )
                if incremental:
                    break
                _count_no_improvement(est, validation is not None)
                if validation is not None and (
                    est.validation_scores_[-1] > est.best_validation_score_
                ):
                    est.best_validation_score_ = est.validation_scores_[-1]
                    best = [p.copy() for p in params]
                if est._no_improvement_count > est.n_iter_no_change:
                    what = (
                        "Validation score"
                        if validation is not None
                        else "Training loss"
                    )
                    msg = (
                        f"{label}{what} did not improve more than tol={est.tol} for "
                        f"{est.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, est.verbose):
                        status = "converged"
                        break
                    est._no_improvement_count = 0
        except _Diverged:
            _restore(params, last_good)
            status = "diverged"
        except KeyboardInterrupt:
            if updating:  # a half-applied step: back to the end of the last epoch
                _restore(params, last_good)
                optimizer.state = None  # its moments ran ahead of the weights
            status = "interrupted"
    if bar is not None:
        bar.close()
    if validation is not None and best is not None:
        _restore(params, best)
    # A diverged optimizer's moments are not worth keeping.
    est._optimizer_state = None if status == "diverged" else optimizer.state
    _report(est, status, label, incremental)
    return status


def _print_epoch(est, label, cost, last_epoch, incremental, seconds):
    epoch = f"{est.n_iter_}" if incremental else f"{est.n_iter_}/{last_epoch}"
    line = f"{label}epoch {epoch} cost {cost:.4g}"
    if est.validation_scores_:
        line += f" validation score {est.validation_scores_[-1]:.4g}"
    print(f"{line} ({seconds:.2f} s)", flush=True)


def _count_no_improvement(est, early_stopping):
    """Update the no-improvement counter as scikit-learn's MLP does."""
    if early_stopping:
        improved = est.validation_scores_[-1] >= est.best_validation_score_ + est.tol
    else:
        improved = est.loss_curve_[-1] <= est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
    est._no_improvement_count = 0 if improved else est._no_improvement_count + 1


def _report(est, status, label, incremental, solver="stochastic"):
    name = type(est).__name__
    if status == "diverged":
        remedy = (
            "Rescale the data (e.g. StandardScaler) or raise alpha."
            if solver == "lbfgs"
            else "Lower the learning rate (learning_rate_init) or choose an adaptive "
            "solver such as 'adam'."
        )
        warnings.warn(
            f"{name}: {label}the training cost diverged (grew past a million times "
            f"its initial value, or became infinite or NaN) after "
            f"{est.n_iter_} complete epochs; training stopped and the weights of the "
            f"last finite epoch were kept. {remedy}",
            DivergenceWarning,
            stacklevel=4,
        )
    elif status == "interrupted":
        warnings.warn(
            f"{name}: {label}training interrupted by the user after {est.n_iter_} "
            "complete epochs; the weights of the completed mini-batches were kept. "
            "The estimator can be used, or trained further with partial_fit "
            "(or fit with warm_start=True).",
            UserWarning,
            stacklevel=4,
        )
    elif status == "max_iter" and not incremental:
        what = "lbfgs" if solver == "lbfgs" else "stochastic optimizer"
        warnings.warn(
            f"{name}: {label}{what} reached the maximum number of "
            f"epochs ({est.max_iter}) and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=4,
        )


def fit_lbfgs(est, objective, X, Y=None, label=""):
    """Train by L-BFGS on the full batch (scipy.optimize), for small data sets.

    ``objective.batch_size`` must be ``n_samples``.  The objective draws new
    corruption at every evaluation of the cost, i.e. about once per iteration.  As in
    :func:`fit_stochastic`, a non-finite cost stops the fit with the last accepted
    iterate restored, and Ctrl-C stops it after the current iteration.
    """
    params = objective.params
    shapes = [p.shape for p in params]
    splits = np.cumsum([p.size for p in params])[:-1]
    Xd = X.toarray() if sp.issparse(X) else X

    def unpack(theta):
        for p, chunk, shape in zip(
            params, np.split(theta, splits), shapes, strict=True
        ):
            p[...] = chunk.reshape(shape)

    def cost_grad(theta):
        unpack(theta)
        cost = float(objective(Xd, Y))
        if not np.isfinite(cost):
            raise _Diverged
        return cost, np.concatenate([g.ravel() for g in objective.grads]).astype(float)

    accepted = {"theta": np.concatenate([p.ravel() for p in params]).astype(float)}

    def callback(intermediate_result):
        accepted["theta"] = intermediate_result.x.copy()
        cost = float(intermediate_result.fun)
        est.loss_curve_.append(cost)
        est.loss_ = cost
        est.n_iter_ += 1
        est.t_ += X.shape[0]
        if est.verbose:
            print(f"{label}iteration {est.n_iter_} cost {cost:.4g}", flush=True)
        if interrupted:
            raise KeyboardInterrupt

    options = {
        "maxiter": est.max_iter,
        "maxfun": est.max_fun,
        "gtol": est.tol,
        "ftol": est.tol,
    }
    status = "max_iter"
    with _deferred_interrupt() as interrupted, training_threads(est.n_jobs):
        try:
            result = scipy.optimize.minimize(
                cost_grad,
                accepted["theta"],
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options=options,
            )
            if result.success or result.nit < est.max_iter:
                status = "converged"  # or stalled in a line search: no progress left
            if result.success:
                accepted["theta"] = result.x
        except _Diverged:
            status = "diverged"
        except KeyboardInterrupt:
            status = "interrupted"
    unpack(accepted["theta"])
    est.best_loss_ = min(est.loss_curve_, default=np.inf)
    est._optimizer_state = None
    _report(est, status, label, False, solver="lbfgs")
    return status
