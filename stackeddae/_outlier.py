"""Outlier detection by reconstruction: an autoencoder scores how unusual a sample is.

The detector fits an autoencoder to (mostly normal) data and scores a sample by how
badly it is reconstructed, relative to the typical training sample::

    divergence(x) = -estimator_.score_samples(x)     KL(x || z) or squared error
    score_samples(x) = -divergence(x) / scale_       scale_: median training divergence
    decision_function(x) = score_samples(x) - offset_      < 0: outlier
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import DenoisingAutoencoder
from ._validation import X_DTYPES

# With contamination="auto", a sample is an outlier when it is reconstructed this
# many times worse than the median training sample (chosen on the digits: see
# benchmarks/DEFAULTS.md, "ReconstructionOutlierDetector").
_AUTO_RATIO = 3.0


def _default_estimator():
    """The autoencoder the detector fits when given none (benchmarks/DEFAULTS.md)."""
    return DenoisingAutoencoder(
        n_components=64,
        corruption="salt_and_pepper",
        corruption_level=0.2,
        solver="adam",
        learning_rate_init=1e-3,
        max_iter=50,
    )


class ReconstructionOutlierDetector(OutlierMixin, BaseEstimator):
    """Unsupervised outlier detection by the reconstruction error of an autoencoder.

    Fits a clone of ``estimator`` to X and scores each sample by its reconstruction
    divergence (``-estimator_.score_samples``: the KL divergence between input and
    reconstruction for the cross-entropy loss, the squared error otherwise; 0 for a
    perfect reconstruction), divided by the median divergence of the training
    samples.  Fitted on normal data only, it detects novelties in new data; fitted on
    contaminated data, it detects the outliers among them (``fit_predict``).

    Parameters
    ----------
    estimator : estimator object, default=None
        An unfitted autoencoder with ``fit`` and ``score_samples`` (higher is more
        normal), e.g. :class:`DenoisingAutoencoder` or
        :class:`StackedDenoisingAutoencoder`.  None uses
        ``DenoisingAutoencoder(64, corruption="salt_and_pepper",
        corruption_level=0.2, solver="adam", learning_rate_init=1e-3,
        max_iter=50)``, settings chosen for detection on the digits
        (benchmarks/DEFAULTS.md).
    contamination : "auto" or float, default="auto"
        The expected proportion of outliers in the training data, which sets the
        threshold ``offset_``.  With "auto", a sample is an outlier when it is
        reconstructed more than 3 times worse than the median training sample
        (``offset_ = -3``); with a float in (0, 0.5], ``offset_`` is the
        ``contamination`` quantile of the training scores, as in IsolationForest.
    random_state : int, RandomState instance or None, default=None
        When not None, sets the ``random_state`` of the fitted clone of the
        estimator (its weights, noise and shuffling); None keeps the estimator's own.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    scale_ : float
        The median reconstruction divergence of the training samples, the unit of
        ``score_samples`` (1 where that median is 0).
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
            estimator = _default_estimator()
        self.estimator_ = clone(estimator)
        if self.random_state is not None:
            self.estimator_.set_params(random_state=self.random_state)
        self.estimator_.fit(X)
        divergences = -self.estimator_.score_samples(X)
        median = float(np.median(divergences))
        self.scale_ = median if median > 0 else 1.0
        if self.contamination == "auto":
            self.offset_ = -_AUTO_RATIO
        else:
            scores = -divergences / self.scale_
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def score_samples(self, X):
        """Minus the reconstruction divergence, in units of the training median.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The higher, the more normal: -1 is the median training sample, 0 a
            perfect reconstruction.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=X_DTYPES)
        return self.estimator_.score_samples(X) / self.scale_

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
