"""ONNX export: skl2onnx converters and shape calculators for every estimator.

Importing this module registers them with skl2onnx (``import stackeddae`` alone does
not import skl2onnx), so that ``skl2onnx.to_onnx`` converts a fitted
``DenoisingAutoencoder``, ``StackedDenoisingAutoencoder``, ``SdAClassifier`` or
``SdARegressor``, alone or inside a Pipeline.  It needs the ``onnx`` extra
(``pip install "stackeddae[onnx]"``: skl2onnx, onnxruntime, onnx).

Each graph computes what the estimator's own method does, one dense layer at a time
(``Gemm``, then the hidden activation), over the layers ``_layers.encoder_layers``
reads, as the estimators' own forward pass does:

- ``DenoisingAutoencoder``, ``StackedDenoisingAutoencoder``: ``transform``, the top
  code, of shape (N, n_components), or for a stack with ``transform_layers="all"``
  every layer's code concatenated (``Concat``), of shape (N, sum of the sizes);
- ``SdAClassifier``: ``predict`` (the label of the ArgMax of the head's logits, as
  ``predict``) and ``predict_proba`` (their Softmax), with skl2onnx's classifier
  options ``zipmap``, ``nocl`` and ``output_class_labels``; fitted on a multi-label
  indicator matrix, ``predict_proba`` (the logits' Sigmoid, (N, n_labels)) and
  ``predict`` (int64 (N, n_labels): 1 where the probability is above 0.5);
- ``SdARegressor``: ``predict``, of shape (N, n_outputs); (N, 1) for one output,
  skl2onnx's convention for regressors.

``SdAClassifier`` and ``SdARegressor`` export as predictors, so inside a Pipeline
they must be its last step (their ``transform`` is not exported).

The graph computes in the input's dtype: float32 inputs make a float32 graph (float64
weights rounded to float32), float64 inputs a float64 one.  One difference from numpy
is deliberate and invisible: stackeddae's sigmoid clips its input at log(tiny), so a
saturated unit outputs tiny (1.2e-38 in float32, 2.2e-308 in float64) where ONNX's
``Sigmoid`` outputs 0.
"""

import numpy as np
import skl2onnx
from onnx import TensorProto, numpy_helper
from skl2onnx import update_registered_converter
from skl2onnx._parse import _parse_sklearn_classifier
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from skl2onnx.common.utils import check_input_and_output_numbers
from skl2onnx.common.utils_classifier import get_label_classes
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import DenoisingAutoencoder
from ._features import layer_indices
from ._layers import encoder_layers
from ._stacked import StackedDenoisingAutoencoder
from ._supervised import SdAClassifier, SdARegressor

__all__ = ["to_onnx"]

# The numpy dtype a graph computes in, by the type of its input.
_GRAPH_DTYPES = {FloatTensorType: np.float32, DoubleTensorType: np.float64}

# ONNX operator of each hidden activation (None: nothing to apply).
_ONNX_ACTIVATIONS = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "identity": None,
}


# ------------------------------------------- the layers whose outputs are returned
def _top_layer(est, n_layers):
    return layer_indices("top", n_layers)


def _transform_layers(sda, n_layers):
    return layer_indices(sda.transform_layers, n_layers)


# The layers whose outputs the graph returns (concatenated), of n_layers.
_OUTPUT_LAYERS = {
    DenoisingAutoencoder: _top_layer,
    StackedDenoisingAutoencoder: _transform_layers,
    SdAClassifier: _top_layer,
    SdARegressor: _top_layer,
}


# ------------------------------------------------------------- shape calculators
def _graph_dtype(operator):
    """The graph's numpy dtype; rejects inputs the estimators do not compute in."""
    check_input_and_output_numbers(operator, input_count_range=1)
    check_is_fitted(operator.raw_operator)
    input_type = type(operator.inputs[0].type)
    if input_type not in _GRAPH_DTYPES:
        raise TypeError(
            f"{type(operator.raw_operator).__name__} exports float32 or float64 "
            f"inputs only, not {input_type.__name__}: convert X (e.g. "
            "X.astype(np.float32)) before calling to_onnx."
        )
    return _GRAPH_DTYPES[input_type]


def _n_outputs(est):
    layers = encoder_layers(est)
    chosen = _OUTPUT_LAYERS[type(est)](est, len(layers))
    return sum(layers[k][0].shape[1] for k in chosen)


def _dense_output_shape(operator):
    """Transformers and the regressor: one float tensor (N, n_outputs)."""
    _graph_dtype(operator)
    check_input_and_output_numbers(operator, output_count_range=1)
    n_samples = operator.inputs[0].get_first_dimension()
    tensor_type = type(operator.inputs[0].type)
    operator.outputs[0].type = tensor_type(
        [n_samples, _n_outputs(operator.raw_operator)]
    )


def _classifier_output_shape(operator):
    clf, scope = operator.raw_operator, operator.scope_inst
    zipmap = scope.get_options(clf, dict(zipmap=True))["zipmap"]
    if _graph_dtype(operator) == np.float64 and zipmap not in (False, "columns"):
        # ONNX's ZipMap takes float only (skl2onnx's own classifiers fail the same
        # way, later, when onnxruntime loads the graph).
        raise NotImplementedError(
            f"{type(clf).__name__} with float64 inputs cannot output its "
            "probabilities as a list of dicts (ONNX's ZipMap operator takes float32 "
            "only): export with options={'zipmap': False} (an array) or "
            "{'zipmap': 'columns'} (one output per class), or with float32 inputs."
        )
    _label_values(scope, clf)
    calculate_linear_classifier_output_shapes(operator)


def _label_values(scope, clf):
    """The labels the graph outputs, as ONNX holds them: strings or int64.

    Follows skl2onnx (``get_label_classes``: class indices with ``nocl=True``).
    Float labels are integers (scikit-learn rejects others as continuous targets)
    and, as in skl2onnx, are output as int64.
    """
    classes = np.asarray(get_label_classes(scope, clf))
    if all(isinstance(c, str) for c in classes):
        return classes.astype(object)
    return classes.astype(np.int64)


# -------------------------------------------------------------------- converters
def _node(scope, container, op_type, inputs, output, **attributes):
    container.add_node(
        op_type,
        inputs,
        output,
        name=scope.get_unique_operator_name(op_type),
        **attributes,
    )


def _add_dense_layers(scope, container, operator):
    """Add every layer's Gemm and activation; return their outputs' names."""
    est = operator.raw_operator
    dtype = _graph_dtype(operator)
    name = operator.inputs[0].full_name
    outputs = []
    for W, b, activation in encoder_layers(est):
        weights = scope.get_unique_variable_name("coefficient")
        bias = scope.get_unique_variable_name("intercept")
        for init_name, value in ((weights, W), (bias, b)):
            array = np.ascontiguousarray(value, dtype=dtype)
            container.add_initializer(
                init_name, None, None, numpy_helper.from_array(array, init_name)
            )
        out = scope.get_unique_variable_name("gemm")
        _node(scope, container, "Gemm", [name, weights, bias], out)
        name = out
        op_type = _ONNX_ACTIVATIONS[activation]
        if op_type is not None:
            name = scope.get_unique_variable_name(activation)
            _node(scope, container, op_type, out, name)
        outputs.append(name)
    return outputs


def _convert_dense(scope, operator, container):
    """Transformers' ``transform`` and the regressor's ``predict``."""
    est = operator.raw_operator
    outputs = _add_dense_layers(scope, container, operator)
    chosen = [outputs[k] for k in _OUTPUT_LAYERS[type(est)](est, len(outputs))]
    result = operator.outputs[0].full_name
    if len(chosen) == 1:
        _node(scope, container, "Identity", chosen[0], result)
    else:  # transform_layers="all": every layer's code, bottom to top
        _node(scope, container, "Concat", chosen, result, axis=1)


def _convert_classifier(scope, operator, container):
    """The layers, then the head of the classifier's kind of target."""
    logits = _add_dense_layers(scope, container, operator)[-1]
    _HEADS[operator.raw_operator.out_activation_](scope, container, operator, logits)


def _multilabel_head(scope, container, operator, logits):
    """Each label's probability by Sigmoid; labels 1 where it is above 0.5, as
    ``predict`` thresholds."""
    proba = operator.outputs[1].full_name
    _node(scope, container, "Sigmoid", logits, proba)
    half = scope.get_unique_variable_name("half")
    dtype = _graph_dtype(operator)
    container.add_initializer(
        half, None, None, numpy_helper.from_array(np.array(0.5, dtype), half)
    )
    above = scope.get_unique_variable_name("above_half")
    _node(scope, container, "Greater", [proba, half], above)
    predicted = operator.outputs[0].full_name
    _node(scope, container, "Cast", above, predicted, to=TensorProto.INT64)


def _softmax_head(scope, container, operator, logits):
    """Labels from the logits' ArgMax (as ``predict``), probabilities by Softmax."""
    _node(scope, container, "Softmax", logits, operator.outputs[1].full_name, axis=1)
    index = scope.get_unique_variable_name("class_index")
    _node(scope, container, "ArgMax", logits, index, axis=1, keepdims=0)
    labels = scope.get_unique_variable_name("classes")
    values = _label_values(scope, operator.raw_operator)
    if values.dtype == object:  # ONNX holds strings as bytes, never as raw data
        proto_type, values = TensorProto.STRING, [v.encode() for v in values]
    else:
        proto_type = TensorProto.INT64
    container.add_initializer(labels, proto_type, [len(values)], values)
    predicted = operator.outputs[0].full_name
    _node(scope, container, "Gather", [labels, index], predicted, axis=0)


# The classifier's output activation -> the graph of its head.
_HEADS = {"softmax": _softmax_head, "sigmoid": _multilabel_head}


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, after checking that the model is fitted.

    The parser reads ``classes_`` before any shape calculator runs, and without
    this check an unfitted classifier fails with an unclear message.
    """
    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}

_DENSE = (_dense_output_shape, _convert_dense, None, None)

# estimator -> (shape calculator, converter, parser, options); None: skl2onnx's own
_CONVERTERS = {
    DenoisingAutoencoder: _DENSE,
    StackedDenoisingAutoencoder: _DENSE,
    SdAClassifier: (
        _classifier_output_shape,
        _convert_classifier,
        _parse_classifier,
        _CLASSIFIER_OPTIONS,
    ),
    SdARegressor: _DENSE,
}

for _cls, (_shape, _convert, _parser, _options) in _CONVERTERS.items():
    update_registered_converter(
        _cls,
        f"Stackeddae{_cls.__name__}",
        _shape,
        _convert,
        parser=_parser,
        options=_options,
    )


def to_onnx(estimator, X, **kwargs):
    """Export a fitted estimator, or a Pipeline containing ours, to ONNX.

    A thin wrapper of :func:`skl2onnx.to_onnx` that takes the input's type and
    width from the first row of ``X``; the graph's input is named ``"X"``.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Fitted; any mix of stackeddae's and scikit-learn's estimators that skl2onnx
        converts.
    X : array-like of shape (n_samples, n_features)
        Sample of the data the model will be given (float32 or float64): the graph
        computes in its dtype.
    **kwargs
        Passed to :func:`skl2onnx.to_onnx`, e.g. ``options={"zipmap": False}`` for
        a classifier's probabilities as an array rather than a list of dicts, or
        ``target_opset``.

    Returns
    -------
    onx : onnx.ModelProto
        The model; ``onx.SerializeToString()`` is what
        ``onnxruntime.InferenceSession`` loads.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from stackeddae import StackedDenoisingAutoencoder
    >>> from stackeddae.onnx import to_onnx
    >>> X = np.random.default_rng(0).random((100, 20), dtype=np.float32)
    >>> sda = StackedDenoisingAutoencoder((10, 5), max_iter=2, random_state=0).fit(X)
    >>> session = ort.InferenceSession(to_onnx(sda, X).SerializeToString())
    >>> [code] = session.run(None, {"X": X})
    >>> code.shape, bool(np.allclose(code, sda.transform(X), atol=1e-5))
    ((100, 5), True)
    """
    return skl2onnx.to_onnx(estimator, X[:1], **kwargs)
