"""SdAClassifier and SdARegressor: exact fine-tuning gradients and the API."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network._base import binary_log_loss
from support import fit_quiet, make_network, numeric_gradient, relative_error

from stackeddae import (
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
    _supervised,
)
from stackeddae._objectives import NetworkObjective


def _small(cls, **params):
    # float64: the tests here check gradients and outputs against exact maths
    defaults = {"pretrain_max_iter": 1, "max_iter": 2, "dtype": np.float64}
    return make_network(cls, **{**defaults, **params})


def _blobs(n=60, n_classes=3, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.random((n_classes, n_features))
    y = np.arange(n) % n_classes
    X = np.clip(centers[y] + 0.05 * rng.standard_normal((n, n_features)), 0, 1)
    return X, y


# ------------------------------------------------------ gradient check


def _check_network_gradient(est, X, Y, seed=0, weights=None):
    obj = NetworkObjective(est, X.shape[0])
    assert len(obj.params) == 6  # 3 weight matrices, 3 bias vectors
    rng = np.random.default_rng(seed)
    for p in obj.params:  # a non-trivial point: random head and biases too
        p[...] = rng.uniform(-1, 1, p.shape)
    float(obj(X, Y, weights))
    analytic = [g.copy() for g in obj.grads]
    numeric = numeric_gradient(lambda: float(obj(X, Y, weights)), obj.params)
    assert all(np.any(g != 0) for g in analytic)
    error = relative_error(analytic, numeric)
    assert error < 1e-7, error


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_classifier_objective_gradient(activation, alpha):
    X, y = _blobs(n=9, n_features=4)
    clf = fit_quiet(
        _small(
            SdAClassifier,
            activation=activation,
            alpha=alpha,
            pretrain=False,
            batch_size=9,
        ),
        X,
        y,
    )
    Y = np.eye(3)[y]
    _check_network_gradient(clf, X, Y)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_regressor_objective_gradient(activation, alpha):
    rng = np.random.default_rng(1)
    X = rng.random((9, 4))
    Y = rng.standard_normal((9, 2))
    reg = fit_quiet(
        _small(
            SdARegressor,
            activation=activation,
            alpha=alpha,
            pretrain=False,
            learning_rate_init=0.01,
            batch_size=9,
        ),
        X,
        Y,
    )
    _check_network_gradient(reg, X, Y, seed=1)


def _multilabel(n=9, n_features=4, n_labels=3, seed=0):
    """X and an indicator matrix of labels that depend on X (every column mixed)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features))
    Y = (X[:, :n_labels] + 0.3 * rng.random((n, n_labels)) > 0.6).astype(int)
    Y[0], Y[1] = 1, 0  # both values in every column
    return X, Y


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_multilabel_objective_gradient(activation, alpha):
    X, Y = _multilabel()
    clf = fit_quiet(
        _small(
            SdAClassifier,
            activation=activation,
            alpha=alpha,
            pretrain=False,
            batch_size=9,
        ),
        X,
        Y,
    )
    assert clf.out_activation_ == "sigmoid"
    _check_network_gradient(clf, X, Y.astype(np.float64))


def test_multilabel_objective_cost_is_mlp_binary_log_loss():
    # MLPClassifier's multi-label loss: per-label cross-entropy, summed over the
    # labels, averaged over the samples
    X, Y = _multilabel()
    clf = fit_quiet(
        _small(SdAClassifier, alpha=0.0, pretrain=False, batch_size=9), X, Y
    )
    obj = NetworkObjective(clf, X.shape[0])
    expected = binary_log_loss(Y, clf.predict_proba(X))
    assert_allclose(obj(X, Y.astype(np.float64)), expected, rtol=1e-10)


def test_classifier_objective_cost_is_mean_cross_entropy():
    X, y = _blobs(n=9, n_features=4)
    clf = fit_quiet(
        _small(SdAClassifier, alpha=0.0, pretrain=False, batch_size=9), X, y
    )
    obj = NetworkObjective(clf, X.shape[0])
    proba = clf.predict_proba(X)
    expected = -np.mean(np.log(proba[np.arange(9), y]))
    assert_allclose(obj(X, np.eye(3)[y]), expected, rtol=1e-10)


def test_regressor_objective_cost_is_half_the_mean_squared_error():
    rng = np.random.default_rng(2)
    X, Y = rng.random((9, 4)), rng.standard_normal((9, 2))
    reg = fit_quiet(_small(SdARegressor, alpha=0.0, pretrain=False, batch_size=9), X, Y)
    obj = NetworkObjective(reg, X.shape[0])
    expected = np.mean((reg.predict(X) - Y) ** 2) / 2  # as scikit-learn's MLP
    assert_allclose(obj(X, Y), expected, rtol=1e-10)


# ------------------------------------------------------ classifier API


@pytest.fixture(scope="module")
def multiclass():
    X, y = _blobs()
    return fit_quiet(_small(SdAClassifier, max_iter=40), X, y), X, y


def test_multiclass_fit_predict(multiclass):
    clf, X, y = multiclass
    assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(X)
    assert pred.shape == (60,)
    assert set(pred) <= {0, 1, 2}
    assert clf.score(X, y) > 0.9  # well-separated blobs
    assert clf.n_outputs_ == 3
    assert clf.n_layers_ == 4
    assert clf.out_activation_ == "softmax"
    assert [W.shape for W in clf.coefs_] == [(6, 5), (5, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (4,), (3,)]


def test_predict_proba_rows_sum_to_one(multiclass):
    clf, X, _ = multiclass
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    assert np.all(proba >= 0)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_predict_log_proba_is_log_of_predict_proba(multiclass):
    clf, X, _ = multiclass
    assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-10)


def test_binary_classification():
    X, y = _blobs(n=40, n_classes=2)
    clf = fit_quiet(_small(SdAClassifier, max_iter=10), X, y)
    assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.predict(X).shape == (40,)
    assert set(clf.predict(X)) <= {0, 1}


def test_string_labels():
    X, y = _blobs(n=45)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = fit_quiet(_small(SdAClassifier, max_iter=200), X, labels)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype
    assert set(pred) <= set(labels)
    assert np.mean(pred == labels) > 0.9


def test_classes_are_sorted_unique_labels():
    X, y = _blobs(n=30)
    labels = np.array([7, -2, 3])[y]
    clf = fit_quiet(_small(SdAClassifier), X, labels)
    assert_array_equal(clf.classes_, [-2, 3, 7])


def test_single_class_raises():
    X, _ = _blobs(n=20)
    with pytest.raises(ValueError, match="at least 2 classes"):
        _small(SdAClassifier).fit(X, np.zeros(20))


def test_pretrain_false_gives_no_stack():
    X, y = _blobs(n=30)
    clf = fit_quiet(_small(SdAClassifier, pretrain=False), X, y)
    assert clf.stack_ is None
    assert len(clf.coefs_) == 3


def test_pretrain_true_keeps_the_pretrained_stack(multiclass):
    clf, X, _ = multiclass
    assert isinstance(clf.stack_, StackedDenoisingAutoencoder)
    assert [ae.components_.shape for ae in clf.stack_.autoencoders_] == [
        (5, 6),
        (4, 5),
    ]
    assert all(len(ae.loss_curve_) == 1 for ae in clf.stack_.autoencoders_)


def test_pretrained_weights_initialise_the_network():
    # pretraining's encoders are the network's first layers before fine-tuning
    X, y = _blobs(n=30)
    clf = _small(SdAClassifier, learning_rate_init=1e-12, momentum=0.0, alpha=0.0)
    fit_quiet(clf, X, y)
    layers = zip(
        clf.coefs_[:-1], clf.intercepts_[:-1], clf.stack_.autoencoders_, strict=True
    )
    for W, b, ae in layers:
        assert_allclose(W, ae.components_.T, atol=1e-9)
        assert_allclose(b, ae.intercept_hidden_, atol=1e-9)
    # and the softmax head starts at zero
    assert_allclose(clf.coefs_[-1], 0.0, atol=1e-9)
    assert_allclose(clf.intercepts_[-1], 0.0, atol=1e-9)


def test_transform_gives_the_top_code(multiclass):
    clf, X, _ = multiclass
    code = clf.transform(X)
    assert code.shape == (60, 4)
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        h = 1 / (1 + np.exp(-(h @ W + b)))
    assert_allclose(code, h, rtol=1e-12)


def test_all_layers_transform_concatenates_the_hidden_layers(multiclass):
    clf, X, y = multiclass
    top = clf.transform(X)
    clf.set_params(transform_layers="all")
    try:
        codes = clf.transform(X)
        names = clf.get_feature_names_out().tolist()
    finally:
        clf.set_params(transform_layers="top")
    h, expected = X, []
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        h = 1 / (1 + np.exp(-(h @ W + b)))
        expected.append(h)
    assert codes.shape == (60, 5 + 4)
    assert_allclose(codes, np.hstack(expected), rtol=1e-12)
    assert_array_equal(codes[:, -4:], top)
    assert names == [
        f"sdaclassifier_layer{k}_{j}" for k, n in [(1, 5), (2, 4)] for j in range(n)
    ]
    top_names = [f"sdaclassifier{j}" for j in range(4)]
    assert clf.get_feature_names_out().tolist() == top_names


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_transform_layers_changes_no_training_nor_prediction(Estimator):
    X, y = _blobs()
    top = fit_quiet(_small(Estimator), X, y)
    every = fit_quiet(_small(Estimator, transform_layers="all"), X, y)
    trained = zip(
        top.coefs_ + top.intercepts_, every.coefs_ + every.intercepts_, strict=True
    )
    for a, b in trained:
        assert_array_equal(a, b)
    assert_array_equal(top.predict(X), every.predict(X))
    assert every.transform(X).shape == (60, 9)
    assert len(every.get_feature_names_out()) == 9
    # the pretraining stack is built with it (its transform is the stack's own)
    assert every.stack_.transform_layers == "all"


def test_partial_fit_needs_classes_on_first_call():
    X, y = _blobs(n=30)
    clf = _small(SdAClassifier, pretrain=False)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 1
    clf.partial_fit(X, y)  # later calls need no classes
    assert clf.n_iter_ == 2
    assert_array_equal(clf.classes_, [0, 1, 2])


def test_partial_fit_accepts_chunks_missing_some_classes():
    X, y = _blobs(n=30)
    clf = _small(SdAClassifier, pretrain=False)
    first = y != 2
    clf.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert clf.predict_proba(X).shape == (30, 3)
    with pytest.raises(ValueError, match="not seen before"):
        clf.partial_fit(X, np.where(y == 2, 5, y))


# ------------------------------------------------------ multi-label


@pytest.fixture(scope="module")
def multilabel_data():
    return make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )


def test_multilabel_classification(multilabel_data):
    # scikit-learn's test_multilabel_classification, SdAClassifier(pretrain=False)
    X, y = multilabel_data
    clf = SdAClassifier(
        pretrain=False,
        solver="lbfgs",
        hidden_layer_sizes=50,
        alpha=1e-5,
        max_iter=150,
        random_state=0,
        learning_rate_init=0.2,
    )
    assert fit_quiet(clf, X, y).score(X, y) > 0.97
    clf = SdAClassifier(
        pretrain=False,
        solver="sgd",
        hidden_layer_sizes=50,
        max_iter=150,
        random_state=0,
        alpha=1e-5,
        learning_rate_init=0.2,
    )
    for _ in range(100):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    assert clf.score(X, y) > 0.9
    # early stopping splits without stratifying, as MLPClassifier
    early = fit_quiet(SdAClassifier(early_stopping=True, max_iter=5), X, y)
    assert early.predict(X).shape == y.shape


def test_predict_proba_multilabel(multilabel_data):
    # scikit-learn's test_predict_proba_multilabel: no softmax, one sigmoid a label
    X, Y = multilabel_data
    clf = SdAClassifier(
        pretrain=False, solver="lbfgs", hidden_layer_sizes=30, random_state=0
    )
    proba = fit_quiet(clf, X, Y).predict_proba(X)
    assert proba.shape == Y.shape
    assert_array_equal(proba > 0.5, Y)
    assert_array_equal(clf.predict(X), proba > 0.5)
    assert (proba.sum(1) - 1).dot(proba.sum(1) - 1) > 1e-10
    log_proba = clf.predict_log_proba(X)
    assert_allclose(log_proba, np.log(proba), rtol=1e-5, atol=1e-6)  # float32
    assert np.all(np.isfinite(clf.predict_log_proba(X * 1e4)))  # saturated


def test_multilabel_fitted_attributes(multilabel_data, multiclass):
    X, Y = multilabel_data
    clf = fit_quiet(_small(SdAClassifier, hidden_layer_sizes=(8,)), X, Y)
    assert_array_equal(clf.classes_, np.arange(5))  # as MLPClassifier
    assert clf.n_outputs_ == 5 and clf.out_activation_ == "sigmoid"
    assert clf.multilabel_
    pred = clf.predict(X)
    assert pred.shape == (50, 5) and pred.dtype == np.int64
    assert not multiclass[0].multilabel_
    assert clf.score(X, Y) == accuracy_score(Y, pred)  # subset accuracy


def test_multilabel_sparse_y_matches_dense(multilabel_data):
    import scipy.sparse as sp

    X, Y = multilabel_data
    dense = fit_quiet(_small(SdAClassifier), X, Y)
    sparse = fit_quiet(_small(SdAClassifier), X, sp.csr_matrix(Y))
    assert_array_equal(sparse.coefs_[-1], dense.coefs_[-1])


def test_multilabel_early_stopping_scores_subset_accuracy(multilabel_data):
    X, Y = multilabel_data
    clf = fit_quiet(_small(SdAClassifier, max_iter=5), X, Y)
    pred = clf.predict(X)
    assert accuracy_score(Y, pred) != np.mean(pred == Y)  # the two differ here
    assert clf._validation_score(X, Y.astype(float)) == accuracy_score(Y, pred)


def test_multilabel_warm_start_and_partial_fit_keep_the_labels(multilabel_data):
    X, Y = multilabel_data
    clf = fit_quiet(_small(SdAClassifier, warm_start=True), X, Y)
    fit_quiet(clf, X, Y)
    assert clf.n_iter_ == 4  # continued
    with pytest.raises(ValueError, match="has 4 labels"):
        clf.fit(X, Y[:, :4])
    with pytest.raises(ValueError, match="fitted on a multi-label"):
        clf.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="fitted on one label per row"):
        fit_quiet(_small(SdAClassifier, warm_start=True), X, Y[:, 0]).fit(X, Y)
    with pytest.raises(ValueError, match="one class per column"):
        _small(SdAClassifier).partial_fit(X, Y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes"):
        _small(SdAClassifier).partial_fit(X, Y)  # needed on the first call


def test_a_failed_multilabel_fit_leaves_the_softmax_loss(multilabel_data):
    # the multi-label fit fails after validation (too few rows to hold out 2)
    X, Y = multilabel_data
    clf = fit_quiet(_small(SdAClassifier), X, Y.argmax(axis=1))
    with pytest.raises(ValueError, match="validation set is too small"):
        clf.set_params(early_stopping=True, validation_fraction=0.01).fit(X, Y)
    clf.set_params(early_stopping=False, warm_start=True)
    fit_quiet(clf, X, Y.argmax(axis=1))  # continues the softmax model
    assert clf._loss_name == "softmax_cross_entropy"
    assert NetworkObjective(clf, 10).loss.__name__ == "softmax_cross_entropy"


@pytest.mark.parametrize("unlabeled", [False, True])
def test_multilabel_y_refuses_unlabeled_label(multilabel_data, unlabeled):
    X, Y = multilabel_data
    Y = Y.copy()
    if unlabeled:
        Y[:10] = -1  # unlabeled rows, as a user might mark them
    clf = _small(SdAClassifier, unlabeled_label=-1, unlabeled_weight=0.3)
    with pytest.raises(ValueError, match="multi-label y"):
        clf.fit(X, Y)


def test_multilabel_validation_split_is_not_stratified(multilabel_data, monkeypatch):
    # MLPClassifier stratifies one label per row only; stratifying these rows by
    # their first label would fail: label 0 marks one row.
    X, Y = multilabel_data
    Y = Y.copy()
    Y[:, 0] = 0
    Y[0, 0] = 1
    calls = []
    split = _supervised.train_test_split

    def recording(*args, **kwargs):
        calls.append(kwargs["stratify"])
        return split(*args, **kwargs)

    monkeypatch.setattr(_supervised, "train_test_split", recording)
    fit_quiet(_small(SdAClassifier, early_stopping=True), X, Y)
    fit_quiet(_small(SdAClassifier, early_stopping=True), X, Y.argmax(axis=1))
    assert calls[0] is None and calls[1] is not None


# ------------------------------------------------------ regressor API


def test_regressor_single_output():
    rng = np.random.default_rng(3)
    X = rng.random((50, 5))
    y = X @ np.arange(1.0, 6.0) / 5
    reg = fit_quiet(_small(SdARegressor, learning_rate_init=0.01), X, y)
    pred = reg.predict(X)
    assert pred.shape == (50,)
    assert np.all(np.isfinite(pred))
    assert reg.n_outputs_ == 1
    assert reg.out_activation_ == "identity"
    assert reg.coefs_[-1].shape == (4, 1)
    assert reg.transform(X).shape == (50, 4)


def test_regressor_multi_output():
    rng = np.random.default_rng(4)
    X = rng.random((50, 5))
    Y = np.column_stack([X.sum(axis=1), X[:, 0] - X[:, 1], X[:, 2]])
    reg = fit_quiet(_small(SdARegressor, learning_rate_init=0.01), X, Y)
    assert reg.predict(X).shape == (50, 3)
    assert reg.n_outputs_ == 3
    assert reg.coefs_[-1].shape == (4, 3)


def test_regressor_learns_a_linear_target():
    rng = np.random.default_rng(5)
    X = rng.random((200, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0])
    reg = SdARegressor(
        hidden_layer_sizes=(8,),
        pretrain_max_iter=1,
        max_iter=60,
        learning_rate_init=0.05,
        random_state=0,
    )
    fit_quiet(reg, X, y)
    assert reg.score(X, y) > 0.9


def test_regressor_early_stopping_averages_r2_over_outputs(monkeypatch):
    # as score and MLPRegressor: the R^2 of each output, then their mean, not the
    # R^2 of all outputs pooled (which the output of larger variance dominates)
    held_out = []

    def recording_split(*arrays, **options):
        train, valid = train_test_split(*arrays, **options)
        held_out.append(valid)
        return train, valid

    monkeypatch.setattr("stackeddae._supervised.train_test_split", recording_split)
    rng = np.random.default_rng(8)
    X = rng.random((80, 5))
    Y = np.column_stack([X @ np.arange(1.0, 6.0), 30 * (X[:, 0] - X[:, 1])])
    reg = _small(SdARegressor, pretrain=False, max_iter=1, early_stopping=True)
    fit_quiet(reg, X, Y)  # one epoch: its weights are the best ones, kept
    (valid,) = held_out
    X_valid, Y_valid = X[valid], Y[valid]
    pred = reg.predict(X_valid)
    residual, total = (Y_valid - pred) ** 2, (Y_valid - Y_valid.mean(axis=0)) ** 2
    pooled = 1 - residual.sum() / total.sum()
    averaged = r2_score(Y_valid, pred)
    assert abs(pooled - averaged) > 0.1  # the two definitions differ here
    assert reg.score(X_valid, Y_valid) == averaged
    assert_allclose(reg.validation_scores_, [averaged], rtol=1e-10)


def test_regressor_partial_fit_checks_output_count():
    rng = np.random.default_rng(6)
    X = rng.random((20, 3))
    reg = _small(SdARegressor, pretrain=False)
    reg.partial_fit(X, rng.random((20, 2)))
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X, rng.random(20))


def test_regressor_pretrain_false_gives_no_stack():
    rng = np.random.default_rng(7)
    X = rng.random((20, 3))
    reg = fit_quiet(_small(SdARegressor, pretrain=False), X, rng.random(20))
    assert reg.stack_ is None


def test_float32_network():
    X, y = _blobs(n=30)
    clf = fit_quiet(_small(SdAClassifier, dtype=None), X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in clf.coefs_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_random_state_makes_networks_identical():
    X, y = _blobs(n=30)
    a = fit_quiet(_small(SdAClassifier), X, y)
    b = fit_quiet(_small(SdAClassifier), X, y)
    c = fit_quiet(_small(SdAClassifier, random_state=1), X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_per_layer_corruption_levels_reach_pretraining():
    X, y = _blobs(n=30)
    clf = fit_quiet(_small(SdAClassifier, corruption_level=[0.1, 0.4]), X, y)
    assert [ae.corruption_level for ae in clf.stack_.autoencoders_] == [0.1, 0.4]


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_sparse_input_matches_dense(Estimator):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = rng.random((80, 12)) * (rng.random((80, 12)) < 0.3)
    y = np.arange(80) % 3
    params = dict(
        hidden_layer_sizes=(6,),
        pretrain_max_iter=2,
        max_iter=3,
        random_state=0,
        dtype=np.float64,  # a sparse product sums in another order than BLAS
    )
    dense = Estimator(**params).fit(X, y)
    sparse = Estimator(**params).fit(sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dense.predict(X), sparse.predict(sp.csc_matrix(X)))


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_float32_end_to_end(Estimator):
    X = np.random.default_rng(0).random((60, 8)).astype(np.float32)
    y = np.arange(60) % 2
    est = Estimator(
        hidden_layer_sizes=(5, 4), pretrain_max_iter=2, max_iter=2, random_state=0
    ).fit(X, y)
    assert all(W.dtype == np.float32 for W in est.coefs_ + est.intercepts_)
    assert all(ae.components_.dtype == np.float32 for ae in est.stack_.autoencoders_)
    assert est.transform(X).dtype == np.float32
    if hasattr(est, "predict_proba"):
        assert est.predict_proba(X).dtype == np.float32
    else:  # computed in float32, returned as float64 (scikit-learn's checks)
        assert est.predict(X).dtype == np.float64


@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("cls", [SdAClassifier, SdARegressor])
def test_network_objective_gradient_with_sample_weights(cls, alpha):
    X, y = _blobs(n=9, n_features=4)
    Y = (
        np.eye(3)[y]
        if cls is SdAClassifier
        else np.random.default_rng(2).random((9, 2))
    )
    est = fit_quiet(
        _small(cls, alpha=alpha, pretrain=False, batch_size=9),
        X,
        y if cls is SdAClassifier else Y,
    )
    weights = np.random.default_rng(3).uniform(0.1, 3.0, 9)
    _check_network_gradient(est, X, Y, weights=weights)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_weighted_network_objective_is_the_objective_of_the_repeated_rows(alpha):
    X, y = _blobs(n=9, n_features=4)
    Y = np.eye(3)[y]
    counts = np.array([1, 3, 2, 1, 1, 4, 2, 1, 2])
    clf = fit_quiet(_small(SdAClassifier, alpha=alpha, pretrain=False), X, y)
    obj = NetworkObjective(clf, 9)
    cost = float(obj(X, Y, counts.astype(float)))
    grads = [g.copy() for g in obj.grads]
    repeated = NetworkObjective(clf, counts.sum())
    expected = float(repeated(np.repeat(X, counts, axis=0), np.repeat(Y, counts, 0)))
    np.testing.assert_allclose(cost, expected, rtol=1e-12)
    for g, e in zip(grads, repeated.grads, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cls", [SdAClassifier, SdARegressor])
def test_identity_activation_gives_linear_hidden_layers(cls):
    """activation="identity", as MLPClassifier's: linear hidden layers, pretrained
    as linear autoencoders; the network is then an affine map of X before its head."""
    X, y = _blobs(n=30, n_features=4)
    est = fit_quiet(make_network(cls, activation="identity"), X, y)
    assert [ae.activation for ae in est.stack_.autoencoders_] == ["identity"] * 2
    code = X
    for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1], strict=True):
        code = code @ W + b
    assert_allclose(est.transform(X), code, rtol=1e-5, atol=1e-6)
    assert code.min() < 0 or code.max() > 1  # not squashed


# ------------------------------------------- noise on the fine-tuning input


def _noisy_objective(level=0.4, **params):
    X, y = _blobs(n=9, n_features=4)
    clf = fit_quiet(
        _small(
            SdAClassifier,
            fine_tune_corruption_level=level,
            batch_size=9,
            pretrain_batch_size=9,
            **params,
        ),
        X,
        y,
    )
    obj = _supervised.OBJECTIVES[False, True](clf, len(X))
    return clf, obj, X, np.eye(3)[y]


def test_fine_tune_corruption_trains_on_the_corrupted_input():
    clf, obj, X, Y = _noisy_objective(level=0.4)
    obj.noise_rng = np.random.default_rng(1)
    cost = float(obj(X, Y))
    grads = [g.copy() for g in obj.grads]
    noisy = _supervised.CORRUPTIONS["masking"](
        X, 0.4, np.random.default_rng(1), np.empty_like(X)
    )
    assert np.any(noisy != X) and np.any(noisy == X)
    clean = NetworkObjective(clf, len(X))
    assert cost == float(clean(noisy, Y))
    for g, expected in zip(grads, clean.grads, strict=True):
        assert_array_equal(g, expected)
    assert float(clean(X, Y)) != cost


def test_fine_tune_corruption_objective_gradient():
    _, obj, X, Y = _noisy_objective(level=0.3, corruption="gaussian")

    def cost():  # the same noise at every evaluation
        obj.noise_rng = np.random.default_rng(1)
        return float(obj(X, Y))

    cost()
    analytic = [g.copy() for g in obj.grads]
    error = relative_error(analytic, numeric_gradient(cost, obj.params))
    assert error < 1e-7, error


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
@pytest.mark.parametrize(
    "noise", [dict(fine_tune_corruption_level=0.3), dict(dropout=0.5)]
)
def test_fine_tuning_noise_changes_fine_tuning_not_pretraining(Estimator, noise):
    X, y = _blobs(n=30)
    clean = fit_quiet(_small(Estimator), X, y)
    noisy = fit_quiet(_small(Estimator, **noise), X, y)
    again = fit_quiet(_small(Estimator, **noise), X, y)  # reproducible
    layers = zip(clean.stack_.autoencoders_, noisy.stack_.autoencoders_, strict=True)
    for a, b in layers:
        assert_array_equal(a.components_, b.components_)
    assert not np.array_equal(clean.coefs_[0], noisy.coefs_[0])
    for a, b in zip(noisy.coefs_, again.coefs_, strict=True):
        assert_array_equal(a, b)
    assert_array_equal(noisy.predict(X), again.predict(X))


def test_fine_tune_corruption_reaches_the_unlabeled_rows_objective(monkeypatch):
    X, y = _blobs(n=30)
    y = np.where(np.arange(30) < 15, y, -1)
    kinds = []
    original = _supervised.OBJECTIVES.copy()
    for key, kind in original.items():
        monkeypatch.setitem(
            _supervised.OBJECTIVES,
            key,
            lambda *a, kind=kind, **k: kinds.append(kind) or kind(*a, **k),
        )
    params = dict(unlabeled_label=-1, unlabeled_loss="entropy")
    fit_quiet(_small(SdAClassifier, fine_tune_corruption_level=0.2, **params), X, y)
    assert set(kinds) == {_supervised._NoisySemiSupervisedObjective}


@pytest.mark.parametrize("level", [1.0, -0.1])
def test_fine_tune_corruption_level_out_of_range_raises(level):
    X, y = _blobs(n=30)
    with pytest.raises(ValueError, match="fine_tune_corruption_level"):
        _small(SdAClassifier, fine_tune_corruption_level=level).fit(X, y)


def test_fine_tune_corruption_with_consistency_is_one_noise():
    X, y = _blobs(n=30)
    y = np.where(np.arange(30) < 15, y, -1)
    params = dict(unlabeled_label=-1, unlabeled_loss="consistency")
    clf = fit_quiet(
        _small(
            SdAClassifier,
            corruption_level=0.3,
            fine_tune_corruption_level=0.5,
            **params,
        ),
        X,
        y,
    )
    obj = _supervised.OBJECTIVES[True, True](clf, 4000, ramp=1)
    ones = np.ones((4000, X.shape[1]), obj.noisy.dtype)
    dropped = 1 - obj.inputs(ones, 4000).mean()  # 0.65 were the two compounded
    assert abs(dropped - 0.5) < 0.02, dropped


def test_salt_and_pepper_in_fine_tuning_writes_the_data_range_without_pretraining():
    X, y = _blobs(n=30)
    X = X * 5 + 10
    reg = fit_quiet(
        _small(
            SdARegressor,
            pretrain=False,
            corruption="salt_and_pepper",
            fine_tune_corruption_level=0.5,
        ),
        X,
        y,
    )
    obj = _supervised.OBJECTIVES[False, True](reg, len(X))
    X = X.astype(obj.noisy.dtype)
    noisy = obj.inputs(X, len(X))
    written = noisy[noisy != X]
    assert len(written) and set(np.unique(written)) <= {X.min(), X.max()}


def test_fine_tune_corruption_with_lbfgs_raises():
    X, y = _blobs(n=30)
    clf = _small(SdAClassifier, solver="lbfgs", fine_tune_corruption_level=0.2)
    with pytest.raises(ValueError, match="fine_tune_corruption_level.*lbfgs"):
        clf.fit(X, y)


# ------------------------------------------------- dropout in fine-tuning


def _recorded_objectives(monkeypatch):
    """Every fine-tuning objective the fits build, with the keywords it got."""
    built = []
    for key, kind in _supervised.OBJECTIVES.copy().items():

        def make(*args, kind=kind, **kwargs):
            built.append((kwargs, kind(*args, **kwargs)))
            return built[-1][1]

        monkeypatch.setitem(_supervised.OBJECTIVES, key, make)
    return built


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_zero_dropout_is_the_fit_without_it(Estimator, monkeypatch):
    X, y = _blobs(n=30)
    built = _recorded_objectives(monkeypatch)
    plain = fit_quiet(_small(Estimator, fine_tune_corruption_level=0.2), X, y)
    zeros = fit_quiet(
        _small(Estimator, fine_tune_corruption_level=0.2, dropout=[0.0, 0.0]), X, y
    )
    for a, b in zip(plain.coefs_, zeros.coefs_, strict=True):
        assert_array_equal(a, b)
    assert [kwargs["dropout"] for kwargs, _ in built] == [[0.0, 0.0]] * 2


def test_dropout_reaches_the_objective_one_rate_per_hidden_layer(monkeypatch):
    X, y = _blobs(n=30)
    built = _recorded_objectives(monkeypatch)
    fit_quiet(_small(SdAClassifier, dropout=[0.3, 0.0]), X, y)
    ((_, obj),) = built
    assert obj.dropout == [0.3, 0.0]
    assert obj.masks[0].shape == obj.outputs[0].shape and obj.masks[1] is None


def test_dropout_with_unlabeled_rows():
    X, y = _blobs(n=30)
    y = np.where(np.arange(30) < 15, y, -1)
    params = dict(unlabeled_label=-1, unlabeled_loss="entropy")
    plain = fit_quiet(_small(SdAClassifier, **params), X, y)
    dropped = fit_quiet(_small(SdAClassifier, dropout=0.5, **params), X, y)
    again = fit_quiet(_small(SdAClassifier, dropout=0.5, **params), X, y)
    assert not np.array_equal(plain.coefs_[0], dropped.coefs_[0])
    assert_array_equal(dropped.coefs_[0], again.coefs_[0])


@pytest.mark.parametrize(
    "dropout, message",
    [
        (1.0, "dropout"),
        (-0.1, "dropout"),
        ([0.5], "one entry per layer"),
        ([0.5, 0.5, 0.5], "one entry per layer"),
        ([0.5, 1.0], r"probability in \[0, 1\)"),
        ([0.5, "a"], r"probability in \[0, 1\)"),
        ([0.5, np.nan], r"probability in \[0, 1\)"),
        ([True, 0.5], r"probability in \[0, 1\)"),
        ("half", "dropout"),
    ],
)
def test_dropout_out_of_range_raises(dropout, message):
    X, y = _blobs(n=30)
    with pytest.raises(ValueError, match=message):
        _small(SdAClassifier, dropout=dropout).fit(X, y)


def test_dropout_with_lbfgs_raises():
    X, y = _blobs(n=30)
    clf = _small(SdAClassifier, solver="lbfgs", dropout=0.2)
    with pytest.raises(ValueError, match="dropout.*lbfgs"):
        clf.fit(X, y)
    fit_quiet(clf.set_params(dropout=0.0), X, y)  # 0 is the fit without it
