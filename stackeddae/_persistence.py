"""Models saved by older versions of the package: they load, refit and predict.

A parameter added to an estimator is missing from the state of a model pickled
before it existed, and ``get_params``, ``fit`` and ``clone`` read every parameter.
Following scikit-learn's ``__setstate__`` pattern, a loaded model gets each missing
parameter: the value under which the package behaved as it did before the
parameter existed where the new default changed that behaviour, else the default.
"""

import inspect

# Parameters whose default is not how the package behaved before they existed.
BEFORE_ADDED = {
    "dtype": None,  # before dtype, fits trained in the input's precision
    # unlabeled_label's default None is the behaviour before it (every label a
    # class, NaN targets refused), under which the unlabeled_* terms are never
    # used
    "subspace_variance": None,  # detectors before it had no residual term
    # before "auto", fine-tuning was clean unless asked (the stack's default still)
    "fine_tune_corruption_level": 0.0,
    # and undropped unless asked (dropout's default before "auto")
    "dropout": 0.0,
}


class LegacyStateMixin:
    """Fill in, on loading, the parameters that the saved state lacks."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            signature = inspect.signature(type(self).__init__)
            missing = {
                name: BEFORE_ADDED.get(name, parameter.default)
                for name, parameter in signature.parameters.items()
                if parameter.default is not parameter.empty and name not in state
            }
            if missing:
                state = {**state, **missing}
        super().__setstate__(state)
