"""Supervised stacked denoising autoencoders: pretrain, add a head, fine-tune.

The network is the pretrained encoders followed by a softmax (classification) or
linear (regression) output layer; fine-tuning trains all of it by backpropagation
(Vincent et al. 2010, section 3.5).  Weights use scikit-learn's MLP layout:
``coefs_[i]`` has shape (n_inputs_i, n_outputs_i) and ``X @ coefs_[i]``.
"""

import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._activations import ACTIVATIONS, DERIVATIVES
from ._autoencoder import _is_stochastic
from ._cache import cache_memory
from ._init import init_weights
from ._losses import LOSSES, OUTPUT_ACTIVATIONS, l2_penalty
from ._stacked import StackedDenoisingAutoencoder
from ._threads import under_thread_rule
from ._training import (
    draw_seed,
    effective_batch_size,
    fit_lbfgs,
    fit_stochastic,
    new_generator,
    reset_history,
)
from ._validation import (
    TRAINING_CONSTRAINTS,
    check_hidden_layer_sizes,
    check_integer_params,
    check_partial_fit_allowed,
    fit_dtype,
    preserved_dtypes,
)


class _NetworkObjective:
    """Cost and gradients of the whole network on a mini-batch (fine-tuning)."""

    def __init__(self, net, batch_size):
        self.batch_size = batch_size
        self.n_layers = len(net.coefs_)
        self.params = net.coefs_ + net.intercepts_
        self.grads = [np.empty_like(p) for p in self.params]
        dtype = net.coefs_[0].dtype
        # outputs[i]: activations of layer i+1; the last holds the output's delta
        self.outputs = [np.empty((batch_size, W.shape[1]), dtype) for W in net.coefs_]
        self.deltas = [np.empty_like(out) for out in self.outputs[:-1]]
        self.work = np.empty_like(self.outputs[-1])
        self.ones = np.ones(batch_size, dtype)  # column sums as matrix-vector products
        self.activation = ACTIVATIONS[net.activation]
        self.derivative = DERIVATIVES[net.activation]
        self.loss = LOSSES[net._loss_name]
        self.alpha = net.alpha
        # scratch for the L2 penalty's alpha/m W, as large as the largest weight
        self.l2_work = (
            np.empty(max(W.size for W in net.coefs_), dtype) if net.alpha else None
        )

    def __call__(self, X, Y):
        m, n = X.shape[0], self.n_layers
        coefs, intercepts = self.params[:n], self.params[n:]
        coef_grads, intercept_grads = self.grads[:n], self.grads[n:]
        acts = [X] + [out[:m] for out in self.outputs]

        # forward: encoders, then the head's pre-activation
        for i in range(n):
            np.dot(acts[i], coefs[i], out=acts[i + 1])
            acts[i + 1] += intercepts[i]
            if i < n - 1:
                self.activation(acts[i + 1])
        cost = self.loss(acts[n], Y, self.work[:m], scale=1.0 / m) / m

        # backward: delta holds d(mean cost)/d(pre-activation)
        delta = acts[n]
        ones = self.ones[:m]
        for i in range(n - 1, -1, -1):
            np.dot(acts[i].T, delta, out=coef_grads[i])
            np.dot(ones, delta, out=intercept_grads[i])
            if i > 0:
                below = self.deltas[i - 1][:m]
                np.dot(delta, coefs[i].T, out=below)
                self.derivative(acts[i], below)
                delta = below
        if self.alpha:
            cost += l2_penalty(coefs, coef_grads, self.alpha, m, self.l2_work)
        return cost


# Pretraining gets a pretrain_* parameter of its own for these; for the ones below
# it gets nothing (the stack keeps its default, or the SdA sets it); every other
# parameter of the stack reaches it from the parameter of the same name.
_PRETRAIN_OWN = ["solver", "learning_rate_init", "batch_size", "max_iter", "momentum"]
_FINE_TUNING_ONLY = {
    "alpha",
    "early_stopping",
    "validation_fraction",
    "nesterovs_momentum",
    "warm_start",
    "random_state",
    "hidden_layer_sizes",
}
_NOT_IN_SDA = ["loss", "sparsity_target", "sparsity_weight"]  # the head decides
_PRETRAIN_SHARED = [
    name
    for name in StackedDenoisingAutoencoder._parameter_constraints
    if name not in {*_PRETRAIN_OWN, *_FINE_TUNING_ONLY, *_NOT_IN_SDA}
]


class _BaseSdA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of SdAClassifier and SdARegressor."""

    _parameter_constraints = {
        **StackedDenoisingAutoencoder._parameter_constraints,
        "pretrain": ["boolean"],
    }
    for name in _NOT_IN_SDA:
        del _parameter_constraints[name]
    for name in _PRETRAIN_OWN:
        _parameter_constraints[f"pretrain_{name}"] = TRAINING_CONSTRAINTS[name]
    del name

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        activation="sigmoid",
        pretrain=True,
        corruption="masking",
        corruption_level=0.2,
        tied_weights=True,
        pretrain_solver="adam",
        pretrain_learning_rate_init=0.001,
        pretrain_batch_size=20,
        pretrain_max_iter=5,
        pretrain_momentum=0.0,
        solver="adam",
        alpha=0.001,
        batch_size=128,
        learning_rate="constant",
        learning_rate_init=0.004,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        dtype=np.float32,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        rho=0.95,
        n_iter_no_change=20,
        max_fun=15000,
        n_jobs=None,
        memory=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.pretrain = pretrain
        self.corruption = corruption
        self.corruption_level = corruption_level
        self.tied_weights = tied_weights
        self.pretrain_solver = pretrain_solver
        self.pretrain_learning_rate_init = pretrain_learning_rate_init
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_max_iter = pretrain_max_iter
        self.pretrain_momentum = pretrain_momentum
        self.solver = solver
        self.alpha = alpha
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

    # ---------------------------------------------------------------- fitting
    def pretraining_stack(self):
        """The unfitted :class:`StackedDenoisingAutoencoder` that ``fit`` pretrains.

        Returns
        -------
        stack : StackedDenoisingAutoencoder
        """
        return StackedDenoisingAutoencoder(
            hidden_layer_sizes=self.hidden_layer_sizes,
            **{name: getattr(self, name) for name in _PRETRAIN_SHARED},
            **{name: getattr(self, f"pretrain_{name}") for name in _PRETRAIN_OWN},
        )

    def _fit(self, X, y, incremental, classes=None):
        check_integer_params(self)
        if incremental:
            check_partial_fit_allowed(self)
        self.pretraining_stack()._check_layers()  # also when pretrain=False
        fresh = (
            not hasattr(self, "coefs_")
            or not (incremental or self.warm_start)
            or self._sizes_changed()
        )
        X, Y = self._validate_training_data(X, y, fresh, incremental, classes)
        if fresh:
            self._rng = new_generator(self.random_state)
        rows, validation = None, None
        if self.early_stopping and not incremental and self.solver != "lbfgs":
            rows, validation = self._split_validation(X, Y)
        if fresh:
            # Pretraining sees no held-out rows (one copy, made only then).
            self._stop_status = self._initialize(
                X if rows is None else X[rows], Y.shape[1]
            )
            if self._stop_status == "interrupted":
                return self  # Ctrl-C during pretraining: no fine-tuning either
        if self.solver == "lbfgs":
            objective = _NetworkObjective(self, X.shape[0])
            self._stop_status = fit_lbfgs(self, objective, X, Y, label="fine-tuning ")
        else:
            n_train = X.shape[0] if rows is None else len(rows)
            batch_size = effective_batch_size(self.batch_size, n_train)
            self._stop_status = fit_stochastic(
                self,
                _NetworkObjective(self, batch_size),
                X,
                Y,
                incremental=incremental,
                validation=validation,
                label="fine-tuning ",
                rows=rows,
            )
        return self

    def _sizes_changed(self):
        """Whether hidden_layer_sizes changed since the network was built."""
        built = [W.shape[1] for W in self.coefs_[:-1]]
        return built != check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _initialize(self, X, n_outputs):
        """Pretrained (or random) encoders and a zero head; "interrupted" if Ctrl-C
        stopped pretraining, else "initialized"."""
        sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        dtype = X.dtype
        status = "initialized"
        if self.pretrain:
            stack = self.pretraining_stack()
            # the user's memory (not the resolved joblib.Memory, which would travel
            # into saved models), or None where caching is off
            memory = self.memory if cache_memory(self) is not None else None
            stack.set_params(random_state=int(draw_seed(self._rng)), memory=memory)
            stack._validate_params()
            with warnings.catch_warnings():
                # A fixed pretraining budget is the norm; don't warn per layer.
                warnings.filterwarnings("ignore", message=".*maximum number of epochs")
                if stack._fit(X, incremental=False) == "interrupted":
                    status = "interrupted"
            self.stack_ = stack
            self.coefs_ = [ae.components_.T.copy() for ae in stack.autoencoders_]
            self.intercepts_ = [
                ae.intercept_hidden_.copy() for ae in stack.autoencoders_
            ]
        else:
            self.stack_ = None
            fan_in = [X.shape[1], *sizes[:-1]]
            self.coefs_ = [
                init_weights(self._rng, n_in, n_out, self.activation, dtype).T.copy()
                for n_in, n_out in zip(fan_in, sizes, strict=True)
            ]
            self.intercepts_ = [np.zeros(n, dtype) for n in sizes]
        self.coefs_.append(np.zeros((sizes[-1], n_outputs), dtype))
        self.intercepts_.append(np.zeros(n_outputs, dtype))
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = n_outputs
        self.out_activation_ = OUTPUT_ACTIVATIONS[self._loss_name]
        self._optimizer_state = None
        reset_history(self, self.early_stopping)
        return status

    def _split_validation(self, X, Y):
        """Training rows, and a scorer of the held-out rows (stratified for classes)."""
        n_valid = int(np.ceil(self.validation_fraction * X.shape[0]))
        if n_valid < 2:  # accuracy or R^2 of one sample says nothing
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                f"or the size of your dataset (validation_fraction="
                f"{self.validation_fraction} of {X.shape[0]} samples holds out "
                f"{n_valid}; early stopping needs at least 2)."
            )
        stratify = (
            Y.argmax(axis=1) if self._loss_name == "softmax_cross_entropy" else None
        )
        train, valid = train_test_split(
            np.arange(X.shape[0]),
            test_size=self.validation_fraction,
            stratify=stratify,
            random_state=int(draw_seed(self._rng)),
        )
        train, valid = np.sort(train), np.sort(valid)
        X_valid, Y_valid = X[valid], Y[valid]
        return train, lambda: self._validation_score(X_valid, Y_valid)

    # -------------------------------------------------------------- inference
    def _forward(self, X, n_layers=None):
        """Activations of layer ``n_layers`` (default: the head's pre-activation)."""
        n = len(self.coefs_)
        n_layers = n if n_layers is None else n_layers
        activation = ACTIVATIONS[self.activation]
        H = X
        for i in range(n_layers):
            H = safe_sparse_dot(H, self.coefs_[i], dense_output=True)
            H += self.intercepts_[i]
            if i < n - 1:
                activation(H)
        return H

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        return validate_data(self, X, reset=False, accept_sparse="csr", dtype=dtype)

    @under_thread_rule
    def transform(self, X):
        """Top hidden code of the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        code : ndarray of shape (n_samples, hidden_layer_sizes[-1])
        """
        X = self._validate_for_inference(X)
        return self._forward(X, len(self.coefs_) - 1)

    @property
    def _n_features_out(self):
        return self.coefs_[-1].shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = preserved_dtypes(self.dtype)
        return tags


class SdAClassifier(ClassifierMixin, _BaseSdA):
    """Stacked denoising autoencoder classifier.

    Greedy layer-wise pretraining of a :class:`StackedDenoisingAutoencoder`
    (``pretrain_*`` parameters, ``corruption``, ``corruption_level``), then a
    softmax logistic-regression layer on top and supervised fine-tuning of the whole
    network by backpropagation (the other parameters, as in ``MLPClassifier``).
    ``pretrain=False`` trains the same network from random weights.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Units of each hidden layer.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden activation, in pretraining and fine-tuning.
    pretrain : bool, default=True
        Whether to pretrain the hidden layers as denoising autoencoders.
    corruption : {"masking", "gaussian", "salt_and_pepper"}, default="masking"
        Pretraining noise.
    corruption_level : float or sequence of float, default=0.2
        Pretraining noise level, for all layers or one per layer.
    tied_weights : bool, default=True
        Tied weights in pretraining.
    dtype : {np.float32, np.float64} or None, default=np.float32
        Precision of pretraining, fine-tuning and the fitted weights;
        ``predict_proba``, ``transform`` and the other methods compute in it too,
        converting other inputs (a copy), except that ``SdARegressor.predict``
        computes its linear head in float64 and returns float64.  float32 is
        about twice as fast as float64 and as accurate here; choose np.float64
        for exact arithmetic
        (gradient checks, float64 references).  None trains in the input's
        precision.  ``warm_start`` and ``partial_fit`` keep the first fit's.
    pretrain_solver, pretrain_learning_rate_init, pretrain_batch_size, \
pretrain_max_iter, pretrain_momentum
        Optimizer, step size, mini-batch size, epochs per layer and momentum of
        pretraining (defaults "adam", 0.001, 20, 5, 0.0).
    solver, alpha, batch_size, learning_rate, learning_rate_init, power_t, \
max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, \
nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, \
epsilon, rho, n_iter_no_change, max_fun
        Fine-tuning, as in ``MLPClassifier`` and :class:`DenoisingAutoencoder`
        (defaults "adam", 1e-3, 128, "constant", 0.004, 0.5, 200, True, None, 1e-4,
        False, False, 0.9, True, False, 0.1, 0.9, 0.999, 1e-8, 0.95, 20, 15000).
        ``learning_rate``, ``power_t``, ``shuffle``, ``tol``, ``verbose``,
        ``n_iter_no_change`` and the adaptive solvers' constants apply to
        pretraining too.  Early stopping scores accuracy on the held-out fraction
        (at least 2 samples), for ``fit`` only: ``partial_fit`` raises.  With
        ``solver="lbfgs"``, ``tol`` is the gradient tolerance and a fit stopped by
        ``max_iter``, ``max_fun`` or a failed line search warns.  A
        ``warm_start`` fit needs the classes of the first fit; after a change of
        ``hidden_layer_sizes`` it starts over, pretraining included.
    n_jobs : int, default=None
        Number of BLAS threads of pretraining, fine-tuning and prediction, as in
        :class:`DenoisingAutoencoder` (None: 1; -1: all cores).  More threads pay
        for wide layers and large mini-batches on idle cores (2 threads fitted a
        (1000, 1000) stack at batch 128 1.56x faster than one on 2 cores, a
        784-500 layer at batch 20 only 1.18x), and not at all on cores that
        other processes keep busy (the stack 2.2x slower with a load average of
        5 to 8 on 2 cores; README, "Threads").
    memory : None, str, path or joblib.Memory, default=None
        Cache of the pretrained layers, as in
        :class:`StackedDenoisingAutoencoder` (needs an int ``random_state``).
        Fine-tuning parameters (``solver``, ``alpha``, ``learning_rate_init``,
        ``max_iter``, ...) are not part of a layer's key: a grid search over them
        pretrains once per fold.  The parameters shared with pretraining
        (``learning_rate``, ``power_t``, ``tol``, ``n_iter_no_change``, ``beta_1``,
        ``beta_2``, ``epsilon``, ``rho``, ``max_fun``, ...) are, even where the
        pretraining solver does not use them: a grid over those pretrains again.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        Weights of each layer, ``coefs_[i]`` of shape (n_inputs, n_outputs); the
        last is the softmax head.
    intercepts_ : list of ndarray
        Biases of each layer.
    stack_ : StackedDenoisingAutoencoder or None
        The pretrained stack (its layers' ``loss_curve_`` show pretraining), or
        None with ``pretrain=False``.
    loss_curve_ : list of float
        Fine-tuning cost per epoch (mean cross-entropy per sample).
    loss_, best_loss_, validation_scores_, best_validation_score_, t_
        As in ``MLPClassifier``, for fine-tuning (``best_loss_`` is None with
        early stopping).
    n_iter_ : int
        Fine-tuning epochs since the last fresh fit, counting those of
        ``warm_start`` fits and ``partial_fit`` (as ``loss_curve_`` and ``t_``
        do; ``MLPClassifier`` counts the last call's only).
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs (classes).
    out_activation_ : str
        "softmax".
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from stackeddae import SdAClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SdAClassifier(hidden_layer_sizes=(64,), pretrain_max_iter=2,
    ...                     random_state=0).fit(X[:500] / 16, y[:500])
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    >>> bool(clf.score(X[500:] / 16, y[500:]) > 0.8)
    True
    """

    _loss_name = "softmax_cross_entropy"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain (unless ``pretrain=False``), then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : SdAClassifier
        """
        return self._fit(X, y, incremental=False)

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One fine-tuning epoch over (X, y).

        The first call initialises the network as ``fit`` does (pretraining on this
        first chunk when ``pretrain=True``) and needs ``classes``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call.

        Returns
        -------
        self : SdAClassifier
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def _validate_training_data(self, X, y, fresh, incremental, classes):
        X, y = validate_data(
            self,
            X,
            y,
            reset=fresh,
            accept_sparse="csr",
            dtype=fit_dtype(self, None if fresh else self.coefs_[0]),
            order="C",
        )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if incremental:
            _check_partial_fit_first_call(self, classes)
        elif fresh:
            self.classes_ = np.unique(y)
        elif not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` has "
                f"{np.unique(y)}. Set warm_start=False to fit new classes."
            )
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contain only one class: {self.classes_[0]!r}."
            )
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen before ({unknown.tolist()}); the classes "
                f"are {self.classes_.tolist()}."
            )
        Y = (y[:, None] == self.classes_[None, :]).astype(X.dtype)
        return X, Y

    def _validation_score(self, X, Y):
        return float(np.mean(self._forward(X).argmax(axis=1) == Y.argmax(axis=1)))

    @under_thread_rule
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_for_inference(X)
        return ACTIVATIONS["softmax"](self._forward(X))

    @under_thread_rule
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_for_inference(X)
        A = self._forward(X)
        A -= A.max(axis=1, keepdims=True)
        A -= np.log(np.exp(A).sum(axis=1, keepdims=True))
        return A

    @under_thread_rule
    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X = self._validate_for_inference(X)
        return self.classes_[self._forward(X).argmax(axis=1)]


class SdARegressor(RegressorMixin, _BaseSdA):
    """Stacked denoising autoencoder regressor.

    Pretrained encoders (as in :class:`SdAClassifier`) under a linear output layer
    with the squared-error loss, fine-tuned by backpropagation.  Single and
    multi-output.  The targets are used as given: standardise them (e.g. with
    ``sklearn.compose.TransformedTargetRegressor``) when their scale is far from 1.

    Parameters
    ----------
    hidden_layer_sizes, activation, pretrain, corruption, corruption_level, \
tied_weights, dtype, pretrain_solver, pretrain_learning_rate_init, \
pretrain_batch_size, pretrain_max_iter, pretrain_momentum, solver, alpha, \
batch_size, learning_rate, learning_rate_init, power_t, max_iter, shuffle, \
random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, \
early_stopping, validation_fraction, beta_1, beta_2, epsilon, rho, \
n_iter_no_change, max_fun, n_jobs, memory
        As in :class:`SdAClassifier`, except that early stopping scores R^2.

    Attributes
    ----------
    coefs_, intercepts_, stack_, loss_curve_, loss_, best_loss_, \
validation_scores_, best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, \
n_features_in_, feature_names_in_
        As in :class:`SdAClassifier`; the loss is ``MLPRegressor``'s: half the
        squared error, averaged over samples and outputs (the pretraining
        autoencoders keep their summed reconstruction cost).
    out_activation_ : str
        "identity".

    Examples
    --------
    >>> import numpy as np
    >>> from stackeddae import SdARegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((300, 5))
    >>> y = X @ np.arange(1.0, 6.0) / 5
    >>> reg = SdARegressor(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _loss_name = "half_squared_error"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain (unless ``pretrain=False``), then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : SdARegressor
        """
        return self._fit(X, y, incremental=False)

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One fine-tuning epoch over (X, y); the first call initialises as ``fit``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : SdARegressor
        """
        return self._fit(X, y, incremental=True)

    def _validate_training_data(self, X, y, fresh, incremental, classes=None):
        X, y = validate_data(
            self,
            X,
            y,
            reset=fresh,
            accept_sparse="csr",
            dtype=fit_dtype(self, None if fresh else self.coefs_[0]),
            order="C",
            multi_output=True,
            y_numeric=True,
        )
        if not fresh:
            n_outputs = 1 if y.ndim == 1 else y.shape[1]
            if n_outputs != self.n_outputs_:
                raise ValueError(
                    f"y has {n_outputs} outputs, but {type(self).__name__} was fitted "
                    f"with {self.n_outputs_}."
                )
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        return X, Y

    def _validation_score(self, X, Y):
        residual = ((Y - self._forward(X)) ** 2).sum()
        total = ((Y - Y.mean(axis=0)) ** 2).sum()
        return float(1 - residual / total) if total > 0 else 0.0

    @under_thread_rule
    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            float64, as scikit-learn expects of a regressor's predictions: the
            hidden layers in the training precision (``dtype``), the linear head
            in float64.
        """
        X = self._validate_for_inference(X)
        code = self._forward(X, len(self.coefs_) - 1).astype(np.float64)
        # The linear head in float64, as the predictions are: in float32 a single
        # output's matrix-vector product rounds one row differently from many.
        out = code @ self.coefs_[-1].astype(np.float64)
        out += self.intercepts_[-1]
        return out.ravel() if out.shape[1] == 1 else out
