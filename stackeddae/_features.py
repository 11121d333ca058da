"""Which hidden layers ``transform`` returns (``transform_layers``), and their names.

``"top"`` returns the top hidden layer's code; ``"all"`` every hidden layer's code,
concatenated bottom to top: the "deep stack" features that Jahrer's Porto Seguro
winning solution (2017) fed to its supervised models.  The parameter shapes the
output of ``transform`` only: it changes no training, and ``_params.py`` routes it to
the stack and the supervised estimators' pretraining stack alone (not to the layers,
fine-tuning or the pretraining cache's keys).
"""

import numpy as np
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

# transform_layers -> (indices of the layers returned, of n; name of unit j of layer k)
TRANSFORM_LAYERS = {
    "top": (lambda n: [n - 1], "{prefix}{unit}"),  # scikit-learn's prefix names
    "all": (lambda n: list(range(n)), "{prefix}_layer{layer}_{unit}"),
}


def _rule(transform_layers):
    # set_params after fit skips fit's constraints: refuse a bad value here too
    try:
        return TRANSFORM_LAYERS[transform_layers]
    except (KeyError, TypeError):
        raise ValueError(
            f"transform_layers must be one of {sorted(TRANSFORM_LAYERS)}; "
            f"got {transform_layers!r}"
        ) from None


def layer_indices(transform_layers, n_layers):
    """Indices of the hidden layers (of ``n_layers``) whose codes are returned."""
    return _rule(transform_layers)[0](n_layers)


def join_codes(codes, n_layers, transform_layers):
    """The output of ``transform`` from the codes of the ``n_layers`` hidden layers.

    ``codes`` yields them bottom to top; those not returned are dropped as soon as
    the next is made, so that "top" holds no more memory than one chain of codes.
    """
    wanted = set(layer_indices(transform_layers, n_layers))
    kept = [code for k, code in enumerate(codes) if k in wanted]
    return kept[0] if len(kept) == 1 else np.hstack(kept)


def n_features_out(layer_sizes, transform_layers):
    """Width of ``transform``'s output, given the hidden layers' sizes."""
    indices = layer_indices(transform_layers, len(layer_sizes))
    return sum(layer_sizes[k] for k in indices)


def feature_names_out(est, layer_sizes, input_features=None):
    """``get_feature_names_out`` of a fitted estimator with ``transform_layers``.

    "top": ``<class name>0``, ``<class name>1``, ... (as scikit-learn's
    ``ClassNamePrefixFeaturesOutMixin`` names them); "all": layer and unit, 1-based
    layer, e.g. ``stackeddenoisingautoencoder_layer1_0``.
    """
    _check_feature_names_in(est, input_features, generate_names=False)
    layers, name = _rule(est.transform_layers)
    prefix = type(est).__name__.lower()
    return np.asarray(
        [
            name.format(prefix=prefix, layer=k + 1, unit=j)
            for k in layers(len(layer_sizes))
            for j in range(layer_sizes[k])
        ],
        dtype=object,
    )


class LayerFeaturesMixin:
    """``get_feature_names_out`` of an estimator whose ``transform`` follows
    ``transform_layers``; the estimator gives its fitted hidden layers' sizes,
    bottom to top, as ``_hidden_sizes()``."""

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``'s output.

        ``<class name>0``, ``<class name>1``, ... for the top code (e.g.
        ``stackeddenoisingautoencoder0``); ``<class name>_layer<k>_<j>`` (unit j of
        hidden layer k, from 1) with ``transform_layers="all"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only used to validate feature names with the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        return feature_names_out(self, self._hidden_sizes(), input_features)
