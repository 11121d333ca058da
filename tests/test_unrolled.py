"""The deep autoencoder: fine-tuning a stack's unrolled network (``_unrolled.py``,
``_objectives.UnrolledObjective``) and per-layer activations (a linear code)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from support import (
    assert_equal_arrays,
    assert_finite_state,
    fit_quiet,
    make_deep,
    make_stack,
    make_X,
    numeric_gradient,
    partial_fit_quiet,
    record,
    relative_error,
    trained_arrays,
    warning_messages,
)

from stackeddae import ReconstructionOutlierDetector, StackedDenoisingAutoencoder
from stackeddae._losses import LOSSES, bernoulli_entropy
from stackeddae._objectives import UnrolledObjective
from stackeddae._unrolled import FineTuning


def _arrays(stack):
    return [a.copy() for a in trained_arrays(stack)]


# ------------------------------------------------------ gradient check


def _objective(X, seed=0, **params):
    """The objective of a fitted float64 stack at a random point (biases too)."""
    small = dict(batch_size=7, fine_tune_batch_size=7, fine_tune_max_iter=1)
    stack = fit_quiet(make_deep(dtype=np.float64, **small, **params), X)
    obj = UnrolledObjective(stack, X.shape[0])
    rng = np.random.default_rng(seed)
    for p in obj.params:
        p[...] = rng.uniform(-1, 1, p.shape)
    return stack, obj


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tied_weights": False},
        {"activation": "tanh", "alpha": 0.1},
        {"activation": ["sigmoid", "relu", "identity"], "tied_weights": False},
        {"activation": ["tanh", "identity", "sigmoid"], "alpha": 0.1},
    ],
)
@pytest.mark.parametrize("scale", [1.0, 3.0])  # 3: squared error of the input
def test_unrolled_objective_gradient(params, scale):
    X = make_X(n=7) * scale
    _, obj = _objective(X, **params)
    float(obj(X))
    analytic = [g.copy() for g in obj.grads]
    numeric = numeric_gradient(lambda: float(obj(X)), obj.params)
    assert all(np.any(g != 0) for g in analytic)
    error = relative_error(analytic, numeric)
    assert error < 1e-7, error


def test_unrolled_objective_gradient_with_noise_reconstructs_the_clean_input():
    X = make_X(n=7)
    stack, obj = _objective(X, fine_tune_corruption_level=0.4)

    def cost():  # the same noise at every evaluation
        obj.rng = np.random.default_rng(1)
        return float(obj(X))

    cost()
    analytic = [g.copy() for g in obj.grads]
    error = relative_error(analytic, numeric_gradient(cost, obj.params))
    assert error < 1e-7, error
    # the cost is that of the corrupted input's reconstruction against clean X
    obj.rng = np.random.default_rng(1)
    noisy = obj.corrupt(X, 0.4, obj.rng, np.empty_like(X), 0.0, 1.0)
    assert np.any(noisy != X)
    code = stack._decode(stack._encode(noisy))
    a = stack.autoencoders_[0]._decode_preactivation(code)
    expected = LOSSES["cross_entropy"](a, X, np.empty_like(a)) / len(X)
    assert_allclose(cost(), expected, rtol=1e-12)


def test_objective_is_the_stacks_own_reconstruction():
    # The network fine-tuning trains is the one score_samples reads: its cost
    # (cross-entropy) is minus the score plus the inputs' entropy.
    X = make_X(n=20)
    stack = fit_quiet(make_deep(dtype=np.float64), X)
    cost = UnrolledObjective(stack, len(X))(X)
    expected = -stack.score(X) + bernoulli_entropy(X).mean()
    assert_allclose(cost, expected, rtol=1e-12)


# ------------------------------------------------------ fitting


def test_zero_epochs_leave_the_greedy_stack_as_it_was(patch_objective):
    X = make_X()
    greedy = fit_quiet(make_stack(hidden_layer_sizes=(5, 4, 3)), X)
    other = fit_quiet(
        make_deep(fine_tune_max_iter=0, fine_tune_solver="sgd", fine_tune_batch_size=7),
        X,
    )
    for a, b in zip(trained_arrays(greedy), trained_arrays(other), strict=True):
        assert_array_equal(a, b)
    assert other.fine_tune_n_iter_ == 0 and other.fine_tune_loss_curve_ == []
    # fine-tuning starts from those very layers: its seed is drawn after theirs
    snapshots = patch_objective(UnrolledObjective)
    fit_quiet(make_deep(), X)
    for a, b in zip(snapshots[0], trained_arrays(greedy), strict=False):
        assert_array_equal(a, b)


def test_fine_tuning_trains_the_layers_in_place_and_records_its_history():
    X = make_X()
    greedy = fit_quiet(make_stack(hidden_layer_sizes=(5, 4, 3)), X)
    deep = fit_quiet(make_deep(fine_tune_max_iter=20), X)
    assert deep.fine_tune_n_iter_ == 20 == len(deep.fine_tune_loss_curve_)
    assert deep.fine_tune_t_ == 20 * len(X)
    assert deep.fine_tune_loss_ == deep.fine_tune_loss_curve_[-1]
    assert deep.fine_tune_loss_curve_[-1] < deep.fine_tune_loss_curve_[0]
    # the layers' own records are pretraining's; n_iter_ counts pretraining
    assert [ae.n_iter_ for ae in deep.autoencoders_] == [2, 2, 2]
    assert deep.n_iter_ == 6
    assert deep.score(X) > greedy.score(X)
    for a, b in zip(trained_arrays(greedy), trained_arrays(deep), strict=True):
        assert not np.array_equal(a, b)
    # every method reads the fine-tuned layers
    assert_allclose(
        deep.inverse_transform(deep.transform(X)),
        deep.autoencoders_[0].inverse_transform(deep._decode(deep.transform(X))),
    )


def test_layer_params_of_a_deep_stack_do_not_advance_a_random_state():
    # defect 5's rule with fine-tuning's extra seed: looking draws from a copy
    X = make_X()
    looked = make_deep(random_state=np.random.RandomState(0))
    unlooked = clone(looked)  # its own RandomState, in the same state
    seen = looked.layer_params()
    assert looked.layer_params() == seen
    fit_quiet(looked, X)
    fit_quiet(unlooked, X)
    assert_equal_arrays(trained_arrays(looked), trained_arrays(unlooked))
    # the layers' seeds come first: those shown, and a greedy stack's
    assert [ae.random_state for ae in looked.autoencoders_] == [
        p["random_state"] for p in seen
    ]
    greedy = make_deep(random_state=np.random.RandomState(0), fine_tune_max_iter=0)
    assert seen == greedy.layer_params()


def test_all_layers_codes_are_the_fine_tuned_encoders():
    X = make_X()
    params = dict(activation=["sigmoid", "tanh", "identity"], transform_layers="all")
    deep = fit_quiet(make_deep(**params), X)
    greedy = fit_quiet(make_deep(fine_tune_max_iter=0, **params), X)
    codes, h = [], X
    for ae in deep.autoencoders_:
        h = ae.transform(h)
        codes.append(h)
    every = deep.transform(X)
    assert every.shape == (len(X), 5 + 4 + 3)
    assert_allclose(every, np.hstack(codes), rtol=1e-5)
    assert not np.allclose(every, greedy.transform(X))
    # inverse_transform decodes the top block through the fine-tuned decoders
    decoded = deep.inverse_transform(every)
    expected = deep.autoencoders_[0].inverse_transform(deep._decode(every[:, -3:]))
    assert_allclose(decoded, expected, rtol=1e-5)
    # the linear code is the last block, the "top" transform
    deep.set_params(transform_layers="top")
    assert_array_equal(every[:, -3:], deep.transform(X))
    assert_array_equal(decoded, deep.inverse_transform(every[:, -3:]))


def test_fine_tuning_is_repeatable_and_seeded_by_random_state():
    X = make_X()
    a, b = fit_quiet(make_deep(), X), fit_quiet(make_deep(), X)
    for p, q in zip(trained_arrays(a), trained_arrays(b), strict=True):
        assert_array_equal(p, q)
    c = fit_quiet(make_deep(random_state=1), X)
    assert not np.array_equal(
        a.autoencoders_[0].components_, c.autoencoders_[0].components_
    )


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_solvers_and_untied_layers(solver):
    X = make_X()
    deep = fit_quiet(make_deep(fine_tune_solver=solver, tied_weights=False), X)
    assert deep.fine_tune_n_iter_ == 3
    assert_finite_state(deep)


def test_settings_the_loop_reads_are_fine_tunings():
    stack = make_deep(fine_tune_solver="sgd", momentum=0.5, alpha=0.2)
    phase = FineTuning(stack)
    assert (phase.solver, phase.max_iter, phase.batch_size) == ("sgd", 3, 10)
    assert (phase.learning_rate_init, phase.corruption_level) == (0.01, 0.0)
    assert (phase.momentum, phase.alpha, phase.shuffle) == (0.5, 0.2, True)
    with pytest.raises(AttributeError, match="n_components"):
        _ = phase.n_components
    phase.loss_curve_ = [1.0]
    assert stack.fine_tune_loss_curve_ == [1.0]


def test_float32_stays_float32():
    deep = fit_quiet(make_deep(), make_X())
    assert all(a.dtype == np.float32 for a in trained_arrays(deep))
    assert deep.transform(make_X()).dtype == np.float32


def test_sparse_input_matches_dense():
    X = make_X() * (make_X(1) > 0.4)
    # float64: a sparse product sums in another order than BLAS
    dense = fit_quiet(make_deep(dtype=np.float64), X)
    sparse = fit_quiet(make_deep(dtype=np.float64), sp.csr_matrix(X))
    for a, b in zip(trained_arrays(dense), trained_arrays(sparse), strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fine_tuning_noise_changes_the_result():
    X = make_X()
    plain = fit_quiet(make_deep(), X)
    noisy = fit_quiet(make_deep(fine_tune_corruption_level=0.3), X)
    assert not np.array_equal(
        plain.autoencoders_[0].components_, noisy.autoencoders_[0].components_
    )
    with pytest.raises(ValueError, match="fine_tune_corruption_level"):
        make_deep(fine_tune_corruption_level=1.0).fit(X)


def test_early_stopping_scores_held_out_rows_and_keeps_the_best():
    X = make_X(n=100)
    deep = fit_quiet(
        make_deep(early_stopping=True, fine_tune_max_iter=15, n_iter_no_change=2), X
    )
    scores = deep.fine_tune_validation_scores_
    assert len(scores) == deep.fine_tune_n_iter_ > 0
    assert deep.fine_tune_best_validation_score_ == max(scores)
    assert deep.fine_tune_best_loss_ is None


def test_partial_fit_is_a_pretraining_epoch_per_layer_then_a_fine_tuning_epoch():
    X = make_X()
    deep = make_deep()
    partial_fit_quiet(deep, X)
    assert [ae.n_iter_ for ae in deep.autoencoders_] == [1, 1, 1]
    assert deep.fine_tune_n_iter_ == 1
    partial_fit_quiet(deep, X)
    assert [ae.n_iter_ for ae in deep.autoencoders_] == [2, 2, 2]
    assert deep.fine_tune_n_iter_ == 2
    assert deep._fine_tune_optimizer_state is not None
    assert not hasattr(make_deep(fine_tune_solver="lbfgs"), "partial_fit")
    greedy = make_deep(fine_tune_solver="lbfgs", fine_tune_max_iter=0)
    assert hasattr(greedy, "partial_fit")


def test_warm_start_continues_fine_tuning_only():
    X = make_X()
    deep = fit_quiet(make_deep(warm_start=True), X)
    fit_quiet(deep, X)
    assert [ae.n_iter_ for ae in deep.autoencoders_] == [2, 2, 2]
    assert deep.fine_tune_n_iter_ == 6


def test_pretraining_then_fine_tuning_by_warm_start_is_one_fit():
    X = make_X()
    once = fit_quiet(make_deep(), X)
    twice = fit_quiet(make_deep(fine_tune_max_iter=0, warm_start=True), X)
    fit_quiet(twice.set_params(fine_tune_max_iter=3), X)
    for a, b in zip(trained_arrays(once), trained_arrays(twice), strict=True):
        assert_array_equal(a, b)


def test_warm_start_with_a_new_top_layer_pretrains_it_and_fine_tunes_afresh():
    X = make_X()
    deep = fit_quiet(make_deep(warm_start=True), X)
    fit_quiet(deep.set_params(hidden_layer_sizes=(5, 4, 2)), X)
    assert [ae.n_iter_ for ae in deep.autoencoders_] == [2, 2, 2]
    assert deep.fine_tune_n_iter_ == 3


def test_warnings_name_the_stack_and_the_phase():
    _, caught = record(make_deep().fit, make_X())
    messages = warning_messages(caught, ConvergenceWarning)
    assert any(
        m.startswith("StackedDenoisingAutoencoder: fine-tuning stochastic")
        for m in messages
    ), messages


def test_verbose_prints_fine_tuning_epochs(capsys):
    fit_quiet(make_deep(verbose=True), make_X())
    out = capsys.readouterr().out
    assert "fine-tuning epoch 3/3 cost" in out


def test_detector_uses_the_fine_tuned_stack():
    X = make_X(n=80)
    detector = fit_quiet(ReconstructionOutlierDetector(estimator=make_deep()), X)
    assert detector.estimator_.fine_tune_n_iter_ == 3
    fitted = fit_quiet(clone(make_deep()), X)
    assert_array_equal(detector.estimator_.score_samples(X), fitted.score_samples(X))


# ------------------------------------------------------ activations per layer


def test_activation_per_layer_and_a_linear_code():
    X = make_X()
    stack = fit_quiet(
        make_stack(
            activation=["tanh", "sigmoid", "identity"], hidden_layer_sizes=(5, 4, 3)
        ),
        X,
    )
    assert [ae.activation for ae in stack.autoencoders_] == [
        "tanh",
        "sigmoid",
        "identity",
    ]
    # each layer reconstructs the codes below with the loss that fits them
    assert [ae.reconstruction_loss_ for ae in stack.autoencoders_] == [
        "cross_entropy",
        "squared_error",
        "cross_entropy",
    ]
    code = stack.transform(X)
    assert code.min() < 0 or code.max() > 1  # linear: not squashed into (0, 1)
    below = stack.autoencoders_[1].transform(stack.autoencoders_[0].transform(X))
    top = stack.autoencoders_[2]
    assert_allclose(code, below @ top.components_.T + top.intercept_hidden_, rtol=1e-5)


def test_layer_above_a_linear_code_uses_squared_error():
    params = make_stack(activation=["identity", "sigmoid"]).layer_params()
    assert [p["loss"] for p in params] == ["auto", "squared_error"]


@pytest.mark.parametrize(
    "activation, match",
    [
        (["sigmoid"], "one entry per layer"),
        (["sigmoid", "softmax"], "'softmax'"),
        (["sigmoid", 3], "3"),
    ],
)
def test_bad_activation_lists_raise(activation, match):
    with pytest.raises(ValueError, match=match):
        make_stack(activation=activation).fit(make_X())


def test_deep_autoencoder_learns_codes_that_reconstruct():
    # Fine-tuning a 2-d linear code stack beats the greedy stack by far
    rng = np.random.default_rng(0)
    latent = rng.random((300, 2))
    X = 1 / (1 + np.exp(-(latent @ rng.standard_normal((2, 12)) * 3)))
    params = dict(
        hidden_layer_sizes=(16, 2),
        activation=["sigmoid", "identity"],
        max_iter=5,
        batch_size=10,
        fine_tune_batch_size=20,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        greedy = StackedDenoisingAutoencoder(**params).fit(X)
        deep = StackedDenoisingAutoencoder(
            **params, fine_tune_max_iter=60, fine_tune_learning_rate_init=0.01
        ).fit(X)
    assert deep.score(X) > 0.5 * greedy.score(X)  # half the divergence or less


def test_a_linear_layer_code_and_one_activation_for_a_network():
    from stackeddae import DenoisingAutoencoder, SdAClassifier

    X = make_X()
    dae = fit_quiet(DenoisingAutoencoder(3, activation="identity", max_iter=2), X)
    linear = X @ dae.components_.T + dae.intercept_hidden_
    assert_allclose(dae.transform(X), linear, rtol=1e-5, atol=1e-6)
    # a network takes "identity" as MLPClassifier does (test_supervised checks
    # its linear layers), but one activation for all its layers, as MLPClassifier
    with pytest.raises(ValueError, match="activation"):
        SdAClassifier(activation=["sigmoid", "sigmoid"]).fit(X, np.arange(len(X)) % 2)


@pytest.mark.parametrize(
    "params", [{}, {"tied_weights": False, "alpha": 0.1}, {"activation": "tanh"}]
)
def test_unrolled_objective_gradient_with_sample_weights(params):
    X = make_X(n=7)
    stack, obj = _objective(X, fine_tune_corruption_level=0.3, **params)
    weights = np.random.default_rng(4).uniform(0.1, 3.0, 7)

    def cost():  # the same noise at every evaluation
        obj.rng = np.random.default_rng(1)
        return float(obj(X, None, weights))

    cost()
    analytic = [g.copy() for g in obj.grads]
    error = relative_error(analytic, numeric_gradient(cost, obj.params))
    assert error < 1e-7, error
    # integer weights: the objective of the rows repeated (without noise)
    obj.level = 0.0
    counts = np.array([1, 2, 3, 1, 2, 1, 2])
    weighted = float(obj(X, None, counts.astype(float)))
    grads = [g.copy() for g in obj.grads]
    stack.set_params(fine_tune_corruption_level=0.0)
    repeated = UnrolledObjective(stack, counts.sum())
    expected = float(repeated(np.repeat(X, counts, axis=0)))
    np.testing.assert_allclose(weighted, expected, rtol=1e-12)
    for g, e in zip(grads, repeated.grads, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14)
