"""ReconstructionOutlierDetector: scores, threshold, predictions, its estimator."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    StackedDenoisingAutoencoder,
)
from stackeddae.datasets import load_mnist_5k


def _small_dae(**params):
    defaults = dict(n_components=8, solver="adam", max_iter=20, random_state=0)
    return DenoisingAutoencoder(**{**defaults, **params})


def _fit(detector, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return detector.fit(X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_5k(return_X_y=True)
    return X[::4], y[::4]  # 125 of each digit


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return _fit(ReconstructionOutlierDetector(_small_dae()), X[:301]), X[:301]


def test_score_is_the_divergence_standardised_by_its_training_quartiles(fitted):
    detector, X = fitted
    divergences = -detector.estimator_.score_samples(X)
    q1, q3 = np.sort(divergences)[[75, 225]]  # 301 samples: exact quartiles
    assert detector.center_ == pytest.approx(q3, rel=1e-12)
    assert detector.scale_ == pytest.approx(q3 - q1, rel=1e-12)
    scores = detector.score_samples(X)
    assert_allclose(scores, (q3 - divergences) / (q3 - q1), rtol=1e-10)
    # higher is more normal: the third quartile scores 0, the first quartile 1
    assert np.sum(scores > 0) == 225 and np.sum(scores > 1 - 1e-9) == 76


def test_auto_threshold_is_tukeys_fence(fitted):
    detector, X = fitted
    assert detector.offset_ == -1.5
    divergences = -detector.estimator_.score_samples(X)
    q1, q3 = np.percentile(divergences, [25, 75])
    fence = q3 + 1.5 * (q3 - q1)
    assert_array_equal(detector.predict(X), np.where(divergences > fence, -1, 1))
    scores = detector.score_samples(X)
    assert_allclose(detector.decision_function(X), scores + 1.5, rtol=1e-12)


@pytest.mark.parametrize("contamination", [0.01, 0.1, 0.5])
def test_contamination_sets_the_fraction_of_training_outliers(digits, contamination):
    X, _ = digits
    detector = _fit(
        ReconstructionOutlierDetector(_small_dae(), contamination=contamination), X
    )
    scores = detector.score_samples(X)
    assert detector.offset_ == pytest.approx(
        np.percentile(scores, 100 * contamination), rel=1e-12
    )
    n_outliers = np.sum(detector.predict(X) == -1)
    assert abs(n_outliers - contamination * len(X)) <= 1


def test_fit_predict_is_fit_then_predict(digits):
    X, _ = digits
    detector = ReconstructionOutlierDetector(_small_dae(), contamination=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = detector.fit_predict(X)
    assert_array_equal(labels, detector.predict(X))
    assert set(np.unique(labels)) == {-1, 1}


@pytest.mark.parametrize(
    "estimator",
    [_small_dae(), StackedDenoisingAutoencoder((32, 8), solver="adam", max_iter=10)],
    ids=lambda e: type(e).__name__,
)
def test_novelty_detection_of_unseen_digits(digits, estimator):
    # fitted on zeros only, the detector ranks other digits as less normal
    X, y = digits
    zeros, others = X[y == 0], X[y != 0][::5]
    detector = ReconstructionOutlierDetector(estimator, random_state=0)
    _fit(detector, zeros[:100])
    test = np.vstack([zeros[100:], others])
    truth = np.r_[np.zeros(len(zeros) - 100), np.ones(len(others))]
    assert roc_auc_score(truth, -detector.score_samples(test)) > 0.9
    # noise images are far outside: all flagged with the "auto" threshold
    noise = np.random.default_rng(0).random((20, X.shape[1])).astype(X.dtype)
    assert np.all(detector.predict(noise) == -1)


def test_estimator_is_cloned_not_fitted(digits):
    X, _ = digits
    estimator = _small_dae()
    detector = _fit(ReconstructionOutlierDetector(estimator), X[:50])
    assert not hasattr(estimator, "components_")
    assert detector.estimator_ is not estimator
    assert detector.estimator_.get_params() == estimator.get_params()


def test_random_state_seeds_the_estimator_and_none_keeps_its_own(digits):
    X, _ = digits
    seeded = ReconstructionOutlierDetector(_small_dae(random_state=5), random_state=1)
    assert _fit(seeded, X[:50]).estimator_.random_state == 1
    own = ReconstructionOutlierDetector(_small_dae(random_state=5))
    assert _fit(own, X[:50]).estimator_.random_state == 5
    # an int seed makes the whole detector repeatable
    again = _fit(
        ReconstructionOutlierDetector(_small_dae(random_state=5), random_state=1),
        X[:50],
    )
    assert_array_equal(seeded.score_samples(X), again.score_samples(X))


def test_default_estimator_is_a_detection_autoencoder():
    X = np.random.default_rng(0).random((30, 6))
    with warnings.catch_warnings():
        # its fixed budget of epochs is no convergence failure to warn about
        warnings.simplefilter("error", ConvergenceWarning)
        detector = ReconstructionOutlierDetector(random_state=0).fit(X)
    est = detector.estimator_
    assert isinstance(est, DenoisingAutoencoder)
    assert est.n_iter_ == est.max_iter == 50
    assert (est.n_components, est.corruption, est.solver, est.random_state) == (
        32,
        "salt_and_pepper",
        "adam",
        0,
    )
    assert est.reconstruction_loss_ == "cross_entropy"


def test_default_estimator_uses_gaussian_noise_on_real_valued_data():
    # salt and pepper writes the data's extremes: an image noise, not for these
    X = np.random.default_rng(0).standard_normal((30, 3))
    detector = ReconstructionOutlierDetector(random_state=0).fit(X)
    est = detector.estimator_
    assert (est.corruption, est.reconstruction_loss_) == ("gaussian", "squared_error")
    assert (est.n_components, est.corruption_level, est.solver) == (32, 0.2, "adam")


def test_a_given_estimator_still_warns_when_it_runs_out_of_epochs():
    X = np.random.default_rng(0).random((30, 6))
    with pytest.warns(ConvergenceWarning):
        ReconstructionOutlierDetector(_small_dae(max_iter=2)).fit(X)


def test_sparse_input_scores_as_dense(fitted):
    detector, X = fitted
    assert_allclose(
        detector.score_samples(sp.csr_matrix(X)), detector.score_samples(X), rtol=1e-6
    )


class _PerfectReconstruction(BaseEstimator):
    """Scores every sample 0, as an autoencoder that reconstructs perfectly."""

    def fit(self, X, y=None):
        return self

    def score_samples(self, X):
        return np.zeros(len(X))


def test_zero_median_divergence_keeps_scores_finite():
    X = np.random.default_rng(0).random((10, 3))
    detector = ReconstructionOutlierDetector(_PerfectReconstruction()).fit(X)
    assert (detector.center_, detector.scale_) == (0.0, 1.0)
    assert_array_equal(detector.score_samples(X), np.zeros(10))
    assert_array_equal(detector.predict(X), np.ones(10))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(estimator=object()), "estimator"),
        (dict(estimator=_small_dae(), contamination=0.6), "contamination"),
        (dict(estimator=_small_dae(), contamination=0.0), "contamination"),
        (dict(estimator=_small_dae(), contamination="some"), "contamination"),
    ],
)
def test_bad_parameters_are_named(params, match):
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(InvalidParameterError, match=match):
        ReconstructionOutlierDetector(**params).fit(X)


def test_scoring_data_of_another_width_is_refused(fitted):
    detector, X = fitted
    with pytest.raises(ValueError, match="features"):
        detector.score_samples(X[:, :10])


def test_does_not_mutate_X(digits):
    X, _ = digits
    X = X[:40].copy()
    before = X.copy()
    detector = _fit(ReconstructionOutlierDetector(_small_dae()), X)
    detector.predict(X)
    assert_array_equal(X, before)
