"""Greedy layer-wise pretraining: a stack of denoising autoencoders; optionally
the deep autoencoder, its unrolled network fine-tuned end to end.

Layer k is a :class:`DenoisingAutoencoder` trained on the clean codes of layers
1..k-1 (Vincent et al. 2010, section 3.5), each with its own corruption level.
With ``fine_tune_max_iter > 0`` the pretrained layers are then unrolled and
fine-tuned together on the reconstruction of the input (``_unrolled.py``).
"""

import copy
import functools
import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import DenoisingAutoencoder, layer_snapshot
from ._cache import LayerCache, cache_memory
from ._callbacks import CallbackSupportMixin, Task, own_target
from ._features import (
    TRANSFORM_LAYERS,
    LayerFeaturesMixin,
    join_codes,
    n_features_out,
)
from ._layers import (
    CHUNK_ROWS,
    decoder_layers,
    encoder_layers,
    forward,
    layer_outputs,
)
from ._params import TO_LAYERS, parameters
from ._persistence import LegacyStateMixin
from ._pretraining import pretrain_layer
from ._seeds import draw_seed
from ._streaming import (
    BlockSource,
    CastRows,
    CodeStore,
    encode_blocks,
    encode_in_place,
    encode_rows,
    in_row_blocks,
    validate_rows,
)
from ._threads import blas_threads, under_thread_rule
from ._training import Status
from ._unrolled import fine_tune, start_fine_tuning
from ._validation import (
    LAYER_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    X_DTYPES,
    check_activation,
    check_corruption_level,
    check_cross_entropy_range,
    check_hidden_layer_sizes,
    check_integer_params,
    check_partial_fit_allowed,
    fit_dtype,
    is_stochastic,
    loss_for_layer_above,
    per_layer,
    preserved_dtypes,
    weighted_mean,
    weighted_rows,
)


def _is_stochastic(stack):
    """Whether every phase of ``stack``'s training trains by mini-batches."""
    fine_tuning = stack.fine_tune_max_iter > 0
    return is_stochastic(stack) and not (
        fine_tuning and stack.fine_tune_solver == "lbfgs"
    )


def _codes_above(ae, codes, store, own=False):
    """The clean codes that the layer above ``ae`` trains on: ``ae.transform``
    of its input, computed block by block when the input is read so (or cast
    so: the user's X in another dtype), and over the input when it is the fit's
    ``own`` codes (one layer's codes at a time)."""
    if isinstance(codes, BlockSource):
        return encode_blocks(codes, ae, store)
    if isinstance(codes, CastRows):
        return encode_rows(ae, codes)
    if own and (above := encode_in_place(ae, codes)) is not None:
        return above
    return ae.transform(codes)


class StackedDenoisingAutoencoder(
    CallbackSupportMixin,
    LegacyStateMixin,
    LayerFeaturesMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Stacked denoising autoencoder, pretrained greedily layer by layer, and
    optionally fine-tuned as a deep autoencoder.

    Layer k is a :class:`DenoisingAutoencoder` fitted to the clean codes of the
    layers below it.  With ``fine_tune_max_iter > 0`` the pretrained stack is
    then unrolled, its encoders bottom to top followed by its decoders top to
    bottom (tied or untied as pretrained), and the whole network is trained on
    the reconstruction of the clean input (Hinton & Salakhutdinov 2006); the
    layers' weights are updated in place.  ``transform`` returns the top code (or
    every layer's, with ``transform_layers="all"``); ``inverse_transform`` decodes
    the top code through all layers back to input space.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(256, 128)
        Code size of each layer, bottom to top.
    activation : str or sequence of str, default="sigmoid"
        Hidden activation ("sigmoid", "tanh", "relu" or "identity") of every
        layer, or one per layer: e.g. ``["sigmoid", "sigmoid", "identity"]`` for
        a linear code on top, as the deep autoencoder's low-dimensional codes.
    corruption_level : float or sequence of float, default=0.3
        Corruption level of each layer (one value for all, or one per layer).
    loss : {"auto", "cross_entropy", "squared_error"}, default="auto"
        Reconstruction loss of the first layer.  The layers above use the loss that
        fits their input, the codes below: cross-entropy for sigmoid codes, squared
        error for tanh and relu codes.
    max_iter : int, default=15
        Epochs of pretraining per layer.
    random_state : int, RandomState instance or None, default=None
        Seeds every layer (each gets its own seed drawn from it).
    dtype : {np.float32, np.float64} or None, default=np.float32
        Precision of training, of every layer's weights and of the codes, as in
        :class:`DenoisingAutoencoder` (None: the input's; scores are float64).
    warm_start : bool, default=False
        Continue training the existing layers when ``fit`` is called again; if
        ``hidden_layer_sizes`` changed, from the first changed layer up the layers
        start afresh.
    memory : None, str, path or joblib.Memory, default=None
        Cache of pretrained layers, as in scikit-learn's ``Pipeline``: a directory
        or a ``joblib.Memory``.  Layer k of a fresh ``fit`` is looked up by the rows
        of X, the parameters of layers 1..k that their solver reads (not
        ``beta_1`` under "sgd", say) and its seed, so fits that share their first
        layers (grid-search candidates on one fold) train them once.  Needs an
        int ``random_state``; results are bit-identical to a fit without cache.
    transform_layers : {"top", "all"}, default="top"
        What ``transform`` returns: the top layer's code, or the codes of all
        layers concatenated bottom to top (width ``sum(hidden_layer_sizes)``, the
        "deep stack" features of tabular models), named by layer and unit by
        ``get_feature_names_out`` (``stackeddenoisingautoencoder_layer1_0``, ...).
        It changes no training (nor the ``memory`` cache's keys): it can be set
        after ``fit``.  ``inverse_transform`` takes ``transform``'s output either
        way and decodes its top code (with "all", its last
        ``hidden_layer_sizes[-1]`` columns; the columns of the layers below are
        not read).
        Fine-tuning is not cached, and its parameters are in no layer's key.
    fine_tune_max_iter : int, default=0
        Epochs of fine-tuning the unrolled network after pretraining (iterations
        for "lbfgs"); 0 stops after the greedy pretraining.
    fine_tune_solver : {"sgd", "adagrad", "rmsprop", "adadelta", "adam", \
"lbfgs"}, default="adam"
        Optimizer of fine-tuning.
    fine_tune_learning_rate_init : float, default=3e-3
        Step size of fine-tuning (with Adam, 3e-3 reconstructed held-out
        training digits better than 1e-3: ``bench_dimensionality.py --validate``).
    fine_tune_batch_size : int or "auto", default=100
        Mini-batch size of fine-tuning.
    fine_tune_corruption_level : float, default=0.0
        Noise (of type ``corruption``) on the input while fine-tuning, the clean
        input being the target: the denoising criterion for the whole network.
        0 fine-tunes a plain deep autoencoder.
    corruption, tied_weights, solver, alpha, sparsity_target, \
sparsity_weight, batch_size, learning_rate, learning_rate_init, power_t, shuffle, \
tol, verbose, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, rho, n_iter_no_change, max_fun, n_jobs
        As in :class:`DenoisingAutoencoder`, applied to every layer.  Fine-tuning
        reads ``corruption``, ``alpha``, ``learning_rate``, ``power_t``,
        ``shuffle``, ``tol``, ``verbose``, ``momentum``, ``nesterovs_momentum``,
        ``early_stopping``, ``validation_fraction``, ``beta_1``, ``beta_2``,
        ``epsilon``, ``rho``, ``n_iter_no_change``, ``max_fun`` and ``n_jobs``
        too (not the sparsity penalty).  Its early stopping holds out
        ``validation_fraction`` of the rows that pretraining saw, scored by
        ``score``.  ``partial_fit`` trains every layer one epoch, then the
        unrolled network one epoch.  A ``warm_start`` fit with
        ``fine_tune_max_iter > 0`` continues fine-tuning, as SdAClassifier's
        continues its own: the layers it keeps are not pretrained again (new
        layers, from a changed size up, are, and fine-tuning then starts afresh).

    Attributes
    ----------
    autoencoders_ : list of DenoisingAutoencoder
        The fitted layers, bottom to top; each has its own ``loss_curve_``.
    n_layers_ : int
        Number of layers.
    n_iter_ : int
        Epochs of pretraining, summed over the layers (each layer's own count is
        its ``n_iter_``).
    fine_tune_loss_curve_ : list of float
        Fine-tuning cost per epoch: the first layer's reconstruction cost of the
        whole network (mean over samples of the summed per-feature loss).
    fine_tune_n_iter_, fine_tune_t_, fine_tune_loss_, fine_tune_best_loss_, \
fine_tune_validation_scores_, fine_tune_best_validation_score_
        Fine-tuning's ``n_iter_``, ``t_``, ... as in ``MLPClassifier`` (0, [] and
        so on without fine-tuning).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from stackeddae import StackedDenoisingAutoencoder
    >>> X = np.random.default_rng(0).random((100, 20))
    >>> sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(10, 5),
    ...                                   corruption_level=[0.1, 0.2],
    ...                                   max_iter=3, random_state=0)
    >>> sda.fit_transform(X).shape
    (100, 5)
    >>> [len(ae.loss_curve_) for ae in sda.autoencoders_]
    [3, 3]
    """

    _parameter_constraints = {
        **DenoisingAutoencoder._parameter_constraints,
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "corruption_level": ["array-like", Interval(Real, 0, None, closed="left")],
        # one for all layers, or one per layer (checked in fit)
        "activation": [*LAYER_CONSTRAINTS["activation"], "array-like"],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "transform_layers": [StrOptions(set(TRANSFORM_LAYERS))],
        "fine_tune_max_iter": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_solver": TRAINING_CONSTRAINTS["solver"],
        "fine_tune_learning_rate_init": TRAINING_CONSTRAINTS["learning_rate_init"],
        "fine_tune_batch_size": TRAINING_CONSTRAINTS["batch_size"],
        "fine_tune_corruption_level": [Interval(Real, 0, None, closed="left")],
    }
    del _parameter_constraints["n_components"]

    def __init__(
        self,
        hidden_layer_sizes=(256, 128),
        *,
        activation="sigmoid",
        loss="auto",
        corruption="masking",
        corruption_level=0.3,
        tied_weights=True,
        solver="sgd",
        alpha=0.0,
        sparsity_target=0.05,
        sparsity_weight=0.0,
        batch_size=20,
        learning_rate="constant",
        learning_rate_init=0.1,
        power_t=0.5,
        max_iter=15,
        shuffle=True,
        random_state=None,
        dtype=np.float32,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.0,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        rho=0.95,
        n_iter_no_change=10,
        max_fun=15000,
        n_jobs=None,
        memory=None,
        transform_layers="top",
        fine_tune_max_iter=0,
        fine_tune_solver="adam",
        fine_tune_learning_rate_init=3e-3,
        fine_tune_batch_size=100,
        fine_tune_corruption_level=0.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.corruption = corruption
        self.corruption_level = corruption_level
        self.tied_weights = tied_weights
        self.solver = solver
        self.alpha = alpha
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.n_jobs = n_jobs
        self.memory = memory
        self.transform_layers = transform_layers
        self.fine_tune_max_iter = fine_tune_max_iter
        self.fine_tune_solver = fine_tune_solver
        self.fine_tune_learning_rate_init = fine_tune_learning_rate_init
        self.fine_tune_batch_size = fine_tune_batch_size
        self.fine_tune_corruption_level = fine_tune_corruption_level

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Pretrain the layers greedily, bottom to top.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; only the first layer sees it sparse.
            A ``numpy.memmap`` or dask array larger than scikit-learn's
            ``working_memory`` is read block by block, never whole (README,
            "Data larger than memory").
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), scaling each row's
            reconstruction loss in every layer's pretraining and in the
            fine-tuning of the unrolled network (as in
            :meth:`DenoisingAutoencoder.fit`; the codes a layer hands up keep their
            rows' weights).  Rows of weight 0 are dropped; weights all 1 give the
            unweighted fit.  Part of the ``memory`` cache's key.

        Returns
        -------
        self : StackedDenoisingAutoencoder
        """
        self._fit(X, incremental=False, y=y, sample_weight=sample_weight)
        return self

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One epoch over X for each layer in turn, bottom to top, then (with
        ``fine_tune_max_iter > 0``) one epoch of fine-tuning the unrolled network.

        Layer k trains on the chunk's codes from layers 1..k-1 as they are after
        their own pass over the chunk; fine-tuning then trains all of them
        together on the chunk, continuing its optimizer from the last call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), scaling each row's
            reconstruction loss in every layer's pretraining and in the
            fine-tuning of the unrolled network (as in
            :meth:`DenoisingAutoencoder.fit`; the codes a layer hands up keep their
            rows' weights).  Rows of weight 0 are dropped; weights all 1 give the
            unweighted fit.

        Returns
        -------
        self : StackedDenoisingAutoencoder
        """
        self._fit(X, incremental=True, y=y, sample_weight=sample_weight)
        return self

    def layer_params(self):
        """The parameters of each layer's :class:`DenoisingAutoencoder`.

        Returns
        -------
        params : list of dict
            One dict per layer; the ``random_state`` entries are the seeds that
            ``fit`` would draw from this estimator's ``random_state`` now.  Looking
            draws from a copy: a ``RandomState`` instance is not advanced.
        """
        rng = copy.deepcopy(check_random_state(self.random_state))
        return self._layer_params(self._seeds(rng))

    def _layer_params(self, seeds):
        """The layers' parameters, their seeds the first of ``seeds``."""
        sizes, levels, activations = self._check_layers()
        seeds = seeds[: len(sizes)]
        shared = {name: getattr(self, name) for name in parameters(TO_LAYERS)}
        return [
            {
                **shared,
                "n_components": size,
                "activation": activation,
                "corruption_level": float(level),
                # the loss that fits the codes below, as "auto" would pick it
                "loss": self.loss if k == 0 else loss_for_layer_above(below),
                "random_state": int(seed),
            }
            for k, (size, level, activation, below, seed) in enumerate(
                # the activation below each layer: the first one's is the input
                zip(
                    sizes,
                    levels,
                    activations,
                    [None, *activations[:-1]],
                    seeds,
                    strict=True,
                )
            )
        ]

    def _seeds(self, rng):
        """The layers' seeds, then fine-tuning's, drawn from ``rng`` in this
        order, so that the layers' do not depend on whether it fine-tunes."""
        n_seeds = len(check_hidden_layer_sizes(self.hidden_layer_sizes))
        n_seeds += self.fine_tune_max_iter > 0
        return draw_seed(rng, size=n_seeds)

    def _check_layers(self):
        """Validated layer sizes, per-layer corruption levels and activations
        (draws nothing)."""
        sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        levels = per_layer(self.corruption_level, len(sizes), "corruption_level")
        for level in levels:
            check_corruption_level(level, self.corruption)
        activations = per_layer(self.activation, len(sizes), "activation")
        for activation in activations:
            check_activation(activation)
        return sizes, levels, activations

    def _fit(self, X, incremental, y=None, parent=None, sample_weight=None):
        """Train the layers bottom-up, then fine-tune the unrolled network if
        ``fine_tune_max_iter > 0``; how the last training stopped
        (``Status.INTERRUPTED`` if Ctrl-C stopped one: what follows it is not
        trained).  The layers (and fine-tuning) are the callbacks' subtasks of
        this fit, or of ``parent``: a classifier's pretraining."""
        X_given = X
        X, _, weights = weighted_rows(X, None, sample_weight)
        if incremental:
            check_partial_fit_allowed(self)
        fresh = not hasattr(self, "autoencoders_") or not (
            incremental or self.warm_start
        )
        dtype = fit_dtype(self, None if fresh else self.autoencoders_[0].components_)
        X = validate_rows(
            self,
            X,
            incremental=incremental,
            reset=fresh,
            accept_sparse="csr",
            dtype=dtype,
            order="C",
        )
        if weights is not None:  # in the training precision
            weights = weights.astype(X.dtype)
        check_integer_params(self)
        check_corruption_level(
            self.fine_tune_corruption_level,
            self.corruption,
            name="fine_tune_corruption_level",
        )
        seeds = self._seeds(check_random_state(self.random_state))
        params = self._layer_params(seeds)
        kept = 0
        if fresh:
            if (
                self.loss == "cross_entropy"
            ):  # checked here so the error names the stack
                check_cross_entropy_range(X, type(self).__name__)
            self.autoencoders_ = [DenoisingAutoencoder(**p) for p in params]
        else:  # continue: keep each layer's state, refresh its hyper-parameters
            # in the first fit's precision, new layers included
            params = [{**p, "dtype": X.dtype.type} for p in params]
            kept = self._continued_layers(params)
            for ae, p in zip(self.autoencoders_[:kept], params, strict=False):
                ae.set_params(**{k: v for k, v in p.items() if k != "random_state"})
            new = [DenoisingAutoencoder(**p) for p in params[kept:]]
            self.autoencoders_ = self.autoencoders_[:kept] + new
        self.n_layers_ = len(self.autoencoders_)
        fine_tuning = self.fine_tune_max_iter > 0
        task = parent
        if parent is None:
            n_tasks = self.n_layers_ + fine_tuning
            task = Task.fit(self, X_given, own_target(X_given, y), n_tasks)
        # the stack's state means something to its own callbacks only
        own = task.estimator is self
        # A warm start that fine-tunes continues fine-tuning, as SdAClassifier's
        # does: the layers it keeps are not pretrained again (new ones are).
        pretrained = kept if fine_tuning and not incremental else 0
        if fresh or kept < self.n_layers_ or not getattr(self, "fine_tune_n_iter_", 0):
            start_fine_tuning(self, seeds[-1] if fine_tuning else None)
        memory = cache_memory(self) if fresh and not incremental else None
        cache = (
            None
            if memory is None
            else LayerCache(memory, X, self.verbose, sample_weight=weights)
        )
        # the codes handed up too; spilled ones deleted at the end
        with blas_threads(self.n_jobs), CodeStore() as store:
            codes = X
            for k, ae in enumerate(self.autoencoders_):
                label = f"layer {k + 1}/{self.n_layers_} "
                if k < pretrained:  # kept as it is
                    status = Status.MAX_ITER
                else:
                    ae, status = self._train_layer(
                        k,
                        codes,
                        params[k],
                        label,
                        task,
                        fresh,
                        incremental,
                        cache,
                        weights,
                    )
                if status == Status.INTERRUPTED:
                    self._initialize_untrained(k + 1, codes, store)
                    break
                if k + 1 < self.n_layers_:
                    codes = _codes_above(ae, codes, store, own=codes is not X)
        self.n_iter_ = sum(getattr(ae, "n_iter_", 0) for ae in self.autoencoders_)
        if fine_tuning and status != Status.INTERRUPTED:
            top = functools.partial(self._state_up_to, self.n_layers_ - 1)
            with task.subtask(
                "fine-tuning",
                max_subtasks=1 if incremental else self.fine_tune_max_iter,
                state=functools.partial(top, self.autoencoders_[-1]) if own else None,
                epoch_state=(lambda _: top(self.autoencoders_[-1])) if own else None,
            ) as phase:
                status = fine_tune(self, X, incremental, phase, weights)
        if parent is None:
            task.end()
        return status

    def _train_layer(
        self, k, codes, params, label, task, fresh, incremental, cache, weights=None
    ):
        """Train layer k (index) on the codes of the layers below (their rows
        weighted by ``weights``), as the callbacks' subtask "layer" of ``task``;
        the layer and how it stopped."""
        own = task.estimator is self
        with task.subtask(
            "layer",
            max_subtasks=1 if incremental else self.max_iter,
            epoch_state=functools.partial(self._state_up_to, k) if own else None,
        ) as layer:
            if cache is not None:
                ae, status = cache.pretrain(codes, params, label, layer)
            elif fresh and not incremental:
                ae, status = pretrain_layer(codes, params, label, layer, weights)
            else:
                ae = self.autoencoders_[k]
                status = ae._fit(
                    codes,
                    incremental,
                    label=label,
                    warm=not fresh,
                    task=layer,
                    sample_weight=weights,
                )
            self.autoencoders_[k] = ae
            if own:
                layer.state = functools.partial(self._state_up_to, k, ae)
        return ae, status

    def _state_up_to(self, k, layer):
        """The fitted state of the stack of layers 1..k+1, ``layer`` the last, as
        the callbacks see it in the middle of a fit (copies: training goes on)."""
        below = [layer_snapshot(ae) for ae in self.autoencoders_[:k]]
        return {"autoencoders_": [*below, layer_snapshot(layer)], "n_layers_": k + 1}

    def _continued_layers(self, params):
        """How many bottom layers a warm start continues: up to the first whose
        size changed (the layers above it see new inputs, so start afresh too)."""
        kept = 0
        for ae, p in zip(self.autoencoders_, params, strict=False):
            if ae.n_components != p["n_components"]:
                break
            kept += 1
        return kept

    def _initialize_untrained(self, start, codes, store):
        """After an interruption, give the never-trained layers initial weights."""
        for k in range(start, self.n_layers_):
            codes = _codes_above(self.autoencoders_[k - 1], codes, store)
            ae = self.autoencoders_[k]
            if not hasattr(ae, "components_"):
                codes = validate_rows(ae, codes, reset=True, dtype=X_DTYPES)
                ae._initialize(codes)

    # -------------------------------------------------------------- inference
    @under_thread_rule
    @in_row_blocks
    def transform(self, X):
        """Top code of the clean inputs, or every layer's (``transform_layers``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        code : ndarray of shape (n_samples, n_features_out)
            ``hidden_layer_sizes[-1]`` columns with ``transform_layers="top"``,
            ``sum(hidden_layer_sizes)`` with "all" (layer 1's code first).
        """
        X = self._validate_for_inference(X)
        return join_codes(
            self._layer_codes(X), len(self.autoencoders_), self.transform_layers
        )

    def _layer_codes(self, X):
        """Each layer's code of validated X, bottom to top (a generator)."""
        return layer_outputs(encoder_layers(self), X)

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        dtype = self.autoencoders_[0].components_.dtype
        return validate_data(self, X, reset=False, accept_sparse="csr", dtype=dtype)

    def _encode(self, X):
        return forward(encoder_layers(self), X)

    def _decode(self, code):
        """Decode a top code down to the first layer's code."""
        return forward(decoder_layers(self)[:-1], code)

    @under_thread_rule
    def inverse_transform(self, X):
        """Decode top codes through every layer back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Codes as ``transform`` returns them: with ``transform_layers="all"``
            only the last ``hidden_layer_sizes[-1]`` columns, the top code, are
            decoded.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        top = self.autoencoders_[-1]
        code = check_array(X, dtype=top.components_.dtype)
        if code.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {code.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} features "
                f"(the width of transform's output, transform_layers="
                f"{self.transform_layers!r})."
            )
        code = code[:, code.shape[1] - top.n_components :]  # the top code
        return forward(decoder_layers(self), code)

    @under_thread_rule
    @in_row_blocks
    def score_samples(self, X):
        """Minus the divergence of each clean sample's reconstruction through the stack.

        The input is encoded by every layer and decoded back through all of them;
        the reconstruction is scored as in :meth:`DenoisingAutoencoder.score_samples`
        with the first layer's loss (minus the KL divergence for cross-entropy, minus
        the squared error otherwise): 0 for a perfect reconstruction, higher is
        better, usable as an anomaly score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            float64, computed in float64 as in DenoisingAutoencoder.score_samples.
        """
        X = self._validate_for_inference(X)
        bottom = self.autoencoders_[0]
        scores = np.empty(X.shape[0])
        for rows in gen_batches(X.shape[0], CHUNK_ROWS):
            # float64 throughout, as DenoisingAutoencoder.score_samples
            chunk = X[rows].astype(np.float64)
            code = self._decode(self._encode(chunk))
            scores[rows] = -bottom._sample_divergences(chunk, code)
        return scores

    def score(self, X, y=None, sample_weight=None):
        """Mean of ``score_samples``: minus the mean reconstruction divergence.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples' scores in the mean.

        Returns
        -------
        score : float
        """
        return weighted_mean(self.score_samples(X), sample_weight)

    def _hidden_sizes(self):
        return [ae.n_components for ae in self.autoencoders_]

    @property
    def _n_features_out(self):
        return n_features_out(self._hidden_sizes(), self.transform_layers)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = preserved_dtypes(self.dtype)
        return tags
