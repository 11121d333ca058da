"""The single-layer denoising autoencoder: the estimator; its objective (one
mini-batch's cost and gradients) is :class:`._objectives.DAEObjective`."""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, gen_batches
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._callbacks import CallbackSupportMixin, Task, own_target
from ._init import init_weights
from ._layers import CHUNK_ROWS, decoder_layers, dense, encoder_layers, forward
from ._losses import LOSSES, MINIMUM_COSTS, OUTPUT_ACTIVATIONS
from ._objectives import DAEObjective
from ._persistence import LegacyStateMixin
from ._seeds import new_generator
from ._streaming import in_row_blocks, validate_rows
from ._threads import under_thread_rule
from ._training import reset_history, train
from ._validation import (
    LAYER_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    check_corruption_level,
    check_cross_entropy_range,
    check_integer_params,
    check_partial_fit_allowed,
    data_range,
    fit_dtype,
    is_stochastic,
    preserved_dtypes,
    resolve_loss,
    weighted_mean,
    weighted_rows,
)


class DenoisingAutoencoder(
    CallbackSupportMixin,
    LegacyStateMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Denoising autoencoder: one layer of learned features (Vincent et al. 2008).

    Encodes y = s(W x~ + b) and decodes z = s'(W' y + b'), W' = W^T with tied weights,
    learning to reconstruct the clean input x from a corrupted copy x~.  ``transform``
    returns the code y of clean inputs.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units (the size of the code).
    activation : {"sigmoid", "tanh", "relu", "identity"}, default="sigmoid"
        Activation of the hidden units ("identity": a linear code).
    loss : {"auto", "cross_entropy", "squared_error"}, default="auto"
        Reconstruction loss.  "cross_entropy" (Bernoulli, sigmoid decoder) needs
        inputs in [0, 1]; "squared_error" has a linear decoder for real-valued data.
        "auto" picks cross-entropy when the training data lie in [0, 1], else squared
        error.  Only fitting checks the range.
    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"}, \
default="masking"
        Noise applied to the inputs while training: masking sets inputs to 0,
        gaussian adds noise of standard deviation ``corruption_level``, salt and
        pepper sets inputs to the data's minimum or maximum, swap replaces an
        input by the same feature's value in another row of the mini-batch (the
        noise for tabular data; README, "Choosing parameters").
    corruption_level : float, default=0.3
        Probability of corrupting an input (masking, salt and pepper, swap; in
        [0, 1)) or the noise's standard deviation (gaussian).  0 gives a plain
        autoencoder.
    tied_weights : bool, default=True
        Whether the decoder uses the transposed encoder weights.
    solver : {"sgd", "adagrad", "rmsprop", "adadelta", "adam", "lbfgs"}, default="sgd"
        Optimizer.  "lbfgs" trains on the full batch with scipy (small data only;
        the corruption is then redrawn at each evaluation, about once per iteration).
    alpha : float, default=0.0
        L2 penalty on the weights, divided by the mini-batch size as in
        scikit-learn's MLP.
    sparsity_target, sparsity_weight : float, default=0.05, 0.0
        Sparse-autoencoder penalty ``sparsity_weight * sum_j KL(sparsity_target ||
        mean activation of unit j)``, for sigmoid units; off when the weight is 0.
    batch_size : int or "auto", default=20
        Mini-batch size ("auto": min(200, n_samples)).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule, as in ``MLPClassifier``.
    learning_rate_init : float, default=0.1
        Initial step size (unused by "adadelta").
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=15
        Number of epochs (passes over the data); iterations for "lbfgs".
    shuffle : bool, default=True
        Whether to shuffle the samples at each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, the corruption and the validation
        split: an int makes a fit bit-for-bit repeatable.
    dtype : {np.float32, np.float64} or None, default=np.float32
        Precision of training and of the fitted weights; ``transform`` and
        ``inverse_transform`` compute and return it too, converting other inputs
        (a copy).  ``score_samples`` and ``score`` are float64, computed in
        float64 from the weights, so that a score does not depend on its batch.
        float32 trains about twice as fast as float64 and is as accurate for
        these networks; choose np.float64 for exact
        arithmetic (gradient checks, comparisons with float64 references) or
        features so different in scale that float32's 7 digits matter.  None
        trains in the input's precision (float32 or float64; float64 for other
        types).  ``warm_start`` and ``partial_fit`` keep the precision of the
        first fit.
    tol : float, default=1e-4
        Training stops when the cost (or validation score) has not improved by at
        least ``tol`` for ``n_iter_no_change`` consecutive epochs.
    verbose : bool or int, default=False
        1 (or True) prints one line per epoch, e.g.
        ``layer 2/3 epoch 7/15 cost 81.23 (1.40 s)``; 2 shows a progress bar over
        the mini-batches instead, when tqdm is installed.
    warm_start : bool, default=False
        Continue from the current weights when ``fit`` is called again (unless
        ``n_components`` changed: then the fit starts over).
    momentum : float, default=0.0
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Whether "sgd" with momentum uses Nesterov's momentum.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its reconstruction
        score stops improving, and keep the best weights.  ``fit`` only:
        ``partial_fit`` raises, as in ``MLPClassifier``.
    validation_fraction : float, default=0.1
        Fraction of the data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates.
    epsilon : float, default=1e-8
        Numerical stability term of "adagrad", "rmsprop", "adadelta" and "adam".
    rho : float, default=0.95
        Decay rate of the squared-gradient averages of "rmsprop" and "adadelta".
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement before stopping (``np.inf``: never stop early).
    max_fun : int, default=15000
        Maximum number of cost evaluations of "lbfgs".
    n_jobs : int, default=None
        Number of BLAS threads of every matrix product of ``fit``,
        ``partial_fit``, ``transform`` and scoring, whatever the process's BLAS
        limit, so that results depend on ``n_jobs`` but not on where they run.
        None means 1 (also under :func:`joblib.parallel_config`); -1 means all
        cores, -2 all but one; more than the cores means all of them.  Threads
        speed up the matrix products, not the element-wise passes, so they pay
        most for wide layers and large mini-batches: on 2 cores with little
        else running, 2 threads fitted a 784-500 layer 1.08x faster than one at
        batch 20 and 1.43x at batch 128, a (1000, 1000) stack at batch 128
        1.61x.  They do not pay on cores that other processes keep busy, where
        each product waits for its threads: with a load average of 5 to 8 on 2
        cores, 2 threads fitted the same layer 6x (batch 128) to 13x (batch 20)
        slower than one (README, "Threads").

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features_in_)
        Encoder weights W; row j is the filter of hidden unit j.
    intercept_hidden_ : ndarray of shape (n_components,)
        Encoder bias b.
    intercept_visible_ : ndarray of shape (n_features_in_,)
        Decoder bias b'.
    decoder_components_ : ndarray of shape (n_components, n_features_in_)
        Decoder weights W' (code @ W'), present only when ``tied_weights=False``.
    reconstruction_loss_ : str
        The loss in use ("cross_entropy" or "squared_error").
    out_activation_ : str
        The decoder's output activation ("sigmoid" or "identity").
    input_range_ : tuple of float
        The values salt-and-pepper noise writes: (0, 1) with the cross-entropy
        loss, else the minimum and maximum of the first data fitted.
    loss_ : float
        Cost of the last epoch.
    loss_curve_ : list of float
        Cost of each epoch: the mean over its samples of the summed per-feature
        loss (plus the penalties), each mini-batch's mean weighted by its size as
        in ``MLPClassifier`` (with ``sample_weight``, a mini-batch's mean is the
        weighted mean of its rows').
    best_loss_ : float or None
        Lowest epoch cost; None with early stopping, which tracks
        ``best_validation_score_`` instead (as ``MLPClassifier``).
    validation_scores_ : list of float or None
        Validation score (``score`` of the held-out data: minus the mean
        reconstruction divergence) after each epoch, with early stopping.
    best_validation_score_ : float or None
        Best validation score, with early stopping.
    n_iter_ : int
        Number of epochs trained since the last fresh fit: ``warm_start`` fits
        and ``partial_fit`` add to it, as they add to ``loss_curve_`` and ``t_``
        (scikit-learn's MLP counts the last call's epochs only).
    t_ : int
        Number of training samples seen.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from stackeddae import DenoisingAutoencoder
    >>> X = np.random.default_rng(0).random((100, 20))
    >>> dae = DenoisingAutoencoder(n_components=5, max_iter=3, random_state=0)
    >>> dae.fit(X).transform(X).shape
    (100, 5)
    >>> dae.reconstruction_loss_, len(dae.loss_curve_)
    ('cross_entropy', 3)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        **LAYER_CONSTRAINTS,
        "corruption_level": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        n_components=256,
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
    ):
        self.n_components = n_components
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

    # ---------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, converted to ``dtype`` (a copy) if it is not in it.
            A ``numpy.memmap`` or dask array larger than scikit-learn's
            ``working_memory`` is read block by block, never whole (README,
            "Data larger than memory").
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), scaling each row's
            reconstruction loss as in scikit-learn's MLP: a mini-batch's cost is
            the weighted mean of its rows' costs, the L2 penalty
            ``alpha / (2 sum w) ||W||^2``.  Rows of weight 0 are dropped (the fit
            is the fit without them); weights all 1 give the unweighted fit.
            Early stopping's validation score is weighted too.

        Returns
        -------
        self : DenoisingAutoencoder
        """
        with Task.fit(
            self, X, own_target(X, y), self.max_iter, epoch_state=layer_state
        ) as task:
            self._fit(X, incremental=False, task=task, sample_weight=sample_weight)
        return self

    @available_if(is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One epoch over X, continuing from the current weights and optimizer.

        The first call initialises the model (and picks the loss for ``"auto"``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), scaling each row's
            reconstruction loss as in scikit-learn's MLP: a mini-batch's cost is
            the weighted mean of its rows' costs, the L2 penalty
            ``alpha / (2 sum w) ||W||^2``.  Rows of weight 0 are dropped (the fit
            is the fit without them); weights all 1 give the unweighted fit.

        Returns
        -------
        self : DenoisingAutoencoder
        """
        with Task.fit(self, X, own_target(X, y), 1, epoch_state=layer_state) as task:
            self._fit(X, incremental=True, task=task, sample_weight=sample_weight)
        return self

    def _fit(self, X, incremental, label="", warm=None, task=None, sample_weight=None):
        """Train on X; how training stopped (see ``_training.train``).  ``task``:
        the callbacks' task whose subtasks the epochs are."""
        X, _, weights = weighted_rows(X, None, sample_weight)
        warm = self.warm_start if warm is None else warm
        fresh = (
            not hasattr(self, "components_")
            or not (incremental or warm)
            or self.components_.shape[0] != self.n_components  # a new code size
        )
        check_integer_params(self)
        if incremental:
            check_partial_fit_allowed(self)
        X = validate_rows(
            self,
            X,
            incremental=incremental,
            reset=fresh,
            accept_sparse="csr",
            dtype=fit_dtype(self, None if fresh else self.components_),
            order="C",
        )
        check_corruption_level(self.corruption_level, self.corruption)
        if fresh:
            self._initialize(X)
        elif self.reconstruction_loss_ == "cross_entropy":
            check_cross_entropy_range(X, type(self).__name__)
        if weights is not None:  # in the training precision
            weights = weights.astype(X.dtype)
        rows, validation = None, None
        if self.early_stopping and not incremental and self.solver != "lbfgs":
            rows, validation = self._split_validation(X, weights)
        status = train(
            self,
            lambda batch_size, n_train: DAEObjective(self, batch_size),
            X,
            incremental=incremental,
            validation=validation,
            label=label,
            rows=rows,
            task=task,
            sample_weight=weights,
        )
        # kept for inspection, as a plain str (for skops and old pickles)
        self._stop_status = status.value
        return status

    # the weights, whatever fitted state a layer has besides them
    _WEIGHTS = (
        "components_",
        "intercept_hidden_",
        "intercept_visible_",
        "decoder_components_",
    )

    def _initialize(self, X):
        self._rng = new_generator(self.random_state)
        self.reconstruction_loss_ = resolve_loss(self.loss, X, type(self).__name__)
        self.out_activation_ = OUTPUT_ACTIVATIONS[self.reconstruction_loss_]
        if self.reconstruction_loss_ == "cross_entropy":
            self.input_range_ = (0.0, 1.0)
        else:
            self.input_range_ = data_range(X)
        n_features, dtype = X.shape[1], X.dtype
        self.components_ = init_weights(
            self._rng, n_features, self.n_components, self.activation, dtype
        )
        self.intercept_hidden_ = np.zeros(self.n_components, dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype)
        if not self.tied_weights:
            self.decoder_components_ = init_weights(
                self._rng, self.n_components, n_features, self.activation, dtype
            ).T.copy()
        elif hasattr(self, "decoder_components_"):
            del self.decoder_components_
        self._optimizer_state = None
        reset_history(self, self.early_stopping)

    def _split_validation(self, X, weights=None):
        """Training rows, and a scorer of the held-out rows (copied: they are few),
        weighted by their ``weights`` (None: unweighted)."""
        n_valid = max(1, int(round(self.validation_fraction * X.shape[0])))
        if X.shape[0] - n_valid < 1:
            raise ValueError(
                f"early_stopping needs at least 2 samples; got {X.shape[0]}."
            )
        order = self._rng.permutation(X.shape[0])
        valid = np.sort(order[:n_valid])
        X_valid = X[valid]
        w_valid = None if weights is None else weights[valid].astype(np.float64)
        # score's value, from the validated rows: score itself would validate
        # them again and warn of missing feature names after a DataFrame
        return np.sort(order[n_valid:]), lambda: weighted_mean(
            -self._sample_divergences(X_valid), w_valid
        )

    # -------------------------------------------------------------- inference
    def _encode(self, X):
        """Hidden code s(X W^T + b) of validated X (dense or sparse)."""
        return forward(encoder_layers(self), X)

    def _decode_preactivation(self, code):
        """The decoder's output before its activation: code W' + b'."""
        [(weights, bias, _)] = decoder_layers(self)
        return dense(code, weights, bias, "identity")

    def _sample_divergences(self, X, code=None):
        """Per-sample reconstruction cost of validated X less its lowest possible
        value (from ``code`` if given): 0 for a perfect reconstruction."""
        loss = LOSSES[self.reconstruction_loss_]
        minimum_cost = MINIMUM_COSTS[self.reconstruction_loss_]
        costs = np.empty(X.shape[0])
        for rows in gen_batches(X.shape[0], CHUNK_ROWS):
            # In float64 whatever the training precision: a float32 product rounds
            # a row differently alone than among others, and a score should not
            # depend on the batch it is computed in (nor lose digits in its sum).
            chunk = X[rows].toarray() if sp.issparse(X) else X[rows]
            chunk = chunk.astype(np.float64, copy=False)
            c = self._encode(chunk) if code is None else code[rows]
            a = self._decode_preactivation(c).astype(np.float64, copy=False)
            costs[rows] = loss(a, chunk, np.empty_like(a), axis=1)
            costs[rows] -= minimum_cost(chunk)
        return costs

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=self.components_.dtype
        )

    @under_thread_rule
    @in_row_blocks
    def transform(self, X):
        """Hidden code of the clean inputs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        code : ndarray of shape (n_samples, n_components)
        """
        return self._encode(self._validate_for_inference(X))

    @under_thread_rule
    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, e.g. from ``transform``.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        return forward(decoder_layers(self), self._check_code(X))

    def _check_code(self, X):
        code = check_array(X, dtype=self.components_.dtype)
        if code.shape[1] != self.n_components:
            raise ValueError(
                f"X has {code.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self.n_components} features (the "
                "code size, n_components)."
            )
        return code

    @under_thread_rule
    @in_row_blocks
    def score_samples(self, X):
        """Minus the reconstruction divergence of each clean sample (higher is better).

        The reconstruction z of x is scored by how far it is from x, 0 for a perfect
        reconstruction whatever x is: with the cross-entropy loss, minus the KL
        divergence sum_j KL(x_j || z_j) between the Bernoulli distributions of input
        and reconstruction, i.e. minus (the cross-entropy less the input's own
        entropy, with 0 log 0 = 0); with squared error, minus sum_j (x_j - z_j)^2.
        The training cost (``loss_curve_``) is the cross-entropy itself: it differs
        from ``-score`` by the data's mean entropy, which no weights change.

        A good anomaly score: poorly reconstructed samples score low, and, unlike
        the cross-entropy, it does not rank images with more ink as more unusual.
        ``ReconstructionOutlierDetector`` builds an outlier detector on it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            float64, computed in float64 from the weights whatever ``dtype``, so
            that a sample's score does not depend on the rows scored with it.
        """
        return -self._sample_divergences(self._validate_for_inference(X))

    def score(self, X, y=None, sample_weight=None):
        """Mean of ``score_samples``: minus the mean reconstruction divergence.

        The criterion of a grid search and of early stopping (higher is better).

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

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = preserved_dtypes(self.dtype)
        return tags


def layer_state(dae):
    """The fitted state of an autoencoder in training, for the callbacks: its
    weights as they are now (copies: training goes on in place)."""
    return {
        name: getattr(dae, name).copy()
        for name in DenoisingAutoencoder._WEIGHTS
        if hasattr(dae, name)
    }


def layer_snapshot(dae):
    """A copy of an autoencoder in training that keeps its weights as they are now."""
    snapshot = copy.copy(dae)
    for name, value in layer_state(dae).items():
        setattr(snapshot, name, value)
    return snapshot
