"""Checks of inputs and hyper-parameters shared by the estimators."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

from ._activations import CODE_ACTIVATIONS, OUTPUT_RANGES
from ._corruption import CORRUPTIONS, LEVEL_RANGES
from ._optimizers import OPTIMIZERS
from ._streaming import may_stream

# The hyper-parameters that the training loop reads (scikit-learn's MLP names).
TRAINING_CONSTRAINTS = {
    "solver": [StrOptions({*OPTIMIZERS, "lbfgs"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "rho": [Interval(Real, 0, 1, closed="neither")],
    # np.inf: never stop early, as in scikit-learn's MLP
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    # the training precision, as KBinsDiscretizer's dtype (None: X's own)
    "dtype": [Options(type, {np.float64, np.float32}), None],
    "n_jobs": [
        None,
        Interval(Integral, None, -1, closed="right"),
        Interval(Integral, 1, None, closed="left"),
    ],
}

LAYER_CONSTRAINTS = {
    "activation": [StrOptions(set(CODE_ACTIVATIONS))],
    "loss": [StrOptions({"auto", "cross_entropy", "squared_error"})],
    "corruption": [StrOptions(set(CORRUPTIONS))],
    "tied_weights": ["boolean"],
}

# The supervised networks' hidden layers: one activation for all, linear included
# (MLPClassifier's "identity"; its layers pretrain as linear autoencoders).
NETWORK_ACTIVATION = [StrOptions(set(CODE_ACTIVATIONS))]

X_DTYPES = [np.float64, np.float32]


def fit_dtype(est, fitted_weights=None):
    """The dtype(s) ``validate_data`` converts training X to (copying only then).

    A continued fit (``warm_start``, ``partial_fit``) keeps the dtype of its
    ``fitted_weights``; a fresh one trains in ``est.dtype``, or with None in X's
    own float dtype (float64 for other inputs).
    """
    if fitted_weights is not None:
        return fitted_weights.dtype
    return X_DTYPES if est.dtype is None else est.dtype


def preserved_dtypes(dtype):
    """``transformer_tags.preserves_dtype``: outputs are in the training precision,
    whatever the input's dtype, unless ``dtype`` is None (the input's own)."""
    return ["float64", "float32"] if dtype is None else [np.dtype(dtype).name]


def is_stochastic(est):
    """Whether ``est`` trains by mini-batches (``partial_fit`` exists), not L-BFGS."""
    return est.solver != "lbfgs"


def check_integer_params(est):
    """Reject bools where an integer is expected (``isinstance(True, Integral)``).

    scikit-learn's ``Interval(Integral, ...)`` constraints let ``True`` pass as 1.
    """
    for name, constraints in est._parameter_constraints.items():
        value = getattr(est, name)
        integral = any(getattr(c, "type", None) is Integral for c in constraints)
        if integral and isinstance(value, (bool, np.bool_)):
            raise ValueError(
                f"The '{name}' parameter of {type(est).__name__} must be an int, "
                f"got {value!r}."
            )


def check_partial_fit_allowed(est):
    """Refuse ``partial_fit`` with early stopping, as scikit-learn's MLP does.

    One epoch over a chunk has no held-out rows to score, so the parameter could
    only be ignored.
    """
    if est.early_stopping:
        raise ValueError(
            f"partial_fit does not support early_stopping=True ({type(est).__name__}"
            " holds out no validation rows from a chunk). Set early_stopping=False "
            "for incremental training, or use fit."
        )


def data_range(X):
    """Smallest and largest value of a dense or sparse X, without copying it."""
    if sp.issparse(X):
        if X.nnz == 0:
            return 0.0, 0.0
        low, high = float(X.data.min()), float(X.data.max())
        if X.nnz < X.shape[0] * X.shape[1]:  # implicit zeros
            low, high = min(low, 0.0), max(high, 0.0)
        return low, high
    return float(X.min()), float(X.max())


def resolve_loss(loss, X, owner):
    """The reconstruction loss for data X: ``"auto"`` picks by X's range."""
    low, high = data_range(X)
    in_unit_interval = low >= 0 and high <= 1
    if loss == "auto":
        return "cross_entropy" if in_unit_interval else "squared_error"
    if loss == "cross_entropy" and not in_unit_interval:
        raise ValueError(cross_entropy_range_message(owner, low, high))
    return loss


def check_cross_entropy_range(X, owner):
    """Raise if X leaves [0, 1]: the cross-entropy loss is only defined there."""
    low, high = data_range(X)
    if low < 0 or high > 1:
        raise ValueError(cross_entropy_range_message(owner, low, high))


def cross_entropy_range_message(owner, low, high):
    return (
        f"{owner} uses the cross-entropy loss, which needs inputs in [0, 1], but X "
        f"ranges over [{low:.4g}, {high:.4g}]. Scale X into [0, 1] first (e.g. with "
        "sklearn.preprocessing.MinMaxScaler in a Pipeline), or use "
        "loss='squared_error' (or loss='auto', which picks it) for real-valued data."
    )


def loss_for_layer_above(activation):
    """The loss ``"auto"`` gives a stacked layer trained on codes of ``activation``."""
    low, high = OUTPUT_RANGES[activation]
    return "cross_entropy" if low >= 0 and high <= 1 else "squared_error"


def per_layer(value, n_layers, name):
    """A scalar, or a list with one entry per layer, as a list of ``n_layers``."""
    if np.ndim(value) == 0:
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(
            f"The '{name}' parameter must be a scalar or have one entry per layer "
            f"({n_layers} layers from hidden_layer_sizes), got {len(values)} entries: "
            f"{value!r}."
        )
    return values


def check_corruption_level(level, corruption, name="corruption_level"):
    """Raise if ``level`` is outside the allowed range of the ``corruption`` type."""
    low, high = LEVEL_RANGES[corruption]
    ok = isinstance(level, Real) and not isinstance(level, bool) and np.isfinite(level)
    if not ok or not (low <= level < high):
        allowed, meaning = (
            ("[0, 1)", "a probability") if high == 1 else ("[0, inf)", "a std. dev.")
        )
        raise ValueError(
            f"The '{name}' parameter must be a number in {allowed} for "
            f"corruption='{corruption}' ({meaning}), got {level!r}."
        )


def check_dropout(dropout, n_hidden):
    """The dropout rate of each of the ``n_hidden`` hidden layers (a float for
    all, or one per layer), each in [0, 1), or a clear error.  "auto" is the
    estimator's to resolve first (its rates are in range)."""
    rates = per_layer(dropout, n_hidden, "dropout")
    for rate in rates:
        ok = isinstance(rate, Real) and not isinstance(rate, bool)
        if not (ok and np.isfinite(rate) and 0 <= rate < 1):
            raise ValueError(
                "The 'dropout' parameter must be a probability in [0, 1), or a "
                "sequence of them, one per hidden layer, or 'auto', got "
                f"{dropout!r}."
            )
    return [float(rate) for rate in rates]


def check_activation(activation, name="activation"):
    """Raise if ``activation`` (one layer's) is not a hidden activation's name."""
    if not (isinstance(activation, str) and activation in CODE_ACTIVATIONS):
        raise ValueError(
            f"The '{name}' parameter must be one of {list(CODE_ACTIVATIONS)} or a "
            f"sequence of them, one per layer, got an entry {activation!r}."
        )


def check_hidden_layer_sizes(sizes):
    """A tuple of positive ints, or a clear error."""
    sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    if not sizes or any(
        not isinstance(s, Integral) or isinstance(s, bool) or s < 1 for s in sizes
    ):
        raise ValueError(
            "The 'hidden_layer_sizes' parameter must be a positive integer or a "
            f"non-empty sequence of positive integers, got {sizes!r}."
        )
    return [int(s) for s in sizes]


def is_nan(value):
    """Whether ``value`` is a float NaN (the regressor's unlabeled marker)."""
    return isinstance(value, Real) and value != value


def labeled_rows(y, marker, owner):
    """Mask of the rows of ``y`` whose label is not ``marker`` (NaN: whose targets
    are all NaN); None where every row is labeled (or ``marker`` is None).

    Raises where no row is labeled, and where a row has some NaN targets only.
    """
    if marker is None:
        return None
    if is_nan(marker):
        missing = np.isnan(y).reshape(len(y), -1)
        unlabeled = missing.all(axis=1)
        if (missing.any(axis=1) & ~unlabeled).any():
            raise ValueError(
                f"{owner}: a row of y has NaN targets beside numbers; a row is "
                "unlabeled when all its targets are NaN (unlabeled_label=np.nan)."
            )
    else:
        # elementwise also where y and the marker differ in type (strings and -1)
        unlabeled = np.broadcast_to(np.asarray(y == marker, dtype=bool), y.shape)
    if not unlabeled.any():
        return None
    if unlabeled.all():
        raise ValueError(
            f"{owner} needs labeled samples, but every label of y is the unlabeled "
            f"marker unlabeled_label={marker!r}: unlabeled rows serve pretraining "
            "only beside labeled ones. Fit a StackedDenoisingAutoencoder on "
            "unlabeled data alone."
        )
    return ~unlabeled


def weighted_rows(X, y, sample_weight):
    """``(X, y, weights)`` as training reads them, from the raw inputs of ``fit``.

    The weights are validated as scikit-learn validates them (one number per
    row, not all zero) and must be non-negative.  Rows of weight 0 are dropped
    here, before anything else sees them (the loss "auto" picks, the validation
    split, the batches, the noise), so that a zero weight is a dropped row
    exactly; ``weights`` is None where there are none or where the kept ones are
    all 1, so that such a fit is the unweighted one bit for bit.  ``y`` may be
    None (the autoencoders).
    """
    if sample_weight is None:
        return X, y, None
    weights = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if not weights.all():
        if may_stream(X):
            raise ValueError(
                "sample_weight has rows of weight 0, which a fit drops from X; on "
                "an X read block by block (a numpy.memmap or dask array larger "
                "than working_memory) that would load the other rows in memory. "
                "Drop them from X and sample_weight first (keep = sample_weight > "
                "0), or give them a small positive weight."
            )
        kept = np.flatnonzero(weights)
        X = _safe_indexing(X, kept)
        y = None if y is None else _safe_indexing(y, kept)
        weights = weights[kept]
    return X, y, None if np.all(weights == 1) else weights


def weighted_mean(values, weights=None):
    """The mean of ``values``, weighted by ``weights`` (None: the plain mean):
    ``score``'s and early stopping's."""
    if weights is None:
        return float(np.mean(values))
    return float(np.average(values, weights=weights))
