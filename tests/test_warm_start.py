"""Warm starts after the architecture changed: the changed layers start afresh.

A warm start continues the layers it can: for a stack, the bottom layers whose size
is unchanged; the first layer whose size changed, and every layer above it (their
inputs changed), start from new weights.  A DenoisingAutoencoder whose n_components
changed, and an SdAClassifier / SdARegressor whose hidden_layer_sizes changed, start
over.  Either way the estimator stays consistent: codes, feature names and weights
agree on every size.
"""

import numpy as np
import pytest
from support import fit_quiet, make_X, make_y, make_y_reg, partial_fit_quiet

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)


def _assert_consistent_stack(stack, X, sizes):
    assert [ae.n_components for ae in stack.autoencoders_] == list(sizes)
    fan_in = [X.shape[1], *sizes[:-1]]
    for ae, n_in, n_out in zip(stack.autoencoders_, fan_in, sizes, strict=True):
        assert ae.components_.shape == (n_out, n_in)
    assert stack.transform(X).shape == (X.shape[0], sizes[-1])
    assert len(stack.get_feature_names_out()) == sizes[-1]
    assert stack.inverse_transform(stack.transform(X)).shape == X.shape


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_stack_restarts_the_layers_from_the_first_changed_size(how):
    X = make_X()
    stack = fit_quiet(
        StackedDenoisingAutoencoder((5, 4, 3), max_iter=2, warm_start=True), X
    )
    bottom = stack.autoencoders_[0]
    kept = bottom.components_.copy()
    stack.set_params(hidden_layer_sizes=(5, 2, 3))
    if how == "fit":
        fit_quiet(stack, X)
    else:
        partial_fit_quiet(stack, X)
    _assert_consistent_stack(stack, X, (5, 2, 3))
    assert stack.autoencoders_[0] is bottom  # continued, not replaced
    assert not np.array_equal(bottom.components_, kept)
    epochs = 1 if how == "partial_fit" else 2
    assert [ae.n_iter_ for ae in stack.autoencoders_] == [2 + epochs, epochs, epochs]


def test_stack_with_fewer_or_more_layers():
    X = make_X()
    stack = fit_quiet(
        StackedDenoisingAutoencoder((5, 4), max_iter=2, warm_start=True), X
    )
    fit_quiet(stack.set_params(hidden_layer_sizes=(5, 4, 2)), X)
    _assert_consistent_stack(stack, X, (5, 4, 2))
    assert [ae.n_iter_ for ae in stack.autoencoders_] == [4, 4, 2]
    fit_quiet(stack.set_params(hidden_layer_sizes=(3,)), X)
    _assert_consistent_stack(stack, X, (3,))
    assert stack.n_layers_ == 1 and stack.autoencoders_[0].n_iter_ == 2


def test_autoencoder_with_a_new_code_size_starts_over():
    X = make_X()
    dae = fit_quiet(DenoisingAutoencoder(4, max_iter=2, warm_start=True), X)
    fit_quiet(dae.set_params(n_components=6), X)
    assert dae.components_.shape == (6, X.shape[1])
    assert dae.transform(X).shape == (X.shape[0], 6)
    assert len(dae.get_feature_names_out()) == 6
    assert dae.n_iter_ == 2 and len(dae.loss_curve_) == 2


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_sda_with_new_hidden_layer_sizes_starts_over(Estimator, how):
    X = make_X()
    y = make_y() if Estimator is SdAClassifier else make_y_reg()
    sda = Estimator(
        (5, 4), pretrain_max_iter=1, max_iter=2, warm_start=True, random_state=0
    )
    fit_quiet(sda, X, y)
    sda.set_params(hidden_layer_sizes=(6, 2))
    if how == "fit":
        fit_quiet(sda, X, y)
    else:
        partial_fit_quiet(sda, X, y)
    assert [W.shape for W in sda.coefs_[:-1]] == [(X.shape[1], 6), (6, 2)]
    assert sda.coefs_[-1].shape[0] == 2
    assert [ae.n_components for ae in sda.stack_.autoencoders_] == [6, 2]
    assert sda.transform(X).shape == (X.shape[0], 2)
    assert len(sda.get_feature_names_out()) == 2
    assert sda.predict(X).shape == y.shape
    assert sda.n_iter_ == (2 if how == "fit" else 1)  # counted afresh


def test_stack_warm_start_keeps_the_first_precision_in_new_layers():
    X = make_X()
    stack = StackedDenoisingAutoencoder((5, 4), max_iter=1, random_state=0)
    fit_quiet(stack, X)
    stack.set_params(warm_start=True, hidden_layer_sizes=(5, 6), dtype=np.float64)
    fit_quiet(stack, X)
    assert [ae.components_.dtype for ae in stack.autoencoders_] == [np.float32] * 2
    assert stack.transform(X).dtype == np.float32
