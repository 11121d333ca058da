"""The ``memory=`` cache of pretrained layers: identical results, one training per
distinct layer prefix, bad entries recomputed, concurrent writers."""

import glob
import os
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from support import assert_same_state, quietly

import stackeddae._cache
from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

CORRUPTIONS = [[a, b] for a in (0.1, 0.3) for b in (0.0, 0.2)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:240] / 16).astype(np.float32), y[:240]


@pytest.fixture
def trainings(monkeypatch):
    """Counts the layer trainings of this process."""
    count = []
    fit = DenoisingAutoencoder._fit

    def counting(self, *args, **kwargs):
        count.append(self.corruption_level)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(DenoisingAutoencoder, "_fit", counting)
    return count


def _stack(**params):
    defaults = dict(hidden_layer_sizes=(16, 8), max_iter=2, random_state=0)
    return StackedDenoisingAutoencoder(**{**defaults, **params})


def _entries(location):
    return sorted(glob.glob(os.path.join(location, "**", "output.pkl"), recursive=True))


# ------------------------------------------------------------ identical results


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_cold_and_warm_cache_give_the_fit_without_cache(tmp_path, digits, solver):
    X, _ = digits
    plain = quietly(_stack(solver=solver, early_stopping=solver != "lbfgs").fit, X)
    for _ in ("cold", "warm"):
        cached = _stack(
            solver=solver, early_stopping=solver != "lbfgs", memory=tmp_path
        )
        codes = quietly(cached.fit_transform, X)
        for a, b in zip(plain.autoencoders_, cached.autoencoders_, strict=True):
            assert_same_state(a, b)
        assert_array_equal(codes, plain.transform(X))
        assert cached.n_iter_ == plain.n_iter_


def test_a_warm_cache_trains_no_layer_and_says_so(tmp_path, digits, trainings, capsys):
    X, _ = digits
    quietly(_stack(memory=str(tmp_path)).fit, X)
    assert len(trainings) == 2
    quietly(_stack(memory=joblib.Memory(str(tmp_path), verbose=0), verbose=1).fit, X)
    assert len(trainings) == 2
    out = capsys.readouterr().out
    assert "layer 1/2 loaded from the cache" in out
    assert "layer 2/2 loaded from the cache" in out


def test_a_changed_upper_layer_reuses_the_layers_below(tmp_path, digits, trainings):
    X, _ = digits
    quietly(_stack(corruption_level=[0.1, 0.2], memory=tmp_path).fit, X)
    quietly(_stack(corruption_level=[0.1, 0.4], memory=tmp_path).fit, X)
    assert trainings == [0.1, 0.2, 0.4]
    # a changed lower layer changes every key above it
    quietly(_stack(corruption_level=[0.3, 0.2], memory=tmp_path).fit, X)
    assert trainings[3:] == [0.3, 0.2]
    # other rows: another fingerprint
    quietly(_stack(corruption_level=[0.1, 0.2], memory=tmp_path).fit, X[:-1])
    assert trainings[5:] == [0.1, 0.2]


def test_verbose_and_an_equivalent_n_jobs_share_entries(tmp_path, digits, trainings):
    X, _ = digits
    quietly(_stack(memory=tmp_path).fit, X)
    loaded = quietly(_stack(memory=tmp_path, n_jobs=1, verbose=True).fit, X)
    assert len(trainings) == 2
    assert all(ae.verbose is True for ae in loaded.autoencoders_)


# ----------------------------------------------------------------- grid search


def test_grid_search_trains_each_layer_prefix_once_per_fold(
    tmp_path, digits, trainings
):
    X, _ = digits
    grid = {"corruption_level": CORRUPTIONS}
    plain = GridSearchCV(_stack(), grid, cv=2, refit=False)
    cold = GridSearchCV(_stack(memory=tmp_path), grid, cv=2, refit=False)
    quietly(plain.fit, X)
    assert len(trainings) == 2 * 4 * 2
    quietly(cold.fit, X)
    # 2 distinct first layers + 4 distinct pairs, per fold
    assert len(trainings) == 16 + 2 * (2 + 4)
    warm = GridSearchCV(_stack(memory=tmp_path), grid, cv=2, refit=False)
    quietly(warm.fit, X)
    assert len(trainings) == 28
    for search in (cold, warm):
        assert_array_equal(
            search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
        )


def test_transform_layers_is_not_in_the_key(tmp_path, digits, trainings):
    X, _ = digits
    top = quietly(_stack(memory=tmp_path).fit, X)
    every = quietly(_stack(memory=tmp_path, transform_layers="all").fit, X)
    assert len(trainings) == 2  # the second fit loaded both layers
    for a, b in zip(top.autoencoders_, every.autoencoders_, strict=True):
        assert_same_state(a, b)
    grid = {"transform_layers": ["top", "all"]}
    clf = SdAClassifier((16, 8), pretrain_max_iter=2, max_iter=2, random_state=0)
    search = GridSearchCV(clf.set_params(memory=tmp_path), grid, cv=2, refit=False)
    quietly(search.fit, *digits)
    assert len(trainings) == 2 + 2 * 2  # two layers per fold, for both candidates


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_fine_tuning_parameters_are_not_in_the_key(
    tmp_path, digits, trainings, Estimator
):
    X, y = digits
    params = dict(hidden_layer_sizes=(16, 8), pretrain_max_iter=2, max_iter=3)
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]}
    est = Estimator(**params, random_state=0, memory=tmp_path)
    search = quietly(GridSearchCV(est, grid, cv=2, refit=False).fit, X, y)
    assert len(trainings) == 2 * 2  # two layers, two folds
    plain = quietly(
        GridSearchCV(Estimator(**params, random_state=0), grid, cv=2).fit, X, y
    )
    assert_array_equal(
        search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("solver, shared", [("sgd", True), ("adam", False)])
def test_a_parameter_the_solver_does_not_read_is_not_in_the_key(
    tmp_path, digits, trainings, solver, shared
):
    # beta_1 is Adam's alone: under sgd two fits differing in it share their layers
    X, _ = digits
    quietly(_stack(solver=solver, beta_1=0.9, memory=tmp_path).fit, X)
    assert len(trainings) == 2
    cached = quietly(_stack(solver=solver, beta_1=0.5, memory=tmp_path).fit, X)
    assert len(trainings) == (2 if shared else 4)
    # a loaded layer has the caller's parameters, and is the layer trained with them
    plain = quietly(_stack(solver=solver, beta_1=0.5).fit, X)
    for a, b in zip(plain.autoencoders_, cached.autoencoders_, strict=True):
        assert b.beta_1 == 0.5
        assert_same_state(a, b)


@pytest.mark.parametrize("pretrain_solver, shared", [("sgd", True), ("adam", False)])
def test_sda_shares_pretrained_layers_across_what_their_solver_ignores(
    tmp_path, digits, trainings, pretrain_solver, shared
):
    X, y = digits
    make = lambda **m: SdAClassifier(  # noqa: E731
        (16, 8),
        pretrain_solver=pretrain_solver,
        pretrain_max_iter=2,
        max_iter=2,
        random_state=0,
        memory=tmp_path,
        **m,
    )
    quietly(make(beta_1=0.9, rho=0.9, epsilon=1e-8).fit, X, y)
    assert len(trainings) == 2
    quietly(make(beta_1=0.5, rho=0.9, epsilon=1e-8).fit, X, y)
    assert len(trainings) == (2 if shared else 4)
    quietly(make(beta_1=0.5, rho=0.5, epsilon=1e-4).fit, X, y)  # sgd, adam: no rho
    assert len(trainings) == (2 if shared else 6)


def test_classifier_with_cache_is_the_classifier_without(tmp_path, digits):
    X, y = digits
    make = lambda **m: SdAClassifier(  # noqa: E731
        (16, 8),
        pretrain_max_iter=2,
        max_iter=3,
        early_stopping=True,
        random_state=0,
        **m,
    )
    plain = quietly(make().fit, X, y)
    for _ in ("cold", "warm"):
        cached = quietly(make(memory=tmp_path).fit, X, y)
        for a, b in zip(plain.coefs_, cached.coefs_, strict=True):
            assert_array_equal(a, b)
        assert plain.loss_curve_ == cached.loss_curve_
        assert plain.validation_scores_ == cached.validation_scores_


# ------------------------------------------------------------- what is cached


@pytest.mark.parametrize("random_state", [None, np.random.RandomState(0)])
def test_no_cache_without_an_int_random_state(tmp_path, digits, random_state):
    X, y = digits
    stack = _stack(memory=tmp_path, random_state=random_state)
    with pytest.warns(UserWarning, match="random_state.*not an int") as record:
        quietly(stack.fit, X)
    assert len([w for w in record if "not an int" in str(w.message)]) == 1
    clf = SdAClassifier((8,), pretrain_max_iter=1, max_iter=2, memory=tmp_path)
    with pytest.warns(UserWarning, match="SdAClassifier.*not an int") as record:
        quietly(clf.fit, X, y)
    assert len([w for w in record if "not an int" in str(w.message)]) == 1
    assert _entries(tmp_path) == []


def test_entries_hold_the_fitted_layer_not_its_codes(tmp_path, digits):
    X, _ = digits
    quietly(_stack(memory=tmp_path).fit, X)
    entries = _entries(tmp_path)
    assert len(entries) == 2
    for path in entries:
        layer, status = joblib.load(path)
        assert isinstance(layer, DenoisingAutoencoder) and status == "max_iter"
        assert layer.loss_curve_ and layer.components_.shape[0] in (16, 8)
        sizes = [v.size for v in vars(layer).values() if isinstance(v, np.ndarray)]
        assert max(sizes) < X.shape[0] * 8  # nothing the size of the codes


def test_memory_must_be_a_path_or_a_joblib_memory(digits):
    with pytest.raises(ValueError, match="memory"):
        _stack(memory=3).fit(digits[0])


# --------------------------------------------------------------- bad entries


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _replace_with_another_layer(path):
    layer, status = joblib.load(path)
    layer._cache_key = "written by another version"
    joblib.dump((layer, status), path)


def _damage_weights(path):
    layer, status = joblib.load(path)
    layer.components_[0, 0] = np.nan
    joblib.dump((layer, status), path)


def _not_an_entry(path):
    joblib.dump("something else", path)


@pytest.mark.parametrize(
    "damage", [_truncate, _replace_with_another_layer, _damage_weights, _not_an_entry]
)
def test_a_bad_entry_is_recomputed(tmp_path, digits, trainings, damage):
    X, _ = digits
    plain = quietly(_stack().fit, X)
    quietly(_stack(memory=tmp_path).fit, X)
    for path in _entries(tmp_path):
        damage(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib warns about what it cannot load
        cached = _stack(memory=tmp_path).fit(X)
    assert len(trainings) == 2 + 2 + 2
    for a, b in zip(plain.autoencoders_, cached.autoencoders_, strict=True):
        assert_same_state(a, b)
    # and the recomputed entries are good again
    quietly(_stack(memory=tmp_path).fit, X)
    assert len(trainings) == 6


def test_an_interrupted_layer_is_not_stored(tmp_path, digits, monkeypatch):
    X, _ = digits
    pretrain = stackeddae._cache.pretrain_layer

    def interrupted(codes, params, label="", task=None, sample_weight=None):
        layer, _ = pretrain(codes, params, label, task, sample_weight)
        return layer, "interrupted"

    monkeypatch.setattr(stackeddae._cache, "pretrain_layer", interrupted)
    stack = quietly(_stack(memory=tmp_path).fit, X)
    assert _entries(tmp_path) == []
    assert hasattr(stack.autoencoders_[1], "components_")  # initialised, untrained


def _fit_in_a_process(location, X):
    return quietly(_stack(memory=location).fit, X)


def test_two_processes_writing_the_same_entries_lose_nothing(tmp_path, digits):
    X, _ = digits
    plain = quietly(_stack().fit, X)
    fits = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(_fit_in_a_process)(str(tmp_path), X) for _ in range(4)
    )
    assert len(_entries(tmp_path)) == 2
    warm = quietly(_stack(memory=tmp_path).fit, X)
    for stack in [*fits, warm]:
        for a, b in zip(plain.autoencoders_, stack.autoencoders_, strict=True):
            assert_same_state(a, b)


def test_a_layer_from_the_cache_warns_as_its_training_did(tmp_path, digits):
    X, _ = digits

    def fit_warnings():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            StackedDenoisingAutoencoder(
                (8, 4), max_iter=2, random_state=0, memory=str(tmp_path)
            ).fit(X)
        return sorted(str(w.message) for w in caught)

    trained = fit_warnings()
    assert len(trained) == 2  # one ConvergenceWarning per layer
    assert fit_warnings() == trained  # both layers loaded


def test_fitted_pretraining_stack_keeps_the_users_memory(tmp_path, digits):
    # not the resolved joblib.Memory, which saved models would carry along
    import skops.io as sio

    X, y = digits
    clf = quietly(
        SdAClassifier(
            (8,), pretrain_max_iter=1, max_iter=2, random_state=0, memory=str(tmp_path)
        ).fit,
        X,
        y,
    )
    assert clf.stack_.memory == str(tmp_path)
    untrusted = sio.get_untrusted_types(data=sio.dumps(clf))
    assert all(t.startswith("stackeddae.") for t in untrusted), untrusted


def test_stack_fine_tuning_is_not_cached_nor_in_the_key(tmp_path, digits, trainings):
    X, _ = digits
    deep = dict(fine_tune_max_iter=2, fine_tune_batch_size=20)
    plain = quietly(_stack(**deep).fit, X)
    for _ in ("cold", "warm"):
        cached = quietly(_stack(memory=tmp_path, **deep).fit, X)
        assert_same_state(cached.autoencoders_, plain.autoencoders_)
        assert cached.fine_tune_loss_curve_ == plain.fine_tune_loss_curve_
    assert len(trainings) == 4  # plain, then cold: two layers each
    # other fine-tuning settings load the layers, and fine-tune
    other = quietly(
        _stack(memory=tmp_path, **deep, fine_tune_learning_rate_init=0.01).fit, X
    )
    assert len(trainings) == 4 and other.fine_tune_n_iter_ == 2
    # fine-tuning in place left the stored layers as pretraining made them
    greedy = quietly(_stack(memory=tmp_path).fit, X)
    assert len(trainings) == 4
    assert_same_state(greedy.autoencoders_, quietly(_stack().fit, X).autoencoders_)


# ------------------------------------------------------------ sample weights


def test_the_weights_are_in_the_key(tmp_path, digits, trainings):
    X, _ = digits
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    plain = quietly(_stack(memory=tmp_path).fit, X)
    assert len(trainings) == 2
    # another weighting is another fit: no layer of the unweighted one is loaded
    weighted = quietly(_stack(memory=tmp_path).fit, X, sample_weight=weights)
    assert len(trainings) == 4
    assert not np.array_equal(
        weighted.autoencoders_[0].components_, plain.autoencoders_[0].components_
    )
    other = quietly(_stack(memory=tmp_path).fit, X, sample_weight=weights[::-1])
    assert len(trainings) == 6
    # the same weighting loads what it trained, bit for bit
    again = quietly(_stack(memory=tmp_path).fit, X, sample_weight=weights.copy())
    assert len(trainings) == 6
    for a, b in zip(weighted.autoencoders_, again.autoencoders_, strict=True):
        assert_same_state(a, b)
    assert not np.array_equal(other.transform(X), again.transform(X))
    # weights all 1 are no weights: the unweighted entries
    quietly(_stack(memory=tmp_path).fit, X, sample_weight=np.ones(X.shape[0]))
    assert len(trainings) == 6


def test_cached_weighted_classifier_is_the_classifier_without_cache(tmp_path, digits):
    X, y = digits
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    params = dict(hidden_layer_sizes=(16, 8), pretrain_max_iter=2, max_iter=3)
    plain = quietly(
        SdAClassifier(random_state=0, **params).fit, X, y, sample_weight=weights
    )
    for _ in ("cold", "warm"):
        cached = quietly(
            SdAClassifier(random_state=0, memory=tmp_path, **params).fit,
            X,
            y,
            sample_weight=weights,
        )
        assert_array_equal(cached.predict_proba(X), plain.predict_proba(X))
