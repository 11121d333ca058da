"""DenoisingAutoencoder: exact gradients, the reference MNIST run, and the API."""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, xlogy
from support import fit_quiet, numeric_gradient, relative_error
from threadpoolctl import threadpool_limits

from stackeddae import DenoisingAutoencoder
from stackeddae._corruption import CORRUPTIONS
from stackeddae._objectives import DAEObjective
from stackeddae.datasets import load_mnist_5k

N_SAMPLES, N_FEATURES, N_HIDDEN = 6, 7, 5


def _objective(X, seed=0, **params):
    """A DAEObjective of a float64 DAE fitted for one epoch, with random biases
    (float64: finite differences and the references need its precision)."""
    dae = DenoisingAutoencoder(
        n_components=N_HIDDEN,
        max_iter=1,
        batch_size=X.shape[0],
        random_state=seed,
        dtype=np.float64,
        **params,
    )
    fit_quiet(dae, X)
    obj = DAEObjective(dae, X.shape[0])
    rng = np.random.default_rng(seed + 100)
    for p in obj.params[1:3]:  # make the biases non-trivial
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    return dae, obj


def _evaluate(obj, X, weights=None):
    obj.rng = np.random.default_rng(0)  # the same noise for every evaluation
    return float(obj(X, None, weights))


def _check_gradient(obj, X, tol=1e-6, weights=None):
    _evaluate(obj, X, weights)
    analytic = [g.copy() for g in obj.grads]
    numeric = numeric_gradient(lambda: _evaluate(obj, X, weights), obj.params)
    assert all(np.any(g != 0) for g in analytic)
    error = relative_error(analytic, numeric)
    assert error < tol, error
    return error


def _kink_margin(obj, X):
    """Smallest |pre-activation| of the hidden units, on the corrupted input."""
    _evaluate(obj, X)
    x_tilde = obj.visible[: X.shape[0]]
    W, b = obj.params[0], obj.params[1]
    return np.abs(x_tilde @ W.T + b).min()


def _data(seed=0):
    return np.random.default_rng(seed).random((N_SAMPLES, N_FEATURES))


def _entropy(X):
    """Per-row Bernoulli entropy of X in [0, 1], 0 log 0 = 0, by hand."""
    return -(xlogy(X, X) + xlogy(1 - X, 1 - X)).sum(axis=1)


@pytest.mark.parametrize(
    "loss, activation, tied",
    list(
        itertools.product(
            ["cross_entropy", "squared_error"],
            ["sigmoid", "tanh", "relu"],
            [True, False],
        )
    ),
)
def test_objective_gradient_matches_finite_differences(loss, activation, tied):
    X = _data()
    for seed in range(20):  # relu: the first seed whose units stay off the kink
        dae, obj = _objective(
            X,
            seed=seed,
            loss=loss,
            activation=activation,
            tied_weights=tied,
            corruption_level=0.3,
        )
        if activation != "relu" or _kink_margin(obj, X) > 1e-3:
            break
    if activation == "relu":
        assert _kink_margin(obj, X) > 1e-3
        inactive = (obj.hidden[N_SAMPLES:] == 0).mean()
        assert 0 < inactive < 1  # both branches of the relu are exercised
    assert dae.reconstruction_loss_ == loss
    assert len(obj.params) == (3 if tied else 4)
    assert obj.params[0] is dae.components_
    for p, g in zip(obj.params, obj.grads, strict=True):
        assert g.shape == p.shape
    _check_gradient(obj, X)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_objective_gradient_with_l2_penalty(loss, tied):
    X = _data(1)
    _, obj = _objective(
        X,
        loss=loss,
        activation="tanh",
        tied_weights=tied,
        alpha=0.3,
        corruption_level=0.2,
    )
    _check_gradient(obj, X)


@pytest.mark.parametrize("tied", [True, False])
def test_objective_gradient_with_sparsity_penalty(tied):
    X = _data(2)
    _, obj = _objective(
        X,
        activation="sigmoid",
        tied_weights=tied,
        sparsity_weight=0.7,
        sparsity_target=0.1,
        corruption_level=0.3,
    )
    _check_gradient(obj, X)


@pytest.mark.parametrize("corruption", ["gaussian", "salt_and_pepper", "swap"])
def test_objective_gradient_with_other_corruptions(corruption):
    X = _data(3)
    _, obj = _objective(
        X,
        activation="sigmoid",
        corruption=corruption,
        corruption_level=0.3,
        tied_weights=False,
    )
    _check_gradient(obj, X)


def test_objective_gradient_on_a_partial_mini_batch():
    # the buffers hold 6 rows; a last, smaller mini-batch of 4 uses part of them
    X = _data(4)
    _, obj = _objective(X, activation="tanh", corruption_level=0.25)
    _check_gradient(obj, X[:4])


_PENALTIES = [{}, {"alpha": 0.3}, {"sparsity_weight": 0.7, "sparsity_target": 0.1}]


@pytest.mark.parametrize("penalties", _PENALTIES)
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("tied", [True, False])
def test_objective_gradient_with_sample_weights(tied, loss, penalties):
    X = _data(5)
    _, obj = _objective(
        X, loss=loss, tied_weights=tied, corruption_level=0.3, **penalties
    )
    weights = np.random.default_rng(5).uniform(0.1, 3.0, N_SAMPLES)
    _check_gradient(obj, X, weights=weights)
    # on a partial mini-batch too (the buffers hold 6 rows)
    _check_gradient(obj, X[:4], weights=weights[:4])


@pytest.mark.parametrize("penalties", _PENALTIES)
@pytest.mark.parametrize("tied", [True, False])
def test_weighted_objective_is_the_objective_of_the_repeated_rows(tied, penalties):
    # scikit-learn's normalisation: sum w l / sum w, alpha / (2 sum w) ||W||^2 ...
    X = _data(6)
    counts = np.array([2, 1, 3, 1, 4, 2])
    dae, obj = _objective(X, tied_weights=tied, corruption_level=0.0, **penalties)
    cost = _evaluate(obj, X, counts.astype(float))
    grads = [g.copy() for g in obj.grads]
    # ... which are the mean cost and penalties of the rows repeated
    repeated = DAEObjective(dae, counts.sum())
    expected = _evaluate(repeated, np.repeat(X, counts, axis=0))
    assert_allclose(cost, expected, rtol=1e-12)
    for g, e in zip(grads, repeated.grads, strict=True):
        assert_allclose(g, e, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("tied", [True, False])
def test_objective_is_the_mean_reconstruction_cost(loss, tied):
    # Without corruption, the objective is the mean per-sample cost of clean X;
    # score() reports minus that cost less its floor, the inputs' own entropy for
    # cross-entropy (0 for squared error).
    X = _data(5)
    dae, obj = _objective(X, loss=loss, tied_weights=tied, corruption_level=0.0)
    floor = _entropy(X) if loss == "cross_entropy" else np.zeros(len(X))
    assert_allclose(obj(X), floor.mean() - dae.score(X), rtol=1e-12)
    assert_allclose(obj(X[:3]), floor[:3].mean() - dae.score(X[:3]), rtol=1e-12)


@pytest.mark.parametrize("tied", [True, False])
def test_objective_l2_and_sparsity_costs(tied):
    X = _data(6)
    m = X.shape[0]
    dae, obj = _objective(X, tied_weights=tied, corruption_level=0.0)
    base = obj(X)
    weights = [dae.components_] + ([] if tied else [dae.decoder_components_])
    obj.alpha = 0.4
    expected_l2 = 0.5 * 0.4 * sum((W**2).sum() for W in weights) / m
    assert_allclose(obj(X) - base, expected_l2, rtol=1e-10)
    obj.alpha = 0.0
    obj.sparsity_weight, obj.sparsity_target = 2.0, 0.1
    rho_hat = dae.transform(X).mean(axis=0)
    kl = 0.1 * np.log(0.1 / rho_hat) + 0.9 * np.log(0.9 / (1 - rho_hat))
    assert_allclose(obj(X) - base, 2.0 * kl.sum(), rtol=1e-10)


@pytest.mark.parametrize("corruption_level, published", [(0.0, 132.5), (0.3, 138.4)])
def test_first_epoch_matches_the_published_theano_costs(corruption_level, published):
    # deeplearning.net's dA tutorial: 100 hidden units, SGD lr 0.1, batches of 20.
    X, _ = load_mnist_5k(return_X_y=True)
    assert X.dtype == np.float32 and X.min() >= 0 and X.max() <= 1
    dae = DenoisingAutoencoder(
        n_components=100,
        corruption_level=corruption_level,
        learning_rate_init=0.1,
        batch_size=20,
        max_iter=1,
        random_state=0,
    )
    with threadpool_limits(1):
        fit_quiet(dae, X)
    assert dae.reconstruction_loss_ == "cross_entropy"
    assert len(dae.loss_curve_) == 1
    assert abs(dae.loss_curve_[0] - published) / published < 0.03


# ----------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(7).random((40, 8))
    dae = DenoisingAutoencoder(  # float64: the tests compare with numpy by hand
        n_components=3, max_iter=3, batch_size=10, random_state=0, dtype=np.float64
    )
    return fit_quiet(dae, X), X


def test_output_shapes(fitted):
    dae, X = fitted
    code = dae.transform(X)
    assert code.shape == (40, 3)
    assert dae.inverse_transform(code).shape == (40, 8)
    assert dae.score_samples(X).shape == (40,)
    assert dae.components_.shape == (3, 8)
    assert dae.intercept_hidden_.shape == (3,)
    assert dae.intercept_visible_.shape == (8,)
    assert not hasattr(dae, "decoder_components_")
    assert dae.n_features_in_ == 8
    assert_array_equal(
        dae.get_feature_names_out(), [f"denoisingautoencoder{i}" for i in range(3)]
    )


def test_score_is_mean_of_score_samples(fitted):
    dae, X = fitted
    assert_allclose(dae.score(X), np.mean(dae.score_samples(X)), rtol=1e-12)
    assert isinstance(dae.score(X), float)


def test_transform_inverse_transform_and_score_by_hand(fitted):
    dae, X = fitted
    code = expit(X @ dae.components_.T + dae.intercept_hidden_)
    assert_allclose(dae.transform(X), code, rtol=1e-12)
    recon = expit(code @ dae.components_ + dae.intercept_visible_)
    assert_allclose(dae.inverse_transform(code), recon, rtol=1e-12)
    ce = -(X * np.log(recon) + (1 - X) * np.log(1 - recon)).sum(axis=1)
    kl = (xlogy(X, X / recon) + xlogy(1 - X, (1 - X) / (1 - recon))).sum(axis=1)
    assert_allclose(ce - _entropy(X), kl, rtol=1e-10)  # the two forms agree
    assert_allclose(dae.score_samples(X), -kl, rtol=1e-10)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_perfect_reconstruction_scores_zero_whatever_the_input(loss):
    # A decoder that outputs a fixed grey pattern reconstructs it perfectly: its
    # score is 0 although its cross-entropy is the pattern's entropy, and an
    # inkier (greyer) pattern reconstructed as well scores the same.
    rng = np.random.default_rng(9)
    X = rng.uniform(0.05, 0.95, (20, 6))
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=2,
            loss=loss,
            tied_weights=False,
            max_iter=1,
            dtype=np.float64,  # a score of exactly 0 (up to 1e-12)
        ),
        X,
    )
    dae.decoder_components_[...] = 0.0
    scores = {}
    for grey in (0.1, 0.5):
        pattern = np.full((1, 6), grey)
        logit = np.log(pattern / (1 - pattern))
        dae.intercept_visible_[...] = logit if loss == "cross_entropy" else pattern
        scores[grey] = dae.score_samples(pattern)
    assert_allclose(scores[0.1], 0.0, atol=1e-12)
    assert_allclose(scores[0.5], 0.0, atol=1e-12)
    # an imperfect one scores below 0
    assert dae.score_samples(np.full((1, 6), 0.7))[0] < -1e-3


def test_score_of_new_data_outside_the_unit_interval_is_finite(fitted):
    # only fitting checks the cross-entropy range; new data may leave it (a
    # MinMaxScaler fitted on training data), and it then scores low, not NaN
    dae, X = fitted
    scores = dae.score_samples(np.vstack([X[:2], X[:2] * 3 - 1]))
    assert np.all(np.isfinite(scores))
    assert np.all(scores[2:] < scores[:2])


def test_untied_squared_error_decoder_by_hand():
    X = np.random.default_rng(8).standard_normal((30, 6))
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=4,
            activation="tanh",
            tied_weights=False,
            max_iter=2,
            batch_size=10,
            learning_rate_init=0.01,
            random_state=0,
            dtype=np.float64,  # compared with numpy by hand
        ),
        X,
    )
    assert dae.decoder_components_.shape == (4, 6)
    assert dae.out_activation_ == "identity"
    code = np.tanh(X @ dae.components_.T + dae.intercept_hidden_)
    recon = code @ dae.decoder_components_ + dae.intercept_visible_
    assert_allclose(dae.inverse_transform(code), recon, rtol=1e-12)
    assert_allclose(dae.score_samples(X), -((X - recon) ** 2).sum(axis=1), rtol=1e-10)


def test_loss_auto_picks_by_data_range():
    rng = np.random.default_rng(9)
    X01 = rng.random((20, 4))
    dae = fit_quiet(DenoisingAutoencoder(n_components=2, max_iter=1), X01)
    assert dae.reconstruction_loss_ == "cross_entropy"
    assert dae.out_activation_ == "sigmoid"
    assert dae.input_range_ == (0.0, 1.0)
    Xreal = X01 * 3 - 1
    dae = fit_quiet(DenoisingAutoencoder(n_components=2, max_iter=1), Xreal)
    assert dae.reconstruction_loss_ == "squared_error"
    assert dae.out_activation_ == "identity"
    # the range of the data in the training precision (float32 by default)
    low, high = Xreal.astype(np.float32).min(), Xreal.astype(np.float32).max()
    assert dae.input_range_ == (low, high)


@pytest.mark.parametrize("shift", [-0.5, 0.5])
def test_explicit_cross_entropy_outside_unit_interval_raises(shift):
    X = np.random.default_rng(10).random((20, 4)) + shift
    dae = DenoisingAutoencoder(n_components=2, loss="cross_entropy", max_iter=1)
    with pytest.raises(ValueError, match="MinMaxScaler"):
        dae.fit(X)


def test_cross_entropy_range_checked_on_partial_fit_too():
    X = np.random.default_rng(11).random((20, 4))
    dae = DenoisingAutoencoder(n_components=2, batch_size=10).partial_fit(X)
    with pytest.raises(ValueError, match="MinMaxScaler"):
        dae.partial_fit(X + 1)


def test_float32_in_float32_weights_and_outputs():
    X = np.random.default_rng(12).random((30, 5)).astype(np.float32)
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=3,
            tied_weights=False,
            max_iter=2,
            batch_size=10,
            random_state=0,
        ),
        X,
    )
    for name in (
        "components_",
        "intercept_hidden_",
        "intercept_visible_",
        "decoder_components_",
    ):
        assert getattr(dae, name).dtype == np.float32, name
    code = dae.transform(X)
    assert code.dtype == np.float32
    assert dae.inverse_transform(code).dtype == np.float32
    assert np.all(np.isfinite(dae.loss_curve_))


def test_float64_in_float64_weights():
    X = np.random.default_rng(12).random((30, 5))
    dae = fit_quiet(DenoisingAutoencoder(n_components=3, max_iter=1, dtype=None), X)
    assert dae.components_.dtype == np.float64
    assert dae.transform(X).dtype == np.float64


def test_float32_and_float64_fits_agree():
    X = np.random.default_rng(13).random((30, 5))
    params = dict(n_components=3, max_iter=2, batch_size=10, random_state=0)
    d64 = fit_quiet(DenoisingAutoencoder(**params, dtype=np.float64), X)
    d32 = fit_quiet(DenoisingAutoencoder(**params), X.astype(np.float32))
    assert (d64.components_.dtype, d32.components_.dtype) == (np.float64, np.float32)
    assert_allclose(d32.components_, d64.components_, rtol=1e-4, atol=1e-5)


def test_partial_fit_increments_n_iter_by_one():
    X = np.random.default_rng(14).random((30, 5))
    dae = DenoisingAutoencoder(n_components=3, batch_size=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # partial_fit never warns about max_iter
        for k in range(1, 4):
            dae.partial_fit(X)
            assert dae.n_iter_ == k
            assert len(dae.loss_curve_) == k
            assert dae.t_ == 30 * k


def test_partial_fit_continues_from_current_weights():
    X = np.random.default_rng(15).random((30, 5))
    dae = DenoisingAutoencoder(n_components=3, batch_size=10, random_state=0)
    dae.partial_fit(X)
    before = dae.components_.copy()
    dae.partial_fit(X)
    assert not np.array_equal(before, dae.components_)
    # and two partial_fit calls equal a two-epoch fit with the same seed
    fit2 = fit_quiet(
        DenoisingAutoencoder(n_components=3, batch_size=10, random_state=0, max_iter=2),
        X,
    )
    assert_allclose(dae.components_, fit2.components_, rtol=1e-12)


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_random_state_makes_fits_bit_identical(corruption):
    X = np.random.default_rng(16).random((30, 5))
    params = dict(
        n_components=3,
        max_iter=2,
        batch_size=10,
        corruption=corruption,
        corruption_level=0.4,
    )
    a = fit_quiet(DenoisingAutoencoder(random_state=0, **params), X)
    b = fit_quiet(DenoisingAutoencoder(random_state=0, **params), X)
    c = fit_quiet(DenoisingAutoencoder(random_state=1, **params), X)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_ != c.loss_curve_


def test_refit_without_warm_start_starts_over():
    X = np.random.default_rng(17).random((30, 5))
    dae = DenoisingAutoencoder(
        n_components=3, max_iter=2, batch_size=10, random_state=0
    )
    first = fit_quiet(dae, X).components_.copy()
    fit_quiet(dae, X)
    assert dae.n_iter_ == 2
    assert_array_equal(dae.components_, first)


def test_transform_is_deterministic_and_uncorrupted():
    X = np.random.default_rng(18).random((30, 5))
    dae = fit_quiet(
        DenoisingAutoencoder(
            n_components=3,
            corruption_level=0.9,
            max_iter=1,
            batch_size=10,
            random_state=0,
            dtype=np.float64,  # compared with numpy's float64 by hand
        ),
        X,
    )
    first = dae.transform(X)
    assert_array_equal(dae.transform(X), first)
    assert_array_equal(dae.score_samples(X), dae.score_samples(X))
    clean = expit(X @ dae.components_.T + dae.intercept_hidden_)
    assert_allclose(first, clean, rtol=1e-12)


def test_inverse_transform_checks_code_width(fitted):
    dae, _ = fitted
    with pytest.raises(ValueError, match="n_components"):
        dae.inverse_transform(np.zeros((2, 5)))


def test_transform_checks_feature_count(fitted):
    dae, _ = fitted
    with pytest.raises(ValueError):
        dae.transform(np.zeros((2, 5)))


@pytest.mark.parametrize("corruption", ["masking", "swap"])
def test_sparse_input_matches_dense(corruption):
    import scipy.sparse as sp

    X = np.random.default_rng(19).random((30, 6))
    X[X < 0.5] = 0
    # float64: a sparse product sums in another order than BLAS (rtol 1e-12)
    params = dict(
        n_components=3,
        max_iter=2,
        batch_size=10,
        random_state=0,
        corruption=corruption,
    )
    params["dtype"] = np.float64
    dense = fit_quiet(DenoisingAutoencoder(**params), X)
    sparse = fit_quiet(DenoisingAutoencoder(**params), sp.csr_matrix(X))
    assert_allclose(sparse.components_, dense.components_, rtol=1e-12)
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-12)
    assert_allclose(sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X))


@pytest.mark.parametrize("corruption", ["masking", "salt_and_pepper", "swap"])
def test_corruption_level_out_of_range_raises(corruption):
    X = np.random.default_rng(20).random((10, 3))
    dae = DenoisingAutoencoder(2, corruption=corruption, corruption_level=1.0)
    with pytest.raises(ValueError, match=r"corruption_level.*\[0, 1\).*probability"):
        dae.fit(X)


def test_swap_noise_corrupts_a_mini_batch_with_its_own_values():
    # Columns on different scales (real-valued: squared error).  The objective's
    # corrupted input x~ holds, in each column, values of that column of the
    # mini-batch, about 30% of them from another row.
    rng = np.random.default_rng(21)
    X = rng.standard_normal((40, 5)) * [1, 10, 100, 1000, 1e4]
    dae = DenoisingAutoencoder(
        4,
        corruption="swap",
        corruption_level=0.3,
        solver="adam",
        learning_rate_init=0.01,
        batch_size=40,
        max_iter=2,
        random_state=0,
        dtype=np.float64,
    )
    fit_quiet(dae, X)
    assert dae.reconstruction_loss_ == "squared_error"
    obj = DAEObjective(dae, 40)
    obj(X)
    x_tilde = obj.visible[:40]
    for j in range(5):
        assert np.all(np.isin(x_tilde[:, j], X[:, j]))
    assert 0.2 < (x_tilde != X).mean() < 0.4


def test_large_sparse_input_is_never_densified_whole():
    """A 100k x 50k bag-of-words matrix (0.1% dense: 20 GB as dense float32) is
    trained on and encoded one mini-batch / chunk at a time."""
    import tracemalloc

    import scipy.sparse as sp

    n_rows, n_cols, per_row = 100_000, 50_000, 50
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(
        (
            np.ones(n_rows * per_row, np.float32),
            np.sort(rng.integers(0, n_cols, (n_rows, per_row)), axis=1).ravel(),
            np.arange(0, n_rows * per_row + 1, per_row),
        ),
        shape=(n_rows, n_cols),
    )
    X.sum_duplicates()
    X.data[:] = 1
    dae = DenoisingAutoencoder(n_components=8, batch_size=50, random_state=0)
    tracemalloc.start()
    try:
        dae.partial_fit(X[:2000])
        dae.partial_fit(X[2000:4000])
        code = dae.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dae.components_.dtype == np.float32 and code.dtype == np.float32
    assert code.shape == (100_000, 8) and np.isfinite(code).all()
    assert dae.reconstruction_loss_ == "cross_entropy"
    assert peak < 200e6  # bytes; the dense matrix alone would be 20e9


def test_objective_alternating_batch_sizes_keeps_exact_gradients():
    # the buffers' views are made once per mini-batch size: a full, a partial and
    # again a full mini-batch each get the gradient and the code of their own rows
    X = _data(7)
    _, obj = _objective(X, corruption_level=0.0)
    # before any mini-batch, the code buffer is there, one sample per row
    assert obj.hidden.shape == (2 * N_SAMPLES, N_HIDDEN)
    W, b = obj.params[0], obj.params[1]
    for rows in (slice(None), slice(0, 4), slice(None)):
        _check_gradient(obj, X[rows])
        m = X[rows].shape[0]
        assert obj.hidden.shape == (2 * m, N_HIDDEN)
        assert_allclose(obj.hidden[m:], expit(X[rows] @ W.T + b), rtol=1e-12)
