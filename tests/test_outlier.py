"""ReconstructionOutlierDetector: scores, threshold, predictions, its estimator."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    StackedDenoisingAutoencoder,
)
from stackeddae._outlier import _default_epochs, _percentile
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


def _iqr(values):
    q1, q3 = np.percentile(values, [25, 75])
    return q3 - q1


def _preactivation(dae, X):
    return X.astype(np.float64) @ dae.components_.T.astype(np.float64) + (
        dae.intercept_hidden_
    )


def _distances(code, train_code, k, leave_one_out=False):
    """Mean cosine distance to the k nearest training codes, from first principles."""

    def unit(c):
        return c / np.linalg.norm(c, axis=1, keepdims=True)

    cosine = 1.0 - unit(code) @ unit(train_code).T
    if leave_one_out:
        np.fill_diagonal(cosine, np.inf)
    return np.sort(cosine, axis=1)[:, :k].mean(axis=1)


def _residuals(X_train, X, variance):
    """Squared distance from X to the principal subspace of X_train that keeps
    ``variance`` of its variance, from an SVD (PCA's rule for a float size)."""
    X_train = X_train.astype(np.float64)
    mean = X_train.mean(axis=0)
    _, singular, components = np.linalg.svd(X_train - mean, full_matrices=False)
    kept = np.cumsum(singular**2) / np.sum(singular**2)
    size = np.searchsorted(kept, variance, side="right") + 1
    centred = X.astype(np.float64) - mean
    projected = centred @ components[:size].T
    return np.sum(centred**2, axis=1) - np.sum(projected**2, axis=1)


def _reference(detector, X_train, X, code_of):
    """(anomalies of X, leave-one-out anomalies of X_train) by the documented sum."""
    est, k = detector.estimator_, detector.n_neighbors
    train_code = code_of(est, X_train)
    train_terms = [
        -est.score_samples(X_train),
        _distances(train_code, train_code, k, leave_one_out=True),
    ]
    terms = [-est.score_samples(X), _distances(code_of(est, X), train_code, k)]
    if detector.subspace_variance is not None:
        variance = detector.subspace_variance
        train_terms.append(_residuals(X_train, X_train, variance))
        terms.append(_residuals(X_train, X, variance))
    scales = [_iqr(t) for t in train_terms]
    return (
        sum(t / scale for t, scale in zip(terms, scales, strict=True)),
        sum(t / scale for t, scale in zip(train_terms, scales, strict=True)),
    )


def _assert_scores_match(actual, expected):
    # the detector computes the codes in float32: 1e-4 of the scores' unit
    assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def test_score_is_divergence_plus_code_distance_plus_residual_in_training_units(
    fitted,
):
    detector, X = fitted
    X_new = load_mnist_5k(return_X_y=True)[0][1::50]
    anomalies, train_anomalies = _reference(detector, X, X_new, _preactivation)
    d_train = -detector.estimator_.score_samples(X)
    s_train = _residuals(X, X, 0.9)
    r_train = (
        train_anomalies - d_train / _iqr(d_train) - s_train / _iqr(s_train)
    ) * detector.term_scales_[1]
    assert_allclose(
        detector.term_scales_,
        [_iqr(d_train), _iqr(r_train), _iqr(s_train)],
        rtol=1e-4,
    )
    q1, q3 = np.sort(train_anomalies)[[75, 225]]  # 301 samples: exact quartiles
    assert detector.center_ == pytest.approx(q3, rel=1e-4)
    assert detector.scale_ == pytest.approx(q3 - q1, rel=1e-4)
    _assert_scores_match(detector.score_samples(X_new), (q3 - anomalies) / (q3 - q1))


def test_training_samples_are_their_own_neighbours_once_fitted(fitted):
    # fit leaves each training sample out of its own neighbours; scoring after
    # fit cannot tell a training sample from a copy of it, which it finds at 0
    detector, X = fitted
    anomalies, train_anomalies = _reference(detector, X, X, _preactivation)
    _assert_scores_match(
        detector.score_samples(X), (detector.center_ - anomalies) / detector.scale_
    )
    assert np.all(anomalies < train_anomalies)


def test_divergence_alone_without_neighbours(digits):
    X, _ = digits
    X = X[:301]
    detector = _fit(
        ReconstructionOutlierDetector(
            _small_dae(), n_neighbors=None, subspace_variance=None
        ),
        X,
    )
    assert detector.neighbors_ is None and detector.subspace_ is None
    # in the autoencoder's precision, which the detector's sums cast to float64
    divergences = -detector.estimator_.score_samples(X).astype(np.float64)
    q1, q3 = np.sort(divergences)[[75, 225]]  # 301 samples: exact quartiles
    assert detector.term_scales_ == pytest.approx([q3 - q1], rel=1e-12)
    scores = detector.score_samples(X)
    assert_allclose(scores, (q3 - divergences) / (q3 - q1), rtol=1e-10)
    # higher is more normal: the third quartile scores 0, the first quartile 1
    assert np.sum(scores > 1e-9) == 225 and np.sum(scores > 1 - 1e-9) == 76


def test_auto_threshold_is_tukeys_fence(fitted):
    detector, X = fitted
    assert detector.offset_ == -1.5
    X_new = load_mnist_5k(return_X_y=True)[0][1::50]
    anomalies, train_anomalies = _reference(detector, X, X_new, _preactivation)
    q1, q3 = np.percentile(train_anomalies, [25, 75])
    fence = q3 + 1.5 * (q3 - q1)
    near = np.abs(anomalies - fence) < 1e-3 * (q3 - q1)  # rounding decides those
    predicted = detector.predict(X_new)
    assert_array_equal(predicted[~near], np.where(anomalies > fence, -1, 1)[~near])
    assert set(predicted) == {-1, 1}
    scores = detector.score_samples(X_new)
    assert_allclose(detector.decision_function(X_new), scores + 1.5, rtol=1e-12)


def test_distance_term_finds_unseen_digits_the_divergence_misses(digits):
    # digits 0-4 are normal, 5-9 novel: the digits the autoencoder reconstructs
    # well enough (the harder setting of benchmarks/bench_anomaly.py)
    X, y = digits
    low, high = X[y < 5], X[y >= 5][::3]
    test = np.vstack([low[1::2], high])
    truth = np.r_[np.zeros(len(low[1::2])), np.ones(len(high))]
    aurocs = [
        roc_auc_score(
            truth,
            -_fit(
                ReconstructionOutlierDetector(_small_dae(), n_neighbors=k), low[::2]
            ).score_samples(test),
        )
        for k in (None, 5)
    ]
    assert aurocs[1] > aurocs[0] + 0.03


def _stack_preactivation(stack, X):
    below, top = stack.autoencoders_
    return _preactivation(top, below.transform(X))


def _transform(estimator, X):
    return estimator.transform(X).astype(np.float64)


@pytest.mark.parametrize(
    "estimator, code_of",
    [
        (
            StackedDenoisingAutoencoder(
                (32, 8), solver="adam", max_iter=5, random_state=0
            ),
            _stack_preactivation,
        ),
        # not one of ours: its transform gives the codes
        (make_pipeline(FunctionTransformer(), _small_dae(max_iter=5)), _transform),
    ],
    ids=["stack", "pipeline"],
)
def test_code_space_of_other_estimators(digits, estimator, code_of):
    X, _ = digits
    detector = _fit(ReconstructionOutlierDetector(estimator), X[:200])
    anomalies, _ = _reference(detector, X[:200], X[200:300], code_of)
    _assert_scores_match(
        detector.score_samples(X[200:300]),
        (detector.center_ - anomalies) / detector.scale_,
    )


def test_n_neighbors_is_capped_by_the_training_samples():
    X = np.random.default_rng(0).random((4, 6))
    detector = _fit(
        ReconstructionOutlierDetector(_small_dae(batch_size=2), n_neighbors=10), X
    )
    assert detector.neighbors_.n_neighbors == 3
    assert np.all(np.isfinite(detector.score_samples(X)))


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
    X = np.random.default_rng(0).random((400, 6))
    with warnings.catch_warnings():
        # its fixed budget of epochs is no convergence failure to warn about
        warnings.simplefilter("error", ConvergenceWarning)
        detector = ReconstructionOutlierDetector(random_state=0).fit(X)
    est = detector.estimator_
    assert isinstance(est, DenoisingAutoencoder)
    assert est.max_iter == 50 and est.batch_size == 20
    assert (est.n_components, est.corruption, est.solver, est.random_state) == (
        32,
        "salt_and_pepper",
        "adam",
        0,
    )
    assert est.reconstruction_loss_ == "cross_entropy"


@pytest.mark.parametrize(
    "n_samples, epochs",
    # 20 mini-batches of 20 rows an epoch or more: 50 epochs; fewer rows: as
    # many epochs as make 1000 steps (5 batches: 200; 1 batch: 1000)
    [(6000, 50), (400, 50), (399, 50), (380, 53), (88, 200), (30, 500), (2, 1000)],
)
def test_default_epochs_make_at_least_1000_steps(n_samples, epochs):
    X = np.random.default_rng(0).random((n_samples, 3))
    detector = ReconstructionOutlierDetector(random_state=0)
    if n_samples <= 400:  # fitting the larger ones proves nothing more
        detector.fit(X)
        assert detector.estimator_.max_iter == epochs
    assert _default_epochs(n_samples) == epochs


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
    _assert_scores_match(
        detector.score_samples(sp.csr_matrix(X)), detector.score_samples(X)
    )


class _PerfectReconstruction(BaseEstimator):
    """Scores every sample 0, as an autoencoder that reconstructs perfectly."""

    def fit(self, X, y=None):
        return self

    def score_samples(self, X):
        return np.zeros(len(X))


def test_zero_median_divergence_keeps_scores_finite():
    X = np.random.default_rng(0).random((10, 3))
    detector = ReconstructionOutlierDetector(
        _PerfectReconstruction(), n_neighbors=None, subspace_variance=None
    ).fit(X)
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
        (dict(estimator=_small_dae(), n_neighbors=0), "n_neighbors"),
        (dict(estimator=_small_dae(), n_neighbors=2.5), "n_neighbors"),
        (dict(estimator=_small_dae(), n_neighbors="5"), "n_neighbors"),
    ],
)
def test_bad_parameters_are_named(params, match):
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(InvalidParameterError, match=match):
        ReconstructionOutlierDetector(**params).fit(X)


def test_distance_needs_codes_and_two_samples():
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match="no transform method.*n_neighbors=None"):
        ReconstructionOutlierDetector(_PerfectReconstruction()).fit(X)
    with pytest.raises(ValueError, match="n_samples = 1.*n_neighbors=None"):
        ReconstructionOutlierDetector(_small_dae()).fit(X[:1])


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


def test_scores_do_not_depend_on_the_ambient_blas_threads(digits):
    # the codes and the neighbour search run under the autoencoder's thread rule
    from threadpoolctl import threadpool_limits

    X = digits[0][:400]
    scores = []
    for limit in (1, 2):
        with threadpool_limits(limit):
            detector = _fit(ReconstructionOutlierDetector(_small_dae()), X)
            scores.append(detector.score_samples(X))
    assert_array_equal(scores[0], scores[1])


# ------------------------------------------------------------------ sample weights


def test_weighted_percentile_is_the_percentile_of_the_repeated_values():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(1, 12))
        values, counts = rng.standard_normal(n), rng.integers(1, 4, n)
        q = [0.0, 25.0, 75.0, 100.0 * rng.random(), 100.0]
        assert_allclose(
            _percentile(values, q, counts.astype(float)),
            np.percentile(np.repeat(values, counts), q),
            rtol=1e-12,
            atol=1e-12,
        )


def test_normalised_weights_are_the_weights_they_scale():
    # weights summing to 1 once put every percentile at the minimum
    rng = np.random.default_rng(5)
    values, counts = rng.standard_normal(30), rng.integers(1, 4, 30).astype(float)
    q = [10.0, 25.0, 50.0, 75.0]
    assert_allclose(
        _percentile(values, q, np.full(30, 1 / 30)), np.percentile(values, q)
    )
    assert_allclose(
        _percentile(values, q, counts / counts.sum()),
        _percentile(values, q, counts / counts.min()),
    )


@pytest.mark.parametrize("contamination", ["auto", 0.1])
def test_integer_weights_are_repeated_rows_without_distance_and_residual(
    contamination,
):
    X = np.random.default_rng(1).random((40, 6))
    counts = np.random.default_rng(2).integers(0, 4, 40)
    dae = DenoisingAutoencoder(
        4, solver="lbfgs", corruption_level=0.0, dtype=np.float64, random_state=0
    )
    # the two terms that count each kept row once, whatever its weight, left out
    params = dict(n_neighbors=None, subspace_variance=None, contamination=contamination)
    weighted = ReconstructionOutlierDetector(dae, **params)
    repeated = ReconstructionOutlierDetector(dae, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted.fit(X, sample_weight=counts.astype(float))
        repeated.fit(np.repeat(X, counts, axis=0))
    for name in ("center_", "scale_", "offset_", "term_scales_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-7)
    assert_allclose(weighted.score_samples(X), repeated.score_samples(X), rtol=1e-7)


def test_zero_weights_are_dropped_rows_in_the_detector():
    X = np.random.default_rng(3).random((50, 6))
    weights = np.random.default_rng(4).uniform(0.5, 2.0, 50)
    weights[::4] = 0
    kept = weights > 0
    plain = _fit(ReconstructionOutlierDetector(_small_dae(), contamination=0.1), X)
    a = ReconstructionOutlierDetector(_small_dae(), contamination=0.1)
    b = ReconstructionOutlierDetector(_small_dae(), contamination=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, sample_weight=weights)
        b.fit(X[kept], sample_weight=weights[kept])
    assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.offset_ == b.offset_
    assert not np.array_equal(a.score_samples(X), plain.score_samples(X))


def test_residual_term_is_left_out_with_subspace_variance_none(digits):
    X = digits[0][:200]
    detector = _fit(
        ReconstructionOutlierDetector(_small_dae(), subspace_variance=None), X
    )
    assert detector.subspace_ is None and detector.term_scales_.shape == (2,)
    anomalies, _ = _reference(detector, X, X[::7], _preactivation)
    _assert_scores_match(
        detector.score_samples(X[::7]),
        (detector.center_ - anomalies) / detector.scale_,
    )


def test_subspace_keeps_the_requested_variance(digits):
    X = digits[0][:200]
    detector = _fit(
        ReconstructionOutlierDetector(_small_dae(), subspace_variance=0.5), X
    )
    ratios = np.cumsum(detector.subspace_.explained_variance_ratio_)
    assert ratios[-1] >= 0.5 > ratios[-2]
    assert detector.subspace_.components_.dtype == np.float64


def test_defaults_beat_the_fixed_ones_on_few_small_digits():
    # issue #22: on ~90 8x8 digits the defaults chosen on 400 MNIST digits (50
    # epochs of 5 mini-batches, no residual term) ranked other digits below a PCA
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    eights = np.flatnonzero(y == 8)
    fit_rows, normal = eights[::2], eights[1::2]
    test = np.r_[normal, np.flatnonzero(y != 8)[::4]]
    truth = y[test] != 8
    before = ReconstructionOutlierDetector(
        DenoisingAutoencoder(
            32,
            corruption="salt_and_pepper",
            corruption_level=0.2,
            solver="adam",
            learning_rate_init=1e-3,
            max_iter=50,
        ),
        subspace_variance=None,
        random_state=0,
    )
    aurocs = [
        roc_auc_score(truth, -_fit(d, X[fit_rows]).score_samples(X[test]))
        for d in (before, ReconstructionOutlierDetector(random_state=0))
    ]
    assert aurocs[1] > aurocs[0] + 0.01


def test_residual_is_zero_where_the_subspace_keeps_every_dimension():
    # rounding (~1e-31 here) over its own IQR would be noise in units of 1
    X = np.random.default_rng(0).random((40, 3))
    detector = _fit(
        ReconstructionOutlierDetector(_small_dae(), subspace_variance=0.99), X
    )
    assert detector.subspace_.n_components_ == 3
    assert_array_equal(detector._terms(X)[:, 2], np.zeros(40))
    assert detector.term_scales_[2] == 1.0
