"""Fine-tuning a stack's unrolled network: the deep autoencoder.

After greedy pretraining, :class:`StackedDenoisingAutoencoder` with
``fine_tune_max_iter > 0`` unrolls its layers into one network, the encoders
bottom to top and then the decoders top to bottom (Hinton & Salakhutdinov 2006),
and trains it end to end on the reconstruction of the clean input
(:class:`._objectives.UnrolledObjective`) through the one training loop.  The
weights are the layers' own arrays, updated in place, so that every method of the
stack, the ONNX export, the plots and the outlier detector read the fine-tuned
network with no code of their own.

The loop reads an estimator's hyper-parameters and writes its record under the
names of scikit-learn's MLP (``max_iter``, ``loss_curve_``); :class:`FineTuning`
is the stack under those names for this phase: its ``fine_tune_x`` parameters as
``x`` (``_params.UNROLLED_NAMES``), its record as ``fine_tune_loss_curve_``,
``fine_tune_n_iter_``, ... beside the layers' own.
"""

import dataclasses

import numpy as np

from ._objectives import UnrolledObjective
from ._params import UNROLLED_NAMES
from ._training import History, reset_history, train

# The record the loop keeps (History's fields) and its private state: each kept
# on the stack with a fine_tune prefix.
_RECORD = [f.name for f in dataclasses.fields(History)]
_RECORD += ["_optimizer_state", "_rng", "_stop_status"]
_STACK_NAMES = {
    **UNROLLED_NAMES,
    **{
        name: f"_fine_tune{name}" if name.startswith("_") else f"fine_tune_{name}"
        for name in _RECORD
    },
}


class FineTuning:
    """The stack as the training loop sees it while it fine-tunes.

    Reads and writes go to the stack's attribute of the mapped name
    (``max_iter`` -> ``fine_tune_max_iter``, ``loss_curve_`` ->
    ``fine_tune_loss_curve_``, ``alpha`` -> ``alpha``); other names are not
    fine-tuning's and raise ``AttributeError``.
    """

    def __init__(self, stack):
        object.__setattr__(self, "_stack", stack)
        # the class the loop's messages name
        object.__setattr__(self, "name_in_messages", type(stack).__name__)

    def __getattr__(self, name):
        return getattr(self._stack, _stack_name(name))

    def __setattr__(self, name, value):
        setattr(self._stack, _stack_name(name), value)


def _stack_name(name):
    try:
        return _STACK_NAMES[name]
    except KeyError:
        raise AttributeError(f"fine-tuning has no setting {name!r}") from None


def start_fine_tuning(stack, seed):
    """A fresh record of fine-tuning on ``stack`` (no epoch yet), its generator
    seeded with ``seed`` (None: no generator, for a stack that does not
    fine-tune)."""
    phase = FineTuning(stack)
    reset_history(phase, stack.early_stopping)
    phase._rng = None if seed is None else np.random.default_rng(seed)
    phase._optimizer_state = None


def fine_tune(stack, X, incremental, task=None, sample_weight=None):
    """Train the unrolled network of ``stack`` on X; how training stopped.

    ``fine_tune_max_iter`` epochs (one if ``incremental``), continuing the record
    :func:`start_fine_tuning` began; early stopping holds out
    ``validation_fraction`` of X, scored by ``stack.score``.  ``task``: the
    callbacks' task whose subtasks the epochs are.  ``sample_weight``
    (positive, in the training precision, or None) weighs the rows' losses and
    the validation score.
    """
    phase = FineTuning(stack)
    rows, validation = None, None
    if stack.early_stopping and not incremental and phase.solver != "lbfgs":
        rows, validation = _split_validation(stack, phase._rng, X, sample_weight)
    label = "fine-tuning "
    status = train(
        phase,
        lambda batch_size, n_train: UnrolledObjective(stack, batch_size),
        X,
        incremental=incremental,
        validation=validation,
        label=label,
        rows=rows,
        task=task,
        sample_weight=sample_weight,
    )
    phase._stop_status = status.value  # a plain str, as the layers keep theirs
    return status


def _split_validation(stack, rng, X, weights=None):
    """Training rows, and a scorer of the held-out rows (as a layer's)."""
    n_valid = max(1, int(round(stack.validation_fraction * X.shape[0])))
    if X.shape[0] - n_valid < 1:
        raise ValueError(f"early_stopping needs at least 2 samples; got {X.shape[0]}.")
    order = rng.permutation(X.shape[0])
    valid = np.sort(order[:n_valid])
    X_valid = X[valid]
    w_valid = None if weights is None else weights[valid].astype(np.float64)
    return np.sort(order[n_valid:]), lambda: float(
        stack.score(X_valid, sample_weight=w_valid)
    )
