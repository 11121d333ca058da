"""The ``memory=`` cache of pretrained layers.

A fresh stack fit with an int ``random_state`` pretrains layer k as a pure
function (:func:`._pretraining.pretrain_layer`) of the rows it was given, their
sample weights, the parameters of layers 1..k and the BLAS thread rule.  So the key
of layer k chains the key of layer k-1 (for layer 1: a fingerprint of X and of the
weights, hashed once per fit) with
the parameters of layer k that its training reads (``_params.key_params``); a
grid-search candidate whose first layers match an earlier fit on the same fold
loads them instead of training them.  An entry is the fitted layer (weights,
training history, optimizer and generator state), never its codes.

joblib.Memory writes each entry to a temporary file and renames it into place, so
two processes writing the same entry leave one whole copy.  An entry that does not
load (truncated, written by another joblib) is recomputed by joblib; one that loads
but is not the layer asked for (another version of stackeddae, a damaged array) is
recomputed here.
"""

import os
import threading
import warnings
from functools import lru_cache
from numbers import Integral

import joblib
import numpy as np
import scipy
from sklearn.utils.validation import check_memory

from ._params import key_params
from ._pretraining import pretrain_layer
from ._threads import blas_info, n_blas_threads
from ._training import History, Settings, Status, warn_about_stop
from ._version import __version__

_call = threading.local()  # whether the last lookup of this thread trained


class _Interrupted(Exception):
    """Raised through joblib so that a half-trained layer is never stored: Ctrl-C,
    or a callback that stopped it (its parameters do not say so)."""

    def __init__(self, layer, status):
        super().__init__()
        self.layer, self.status = layer, status


def _pretrain_entry(key, codes, params, label, task=None, sample_weight=None):
    # Only `key` is hashed by joblib: it stands for codes, weights and params.
    _call.trained = True
    layer, status = pretrain_layer(codes, params, label, task, sample_weight)
    if status in (Status.INTERRUPTED, Status.STOPPED):
        raise _Interrupted(layer, status)
    layer._cache_key = key
    return layer, status


def cache_memory(est):
    """``est.memory`` as a joblib.Memory, or None when pretraining is not cached.

    Caching needs an int ``random_state``: a layer drawn from a fresh seed is not a
    function of its parameters, so it could not be looked up.
    """
    if est.memory is None:
        return None
    memory = check_memory(
        os.fspath(est.memory) if isinstance(est.memory, os.PathLike) else est.memory
    )
    seed = est.random_state
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        warnings.warn(
            f"{type(est).__name__}: memory={est.memory!r} is not used because "
            f"random_state={seed!r} is not an int: pretrained layers can only be "
            "cached and looked up when they are a function of their parameters. "
            "Pass an int random_state to cache pretraining.",
            UserWarning,
            stacklevel=4,
        )
        return None
    return memory


class LayerCache:
    """One fit's view of the cache: X fingerprinted once, then one key per layer.

    Parameters
    ----------
    memory : joblib.Memory
    X : ndarray or sparse matrix
        The rows the first layer trains on (validated).
    verbose : bool or int
        Print a line for each layer loaded from the cache.
    sample_weight : ndarray of shape (n_samples,) or None
        The rows' weights, which every layer trains with: part of the key (an
        unweighted fit's key is X's fingerprint alone, as before weights).
    """

    def __init__(self, memory, X, verbose=False, sample_weight=None):
        self._entry = memory.cache(
            _pretrain_entry,
            ignore=["codes", "params", "label", "task", "sample_weight"],
            mmap_mode=None,
        )
        self._key = joblib.hash(X if sample_weight is None else [X, sample_weight])
        self._weights = sample_weight
        self.verbose = verbose

    def pretrain(self, codes, params, label="", task=None):
        """Layer ``params`` fitted to ``codes``, from the cache or trained and stored,
        and how its training ended (as :func:`._pretraining.pretrain_layer`, which
        reports its epochs to ``task``; a layer loaded from the cache has none).

        ``codes`` must be what the layers whose parameters this cache has already
        been given produce from X (their outputs, in order).
        """
        self._key = layer_key(self._key, params)
        args = (self._key, codes, params, label, task, self._weights)
        _call.trained = False
        try:
            entry = self._entry(*args)
            if not _call.trained and not _is_entry_for(entry, self._key, codes):
                entry = self._entry.call(*args)[0]
        except _Interrupted as interrupted:
            return interrupted.layer, interrupted.status
        layer, status = entry
        del layer._cache_key
        if not _call.trained:
            # the caller's values of the parameters that the key leaves out
            # (verbose, n_jobs, those the layer's solver does not read)
            layer.set_params(**params)
            # the warnings a training would have given (not converged, diverged),
            # so that a fit warns alike with and without the cache
            warn_about_stop(
                status,
                Settings.from_estimator(layer, label),
                History.resume(layer, False),
                incremental=False,
                solver="lbfgs" if layer.solver == "lbfgs" else "stochastic",
            )
            if self.verbose:
                print(
                    f"{label}loaded from the cache ({layer.n_iter_} epochs "
                    f"trained, last cost {layer.loss_})",
                    flush=True,
                )
        return layer, status


@lru_cache(maxsize=1)
def _libraries():
    """What computes a layer besides its inputs: this library, numpy, scipy (whose
    BLAS wrappers the training step calls) and the BLAS itself, whose kernels set
    the last bits."""
    blas = [
        (info.get("internal_api"), info.get("version"), info.get("architecture"))
        for info in blas_info()
    ]
    return (__version__, np.__version__, scipy.__version__, sorted(blas, key=str))


def layer_key(previous, params):
    """The key of a layer: the key below it (or X's fingerprint), the parameters
    its training reads and its thread count."""
    return joblib.hash(
        [
            previous,
            sorted(key_params(params).items()),
            n_blas_threads(params["n_jobs"]),
            _libraries(),
        ]
    )


def _is_entry_for(entry, key, codes):
    """Whether a loaded entry is the fitted layer of ``key`` for ``codes``."""
    if not (isinstance(entry, tuple) and len(entry) == 2):
        return False
    layer = entry[0]
    weights = getattr(layer, "components_", None)
    return (
        getattr(layer, "_cache_key", None) == key
        and isinstance(weights, np.ndarray)
        and weights.dtype == codes.dtype
        and weights.shape[1] == codes.shape[1]
        and bool(np.isfinite(weights).all())
    )
