"""The one training loop: every fit, partial_fit, pretraining layer and fine-tuning.

An *objective* is the model-specific part: it owns preallocated buffers, exposes
``params`` and ``grads`` (flat lists of arrays, updated in place) and ``batch_size``
(its buffers' capacity), and ``objective(X_batch, Y_batch)`` returns the mean cost of
the mini-batch and fills ``grads``; optionally ``input_buffer``, where it wants the
loop to gather the mini-batch's rows.  A fit with sample weights calls
``objective(X_batch, Y_batch, weights)`` instead, ``weights`` the rows' weights.

Everything else lives here: shuffling and batching (sparse rows are densified, and
the rows of an X in another dtype cast, one mini-batch at a time), the optimizer,
``loss_curve_`` and the stopping rules of scikit-learn's MLP, early stopping with the
best weights restored, and the two ways a fit can end early without losing work: a
diverging cost (the weights of the last finite epoch are restored) and Ctrl-C
(training stops after the current mini-batch).
Each epoch is a task of scikit-learn's callbacks when the estimator has any
(``_callbacks.py``); a callback may stop the epochs (``Status.STOPPED``).

The entry points read the estimator's hyper-parameters once into a :class:`Settings`
and continue its record in a :class:`History` (``loss_curve_``, ``n_iter_``, ...),
which they copy back onto the estimator at the end; the loop in between touches no
estimator.  In call order::

    fit_stochastic(est, objective, X, Y)    settings, history, optimizer; warning
      TrainingLoop.run                      epochs; divergence and Ctrl-C end them
        run_epoch                           the mini-batch loop: cost, check, update
        end_epoch                           counters, loss_curve_, validation, verbose
        should_stop                         scikit-learn's tol / n_iter_no_change rule
    fit_lbfgs(est, objective, X, Y)         the same record, full batch with scipy
"""

import dataclasses
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from enum import Enum

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._batch_size import effective_batch_size
from ._blas import available as blas_available
from ._optimizers import OPTIMIZERS
from ._params import optimizer_params
from ._streaming import BlockSource, CastRows
from ._threads import blas_threads


class DivergenceWarning(UserWarning):
    """Training stopped because the cost diverged (exploded, or became NaN)."""


class Status(str, Enum):
    """How a training run stopped, as :func:`fit_stochastic` and :func:`fit_lbfgs`
    return it.  A ``str``: a member equals its value, which is what an estimator
    keeps (``_stop_status``), as models saved before this enumeration did."""

    MAX_ITER = "max_iter"  # ran its epochs (iterations)
    CONVERGED = "converged"  # tol / n_iter_no_change, or L-BFGS's gradient tol
    DIVERGED = "diverged"  # the last finite epoch's weights restored
    INTERRUPTED = "interrupted"  # Ctrl-C
    STOPPED = "stopped"  # a callback asked to stop (sklearn.callback)
    MAX_FUN = "max_fun"  # L-BFGS: max_fun cost evaluations
    STALLED = "stalled"  # L-BFGS: the line search failed


# ------------------------------------------------------------- entry points


def train(
    est,
    make_objective,
    X,
    Y=None,
    *,
    incremental=False,
    validation=None,
    label="",
    rows=None,
    task=None,
    sample_weight=None,
):
    """Train with ``est.solver``: L-BFGS on the full batch, else mini-batches.

    ``make_objective(batch_size, n_train)`` builds the objective for mini-batches
    of ``batch_size`` rows (L-BFGS: all of X) out of ``n_train`` training rows;
    ``est.batch_size`` is clipped to them as scikit-learn clips it.  The other
    arguments are :func:`fit_stochastic`'s; L-BFGS, on the full batch, reads none
    of ``incremental``, ``validation`` and ``rows``.

    Returns
    -------
    status : Status
        How training stopped (see :func:`fit_stochastic` and :func:`fit_lbfgs`).
    """
    if est.solver == "lbfgs":
        objective = make_objective(X.shape[0], X.shape[0])
        return fit_lbfgs(
            est, objective, X, Y, label=label, task=task, sample_weight=sample_weight
        )
    n_train = X.shape[0] if rows is None else len(rows)
    objective = make_objective(effective_batch_size(est.batch_size, n_train), n_train)
    return fit_stochastic(
        est,
        objective,
        X,
        Y,
        incremental=incremental,
        validation=validation,
        label=label,
        rows=rows,
        task=task,
        sample_weight=sample_weight,
    )


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
    task=None,
    sample_weight=None,
):
    """Train ``objective``'s parameters by mini-batch gradient descent.

    Parameters
    ----------
    est : estimator
        Supplies the hyper-parameters and receives ``loss_curve_``, ``n_iter_``,
        ``t_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
        ``loss_`` and ``_optimizer_state``; its ``_rng`` shuffles.
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
    task : _callbacks.Task or None
        The callbacks' task whose subtasks the epochs are.
    sample_weight : ndarray of shape (n_samples,) or None
        Positive weights of X's rows, in the training precision; each mini-batch
        hands its rows' weights to the objective (None: unweighted, the mini-batch
        step unchanged).

    Returns
    -------
    status : Status
        MAX_ITER, CONVERGED, DIVERGED, INTERRUPTED or STOPPED.
    """
    settings = Settings.from_estimator(est, label)
    history = History.resume(est, early_stopping=validation is not None)
    state = getattr(est, "_optimizer_state", None) if incremental else None
    loop = TrainingLoop(objective, settings, history, est._rng, state)
    epochs = None if task is None else task.epochs(est)
    try:
        status = loop.run(
            X, Y, rows, validation, incremental, epochs=epochs, weights=sample_weight
        )
    finally:
        history.copy_to(est)
    # A diverged optimizer's moments are not worth keeping.
    est._optimizer_state = None if status == Status.DIVERGED else loop.optimizer.state
    warn_about_stop(status, settings, history, incremental, rewound=loop.rewound)
    return status


def fit_lbfgs(est, objective, X, Y=None, label="", task=None, sample_weight=None):
    """Train by L-BFGS on the full batch (scipy.optimize), for small data sets.

    ``objective.batch_size`` must be ``n_samples``.  The objective draws new
    corruption at every evaluation of the cost, i.e. about once per iteration.  As in
    :func:`fit_stochastic`, a non-finite cost stops the fit with the last accepted
    iterate restored, and Ctrl-C stops it after the current iteration.

    Returns
    -------
    status : Status
        CONVERGED, MAX_ITER, MAX_FUN (stopped by ``max_fun``), STALLED (the line
        search failed), DIVERGED or INTERRUPTED.
    """
    settings = Settings.from_estimator(est, label)
    history = History.resume(est, early_stopping=False)
    epochs = None if task is None else task.epochs(est)
    try:
        status = _minimize_lbfgs(
            objective, X, Y, settings, history, epochs=epochs, weights=sample_weight
        )
    finally:
        history.copy_to(est)
    est._optimizer_state = None
    warn_about_stop(status, settings, history, incremental=False, solver="lbfgs")
    return status


# ------------------------------------------------------------- the loop


class TrainingLoop:
    """Epochs of mini-batch updates of ``objective.params``, recorded in a History."""

    def __init__(self, objective, settings, history, rng, optimizer_state=None):
        self.objective = objective
        self.settings = settings
        self.history = history
        self.rng = rng
        self.optimizer = settings.optimizer(objective.params, optimizer_state)
        # weight gradients as factors, the optimizer's to multiply (``_objectives``),
        # where numpy's gemm takes the weights' dtype; during the runs only
        self.factored = hasattr(objective, "factored") and blas_available(
            objective.params[0].dtype
        )
        self.last_good = [p.copy() for p in objective.params]  # end of last epoch
        self.best = None  # early stopping's best weights
        self.cost_limit = None  # set by the first cost: see _DIVERGENCE_FACTOR
        self.bar = None
        self.rewound = False  # Ctrl-C inside a step restored the epoch's start

    def run(
        self,
        X,
        Y=None,
        rows=None,
        validation=None,
        incremental=False,
        epochs=None,
        weights=None,
    ):
        """Train until max_iter, convergence, divergence, Ctrl-C or a callback's
        request; the status.  ``epochs``: where each epoch is reported as a
        callbacks' task (``_callbacks.Task.epochs``), or None."""
        batches = _Batches(
            self.objective, X, Y, rows, self.settings.shuffle, self.rng, weights
        )
        max_iter = 1 if incremental else self.settings.max_iter
        last_epoch = self.history.n_iter_ + max_iter
        self.bar = _progress_bar(self.settings, max_iter * batches.per_epoch)
        status = Status.MAX_ITER
        epoch = None  # the callbacks' task of the epoch under way
        with (
            _deferred_interrupt() as interrupted,
            blas_threads(self.settings.n_jobs),
            _factored_gradients(self.objective, self.factored),
        ):
            try:
                for _ in range(max_iter):
                    start_time = time.perf_counter()
                    if epochs is not None:
                        epoch = epochs.begin()
                    cost = self.run_epoch(batches, interrupted)
                    self.end_epoch(cost, batches.n_samples, validation)
                    self.print_epoch(cost, last_epoch, incremental, start_time)
                    stop = epoch is not None and epoch.end()
                    epoch = None
                    if not incremental and self.should_stop(validation is not None):
                        status = Status.CONVERGED
                        break
                    if stop:
                        status = Status.STOPPED
                        break
            except _Diverged:
                _restore(self.objective.params, self.last_good)
                status = Status.DIVERGED
            except _StepInterrupted:  # back to the start of this epoch
                _restore(self.objective.params, self.last_good)
                self.optimizer.state = None  # its moments ran ahead of the weights
                self.rewound = True
                status = Status.INTERRUPTED
            except KeyboardInterrupt:
                status = Status.INTERRUPTED
        if epoch is not None:  # diverged or interrupted: no weights of its own
            epoch.end(fitted=False)
        if self.bar is not None:
            self.bar.close()
        if self.best is not None:
            _restore(self.objective.params, self.best)
        return status

    def run_epoch(self, batches, interrupted):
        """One pass over the mini-batches; the epoch's mean cost per sample.

        As in scikit-learn's MLP, each mini-batch's mean cost weighs by its size:
        a short last mini-batch counts for its rows only.  In a semi-supervised
        epoch (``MixedRows``) a sample is a row the epoch visits, labeled or not:
        the mean is over its labeled rows and the unlabeled rows it took, each
        unlabeled row's cost its weighted term.  With sample weights a
        mini-batch's cost is the weighted mean of its rows' (the objective's),
        still weighed by its number of rows, as scikit-learn's MLP weighs it.

        The hot loop: everything it reads is a local, and per mini-batch it runs
        the objective and the optimizer's BLAS calls and little else.
        """
        objective, grads = self.objective, self.objective.grads
        factors = objective.factors if self.factored else None
        update = self.optimizer.update
        X, Y, W, x_buffer, y_buffer, w_buffer = (
            batches.X,
            batches.Y,
            batches.weights,
            batches.x_buffer,
            batches.y_buffer,
            batches.w_buffer,
        )
        n_samples, size, bar = batches.n_samples, batches.size, self.bar
        order = batches.order()
        limit = self.cost_limit
        total = 0.0
        for start in range(0, n_samples, size):
            stop = min(start + size, n_samples)
            index = slice(start, stop) if order is None else order[start:stop]
            Xb = _batch(X, index, x_buffer)
            Yb = None if Y is None else _batch(Y, index, y_buffer)
            if W is None:
                cost = objective(Xb, Yb)
            else:  # the rows' weights: an objective that takes them
                cost = objective(Xb, Yb, _batch(W, index, w_buffer))
            if limit is None:
                limit = self.cost_limit = _DIVERGENCE_FACTOR * max(float(cost), 1.0)
            if not cost <= limit:  # also catches NaN
                raise _Diverged
            try:
                update(grads, factors)
            except KeyboardInterrupt:
                raise _StepInterrupted from None
            total += float(cost)
            if bar is not None:
                bar.update()
            if interrupted:
                raise KeyboardInterrupt
        if not _is_finite(objective.params):
            raise _Diverged
        short = n_samples % size  # the last mini-batch's rows, if it is short
        if short:  # corrected here, out of the hot loop
            total -= float(cost) * (1 - short / size)
        # sum of size * mean cost over mini-batches, / n_samples (the same bits
        # as total / per_epoch when size divides n_samples)
        return total / (n_samples / size)

    def end_epoch(self, cost, n_samples, validation):
        """Record a completed epoch: counters, loss_curve_, validation score."""
        history = self.history
        history.n_iter_ += 1
        history.t_ += n_samples
        history.loss_curve_.append(cost)
        history.loss_ = cost
        self.optimizer.iteration_ends(history.t_)
        _restore(self.last_good, self.objective.params)
        if validation is not None:
            history.validation_scores_.append(float(validation()))

    def print_epoch(self, cost, last_epoch, incremental, start_time):
        history, settings = self.history, self.settings
        if self.bar is not None:
            self.bar.set_postfix(epoch=history.n_iter_, cost=f"{cost:.4g}")
        elif settings.verbose:
            epoch = f"{history.n_iter_}" + ("" if incremental else f"/{last_epoch}")
            line = f"{settings.label}epoch {epoch} cost {cost:.4g}"
            if history.validation_scores_:
                line += f" validation score {history.validation_scores_[-1]:.4g}"
            seconds = time.perf_counter() - start_time
            print(f"{line} ({seconds:.2f} s)", flush=True)

    def should_stop(self, early_stopping):
        """scikit-learn's MLP rule: ``n_iter_no_change`` epochs without a ``tol``
        improvement stop the fit (or, for "adaptive", divide the step by 5)."""
        history, settings = self.history, self.settings
        _count_no_improvement(history, settings.tol, early_stopping)
        if early_stopping and (
            history.validation_scores_[-1] > history.best_validation_score_
        ):
            history.best_validation_score_ = history.validation_scores_[-1]
            self.best = [p.copy() for p in self.objective.params]
        if history._no_improvement_count <= settings.n_iter_no_change:
            return False
        what = "Validation score" if early_stopping else "Training loss"
        msg = (
            f"{settings.label}{what} did not improve more than tol={settings.tol} "
            f"for {settings.n_iter_no_change} consecutive epochs."
        )
        if self.optimizer.trigger_stopping(msg, settings.verbose):
            return True
        history._no_improvement_count = 0
        return False


def _count_no_improvement(history, tol, early_stopping):
    """Update the no-improvement counter as scikit-learn's MLP does."""
    if early_stopping:
        improved = (
            history.validation_scores_[-1] >= history.best_validation_score_ + tol
        )
    else:
        improved = history.loss_curve_[-1] <= history.best_loss_ - tol
        history.best_loss_ = min(history.best_loss_, history.loss_curve_[-1])
    history._no_improvement_count = 0 if improved else history._no_improvement_count + 1


def _minimize_lbfgs(objective, X, Y, settings, history, epochs=None, weights=None):
    """scipy's L-BFGS-B over the flattened parameters; the status.  Each iteration
    is reported to ``epochs`` as an epoch (see ``TrainingLoop.run``); a callback's
    request to stop is not heeded (scipy < 1.11 ignores StopIteration)."""
    params = objective.params
    shapes = [p.shape for p in params]
    splits = np.cumsum([p.size for p in params])[:-1]
    Xd = X.toarray() if sp.issparse(X) or isinstance(X, CastRows) else X

    def unpack(theta):
        for p, chunk, shape in zip(
            params, np.split(theta, splits), shapes, strict=True
        ):
            p[...] = chunk.reshape(shape)

    def cost_grad(theta):
        unpack(theta)
        cost = float(objective(Xd, Y) if weights is None else objective(Xd, Y, weights))
        if not np.isfinite(cost):
            raise _Diverged
        return cost, np.concatenate([g.ravel() for g in objective.grads]).astype(float)

    accepted = {"theta": np.concatenate([p.ravel() for p in params]).astype(float)}
    # the callbacks' task of the iteration under way, begun as the previous ended
    epoch = {"task": None, "left": settings.max_iter}

    def callback(intermediate_result):
        accepted["theta"] = intermediate_result.x.copy()
        cost = float(intermediate_result.fun)
        history.loss_curve_.append(cost)
        history.loss_ = cost
        history.n_iter_ += 1
        history.t_ += X.shape[0]
        if epoch["task"] is not None:
            unpack(accepted["theta"])  # the weights a line search left elsewhere
            epoch["task"].end()
            epoch["left"] -= 1
            epoch["task"] = epochs.begin() if epoch["left"] else None
        if settings.verbose:
            line = f"{settings.label}iteration {history.n_iter_} cost {cost:.4g}"
            print(line, flush=True)
        if interrupted:
            raise KeyboardInterrupt

    # tol is the projected-gradient tolerance only, as in scikit-learn's MLP: as
    # ftol too, it stopped fits on a small relative change of the cost, "converged".
    options = {"maxiter": settings.max_iter, "maxfun": settings.max_fun}
    status = Status.MAX_ITER
    with _deferred_interrupt() as interrupted, blas_threads(settings.n_jobs):
        if epochs is not None:
            epoch["task"] = epochs.begin()
        try:
            result = scipy.optimize.minimize(
                cost_grad,
                accepted["theta"],
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options={**options, "gtol": settings.tol},
            )
            status = _lbfgs_status(result, settings.max_iter)
            if result.success:
                accepted["theta"] = result.x
        except _Diverged:
            status = Status.DIVERGED
        except KeyboardInterrupt:
            status = Status.INTERRUPTED
    if epoch["task"] is not None:  # scipy stopped before it: an empty task
        epoch["task"].end(fitted=False)
    unpack(accepted["theta"])
    history.best_loss_ = min(history.loss_curve_, default=np.inf)
    return status


def _lbfgs_status(result, max_iter):
    """How scipy's L-BFGS-B stopped: scikit-learn warns unless ``status == 0``."""
    if result.status == 0:
        return Status.CONVERGED
    if result.nit >= max_iter:
        return Status.MAX_ITER
    if result.status == 1:
        return Status.MAX_FUN
    return Status.STALLED  # abnormal termination in the line search


# ------------------------------------------------------------- divergence, Ctrl-C


class _Diverged(Exception):
    pass


class _StepInterrupted(Exception):
    """Ctrl-C inside an optimizer step, which may have updated some arrays only."""


# A cost this many times larger than where the fit started (or than 1, if it started
# below 1) is divergence even while still finite: weights grown by orders of
# magnitude saturate every unit, and training never comes back from there.
_DIVERGENCE_FACTOR = 1e6


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


@contextmanager
def _factored_gradients(objective, factored):
    """The objective hands its weight gradients over as factors in the block only:
    called on its own (a gradient check, L-BFGS) it fills them."""
    if not factored:
        yield
        return
    objective.factored = True
    try:
        yield
    finally:
        objective.factored = False


def _restore(params, saved):
    for p, s in zip(params, saved, strict=True):
        np.copyto(p, s)


def _is_finite(params):
    return all(np.isfinite(np.sum(p)) for p in params)


def warn_about_stop(
    status, settings, history, incremental, solver="stochastic", rewound=False
):
    """Warn about how a fit stopped: diverged, interrupted, or not converged.

    ``rewound``: an interruption inside an optimizer step put the weights back to
    the start of the interrupted epoch.
    """
    name, label = settings.name, settings.label
    if status == Status.DIVERGED:
        remedy = (
            "Rescale the data (e.g. StandardScaler) or raise alpha."
            if solver == "lbfgs"
            else "Lower the learning rate (learning_rate_init) or choose an adaptive "
            "solver such as 'adam'."
        )
        warnings.warn(
            f"{name}: {label}the training cost diverged (grew past a million times "
            f"its initial value, or became infinite or NaN) after "
            f"{history.n_iter_} complete epochs; training stopped and the weights of "
            f"the last finite epoch were kept. {remedy}",
            DivergenceWarning,
            stacklevel=4,
        )
    elif status == Status.INTERRUPTED:
        kept = "lbfgs" if solver == "lbfgs" else "rewound" if rewound else "steps"
        unit, kept, further = _KEPT_ON_INTERRUPT[kept]
        warnings.warn(
            f"{name}: {label}training interrupted by the user after "
            f"{history.n_iter_} complete {unit}; {kept}. The estimator can be used, "
            f"or trained further with {further}.",
            UserWarning,
            stacklevel=4,
        )
    elif status in _NOT_CONVERGED and not (incremental and status == Status.MAX_ITER):
        what = "lbfgs" if solver == "lbfgs" else "stochastic optimizer"
        reason = _NOT_CONVERGED[status].format(settings=settings)
        warnings.warn(
            f"{name}: {label}{what} {reason}", ConvergenceWarning, stacklevel=4
        )


# What an interrupted fit kept: the unit its progress is counted in, the weights,
# and how to continue (L-BFGS has no partial_fit).
_CONTINUE = "partial_fit (or fit with warm_start=True)"
_KEPT_ON_INTERRUPT = {
    "steps": (
        "epochs",
        "the weights of the completed mini-batches were kept",
        _CONTINUE,
    ),
    "rewound": (
        "epochs",
        "it came inside an optimizer step, which may have updated some arrays "
        "only, so the weights of the start of the interrupted epoch were restored "
        "(and the optimizer's state reset)",
        _CONTINUE,
    ),
    "lbfgs": (
        "iterations",
        "the weights of the last completed iteration were kept",
        "fit and warm_start=True",
    ),
}


# Why a fit that ran to its end did not converge, for the ConvergenceWarning.
_NOT_CONVERGED = {
    Status.MAX_ITER: "reached the maximum number of epochs ({settings.max_iter}) and "
    "the optimization hasn't converged yet.",
    Status.MAX_FUN: "reached the maximum number of cost evaluations (max_fun="
    "{settings.max_fun}) and the optimization hasn't converged yet. Increase max_fun.",
    Status.STALLED: "stopped: the line search found no step that lowers the cost, "
    "though the gradient is above tol={settings.tol}. Rescale the data (e.g. "
    "StandardScaler) or raise tol.",
}


# ------------------------------------------------------------- helpers


@dataclasses.dataclass(frozen=True)
class Settings:
    """The hyper-parameters the loop reads, taken once from an estimator."""

    solver: str
    learning_rate_init: float
    learning_rate: str
    power_t: float
    max_iter: int
    max_fun: int
    tol: float
    n_iter_no_change: float
    shuffle: bool
    verbose: int
    n_jobs: int | None
    optimizer_params: dict = dataclasses.field(default_factory=dict)
    name: str = ""  # the estimator's class, for messages
    label: str = ""  # prefix of messages, e.g. "layer 2/3 "

    @classmethod
    def from_estimator(cls, est, label=""):
        own = ("optimizer_params", "name", "label")
        names = [f.name for f in dataclasses.fields(cls) if f.name not in own]
        return cls(
            **{name: getattr(est, name) for name in names},
            optimizer_params={
                name: getattr(est, name) for name in optimizer_params(est.solver)
            },
            # a stand-in for an estimator (fine-tuning's view of a stack) names it
            name=getattr(est, "name_in_messages", type(est).__name__),
            label=label,
        )

    def optimizer(self, params, state=None):
        """The optimizer named by ``solver`` over ``params`` (continuing ``state``)."""
        return OPTIMIZERS[self.solver](
            params,
            learning_rate_init=self.learning_rate_init,
            lr_schedule=self.learning_rate,
            power_t=self.power_t,
            state=state,
            **self.optimizer_params,
        )


@dataclasses.dataclass
class History:
    """The record of training: the fitted attributes of the same names."""

    n_iter_: int = 0
    t_: int = 0
    loss_: float | None = None  # until an epoch completes
    loss_curve_: list = dataclasses.field(default_factory=list)
    best_loss_: float | None = np.inf
    validation_scores_: list | None = None
    best_validation_score_: float | None = None
    _no_improvement_count: int = 0

    @classmethod
    def fresh(cls, early_stopping):
        """The record of a fit about to start (not incremental)."""
        if early_stopping:  # the validation score is tracked, not the training loss
            return cls(
                best_loss_=None, validation_scores_=[], best_validation_score_=-np.inf
            )
        return cls()

    @classmethod
    def resume(cls, est, early_stopping):
        """A copy of ``est``'s record, to continue with or without early stopping."""
        history = cls(**{f.name: getattr(est, f.name) for f in dataclasses.fields(cls)})
        history.loss_curve_ = list(history.loss_curve_)
        if early_stopping:
            history.best_loss_ = None
            if history.validation_scores_ is None:  # a warm start turned it on
                history.validation_scores_ = []
                history.best_validation_score_ = -np.inf
            history.validation_scores_ = list(history.validation_scores_)
        elif history.best_loss_ is None:  # a warm start turned it off
            history.best_loss_ = np.inf
        return history

    def copy_to(self, est):
        for field in dataclasses.fields(self):
            setattr(est, field.name, getattr(self, field.name))


def reset_history(est, early_stopping):
    """Start the bookkeeping attributes of a fresh (not incremental) fit."""
    History.fresh(early_stopping).copy_to(est)


class _Batches:
    """Where the mini-batches of an epoch come from, and the buffers they land in."""

    def __init__(self, objective, X, Y, rows, shuffle, rng, weights=None):
        self.X, self.Y, self.rows, self.shuffle, self.rng = X, Y, rows, shuffle, rng
        self.weights = weights  # sample weights of X's rows, or None
        self.size = objective.batch_size
        self.n_samples = X.shape[0] if rows is None else len(rows)
        self.per_epoch = -(-self.n_samples // self.size)
        gathered = shuffle or rows is not None
        # rows land where the objective reads them, when it says where
        self.x_buffer = getattr(objective, "input_buffer", None)
        if self.x_buffer is None and (
            gathered or sp.issparse(X) or isinstance(X, CastRows)
        ):
            self.x_buffer = np.empty((self.size, X.shape[1]), X.dtype)
        self.y_buffer = None
        if Y is not None and gathered:
            self.y_buffer = np.empty((self.size, Y.shape[1]), Y.dtype)
        self.w_buffer = None
        if weights is not None and gathered:
            self.w_buffer = np.empty(self.size, weights.dtype)

    def order(self):
        """This epoch's order of the training rows (None: X's own order)."""
        if isinstance(self.X, BlockSource):  # larger than memory: block by block
            return self.X.epoch_order(self.rng, self.shuffle, self.size, self.rows)
        if isinstance(self.rows, MixedRows):
            return self.rows.epoch(self.rng, self.shuffle)
        if not self.shuffle:
            return self.rows
        order = self.rng.permutation(self.n_samples)
        return order if self.rows is None else self.rows[order]


class MixedRows:
    """The rows of a semi-supervised epoch: every labeled row once, and as many
    unlabeled rows (all of them at most), taken in turn from a shuffled cycle of
    the unlabeled rows, so that an epoch is a pass over the labeled rows and the
    unlabeled ones are all visited over the epochs.  Given as ``rows`` to
    :func:`fit_stochastic`."""

    def __init__(self, labeled, unlabeled):
        self.labeled, self.unlabeled = labeled, unlabeled
        self.n_unlabeled = min(len(labeled), len(unlabeled))
        self.cycle, self.next = unlabeled, len(unlabeled)  # a cycle to start

    def __len__(self):
        return len(self.labeled) + self.n_unlabeled

    def epoch(self, rng, shuffle):
        """This epoch's rows, mixed in random order (with ``shuffle``)."""
        taken = []
        needed = self.n_unlabeled
        while needed:
            if self.next == len(self.cycle):
                self.cycle = rng.permutation(self.unlabeled) if shuffle else self.cycle
                self.next = 0
            chunk = self.cycle[self.next : self.next + needed]
            self.next += len(chunk)
            needed -= len(chunk)
            taken.append(chunk)
        rows = np.concatenate([self.labeled, *taken])
        return rng.permutation(rows) if shuffle else rows


def _batch(X, index, buffer):
    """Rows ``index`` (a slice or an index array) of X as a dense C array (X may
    also be a vector: the rows' weights)."""
    if isinstance(X, (BlockSource, CastRows)):
        return X.take(index, buffer)
    if sp.issparse(X):
        rows = X[index]
        return rows.toarray(out=buffer[: rows.shape[0]])
    if isinstance(index, slice):
        return X[index]
    return np.take(X, index, axis=0, out=buffer[: len(index)])


def _progress_bar(settings, n_updates):
    """A tqdm bar over the fit's mini-batches when ``verbose >= 2`` and tqdm exists."""
    if settings.verbose < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(
            "verbose >= 2 asks for a progress bar, which needs tqdm "
            "(pip install tqdm); printing one line per epoch instead.",
            stacklevel=5,
        )
        return None
    return tqdm(
        total=n_updates, desc=settings.label.strip() or settings.name, leave=False
    )
