"""The dense layers of fitted estimators, and the one forward pass over them.

At inference every estimator is a chain of dense layers ``h <- s(h W + b)``, with W
of shape (n_inputs, n_outputs) as in scikit-learn's MLP (a transposed view of an
autoencoder's ``components_``, no copy).  :func:`encoder_layers` lists them for any
fitted estimator, bottom to top, :func:`decoder_layers` the decoders of the
autoencoders, top to bottom, and :func:`forward` runs X through such a list
(:func:`layer_outputs` yields every layer's output on the way).  The
estimators' ``transform``, ``inverse_transform``, ``predict`` and scores, the outlier
detector, the plots and the ONNX export all read the layers here.

A layer computes in the dtype numpy gives its product: the training precision for
inputs in it, float64 where a caller passes float64 data (scores) or float64
weights (the regressor's head).
"""

import collections

from sklearn.utils.extmath import safe_sparse_dot

from ._activations import ACTIVATIONS

# Rows per chunk when scoring, so that memory stays bounded on large (or sparse) X.
CHUNK_ROWS = 1024


def dense(X, W, b, activation):
    """One layer: ``activation(X @ W + b)`` of dense or sparse X, a new array."""
    H = safe_sparse_dot(X, W, dense_output=True)
    H += b
    return ACTIVATIONS[activation](H)


def layer_outputs(layers, X):
    """Each layer's output as X runs through ``layers`` ((W, b, activation), in
    order): a generator, so that a caller keeps only the outputs it wants."""
    for W, b, activation in layers:
        X = dense(X, W, b, activation)
        yield X


def forward(layers, X):
    """X run through ``layers``: the last layer's output; X itself if none."""
    last = collections.deque(layer_outputs(layers, X), maxlen=1)  # holds one output
    return last.pop() if last else X


def _autoencoder_encoder(dae):
    return [(dae.components_.T, dae.intercept_hidden_, dae.activation)]


def _stack_encoders(sda):
    return [layer for ae in sda.autoencoders_ for layer in _autoencoder_encoder(ae)]


def _network_layers(net):
    """The hidden layers and the head, whose activation is left to the caller
    (``predict_proba``'s softmax; ``predict`` and ONNX read the logits)."""
    activations = [net.activation] * (len(net.coefs_) - 1) + ["identity"]
    return list(zip(net.coefs_, net.intercepts_, activations, strict=True))


# The fitted attribute that tells an estimator's kind -> how to read its layers.
_ENCODERS = {
    "autoencoders_": _stack_encoders,
    "coefs_": _network_layers,
    "components_": _autoencoder_encoder,
}


def encoder_layers(est):
    """(W, b, activation) of each layer of a fitted estimator, bottom to top.

    The encoder of a :class:`DenoisingAutoencoder`, the encoders of a
    :class:`StackedDenoisingAutoencoder`, the hidden layers and head of
    :class:`SdAClassifier` and :class:`SdARegressor` (the head's activation
    "identity": its output is the logits or the linear prediction).
    """
    for attribute, layers in _ENCODERS.items():
        if hasattr(est, attribute):
            return layers(est)
    raise TypeError(f"{type(est).__name__} has no dense layers to read.")


def _autoencoder_decoder(dae):
    weights = dae.components_ if dae.tied_weights else dae.decoder_components_
    return [(weights, dae.intercept_visible_, dae.out_activation_)]


def decoder_layers(est):
    """(W, b, activation) of the decoders of a fitted autoencoder or stack, from
    the top code down to input space."""
    autoencoders = getattr(est, "autoencoders_", [est])
    return [layer for ae in autoencoders[::-1] for layer in _autoencoder_decoder(ae)]
