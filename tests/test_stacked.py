"""StackedDenoisingAutoencoder: per-layer settings, greedy training, inference."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import xlogy
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from support import (
    assert_equal_arrays,
    assert_same_state,
    fit_quiet,
    make_network,
    make_stack,
    quietly,
    trained_arrays,
)

from stackeddae import DenoisingAutoencoder, SdAClassifier

N_SAMPLES, N_FEATURES = 40, 8


def _data(seed=0):
    return np.random.default_rng(seed).random((N_SAMPLES, N_FEATURES))


def _stack(**params):
    return make_stack(**{"hidden_layer_sizes": (6, 4, 3), **params})


@pytest.fixture(scope="module")
def fitted():
    X = _data()
    return fit_quiet(_stack(corruption_level=0.2), X), X


def test_per_layer_corruption_levels():
    X = _data()
    sda = fit_quiet(_stack(corruption_level=[0.1, 0.2, 0.4]), X)
    assert [ae.corruption_level for ae in sda.autoencoders_] == [0.1, 0.2, 0.4]
    assert [p["corruption_level"] for p in sda.layer_params()] == [0.1, 0.2, 0.4]
    # each layer really trains with its own level: layer 3 alone, on the clean
    # codes, with 0.4 reproduces it, and with another level does not
    codes = sda.autoencoders_[1].transform(sda.autoencoders_[0].transform(X))
    params = sda.layer_params()[2]
    alone = fit_quiet(DenoisingAutoencoder(**params), codes)
    assert_array_equal(alone.components_, sda.autoencoders_[2].components_)
    other = fit_quiet(
        DenoisingAutoencoder(**{**params, "corruption_level": 0.1}), codes
    )
    assert not np.array_equal(other.components_, sda.autoencoders_[2].components_)


def test_layer_params_does_not_advance_a_random_state():
    # a public getter: looking at it must not change the next fit
    X = _data()
    looked = _stack(random_state=np.random.RandomState(0))
    unlooked = clone(looked)  # its own RandomState, in the same state
    seen = looked.layer_params()
    assert looked.layer_params() == seen
    fit_quiet(looked, X)
    fit_quiet(unlooked, X)
    assert_equal_arrays(trained_arrays(looked), trained_arrays(unlooked))
    # the seeds shown are those the fit drew
    assert [ae.random_state for ae in looked.autoencoders_] == [
        p["random_state"] for p in seen
    ]


def test_per_layer_corruption_levels_as_tuple_and_array():
    for levels in [(0.0, 0.3, 0.5), np.array([0.0, 0.3, 0.5])]:
        sda = fit_quiet(_stack(corruption_level=levels, max_iter=1), _data())
        assert [ae.corruption_level for ae in sda.autoencoders_] == [0.0, 0.3, 0.5]


def test_scalar_corruption_level_applies_to_every_layer():
    params = _stack(corruption_level=0.25).layer_params()
    assert [p["corruption_level"] for p in params] == [0.25] * 3


@pytest.mark.parametrize("levels", [[0.1, 0.2], [0.1, 0.2, 0.3, 0.4], []])
def test_wrong_length_corruption_list_raises(levels):
    sda = _stack(corruption_level=levels)
    # the message names the parameter and says what is wrong: the list's length
    with pytest.raises(ValueError, match="corruption_level.*one entry per layer"):
        sda.fit(_data())
    with pytest.raises(ValueError, match="corruption_level.*one entry per layer"):
        sda.layer_params()


def test_corruption_level_out_of_range_in_one_layer_raises():
    with pytest.raises(ValueError, match="corruption_level"):
        _stack(corruption_level=[0.1, 1.5, 0.2]).fit(_data())


def test_autoencoder_sizes(fitted):
    sda, _ = fitted
    assert sda.n_layers_ == 3
    assert len(sda.autoencoders_) == 3
    assert all(isinstance(ae, DenoisingAutoencoder) for ae in sda.autoencoders_)
    assert [ae.n_components for ae in sda.autoencoders_] == [6, 4, 3]
    assert [ae.n_features_in_ for ae in sda.autoencoders_] == [N_FEATURES, 6, 4]
    assert [ae.components_.shape for ae in sda.autoencoders_] == [
        (6, N_FEATURES),
        (4, 6),
        (3, 4),
    ]
    assert [len(ae.loss_curve_) for ae in sda.autoencoders_] == [2, 2, 2]


def test_int_hidden_layer_sizes_is_one_layer():
    sda = fit_quiet(_stack(hidden_layer_sizes=5), _data())
    assert sda.n_layers_ == 1
    assert sda.transform(_data()).shape == (N_SAMPLES, 5)


def test_layers_are_trained_greedily_on_clean_codes(fitted):
    sda, X = fitted
    params = sda.layer_params()
    # layer 1 alone on X
    first = fit_quiet(DenoisingAutoencoder(**params[0]), X)
    assert_array_equal(first.components_, sda.autoencoders_[0].components_)
    # layer k+1 alone on the clean codes of the fitted layers 1..k
    codes = X
    for k in range(1, 3):
        codes = sda.autoencoders_[k - 1].transform(codes)
        alone = fit_quiet(DenoisingAutoencoder(**params[k]), codes)
        ae = sda.autoencoders_[k]
        assert alone.n_features_in_ == ae.n_features_in_
        assert_array_equal(alone.components_, ae.components_)
        assert_array_equal(alone.intercept_hidden_, ae.intercept_hidden_)
        assert_array_equal(alone.intercept_visible_, ae.intercept_visible_)
        assert alone.loss_curve_ == ae.loss_curve_


def test_layer_params_seeds_follow_random_state():
    a = [p["random_state"] for p in _stack(random_state=0).layer_params()]
    b = [p["random_state"] for p in _stack(random_state=0).layer_params()]
    c = [p["random_state"] for p in _stack(random_state=1).layer_params()]
    assert a == b
    assert a != c
    assert len(set(a)) == 3  # each layer its own seed


def test_layer_params_pass_shared_settings():
    params = _stack(
        activation="tanh", learning_rate_init=0.03, solver="adam", tied_weights=False
    ).layer_params()
    for p in params:
        assert p["activation"] == "tanh"
        assert p["learning_rate_init"] == 0.03
        assert p["solver"] == "adam"
        assert p["tied_weights"] is False
    assert [p["n_components"] for p in params] == [6, 4, 3]


def test_random_state_makes_stacks_identical():
    X = _data(1)
    a = fit_quiet(_stack(), X)
    b = fit_quiet(_stack(), X)
    c = fit_quiet(_stack(random_state=1), X)
    assert_array_equal(a.transform(X), b.transform(X))
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_output_shapes(fitted):
    sda, X = fitted
    code = sda.transform(X)
    assert code.shape == (N_SAMPLES, 3)
    assert sda.inverse_transform(code).shape == (N_SAMPLES, N_FEATURES)
    assert sda.score_samples(X).shape == (N_SAMPLES,)
    assert_allclose(sda.score(X), np.mean(sda.score_samples(X)), rtol=1e-12)
    assert sda.get_feature_names_out().shape == (3,)


def test_transform_chains_the_layers(fitted):
    sda, X = fitted
    codes = X
    for ae in sda.autoencoders_:
        codes = ae.transform(codes)
    assert_allclose(sda.transform(X), codes, rtol=1e-12)


def test_inverse_transform_decodes_through_every_layer(fitted):
    sda, X = fitted
    code = sda.transform(X)
    recon = code
    for ae in reversed(sda.autoencoders_):
        recon = ae.inverse_transform(recon)
    assert_allclose(sda.inverse_transform(code), recon, rtol=1e-12)
    assert np.all((recon > 0) & (recon < 1))


def test_score_samples_is_minus_the_reconstruction_kl_divergence(fitted):
    X = fitted[1]
    sda = fit_quiet(_stack(corruption_level=0.2, dtype=np.float64), X)  # exact maths
    recon = sda.inverse_transform(sda.transform(X))
    kl = (xlogy(X, X / recon) + xlogy(1 - X, (1 - X) / (1 - recon))).sum(axis=1)
    assert_allclose(sda.score_samples(X), -kl, rtol=1e-8)


def test_inverse_transform_checks_code_width(fitted):
    sda, _ = fitted
    with pytest.raises(ValueError):
        sda.inverse_transform(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "activation, upper_loss",
    [
        ("sigmoid", "cross_entropy"),
        ("tanh", "squared_error"),
        ("relu", "squared_error"),
    ],
)
def test_upper_layers_loss_follows_the_code_range(activation, upper_loss):
    X = _data(2)
    sda = fit_quiet(
        _stack(activation=activation, learning_rate_init=0.01, max_iter=1), X
    )
    losses = [ae.reconstruction_loss_ for ae in sda.autoencoders_]
    assert losses == ["cross_entropy", upper_loss, upper_loss]
    assert [p["loss"] for p in sda.layer_params()] == ["auto", upper_loss, upper_loss]


def test_first_layer_loss_follows_the_data():
    X = _data(3) * 4 - 2
    sda = fit_quiet(_stack(learning_rate_init=0.01, max_iter=1), X)
    losses = [ae.reconstruction_loss_ for ae in sda.autoencoders_]
    assert losses == ["squared_error", "cross_entropy", "cross_entropy"]


def test_float32_stays_float32():
    X = _data(4).astype(np.float32)
    sda = fit_quiet(_stack(max_iter=1), X)
    assert all(ae.components_.dtype == np.float32 for ae in sda.autoencoders_)
    code = sda.transform(X)
    assert code.dtype == np.float32
    assert sda.inverse_transform(code).dtype == np.float32


def test_partial_fit_trains_every_layer_once():
    X = _data(5)
    sda = _stack()
    sda.partial_fit(X)
    sda.partial_fit(X)
    assert [ae.n_iter_ for ae in sda.autoencoders_] == [2, 2, 2]


def test_warm_start_continues_every_layer():
    X = _data(6)
    sda = fit_quiet(_stack(warm_start=True), X)
    first = [ae for ae in sda.autoencoders_]
    fit_quiet(sda, X)
    assert [ae.n_iter_ for ae in sda.autoencoders_] == [4, 4, 4]
    assert all(a is b for a, b in zip(first, sda.autoencoders_, strict=True))


# ------------------------------------------------------- transform_layers="all"


def test_all_layers_transform_concatenates_every_layers_code(fitted):
    sda, X = fitted
    top = sda.transform(X)
    every = fit_quiet(_stack(corruption_level=0.2, transform_layers="all"), X)
    codes, expected = X, []
    for ae in every.autoencoders_:
        codes = ae.transform(codes)
        expected.append(codes)
    out = every.transform(X)
    assert out.shape == (N_SAMPLES, 6 + 4 + 3) == (N_SAMPLES, every._n_features_out)
    assert_array_equal(out, np.hstack(expected))
    assert_array_equal(out[:, -3:], top)
    # set after fit, it shapes transform alone
    assert_array_equal(every.set_params(transform_layers="top").transform(X), top)


def test_all_layers_feature_names_name_layer_and_unit(fitted):
    sda, X = fitted
    top_names = [f"stackeddenoisingautoencoder{j}" for j in range(3)]
    assert sda.get_feature_names_out().tolist() == top_names
    every = fit_quiet(_stack(transform_layers="all", max_iter=1), X)
    expected = [
        f"stackeddenoisingautoencoder_layer{k}_{j}"
        for k, size in [(1, 6), (2, 4), (3, 3)]
        for j in range(size)
    ]
    assert every.get_feature_names_out().tolist() == expected


def test_transform_layers_changes_no_training():
    X = _data(7)
    top = fit_quiet(_stack(), X)
    every = fit_quiet(_stack(transform_layers="all"), X)
    for a, b in zip(top.autoencoders_, every.autoencoders_, strict=True):
        assert_same_state(a, b)
    assert top.layer_params() == every.layer_params()
    assert_array_equal(every.fit_transform(X)[:, -3:], top.transform(X))


def test_all_layers_inverse_transform_decodes_the_top_code():
    X = _data(10)
    sda = fit_quiet(_stack(transform_layers="all"), X)
    codes = sda.transform(X)
    expected = sda.set_params(transform_layers="top").inverse_transform(codes[:, -3:])
    sda.set_params(transform_layers="all")
    assert_array_equal(sda.inverse_transform(codes), expected)
    codes[:, :10] = -7.0  # the lower layers' columns are not read
    assert_array_equal(sda.inverse_transform(codes), expected)
    with pytest.raises(ValueError, match="expecting 13 features.*'all'"):
        sda.inverse_transform(codes[:, -3:])
    with pytest.raises(ValueError, match="expecting 3 features.*'top'"):
        sda.set_params(transform_layers="top").inverse_transform(codes)


def test_all_layers_in_a_pipeline_with_pandas_output_and_pickled():
    pd = pytest.importorskip("pandas")
    X = _data(8)
    y = (X[:, 0] > 0.5).astype(int)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(N_FEATURES)])
    stack = _stack(transform_layers="all", corruption="swap", corruption_level=0.15)
    pipe = make_pipeline(stack, LogisticRegression()).set_output(transform="pandas")
    fit_quiet(pipe, frame, y)
    codes = pipe[0].transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert codes.columns.tolist() == pipe[0].get_feature_names_out().tolist()
    assert codes.columns[0] == "stackeddenoisingautoencoder_layer1_0"
    assert codes.shape == (N_SAMPLES, 13)
    loaded = pickle.loads(pickle.dumps(pipe))
    assert loaded[0].transform_layers == "all"
    assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))
    assert_array_equal(loaded[0].transform(frame).to_numpy(), codes.to_numpy())


def test_unknown_transform_layers_is_refused():
    with pytest.raises(ValueError, match="transform_layers"):
        _stack(transform_layers="bottom").fit(_data())


@pytest.mark.parametrize(
    "make", [_stack, lambda: make_network(SdAClassifier)], ids=["stack", "classifier"]
)
def test_unknown_transform_layers_set_after_fit_is_refused(make):
    # documented as settable after fit, where fit's constraints no longer check it
    X = _data()
    est = fit_quiet(make(), X, (X[:, 0] > 0.5).astype(int))
    est.set_params(transform_layers="bottom")
    message = r"transform_layers must be one of \['all', 'top'\]; got 'bottom'"
    with pytest.raises(ValueError, match=message):
        est.transform(X)
    with pytest.raises(ValueError, match=message):
        est.get_feature_names_out()


# --------------------------------------------------------------- swap noise


def test_swap_noise_stack_is_reproducible_and_grid_searchable():
    X = _data(9)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    params = dict(corruption="swap", corruption_level=0.15)
    a = fit_quiet(_stack(**params), X)
    b = fit_quiet(clone(a), X)
    for la, lb in zip(a.autoencoders_, b.autoencoders_, strict=True):
        assert_same_state(la, lb)
    assert all(ae.corruption == "swap" for ae in a.autoencoders_)
    other = fit_quiet(_stack(**params, random_state=1), X)
    assert not np.array_equal(
        other.autoencoders_[0].components_, a.autoencoders_[0].components_
    )
    pipe = make_pipeline(_stack(), LogisticRegression())
    grid = {
        "stackeddenoisingautoencoder__corruption": ["masking", "swap"],
        "stackeddenoisingautoencoder__transform_layers": ["top", "all"],
    }
    search = quietly(GridSearchCV(pipe, grid, cv=2).fit, X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
