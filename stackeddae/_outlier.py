"""Outlier detection by reconstruction: an autoencoder scores how unusual a sample is.

The detector fits an autoencoder to (mostly normal) data and scores a sample by how
badly it is reconstructed, relative to the spread of the training samples' errors::

    divergence(x) = -estimator_.score_samples(x)     KL(x || z) or squared error
    score_samples(x) = -(divergence(x) - center_) / scale_
                       center_, scale_: third quartile, interquartile range of the
                       training divergences
    decision_function(x) = score_samples(x) - offset_      < 0: outlier

With ``contamination="auto"`` the threshold is Tukey's fence, offset_ = -1.5: an
outlier is reconstructed worse than Q3 + 1.5 IQR of the training divergences.
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import DenoisingAutoencoder
from ._validation import X_DTYPES, resolve_loss

# contamination="auto": Tukey's fence, the textbook threshold of a skewed
# one-dimensional sample (benchmarks/DEFAULTS.md measures what it flags).
_TUKEY_FENCE = 1.5


# The default autoencoder's noise, by the loss "auto" picks for the data: salt and
# pepper on [0, 1] data (chosen on the digits), gaussian on real-valued data, as the
# README advises: salt and pepper writes the data's extremes, which on a few
# real-valued features the autoencoder learns to undo only by reconstructing the mean.
_DEFAULT_NOISE = {"cross_entropy": "salt_and_pepper", "squared_error": "gaussian"}


def _default_estimator(X):
    """The autoencoder fitted to X when none is given (benchmarks/DEFAULTS.md)."""
    loss = resolve_loss("auto", X, "ReconstructionOutlierDetector")
    return DenoisingAutoencoder(
        n_components=32,
        corruption=_DEFAULT_NOISE[loss],
        corruption_level=0.2,
        solver="adam",
        learning_rate_init=1e-3,
        max_iter=50,
    )


class ReconstructionOutlierDetector(OutlierMixin, BaseEstimator):
    """Unsupervised outlier detection by the reconstruction error of an autoencoder.

    Fits a clone of ``estimator`` to X and scores each sample by its reconstruction
    divergence d (``-estimator_.score_samples``: the KL divergence between input and
    reconstruction for the cross-entropy loss, the squared error otherwise; 0 for a
    perfect reconstruction), standardised by the training divergences' quartiles:
    ``score_samples = -(d - Q3) / (Q3 - Q1)``.  Fitted on normal data only, it
    detects novelties in new data; fitted on contaminated data, it detects the
    outliers among them (``fit_predict``).

    Parameters
    ----------
    estimator : estimator object, default=None
        An unfitted autoencoder with ``fit`` and ``score_samples`` (higher is more
        normal), e.g. :class:`DenoisingAutoencoder` or
        :class:`StackedDenoisingAutoencoder`.  None uses
        ``DenoisingAutoencoder(32, corruption="salt_and_pepper",
        corruption_level=0.2, solver="adam", learning_rate_init=1e-3,
        max_iter=50)``, settings chosen for detection on the digits
        (benchmarks/DEFAULTS.md), trained for its 50 epochs without a
        ``ConvergenceWarning``; on data outside [0, 1] (squared-error loss) with
        ``corruption="gaussian"`` instead, as for real-valued data in general.
    contamination : "auto" or float, default="auto"
        The expected proportion of outliers in the training data, which sets the
        threshold ``offset_``.  With "auto", Tukey's fence: a sample is an outlier
        when its divergence exceeds Q3 + 1.5 (Q3 - Q1) of the training divergences
        (``offset_ = -1.5``); with a float in (0, 0.5], ``offset_`` is the
        ``contamination`` quantile of the training scores, as in IsolationForest.
    random_state : int, RandomState instance or None, default=None
        When not None, sets the ``random_state`` of the fitted clone of the
        estimator (its weights, noise and shuffling); None keeps the estimator's own.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    center_ : float
        The third quartile Q3 of the training samples' reconstruction divergences.
    scale_ : float
        Their interquartile range Q3 - Q1, the unit of ``score_samples`` (1 where
        it is 0).
    offset_ : float
        Threshold of the scores: ``decision_function = score_samples - offset_``,
        and samples with a negative decision are outliers.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection by random partitions.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density.

    Examples
    --------
    >>> import numpy as np
    >>> from stackeddae import DenoisingAutoencoder, ReconstructionOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> stripes = np.tile([0.9, 0.1], (200, 10)) + 0.05 * rng.random((200, 20))
    >>> detector = ReconstructionOutlierDetector(
    ...     DenoisingAutoencoder(8, solver="adam", max_iter=100), random_state=0
    ... ).fit(stripes)
    >>> detector.predict(np.vstack([stripes[:2], rng.random((2, 20))]))
    array([ 1,  1, -1, -1])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, contamination="auto", random_state=None):
        self.estimator = estimator
        self.contamination = contamination
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the autoencoder to X and set the threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, normal samples only for novelty detection.
        y : None
            Ignored.

        Returns
        -------
        self : ReconstructionOutlierDetector
        """
        X = validate_data(self, X, accept_sparse="csr", dtype=X_DTYPES)
        estimator = self.estimator
        if estimator is None:
            estimator = _default_estimator(X)
        self.estimator_ = clone(estimator)
        if self.random_state is not None:
            self.estimator_.set_params(random_state=self.random_state)
        with warnings.catch_warnings():
            if self.estimator is None:  # a fixed budget, chosen by experiment
                warnings.simplefilter("ignore", ConvergenceWarning)
            self.estimator_.fit(X)
        divergences = -self.estimator_.score_samples(X)
        low, high = np.percentile(divergences, [25, 75])
        self.center_ = float(high)
        self.scale_ = float(high - low) if high > low else 1.0
        if self.contamination == "auto":
            self.offset_ = -_TUKEY_FENCE
        else:
            scores = (self.center_ - divergences) / self.scale_
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def score_samples(self, X):
        """Minus the reconstruction divergence, standardised by the training ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-(divergence - center_) / scale_``: the higher, the more normal; 0 at
            the training divergences' third quartile, -1.5 at Tukey's fence.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=X_DTYPES)
        return (self.estimator_.score_samples(X) + self.center_) / self.scale_

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        decision = self.decision_function(X)
        is_inlier = np.ones(decision.shape[0], dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
