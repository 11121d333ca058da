"""The dense layers of fitted estimators (``_layers.py``) and the forward pass over
them: what the estimators' own inference computes, bit for bit."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from support import fit_quiet, make_clf, make_dae, make_reg, make_stack, make_X, make_y

from stackeddae._activations import ACTIVATIONS
from stackeddae._layers import decoder_layers, encoder_layers, forward, layer_outputs


@pytest.mark.parametrize("tied_weights", [True, False])
def test_an_autoencoder_is_one_encoder_and_one_decoder(tied_weights):
    X = make_X().astype(np.float32)  # the models' dtype: no conversion
    dae = fit_quiet(make_dae(tied_weights=tied_weights), X)
    [(W, b, activation)] = encoder_layers(dae)
    assert np.shares_memory(W, dae.components_) and W.shape == (6, 4)
    assert b is dae.intercept_hidden_ and activation == dae.activation
    assert_array_equal(forward(encoder_layers(dae), X), dae.transform(X))
    code = dae.transform(X)
    [(W_dec, b_dec, out)] = decoder_layers(dae)
    assert W_dec.shape == (4, 6) and b_dec is dae.intercept_visible_
    assert out == dae.out_activation_
    assert_array_equal(forward(decoder_layers(dae), code), dae.inverse_transform(code))


def test_a_stack_is_its_layers_encoders_and_decoders_in_reverse():
    X = make_X().astype(np.float32)  # the models' dtype: no conversion
    stack = fit_quiet(make_stack(activation="tanh"), X)
    layers = encoder_layers(stack)
    assert [W.shape for W, _, _ in layers] == [(6, 5), (5, 4)]
    assert [a for _, _, a in layers] == ["tanh", "tanh"]
    assert_array_equal(forward(layers, X), stack.transform(X))
    code = stack.transform(X)
    assert [W.shape for W, _, _ in decoder_layers(stack)] == [(4, 5), (5, 6)]
    assert_array_equal(
        forward(decoder_layers(stack), code), stack.inverse_transform(code)
    )


def test_a_network_is_its_hidden_layers_and_a_head_without_activation():
    X, y = make_X().astype(np.float32), make_y()
    clf = fit_quiet(make_clf(), X, y)
    layers = encoder_layers(clf)
    assert [a for _, _, a in layers] == ["sigmoid", "sigmoid", "identity"]
    assert all(W is c for (W, _, _), c in zip(layers, clf.coefs_, strict=True))
    assert_array_equal(forward(layers[:-1], X), clf.transform(X))
    logits = forward(layers, X)
    assert_array_equal(ACTIVATIONS["softmax"](logits), clf.predict_proba(X))
    reg = fit_quiet(make_reg(), X, X[:, 0])
    assert_array_equal(forward(encoder_layers(reg)[:-1], X), reg.transform(X))


def test_layer_outputs_are_each_layers_output_and_all_layer_features():
    X, y = make_X().astype(np.float32), make_y()  # the models' dtype: no conversion
    stack = fit_quiet(make_stack(), X)
    layers = encoder_layers(stack)
    outputs = list(layer_outputs(layers, X))
    assert_array_equal(outputs[0], forward(layers[:1], X))
    assert_array_equal(outputs[-1], forward(layers, X))
    stack.set_params(transform_layers="all")
    assert_array_equal(np.hstack(outputs), stack.transform(X))
    clf = fit_quiet(make_clf(transform_layers="all"), X, y)
    hidden = list(layer_outputs(encoder_layers(clf)[:-1], X))
    assert len(hidden) == 2
    assert_array_equal(np.hstack(hidden), clf.transform(X))
    assert list(layer_outputs([], X)) == []


def test_forward_through_no_layers_is_the_input():
    X = make_X().astype(np.float32)  # the models' dtype: no conversion
    assert forward([], X) is X


def test_an_object_without_layers_is_refused():
    with pytest.raises(TypeError, match="no dense layers"):
        encoder_layers(object())
