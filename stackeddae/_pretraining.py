"""Pretraining one layer of a stack, as a pure function of its inputs.

``pretrain_layer(codes, params)`` is what a fresh stack fit does for layer k: a
:class:`DenoisingAutoencoder` with ``params`` (its seed included) fitted to the
clean codes of the layers below.  With an int seed the fitted layer depends on
``codes``, ``params``, the sample weights and the BLAS thread rule only, which
is what lets
:mod:`._cache` store it.
"""

from ._autoencoder import DenoisingAutoencoder


def pretrain_layer(codes, params, label="", task=None, sample_weight=None):
    """A :class:`DenoisingAutoencoder` with ``params`` fitted afresh to ``codes``
    (their rows weighted by ``sample_weight``, None: unweighted).

    Returns the fitted layer and how its training ended (a ``_training.Status``).
    ``task``: the callbacks' task whose subtasks its epochs are (no part of the
    result).
    """
    layer = DenoisingAutoencoder(**params)
    status = layer._fit(
        codes,
        incremental=False,
        label=label,
        warm=False,
        task=task,
        sample_weight=sample_weight,
    )
    return layer, status
