"""scikit-learn's fit callbacks (``sklearn.callback``, SLEP023, scikit-learn 1.9+):
the tasks a fit reports, and nothing at all where scikit-learn has no callbacks.

A fit is a tree of tasks, nested as the work is::

    DenoisingAutoencoder           fit -> epoch
    StackedDenoisingAutoencoder    fit -> layer -> epoch
                                       -> fine-tuning -> epoch (fine_tune_max_iter > 0)
    SdAClassifier, SdARegressor    fit -> pretraining -> layer -> epoch
                                       -> fine-tuning -> epoch
    ReconstructionOutlierDetector  fit -> fit-estimator (the autoencoder's own tree)

(L-BFGS iterations are the epochs.)  The tasks are scikit-learn's callback contexts,
made and called as its own estimators do (``LogisticRegression``, ``Pipeline``):
``_init_callback_context`` at the start of ``fit``, a subcontext per task, the
``on_fit_task_begin`` and ``on_fit_task_end`` hooks around it; ``_fit_context``
tears the callbacks down, as ``with_callbacks`` would.  A :class:`Task` bundles
one context with what its hooks are given: the estimator, the training data and,
at the end of a task, the fitted state (``fitted_estimator``), so that a
``ScoringMonitor`` scores each epoch's weights.

An epoch's fitted state is a copy of the weights as that epoch left them (with
early stopping: not the best ones, which the fit restores at its end), made only
when a callback asks for ``fitted_estimator``.  Within a stack, a layer's epochs
are the stack's first layers up to that one; within a classifier, pretraining
has no fitted state (no output layer yet), fine-tuning's epochs have the network.

An autoencoder's target is its input: the unsupervised estimators report X as
``y`` when ``fit`` gets none, because scikit-learn's ``ScoringMonitor`` scores only
the tasks that have a target (their ``score`` ignores ``y``).

No callback set, no cost: the epochs are reported only to an estimator with
callbacks (``_skl_callbacks``, as ``LogisticRegression`` checks), so the training
loop pays one ``is None`` test per epoch.  Without ``sklearn.callback``
(scikit-learn before 1.9) ``CallbackSupportMixin`` adds no ``set_callbacks`` and
every task is :data:`NO_CONTEXT`, whose hooks do nothing.
"""

from contextlib import contextmanager

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class _NoContext:
        """A callback context that reports nothing (no sklearn.callback)."""

        def subcontext(self, *args, **kwargs):
            return self

        def call_on_fit_task_begin(self, **kwargs):
            return self

        def call_on_fit_task_end(self, **kwargs):
            return False

        @contextmanager
        def propagate_callback_context(self, sub_estimator):
            yield

    NO_CONTEXT = _NoContext()

    class CallbackSupportMixin:
        """Stands in for scikit-learn's: no callbacks, contexts that do nothing."""

        def _init_callback_context(self, *args, **kwargs):
            return NO_CONTEXT


def own_target(X, y):
    """What an unsupervised estimator reports as its target: y, or else X."""
    return X if y is None else y


class Task:
    """One task of a fit, as the callbacks see it.

    Parameters
    ----------
    estimator : estimator
        The estimator whose fit this is (the hooks' ``estimator``).
    context : CallbackContext
        The task's callback context.
    X, y : array-like or None
        The training data as ``fit`` was given it (the hooks' ``X`` and ``y``).
    state : callable or None
        Returns the reconstruction attributes of the fitted state at the end of
        this task (a dict: scikit-learn's ``reconstruction_attributes``, from
        which the hooks' ``fitted_estimator`` is made); None: no fitted state.
    epoch_state : callable or None
        ``epoch_state(trained)``: the fitted state at the end of an epoch of this
        task, given what the training loop trains (the estimator, a layer, or
        fine-tuning's view of a stack); None: its epochs have no fitted state.
    """

    __slots__ = ("estimator", "context", "X", "y", "state", "epoch_state", "listened")

    def __init__(self, estimator, context, X, y, state=None, epoch_state=None):
        self.estimator, self.context, self.X, self.y = estimator, context, X, y
        self.state, self.epoch_state = state, epoch_state
        # as LogisticRegression: only an estimator with callbacks hears its epochs
        self.listened = hasattr(estimator, "_skl_callbacks")

    @classmethod
    def fit(cls, estimator, X, y, max_subtasks, epoch_state=None):
        """The root task of ``estimator``'s fit, begun; its end reports the
        estimator as it then is."""
        context = estimator._init_callback_context(max_subtasks=max_subtasks)
        return cls(estimator, context, X, y, _as_fitted, epoch_state).begin()

    def subtask(self, name, max_subtasks=0, state=None, epoch_state=None):
        """A subtask of this one, begun."""
        context = self.context.subcontext(task_name=name, max_subtasks=max_subtasks)
        task = Task(self.estimator, context, self.X, self.y, state, epoch_state)
        return task.begin()

    def begin(self):
        self.context.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y
        )
        return self

    def end(self, fitted=True):
        """End the task (``fitted=False``: it ended without a fitted state, e.g.
        interrupted); whether a callback asks to stop this level of iterations."""
        return self.context.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            reconstruction_attributes=self.state if fitted else None,
        )

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:  # as scikit-learn's: a failed fit ends no task
            self.end()

    def epochs(self, trained):
        """What the training loop reports its epochs to, or None when no callback
        listens (the loop then pays nothing per epoch)."""
        return _Epochs(self, trained) if self.listened else None


class _Epochs:
    """The epochs of one training run, subtasks of ``parent``."""

    __slots__ = ("parent", "state")

    def __init__(self, parent, trained):
        self.parent = parent
        epoch_state = parent.epoch_state
        self.state = None if epoch_state is None else lambda: epoch_state(trained)

    def begin(self):
        """The next epoch's task, begun."""
        return self.parent.subtask("epoch", state=self.state)


def _as_fitted():
    """The reconstruction attributes of an estimator at the end of its fit: none,
    it is fitted (as LogisticRegression reports its end)."""
    return {}


@contextmanager
def subtask_of(task, name, max_subtasks=0, **states):
    """``task.subtask(...)`` as a context that ends it (unless it raised), or
    nothing when ``task`` is None."""
    if task is None:
        yield None
        return
    with task.subtask(name, max_subtasks, **states) as sub:
        yield sub
