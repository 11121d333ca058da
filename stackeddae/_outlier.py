"""Outlier detection by autoencoder: how badly a sample is reconstructed, how far
its code lies from the training samples' codes, and how far it lies from their
principal subspace.

The detector fits an autoencoder to (mostly normal) data and sums three anomaly
terms, each in units of its spread over the training samples::

    divergence(x) = -estimator_.score_samples(x)     KL(x || z) or squared error
    distance(x)   = mean cosine distance from the top code of x, before its
                    activation, to its n_neighbors nearest training codes
    residual(x)   = squared distance from x to the principal subspace that keeps
                    subspace_variance of the training samples' variance
    anomaly(x)    = divergence(x) / IQR_train(divergence)
                    + distance(x) / IQR_train(distance)
                    + residual(x) / IQR_train(residual)
    score_samples(x) = -(anomaly(x) - center_) / scale_
                       center_, scale_: third quartile, interquartile range of the
                       training anomalies
    decision_function(x) = score_samples(x) - offset_      < 0: outlier

The divergence flags what the autoencoder cannot reconstruct, the distance what it
encodes unlike any training sample (benchmarks/DEFAULTS.md: on the digits, neither
term alone beat the classical detectors in both of bench_anomaly.py's settings, their
sum did); the residual flags what lies off the training samples' linear
subspace, which on few samples of few features the autoencoder learns less well
than a PCA does (benchmarks/DEFAULTS.md, "Defaults that follow the data").
``n_neighbors=None`` leaves the distance out, ``subspace_variance=None`` the
residual.  The IQRs and quartiles are those of the training samples as new samples
see them, each one's distance leaving itself out; scored after ``fit``, a training
sample is one of its own neighbours.

With ``contamination="auto"`` the threshold is Tukey's fence, offset_ = -1.5: an
outlier has an anomaly above Q3 + 1.5 IQR of the training anomalies.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import DenoisingAutoencoder
from ._callbacks import CallbackSupportMixin, Task
from ._layers import dense, encoder_layers, forward
from ._persistence import LegacyStateMixin
from ._stacked import StackedDenoisingAutoencoder
from ._threads import blas_threads
from ._validation import X_DTYPES, resolve_loss, weighted_rows

# contamination="auto": Tukey's fence, the textbook threshold of a skewed
# one-dimensional sample (benchmarks/DEFAULTS.md measures what it flags).
_TUKEY_FENCE = 1.5


# The default autoencoder's noise, by the loss "auto" picks for the data: salt and
# pepper on [0, 1] data (chosen on the digits), gaussian on real-valued data, as the
# README advises: salt and pepper writes the data's extremes, which on a few
# real-valued features the autoencoder learns to undo only by reconstructing the mean.
_DEFAULT_NOISE = {"cross_entropy": "salt_and_pepper", "squared_error": "gaussian"}

# The default autoencoder's budget: 50 epochs (chosen on ~400 digits, 20 mini-batches
# an epoch, so 1000 steps), and more epochs on fewer rows, so that it takes at least
# those 1000 steps: 50 epochs of 5 mini-batches left 8x8 digits under-trained.
_DEFAULT_EPOCHS = 50
_DEFAULT_BATCH = 20
_MIN_STEPS = 1000

# The residual below which a sample counts as in the subspace, relative to its
# squared distance from the mean: float64 rounding is ~1e-16 of it.
_ROUNDING = 1e-10


def _percentile(values, q, weights=None):
    """np.percentile (linear interpolation); with weights, the same rule over the
    values repeated by their weights: for integer weights, np.percentile of the
    repeated values, and for others its natural extension (the sorted values
    spread over their cumulative weight).  Weights below 1 are first scaled so
    that the smallest is 1: the rule counts values in units of one repeated
    value, and normalised weights (summing to 1) would put every percentile at
    the minimum."""
    if weights is None:
        return np.percentile(values, q)
    if weights.min() < 1:
        weights = weights / weights.min()
    order = np.argsort(values, kind="stable")
    ranked, cumulative = values[order], np.cumsum(weights[order])
    # the rank of percentile q among sum(w) repeated values, as numpy's "linear"
    rank = np.clip((cumulative[-1] - 1) * np.asarray(q) / 100.0, 0, None)
    low = np.floor(rank)
    last = len(ranked) - 1

    def at(k):  # the k-th (0-based) of the repeated values
        return ranked[np.minimum(np.searchsorted(cumulative, k, side="right"), last)]

    below, above = at(low), at(low + 1)
    return below + (rank - low) * (above - below)


def _quartile_scale(values, weights=None):
    """Interquartile range of values, 1 where it is 0 (a constant term)."""
    low, high = _percentile(values, [25, 75], weights)
    return float(high - low) if high > low else 1.0


def _is_ours(estimator):
    return isinstance(estimator, (DenoisingAutoencoder, StackedDenoisingAutoencoder))


def _neighbourhood_code(estimator, X):
    """The space of the distance term: the top code of validated X before its
    activation for our autoencoders, ``transform(X)`` for other estimators.

    Before the activation, because the sigmoid saturates: on the digits most units
    sit at 0 or 1 (median |pre-activation| 12), so codes tell little more than
    which units are on.  The cosine distance then compares the directions of the
    projections, not their lengths, which grow with the amount of ink; both
    choices ranked anomalies better (benchmarks/DEFAULTS.md).
    """
    if not _is_ours(estimator):
        code = estimator.transform(X)
    else:
        *below, (weights, bias, _) = encoder_layers(estimator)
        # float64, as score_samples: 1 - cos(u, v) of close codes cancels most of
        # float32's digits, and a float32 product rounds one row alone differently.
        X = forward(below, X.astype(np.float64))
        code = dense(X, weights.astype(np.float64), bias, "identity")
    return np.asarray(code, dtype=np.float64)


def _default_epochs(n_samples):
    """Epochs of the default autoencoder on n_samples rows: 50, or as many as make
    _MIN_STEPS mini-batches of _DEFAULT_BATCH rows."""
    batches = -(-n_samples // _DEFAULT_BATCH)  # ceil; a smaller fit is one batch
    return max(_DEFAULT_EPOCHS, -(-_MIN_STEPS // batches))


def _default_estimator(X):
    """The autoencoder fitted to X when none is given (benchmarks/DEFAULTS.md)."""
    loss = resolve_loss("auto", X, "ReconstructionOutlierDetector")
    return DenoisingAutoencoder(
        n_components=32,
        corruption=_DEFAULT_NOISE[loss],
        corruption_level=0.2,
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=_DEFAULT_BATCH,
        max_iter=_default_epochs(X.shape[0]),
    )


def _subspace(X, variance):
    """The principal subspace of validated X that keeps ``variance`` of its variance."""
    # PCA of sparse input needs the covariance solver; dense "auto" picks it for
    # tall data (MNIST's 6000 x 784) and a full SVD for wide data.
    solver = "covariance_eigh" if sp.issparse(X) else "auto"
    return PCA(n_components=variance, svd_solver=solver).fit(X.astype(np.float64))


def _residual(pca, X):
    """Squared distance from each row of validated X to the subspace, in float64."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    residual = np.sum((X - pca.inverse_transform(pca.transform(X))) ** 2, axis=1)
    # A sample in the subspace (every sample, when it keeps every dimension) is
    # 0 up to rounding, which the IQR's unit would blow up: 0 it is.
    residual[residual <= _ROUNDING * np.sum((X - pca.mean_) ** 2, axis=1)] = 0.0
    return residual


class ReconstructionOutlierDetector(
    CallbackSupportMixin, LegacyStateMixin, OutlierMixin, BaseEstimator
):
    """Unsupervised outlier detection by an autoencoder's reconstruction and code.

    Fits a clone of ``estimator`` to X and scores each sample by the sum of three
    terms, each divided by its interquartile range over the training samples: its
    reconstruction divergence d (``-estimator_.score_samples``: the KL divergence
    between input and reconstruction for the cross-entropy loss, the squared error
    otherwise; 0 for a perfect reconstruction), the mean cosine distance r from
    its code to the codes of its ``n_neighbors`` nearest training samples, and its
    squared distance s to the training samples' principal subspace (the linear
    reconstruction error of a PCA keeping ``subspace_variance`` of their
    variance).  The sum a = d / IQR(d) + r / IQR(r) + s / IQR(s) is standardised
    by its own training quartiles: ``score_samples = -(a - Q3) / (Q3 - Q1)``.
    The quartiles are those of the training samples as new samples see them: in
    ``fit``, a training sample's distance leaves the sample itself out; scored
    afterwards (``predict``, ``fit_predict``), a training sample is one of its own
    neighbours, as any copy of it would be.  Fitted on normal data only, it
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
        batch_size=20, max_iter=max(50, ceil(1000 / ceil(n_samples / 20))))``,
        settings chosen for detection on the digits (benchmarks/DEFAULTS.md):
        50 epochs, or on fewer than 400 samples as many as make 1000 mini-batch
        steps, trained without a ``ConvergenceWarning``; on data outside [0, 1]
        (squared-error loss) with ``corruption="gaussian"`` instead, as for
        real-valued data in general.
        It trains in float32, the autoencoders' default ``dtype``: for float64,
        pass ``DenoisingAutoencoder(..., dtype=np.float64)`` with these settings.
    n_neighbors : int or None, default=5
        Number of nearest training samples whose codes the distance term averages
        the cosine distance over (at most the number of training samples less
        one).  The code is the top hidden layer before its activation for
        :class:`DenoisingAutoencoder` and :class:`StackedDenoisingAutoencoder`,
        ``estimator_.transform`` for other estimators, which then need one.  None
        leaves the distance term out, and any estimator with ``fit`` and
        ``score_samples`` will do.
    subspace_variance : float in (0, 1) or None, default=0.9
        The fraction of the training samples' variance that the principal
        subspace of the residual term keeps: its number of components follows
        the data (``PCA(n_components=subspace_variance)``).  None leaves the
        residual out; with ``n_neighbors=None`` too, the detector scores by the
        reconstruction divergence alone.
    contamination : "auto" or float, default="auto"
        The expected proportion of outliers in the training data, which sets the
        threshold ``offset_``.  With "auto", Tukey's fence: a sample is an outlier
        when its anomaly a exceeds Q3 + 1.5 (Q3 - Q1) of the training anomalies
        (``offset_ = -1.5``); with a float in (0, 0.5], ``offset_`` is the
        ``contamination`` quantile of the training samples' scores, as in
        IsolationForest, so that ``predict`` flags that fraction of them.
    random_state : int, RandomState instance or None, default=None
        When not None, sets the ``random_state`` of the fitted clone of the
        estimator (its weights, noise and shuffling); None keeps the estimator's own.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    term_scales_ : ndarray of shape (n_terms,)
        The interquartile ranges over the training samples of the divergence,
        the distance (unless ``n_neighbors`` is None) and the residual (unless
        ``subspace_variance`` is None), in this order (1 where one is 0): the
        units in which they are added.
    neighbors_ : NearestNeighbors or None
        The training samples' codes, with the cosine metric; None when
        ``n_neighbors`` is None.
    subspace_ : PCA or None
        The training samples' principal subspace, fitted in float64; None when
        ``subspace_variance`` is None.
    center_ : float
        The third quartile Q3 of the training samples' anomalies a.
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
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "subspace_variance": [Interval(Real, 0, 1, closed="neither"), None],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_neighbors=5,
        subspace_variance=0.9,
        contamination="auto",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_neighbors = n_neighbors
        self.subspace_variance = subspace_variance
        self.contamination = contamination
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to X and set the threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, normal samples only for novelty detection.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1): the autoencoder is
            fitted with them (``estimator`` must take ``sample_weight``), and the
            quartiles and the ``contamination`` quantile are weighted: those of
            the rows repeated by integer weights (numpy's linear interpolation
            over the cumulative weight).
            Each row of positive weight is one neighbour of the distance term,
            and one row of the residual term's principal subspace, whatever its
            weight.  Rows of weight 0 are dropped; weights all 1
            give the unweighted fit.

        Returns
        -------
        self : ReconstructionOutlierDetector
        """
        X_given = X
        X, _, weights = weighted_rows(X, None, sample_weight)
        X = validate_data(self, X, accept_sparse="csr", dtype=X_DTYPES)
        with Task.fit(self, X_given, y, max_subtasks=1) as task:
            self._fit(X, task, weights)
        return self

    def _fit(self, X, task, weights=None):
        """Fit the autoencoder to validated X (its rows weighted by ``weights``,
        None: unweighted), as the callbacks' subtask "fit-estimator" of ``task``
        (its own fit's tasks below it, as in scikit-learn's meta-estimators), and
        set the threshold."""
        estimator = self.estimator
        if estimator is None:
            estimator = _default_estimator(X)
        if X.shape[0] < 2 and self.subspace_variance is not None:
            raise ValueError(
                "The residual term (subspace_variance) needs at least 2 training "
                "samples, got n_samples = 1; fit more samples or set "
                "subspace_variance=None and n_neighbors=None."
            )
        if self.n_neighbors is not None:
            self._check_neighbourhood(estimator, X)
        self.estimator_ = clone(estimator)
        if self.random_state is not None:
            self.estimator_.set_params(random_state=self.random_state)
        context = task.context.subcontext(task_name="fit-estimator")
        with (
            warnings.catch_warnings(),
            context.propagate_callback_context(self.estimator_),
        ):
            if self.estimator is None:  # a fixed budget, chosen by experiment
                warnings.simplefilter("ignore", ConvergenceWarning)
            context.call_on_fit_task_begin(estimator=self, X=task.X, y=task.y)
            if weights is None:
                self.estimator_.fit(X)
            else:
                self.estimator_.fit(X, sample_weight=weights)
            context.call_on_fit_task_end(estimator=self, X=task.X, y=task.y)
        self.neighbors_ = None
        if self.n_neighbors is not None:
            with self._thread_rule():
                code = _neighbourhood_code(self.estimator_, X)
            self.neighbors_ = NearestNeighbors(
                n_neighbors=min(self.n_neighbors, X.shape[0] - 1), metric="cosine"
            ).fit(code)
        self.subspace_ = None
        if self.subspace_variance is not None:
            with self._thread_rule():
                self.subspace_ = _subspace(X, self.subspace_variance)
        # The units and the fence come from the training samples as new samples
        # would see them: each one's distance leaves itself out.
        terms = self._terms(X, leave_one_out=True)
        self.term_scales_ = np.array([_quartile_scale(t, weights) for t in terms.T])
        anomalies = terms @ (1.0 / self.term_scales_)
        self.center_ = float(_percentile(anomalies, 75, weights))
        self.scale_ = _quartile_scale(anomalies, weights)
        if self.contamination == "auto":
            self.offset_ = -_TUKEY_FENCE
        else:  # the fraction of training samples that predict flags
            scores = self._score_samples(X)
            self.offset_ = float(
                _percentile(scores, 100.0 * self.contamination, weights)
            )

    @staticmethod
    def _check_neighbourhood(estimator, X):
        if X.shape[0] < 2:
            raise ValueError(
                "The distance term (n_neighbors) needs at least 2 training samples, "
                "got n_samples = 1; fit more samples or set n_neighbors=None."
            )
        if not (_is_ours(estimator) or hasattr(estimator, "transform")):
            raise ValueError(
                f"The distance term (n_neighbors) measures codes, but "
                f"{type(estimator).__name__} has no transform method; pass an "
                "estimator with one, or set n_neighbors=None to score without "
                "the distance term."
            )

    def _terms(self, X, leave_one_out=False):
        """Anomaly terms of validated X, one column each: divergence, distance,
        residual; with leave_one_out, X is the training data and no sample is its
        own neighbour."""
        with self._thread_rule():
            terms = [-self.estimator_.score_samples(X)]
            if self.neighbors_ is not None:
                code = (
                    None if leave_one_out else _neighbourhood_code(self.estimator_, X)
                )
                terms.append(self.neighbors_.kneighbors(code)[0].mean(axis=1))
            # a detector saved before the residual term has no subspace_
            subspace = getattr(self, "subspace_", None)
            if subspace is not None:
                terms.append(_residual(subspace, X))
        return np.column_stack(terms).astype(np.float64)

    def _thread_rule(self):
        # The autoencoder's BLAS rule for every product of the scores (the codes,
        # the neighbour search), so that they do not depend on the ambient limit.
        return blas_threads(getattr(self.estimator_, "n_jobs", None))

    def score_samples(self, X):
        """Minus the anomaly (divergence, distance, residual), standardised by its
        quartiles.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-(anomaly - center_) / scale_``: the higher, the more normal; 0 at
            the training anomalies' third quartile, -1.5 at Tukey's fence.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=X_DTYPES)
        return self._score_samples(X)

    def _score_samples(self, X):
        """score_samples of validated X (which, as an ndarray, has no feature names)."""
        anomalies = self._terms(X) @ (1.0 / self.term_scales_)
        return (self.center_ - anomalies) / self.scale_

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
