"""Supervised stacked denoising autoencoders: pretrain, add a head, fine-tune.

The network is the pretrained encoders followed by a softmax (classification) or
linear (regression) output layer; fine-tuning trains all of it by backpropagation
(Vincent et al. 2010, section 3.5).  Weights use scikit-learn's MLP layout:
``coefs_[i]`` has shape (n_inputs_i, n_outputs_i) and ``X @ coefs_[i]``.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
)
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._activations import ACTIVATIONS
from ._cache import cache_memory
from ._callbacks import CallbackSupportMixin, Task, subtask_of
from ._corruption import CORRUPTIONS
from ._features import LayerFeaturesMixin, join_codes
from ._init import init_weights
from ._layers import dense, encoder_layers, forward, layer_outputs
from ._losses import OUTPUT_ACTIVATIONS
from ._objectives import UNLABELED_LOSSES, NetworkObjective, SemiSupervisedObjective
from ._params import PRETRAINING_NAMES, sda_parameters
from ._persistence import LegacyStateMixin
from ._seeds import draw_seed, new_generator
from ._stacked import StackedDenoisingAutoencoder
from ._streaming import check_every_row, in_row_blocks, row_subset, validate_rows
from ._threads import under_thread_rule
from ._training import (
    MixedRows,
    Settings,
    Status,
    reset_history,
    train,
    warn_about_stop,
)
from ._validation import (
    NETWORK_ACTIVATION,
    check_corruption_level,
    check_dropout,
    check_hidden_layer_sizes,
    check_integer_params,
    check_partial_fit_allowed,
    data_range,
    fit_dtype,
    is_nan,
    is_stochastic,
    labeled_rows,
    preserved_dtypes,
    weighted_mean,
    weighted_rows,
)

# Epochs of fine-tuning over which the unlabeled rows' weight ramps up from 0.
UNLABELED_RAMP_EPOCHS = 10

# Label spreading of the "spreading" term: the clamping factor (the weight of the
# neighbours against a row's own label, Zhou et al.'s alpha; 0.99 as Iscen et al.
# 2019) and the iterations (after normalising each row, 1500 gave the same networks
# on the digits' validation rows).
SPREAD_ALPHA = 0.99
SPREAD_ITERATIONS = 300

# fine_tune_corruption_level="auto": the level where fine-tuning trains on unlabeled
# rows, by their term (chosen on validation splits for the spreading term only:
# benchmarks/DEFAULTS.md, sixth round); 0 where it visits labeled rows alone.
# None: the consistency term's own noise, the first layer's corruption_level.
AUTO_FINE_TUNE_NOISE = {
    "spreading": 0.1,
    "entropy": 0.0,
    "pseudo_label": 0.0,
    "consistency": None,
}

# dropout="auto": the rate of every hidden layer where fine-tuning trains on
# unlabeled rows, by their term (chosen for the spreading term only: 0.2 gained
# on validation splits from 60 labeled rows a class, lost 1.8 points on full MNIST
# at 10: benchmarks/DEFAULTS.md, seventh and eighth rounds), from
# AUTO_DROPOUT_LABELED_PER_CLASS labeled rows a class on average; 0 below it and
# where fine-tuning visits labeled rows alone.
AUTO_DROPOUT = {
    "spreading": 0.2,
    "entropy": 0.0,
    "pseudo_label": 0.0,
    "consistency": 0.0,
}
AUTO_DROPOUT_LABELED_PER_CLASS = 30

# The classifier's head for each kind of target (``type_of_target``): its loss, whose
# canonical output activation follows.  A multi-label indicator matrix gets
# independent sigmoid outputs, as in MLPClassifier.
HEAD_LOSSES = {
    "binary": "softmax_cross_entropy",
    "multiclass": "softmax_cross_entropy",
    "multilabel-indicator": "cross_entropy",
}


class _NoisyInputs:
    """A fine-tuning objective whose mini-batch input is corrupted first
    (``fine_tune_corruption_level`` of ``corruption``), the targets unchanged."""

    def __init__(self, net, batch_size, **kwargs):
        super().__init__(net, batch_size, **kwargs)
        W = net.coefs_[0]
        self.noisy = np.empty((batch_size, W.shape[0]), W.dtype)
        self.noise = CORRUPTIONS[net.corruption]
        self.noise_level = net.fine_tune_corruption_level_
        self.noise_range = getattr(net, "_noise_range", (0.0, 1.0))
        self.noise_rng = net._rng
        if getattr(self, "corrupted", None) is not None:
            # the consistency term corrupts every input already: one noise, at
            # this level, not two compounded
            self.level, self.noise = self.noise_level, None

    def inputs(self, X, m):
        X = super().inputs(X, m)
        if self.noise is None:
            return X
        noisy = self.noisy[:m]
        return self.noise(X, self.noise_level, self.noise_rng, noisy, *self.noise_range)


class _NoisyNetworkObjective(_NoisyInputs, NetworkObjective):
    pass


class _NoisySemiSupervisedObjective(_NoisyInputs, SemiSupervisedObjective):
    pass


# The fine-tuning objective: (unlabeled rows train, input noise) -> its class.
OBJECTIVES = {
    (False, False): NetworkObjective,
    (True, False): SemiSupervisedObjective,
    (False, True): _NoisyNetworkObjective,
    (True, True): _NoisySemiSupervisedObjective,
}


class _BaseSdA(
    CallbackSupportMixin,
    LegacyStateMixin,
    LayerFeaturesMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared machinery of SdAClassifier and SdARegressor."""

    # as the stack's parameter of the same name, or the one a pretrain_x sets
    _parameter_constraints = {
        name: StackedDenoisingAutoencoder._parameter_constraints[
            PRETRAINING_NAMES.get(name, name)
        ]
        for name in sda_parameters()
        if name not in ("pretrain", "unlabeled_label", "dropout")
    }
    # a rate for every hidden layer or one per layer (checked in fit); "auto": 0,
    # or a rate of its own where fine-tuning trains on unlabeled rows
    _parameter_constraints["dropout"] = [
        Interval(Real, 0, 1, closed="left"),
        "array-like",
        StrOptions({"auto"}),
    ]
    _parameter_constraints["pretrain"] = ["boolean"]
    # "auto": 0, or a level of its own where fine-tuning trains on unlabeled rows
    _parameter_constraints["fine_tune_corruption_level"] = [
        Interval(Real, 0, None, closed="left"),
        StrOptions({"auto"}),
    ]
    # one activation for the whole network (a stack's may be one per layer)
    _parameter_constraints["activation"] = NETWORK_ACTIVATION

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
        dropout="auto",
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
        transform_layers="top",
        unlabeled_label=None,
        fine_tune_corruption_level="auto",
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
        self.dropout = dropout
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
        self.unlabeled_label = unlabeled_label
        self.fine_tune_corruption_level = fine_tune_corruption_level

    # ---------------------------------------------------------------- fitting
    def pretraining_stack(self):
        """The unfitted :class:`StackedDenoisingAutoencoder` that ``fit`` pretrains.

        Returns
        -------
        stack : StackedDenoisingAutoencoder
        """
        return StackedDenoisingAutoencoder(
            **{
                stack_name: getattr(self, name)
                for name, stack_name in PRETRAINING_NAMES.items()
            }
        )

    def _inputs_range(self, X):
        """The inputs' range, which salt-and-pepper noise in fine-tuning writes:
        the pretraining's record of it, else X's own (as a DAE records it)."""
        stack = getattr(self, "stack_", None)
        if stack is not None:
            return stack.autoencoders_[0].input_range_
        if self.corruption != "salt_and_pepper":  # the only noise that reads it
            return (0.0, 1.0)
        return data_range(X)

    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        X, y, weights = weighted_rows(X, y, sample_weight)
        check_integer_params(self)
        level = self.fine_tune_corruption_level
        if level != "auto":  # "auto"'s levels are in every corruption's range
            check_corruption_level(
                level, self.corruption, name="fine_tune_corruption_level"
            )
        dropout = self.dropout
        if not isinstance(dropout, str):  # "auto"'s rates are in range, 0 for lbfgs
            n_hidden = len(check_hidden_layer_sizes(self.hidden_layer_sizes))
            dropout = check_dropout(dropout, n_hidden)
        noisy = {
            "fine_tune_corruption_level": level != "auto" and level > 0,
            "dropout": dropout != "auto" and any(dropout),
        }
        for name, on in noisy.items():
            if on and self.solver == "lbfgs":
                raise ValueError(
                    f"{name} > 0 draws new noise at every step, which the "
                    "full-batch solver='lbfgs' cannot follow (its line search "
                    "would stop early on the noise); choose a mini-batch solver "
                    f"('sgd', 'adam', ...) or {name}=0."
                )
        if incremental:
            check_partial_fit_allowed(self)
        self.pretraining_stack()._check_layers()  # also when pretrain=False
        fresh = (
            not hasattr(self, "coefs_")
            or not (incremental or self.warm_start)
            or self._sizes_changed()
        )
        X_given, y_given = X, y
        X, Y, labeled = self._validate_training_data(X, y, fresh, incremental, classes)
        if labeled is not None:  # before pretraining, which would read X whole
            check_every_row(X)
        if weights is not None:  # in the training precision
            weights = weights.astype(X.dtype)
        pretraining = fresh and self.pretrain
        with Task.fit(self, X_given, y_given, 1 + pretraining) as task:
            self._train(X, Y, labeled, fresh, incremental, task, weights)
        return self

    def _train(self, X, Y, labeled, fresh, incremental, task, weights=None):
        """Pretrain (when ``fresh``) and fine-tune on validated data, its rows
        weighted by ``weights`` (None: unweighted), as the callbacks' subtasks of
        ``task``."""
        if fresh:
            self._rng = new_generator(self.random_state)
        rows, validation = None, None
        if self.early_stopping and not incremental and self.solver != "lbfgs":
            rows, validation = self._split_validation(X, Y, labeled, weights)
        if fresh:
            # Pretraining sees no held-out rows (a copy of the others, made only
            # then; a cast X reads them where they are).
            status = self._initialize(
                X if rows is None else row_subset(X, rows),
                Y.shape[1],
                task,
                weights if rows is None or weights is None else weights[rows],
            )
            if status == Status.INTERRUPTED:
                self._stop_status = status.value
                return  # Ctrl-C during pretraining: no fine-tuning either
        if fresh or not hasattr(self, "_noise_range"):
            self._noise_range = self._inputs_range(X)
        semi_supervised = spreading = False
        if self.solver == "lbfgs":
            if labeled is not None:  # the full batch: the labeled rows
                X, Y = X[labeled], Y[labeled]
                weights = None if weights is None else weights[labeled]
        else:
            rows, semi_supervised = self._fine_tuning_rows(rows, labeled)
            if rows is not None:
                check_every_row(X)
            spreading = semi_supervised and self.unlabeled_loss == "spreading"
        self.fine_tune_corruption_level_ = self._fine_tune_noise(semi_supervised)
        self.dropout_ = self._fine_tune_dropout(rows if semi_supervised else None)

        kind = OBJECTIVES[semi_supervised, self.fine_tune_corruption_level_ > 0]
        dropout = check_dropout(self.dropout_, len(self.coefs_) - 1)

        def objective(batch_size, n_train):
            if semi_supervised:
                ramp = UNLABELED_RAMP_EPOCHS * n_train
                return kind(self, batch_size, ramp=ramp, dropout=dropout)
            return kind(self, batch_size, dropout=dropout)

        # Under the spreading term, each round spreads the labels over the codes
        # of the network as it is, then fine-tunes on them (continuing the last
        # round's weights): Iscen et al. 2019's alternation.  One pass in a
        # partial_fit call.
        rounds = 1
        if spreading and not incremental:
            rounds = self.unlabeled_rounds
        with task.subtask(
            "fine-tuning",
            max_subtasks=1 if incremental else self.max_iter * rounds,
            state=functools.partial(network_state, self),
            epoch_state=network_state,
        ) as phase:
            status = self._fine_tune_rounds(
                rounds,
                spreading,
                train_args=(objective, X, Y),
                train_kwargs=dict(
                    incremental=incremental,
                    validation=validation,
                    label="fine-tuning ",
                    rows=rows,
                    task=phase,
                    sample_weight=weights,
                ),
            )
        self._stop_status = status.value  # a plain str, for skops and old pickles

    def _fine_tune_noise(self, semi_supervised):
        """``fine_tune_corruption_level`` resolved: "auto" is 0 unless fine-tuning
        trains on unlabeled rows (``semi_supervised``), then their term's level."""
        level = self.fine_tune_corruption_level
        if level == "auto":
            level = AUTO_FINE_TUNE_NOISE[self.unlabeled_loss] if semi_supervised else 0
            if level is None:
                level = np.ravel(self.corruption_level)[0]
        return float(level)

    def _fine_tune_dropout(self, mixed):
        """``dropout`` resolved (a float, or one per hidden layer as given): "auto"
        is 0 unless fine-tuning trains on unlabeled rows (``mixed``, the
        ``MixedRows`` of its epochs; None where it does not) and the labeled rows
        it trains on (early stopping's held-out rows not counted) number at least
        ``AUTO_DROPOUT_LABELED_PER_CLASS`` a class of ``classes_`` on average, then
        their term's rate."""
        dropout = self.dropout
        if isinstance(dropout, str):  # "auto"
            enough = mixed is not None and (
                len(mixed.labeled) / len(self.classes_)
                >= AUTO_DROPOUT_LABELED_PER_CLASS
            )
            dropout = AUTO_DROPOUT[self.unlabeled_loss] if enough else 0
        if np.ndim(dropout) == 0:
            return float(dropout)
        return [float(rate) for rate in dropout]

    def _fine_tune_rounds(self, rounds, spreading, train_args, train_kwargs):
        """Fine-tune in ``rounds`` rounds, each on labels spread afresh (with the
        spreading term); the status of the last.

        The ``tol`` rule starts afresh each round: the cost of new targets is not
        comparable with the last round's.  Early stopping's validation score is
        (the held-out labeled rows): the best score carries over the rounds, and
        each round ends on the best weights of any round so far.  Only the last
        round's ConvergenceWarning is shown: the fit goes on after the others.
        """
        X, Y = train_args[1:]
        rows = train_kwargs["rows"]
        early_stopping = train_kwargs["validation"] is not None
        params = self.coefs_ + self.intercepts_
        best_score, best = -np.inf, None
        for round_ in range(rounds):
            if spreading:
                try:
                    self._spread_targets(X, Y, rows)
                except KeyboardInterrupt:  # a large X's graph takes minutes
                    status = Status.INTERRUPTED
                    warn_about_stop(
                        status,
                        Settings.from_estimator(self, "fine-tuning "),
                        self,
                        incremental=False,
                    )
                    break
            if round_:
                self._no_improvement_count = 0
                if not early_stopping:
                    self.best_loss_ = np.inf
            with warnings.catch_warnings():
                if round_ < rounds - 1:
                    warnings.simplefilter("ignore", ConvergenceWarning)
                status = train(self, *train_args, **train_kwargs)
            if early_stopping and rounds > 1:
                if self.best_validation_score_ > best_score:
                    best_score = self.best_validation_score_
                    best = [p.copy() for p in params]
                else:  # this round found no better weights
                    for p, kept in zip(params, best, strict=True):
                        np.copyto(p, kept)
            if status not in (Status.CONVERGED, Status.MAX_ITER):
                break  # diverged, interrupted or stopped by a callback
        return status

    def _fine_tuning_rows(self, rows, labeled):
        """The rows an epoch of fine-tuning visits (None: all of X), and whether
        it trains on unlabeled rows too.

        ``rows`` are the training rows (None: all), ``labeled`` the mask of the
        labeled ones (None: all).  With an unlabeled term, an epoch is a pass
        over the labeled rows mixed with as many unlabeled ones (as in Lee 2013's
        mini-batches of both kinds: ``MixedRows``), else the labeled rows alone.
        """
        if labeled is None:
            return rows, False
        train = np.arange(len(labeled)) if rows is None else rows
        is_labeled = labeled[train]
        labeled, unlabeled = train[is_labeled], train[~is_labeled]
        if not (unlabeled.size and getattr(self, "unlabeled_weight", 0)):
            return labeled, False
        return MixedRows(labeled, unlabeled), True

    def _spread_targets(self, X, Y, rows):
        """Put in the unlabeled rows of Y, in place, the class distributions that
        label spreading gives them over the network's codes, times
        ``unlabeled_weight``.

        The graph is the k nearest neighbours of the training rows (``rows``, a
        ``MixedRows``) in every hidden layer's code, concatenated: after
        pretraining, a space where the classes lie further apart than in the
        inputs (on the bundled digits the spread labels were 3-4 points more
        accurate than over the pixels), after fine-tuning one that the labels
        have shaped.  Each training row is one node of the graph, whatever its
        sample weight (the weights scale the rows' terms in fine-tuning).
        """
        train = np.concatenate([rows.labeled, rows.unlabeled])
        codes = np.hstack(list(self._hidden_codes(X[train])))
        k = min(self.unlabeled_neighbors, len(train) - 1)  # a small chunk
        spread = spread_labels(codes, Y[rows.labeled], k)
        spread *= self.unlabeled_weight
        Y[rows.unlabeled] = spread[len(rows.labeled) :]

    def _sizes_changed(self):
        """Whether hidden_layer_sizes changed since the network was built."""
        built = [W.shape[1] for W in self.coefs_[:-1]]
        return built != check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _initialize(self, X, n_outputs, task=None, sample_weight=None):
        """Pretrained (or random) encoders and a zero head; ``Status.INTERRUPTED``
        if Ctrl-C stopped pretraining, else None.  Pretraining is the callbacks'
        subtask "pretraining" of ``task`` (its layers, the stack's own tasks);
        ``sample_weight``: the rows' weights in pretraining."""
        sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        dtype = X.dtype
        status = None
        if self.pretrain:
            stack = self.pretraining_stack()
            # the user's memory (not the resolved joblib.Memory, which would travel
            # into saved models), or None where caching is off
            memory = self.memory if cache_memory(self) is not None else None
            stack.set_params(random_state=int(draw_seed(self._rng)), memory=memory)
            stack._validate_params()
            n_tasks = len(sizes) + (stack.fine_tune_max_iter > 0)
            with (
                warnings.catch_warnings(),
                subtask_of(task, "pretraining", n_tasks) as pretraining,
            ):
                # A fixed pretraining budget is the norm; don't warn per layer.
                warnings.filterwarnings("ignore", message=".*maximum number of epochs")
                fitted = stack._fit(
                    X,
                    incremental=False,
                    parent=pretraining,
                    sample_weight=sample_weight,
                )
                if fitted == Status.INTERRUPTED:
                    status = Status.INTERRUPTED
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

    def _split_validation(self, X, Y, labeled=None, weights=None):
        """Training rows, and a scorer of the held-out rows (stratified for classes).

        The held-out rows are drawn from the labeled rows; the unlabeled ones all
        train.  With ``weights`` the score is weighted (the split is not: as in
        ``MLPClassifier``, the rows are drawn whatever their weights).
        """
        candidates = np.arange(X.shape[0])
        if labeled is not None:
            candidates = candidates[labeled]
        n_valid = int(np.ceil(self.validation_fraction * len(candidates)))
        if n_valid < 2:  # accuracy or R^2 of one sample says nothing
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                f"or the size of your dataset (validation_fraction="
                f"{self.validation_fraction} of {len(candidates)} labeled samples "
                f"holds out {n_valid}; early stopping needs at least 2)."
            )
        # one class per row: stratified (as MLPClassifier, not for multi-label)
        stratify = (
            Y[candidates].argmax(axis=1)
            if self._loss_name == "softmax_cross_entropy"
            else None
        )
        train, valid = train_test_split(
            candidates,
            test_size=self.validation_fraction,
            stratify=stratify,
            random_state=int(draw_seed(self._rng)),
        )
        valid = np.sort(valid)
        if labeled is None:
            train = np.sort(train)
        else:  # every row but the held-out ones
            train = np.setdiff1d(np.arange(X.shape[0]), valid)
        X_valid, Y_valid = X[valid], Y[valid]
        w_valid = None if weights is None else weights[valid].astype(np.float64)
        return train, lambda: self._validation_score(X_valid, Y_valid, w_valid)

    # -------------------------------------------------------------- inference
    def _forward(self, X, n_layers=None):
        """Activations of layer ``n_layers`` (default: the head's pre-activation)."""
        return forward(encoder_layers(self)[:n_layers], X)

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        return validate_data(self, X, reset=False, accept_sparse="csr", dtype=dtype)

    @under_thread_rule
    @in_row_blocks
    def transform(self, X):
        """Top hidden code of the fine-tuned network, or every hidden layer's.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        code : ndarray of shape (n_samples, n_features_out)
            ``hidden_layer_sizes[-1]`` columns with ``transform_layers="top"``,
            ``sum(hidden_layer_sizes)`` with "all" (the first hidden layer first).
        """
        X = self._validate_for_inference(X)
        return join_codes(
            self._hidden_codes(X), len(self.coefs_) - 1, self.transform_layers
        )

    def _hidden_codes(self, X):
        """Each hidden layer's activations of validated X, bottom to top."""
        return layer_outputs(encoder_layers(self)[:-1], X)

    def _hidden_sizes(self):
        return [W.shape[1] for W in self.coefs_[:-1]]

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
    ``pretrain=False`` trains the same network from random weights.  Fitted on a
    multi-label indicator matrix, the head is one sigmoid per label under the
    binary cross-entropy, as in ``MLPClassifier``: ``predict`` returns the
    indicator matrix of the labels whose probability is above 0.5,
    ``predict_proba`` each label's probability, ``score`` and early stopping the
    subset accuracy (the held-out rows are then not stratified).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Units of each hidden layer.
    activation : {"sigmoid", "tanh", "relu", "identity"}, default="sigmoid"
        Hidden activation, in pretraining and fine-tuning ("identity": linear
        hidden layers, as ``MLPClassifier``'s, pretrained as linear
        autoencoders).
    pretrain : bool, default=True
        Whether to pretrain the hidden layers as denoising autoencoders.
    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"}, \
default="masking"
        Pretraining noise, as in :class:`DenoisingAutoencoder`.
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
    dropout : float, sequence of float or "auto", default="auto"
        Dropout of the hidden units while fine-tuning (Hinton et al. 2012,
        Srivastava et al. 2014): at each step each unit of a hidden layer is
        dropped (its output set to 0) with this probability, afresh for every
        row, and the units kept are scaled by ``1 / (1 - dropout)`` (inverted
        dropout), so that ``predict`` and the other methods use the whole
        network unchanged.  One rate for every hidden layer, or one per hidden
        layer; the input is not dropped (``fine_tune_corruption_level`` masks
        it), nor the head.  Fine-tuning only: pretraining, which trains each
        layer as a denoising autoencoder, and prediction are not affected.  The
        masks come from the fit's random generator (``random_state``), so that
        an int seed gives the same fit.  With unlabeled rows (``unlabeled_label``)
        it applies to every row the fine-tuning visits (the "consistency" term's
        clean prediction, its target, is made without it; the "pseudo_label"
        term's class is the dropped network's).  ``solver="lbfgs"``
        refuses a rate above 0, as it does ``fine_tune_corruption_level``.  0
        fine-tunes the whole network.  "auto" (the default) is 0 where
        fine-tuning visits labeled rows only (every fit without unlabeled rows,
        ``unlabeled_weight=0``, ``solver="lbfgs"``), and where it trains on
        unlabeled rows with ``unlabeled_loss="spreading"`` 0.2 once the labeled
        rows it trains on number at least 30 a class on average (``n_labeled /
        n_classes``: early stopping's held-out rows not counted, every class of
        ``classes_`` counted), else 0 (0 with the other terms, whose defaults
        were chosen without it);
        ``dropout_`` holds the rate used, and ``partial_fit`` resolves "auto" at
        each call, from its chunk's rows.  On validation splits of the training
        rows, 0.2 beside the "auto" input noise took the spreading term on the
        bundled digits from 0.938 to 0.946 at 600 labels and from 0.950 to 0.953
        at 1000, and on full MNIST from 0.957 to 0.964 at 1000 labels, but from
        0.918 to 0.900 at 100 (10 a class; level on the digits there), hence the
        threshold; on fresh draws it then gained 0.1, 0.9 and -0.03 points on the
        digits at 600, 1000 and 2250 labels and 0.6 and 0.8 on full MNIST at 1000
        and 3000 (``benchmarks/DEFAULTS.md``, seventh and eighth rounds).
    n_jobs : int, default=None
        Number of BLAS threads of pretraining, fine-tuning and prediction, as in
        :class:`DenoisingAutoencoder` (None: 1; -1: all cores).  More threads pay
        for wide layers and large mini-batches on idle cores (2 threads fitted a
        (1000, 1000) stack at batch 128 1.61x faster than one on 2 cores, a
        784-500 layer at batch 20 only 1.08x), and not at all on cores that
        other processes keep busy (the stack 2.2x slower with a load average of
        5 to 8 on 2 cores; README, "Threads").
    memory : None, str, path or joblib.Memory, default=None
        Cache of the pretrained layers, as in
        :class:`StackedDenoisingAutoencoder` (needs an int ``random_state``).
        Fine-tuning parameters (``solver``, ``alpha``, ``learning_rate_init``,
        ``max_iter``, ...) and ``transform_layers`` are not part of a layer's key:
        a grid search over them pretrains once per fold.  The parameters shared
        with pretraining (``learning_rate``, ``power_t``, ``tol``,
        ``n_iter_no_change``, ``beta_1``, ``beta_2``, ``epsilon``, ``rho``,
        ``max_fun``, ...) are part of it where the pretraining solver reads them
        only: under ``pretrain_solver="adam"`` a grid over ``beta_1`` pretrains
        again, over ``rho`` it does not.  The key holds the rows of X, not y:
        fits on the same rows with other labels, or other rows unlabeled, share
        their pretraining.
    transform_layers : {"top", "all"}, default="top"
        What ``transform`` returns: the fine-tuned network's top hidden layer, or
        every hidden layer's activations concatenated bottom to top, named by
        layer and unit, as in :class:`StackedDenoisingAutoencoder` (which
        ``stack_`` is fitted with).  Training and predictions do not depend on it.
    unlabeled_label : int, float, str or None, default=None
        The label of the rows without one, e.g. -1 as in
        ``sklearn.semi_supervised``: pretraining uses every row, the supervised
        loss the labeled ones only, ``classes_`` never holds the marker, and
        ``score`` and early stopping (its held-out rows drawn from the labeled
        rows) use the labeled rows.  None: every label is a class, as in any
        scikit-learn classifier (so {-1, +1} stays a binary problem); a fit where
        -1 labels most rows of three or more classes then warns.
    unlabeled_loss : {"spreading", "entropy", "pseudo_label", "consistency"}, \
default="spreading"
        The fine-tuning term of an unlabeled row: the cross-entropy against the
        class distribution that label spreading (Zhou et al. 2004, over a
        symmetric k-nearest-neighbours graph, clamping factor 0.99, 300 steps)
        gives it over the network's codes of the training rows, every hidden
        layer's, at the start of each round of fine-tuning ("spreading",
        ``unlabeled_rounds``; the pretrained codes in the first round of a fresh
        fit, the fine-tuned ones after, in a ``warm_start`` fit or a later
        ``partial_fit`` call, over its chunk); against the network's own most
        probable class ("pseudo_label", Lee 2013); the entropy of its
        prediction ("entropy", Grandvalet & Bengio 2005); or the cross-entropy
        of its prediction under the pretraining's corruption (``corruption``,
        the first layer's ``corruption_level``) against its prediction on the
        clean row ("consistency", the Pi-model of Laine & Aila 2017; every row's
        input, labeled ones included, is then corrupted).
    unlabeled_weight : float, default=1.0
        Weight of that term against the labeled rows' cross-entropy; the terms
        computed from the network's own predictions reach it after a linear ramp
        over the first 10 epochs ("spreading", whose targets come from the
        graph, at once).  0 fine-tunes on the labeled rows alone.  With a
        positive weight and unlabeled rows, an epoch is a pass over the labeled
        rows mixed with as many unlabeled rows (all of them at most), taken in
        turn.  ``solver="lbfgs"`` fine-tunes on the labeled rows alone.  On
        validation splits of the training rows of the bundled digits, the
        spreading term at weight 1 took fine-tuning after pretraining on every
        row from 0.695 to 0.769 at 50 labels, from 0.796 to 0.854 at 100 and
        from 0.918 to 0.930 at 1000, and changed nothing at 2000 (0.953 /
        0.951); the entropy term at 0.3 gained 1.7 points at 50 labels per class
        and lost 4.7 at 5 per class (``benchmarks/DEFAULTS.md``).
    unlabeled_neighbors : int, default=7
        Neighbours of each row in the spreading term's graph (two rows are
        joined where either is among the other's nearest; fewer in a
        ``partial_fit`` chunk of fewer rows).
    unlabeled_rounds : int, default=3
        Rounds of the spreading term in ``fit``: each spreads the labels over
        the codes of the network as it is (the pretrained one first), then
        fine-tunes on them, continuing from the last round's weights with a
        fresh optimizer (its moments and adaptive step start over), as in
        Iscen et al. 2019.  Each round runs up to ``max_iter`` epochs (so up to
        ``max_iter * unlabeled_rounds`` in all; ``n_iter_`` counts them all)
        under the ``tol`` rule, which starts afresh each round (``best_loss_``
        is the last round's); with ``early_stopping`` the best validation
        score carries over the rounds, and the fit ends on the best weights of
        any round.  Later rounds spread over codes that the labels have shaped:
        on validation splits of the training rows, the symmetric graph and 3
        rounds took the bundled digits from 0.841 / 0.920 / 0.932 (the former
        default, ``LabelSpreading`` spread once) to 0.886 / 0.935 / 0.937 at
        100 / 600 / 1000 labels, and full MNIST from 0.868 / 0.947 to 0.917 /
        0.958 at 100 / 1000 labels; 3 rounds against 1 at clamping factor 0.8,
        0.845 to 0.870 on the digits at 100 labels (``benchmarks/DEFAULTS.md``,
        fifth round).  1: one spreading, over the pretrained codes.  A
        ``partial_fit`` call spreads once, over its chunk.
    fine_tune_corruption_level : float or "auto", default="auto"
        Noise (of type ``corruption``) on the input of every fine-tuning
        mini-batch, drawn afresh at each step, the targets unchanged: the
        pretraining's denoising criterion kept as a regulariser of the whole
        network (as :class:`StackedDenoisingAutoencoder`'s parameter of the same
        name).  ``predict`` and the other methods see clean inputs.  0
        fine-tunes on the clean inputs.  "auto" (the default) is 0 where
        fine-tuning visits labeled rows only (every fit without unlabeled rows,
        ``unlabeled_weight=0``, ``solver="lbfgs"``), and 0.1 where it trains on
        unlabeled rows with ``unlabeled_loss="spreading"`` (0 with "entropy" and
        "pseudo_label", whose defaults were chosen without noise; the first
        layer's ``corruption_level`` with "consistency", its own noise);
        ``fine_tune_corruption_level_`` holds the level used.  ``partial_fit``
        resolves "auto" at each call, from its chunk's rows.  On validation
        splits of the training rows, 0.1 against 0 took the spreading term on
        the bundled digits from 0.935 to 0.938 at 600 labels and from 0.937 to
        0.950 at 1000 (0.886 to 0.879 at 100), and on full MNIST from 0.917 to
        0.918 at 100 labels (0.958 to 0.957 at 1000); 0.2 lost 1.2 points on
        full MNIST at 100 labels (``benchmarks/DEFAULTS.md``, sixth round).  With
        ``unlabeled_loss="consistency"``, whose term corrupts every input already,
        this level replaces the first layer's ``corruption_level`` there (one
        noise, not two).  ``solver="lbfgs"`` refuses a level above 0 (fresh
        noise at each evaluation would stop its line search early; "auto" is 0
        there).  On full MNIST (SdA-3, the
        paper's validation split; ``benchmarks/DEFAULTS.md``, "the tuned
        recipe"), masking 0.2 with shuffled rows reached 1.52% validation error
        in 17 epochs, where the clean tutorial recipe's best of 36 was 1.57%,
        and 1.32% with the step divided on stalls (``learning_rate="adaptive"``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels; for multi-label, ``arange(n_labels)`` as in
        ``MLPClassifier`` (``partial_fit``: its first ``classes``).
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix.
    coefs_ : list of ndarray
        Weights of each layer, ``coefs_[i]`` of shape (n_inputs, n_outputs); the
        last is the head (softmax; one sigmoid per label for multi-label).
    intercepts_ : list of ndarray
        Biases of each layer.
    stack_ : StackedDenoisingAutoencoder or None
        The pretrained stack (its layers' ``loss_curve_`` show pretraining), or
        None with ``pretrain=False``.
    loss_curve_ : list of float
        Fine-tuning cost per epoch: the mean cross-entropy per sample (plus the
        L2 penalty), each mini-batch's mean weighted by its size as in
        ``MLPClassifier``.  With unlabeled rows and a positive
        ``unlabeled_weight``, the mean is over the rows the epoch visits, the
        unlabeled ones costing their weighted term.
    loss_, best_loss_, validation_scores_, best_validation_score_, t_
        As in ``MLPClassifier``, for fine-tuning (``best_loss_`` is None with
        early stopping).
    n_iter_ : int
        Fine-tuning epochs since the last fresh fit, counting those of
        ``warm_start`` fits and ``partial_fit`` (as ``loss_curve_`` and ``t_``
        do; ``MLPClassifier`` counts the last call's only).
    fine_tune_corruption_level_ : float
        The noise level of the last fine-tuning (``fit`` or ``partial_fit``
        call): ``fine_tune_corruption_level``, "auto" resolved.
    dropout_ : float or list of float
        The dropout rate of the last fine-tuning: ``dropout`` (one for every
        hidden layer, or one per hidden layer as given), "auto" resolved.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs (classes, or labels for multi-label).
    out_activation_ : str
        "softmax", or "sigmoid" for multi-label.
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

    _parameter_constraints = {
        **_BaseSdA._parameter_constraints,
        "unlabeled_label": [None, Real, str],
        "unlabeled_loss": [StrOptions(set(UNLABELED_LOSSES))],
        "unlabeled_weight": [Interval(Real, 0, None, closed="left")],
        "unlabeled_neighbors": [Interval(Integral, 1, None, closed="left")],
        "unlabeled_rounds": [Interval(Integral, 1, None, closed="left")],
    }

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
        dropout="auto",
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
        transform_layers="top",
        unlabeled_label=None,
        unlabeled_loss="spreading",
        unlabeled_weight=1.0,
        unlabeled_neighbors=7,
        unlabeled_rounds=3,
        fine_tune_corruption_level="auto",
    ):
        super().__init__(
            hidden_layer_sizes,
            activation=activation,
            pretrain=pretrain,
            corruption=corruption,
            corruption_level=corruption_level,
            tied_weights=tied_weights,
            pretrain_solver=pretrain_solver,
            pretrain_learning_rate_init=pretrain_learning_rate_init,
            pretrain_batch_size=pretrain_batch_size,
            pretrain_max_iter=pretrain_max_iter,
            pretrain_momentum=pretrain_momentum,
            solver=solver,
            alpha=alpha,
            dropout=dropout,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            dtype=dtype,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            rho=rho,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            n_jobs=n_jobs,
            memory=memory,
            transform_layers=transform_layers,
            unlabeled_label=unlabeled_label,
            fine_tune_corruption_level=fine_tune_corruption_level,
        )
        self.unlabeled_loss = unlabeled_loss
        self.unlabeled_weight = unlabeled_weight
        self.unlabeled_neighbors = unlabeled_neighbors
        self.unlabeled_rounds = unlabeled_rounds

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Pretrain (unless ``pretrain=False``), then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A ``numpy.memmap`` or dask array larger than scikit-learn's
            ``working_memory`` is read block by block, never whole (README,
            "Data larger than memory").
        y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_labels)
            Class labels (at least two classes), and ``unlabeled_label`` for the
            rows without one: pretraining uses every row, the supervised loss the
            labeled rows.  Or a multi-label indicator matrix (0/1, one column a
            label; ``unlabeled_label`` must then be None).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), as in
            ``MLPClassifier``: each row's loss is scaled by its weight in
            pretraining (every layer) and fine-tuning, a mini-batch's cost being
            the weighted mean of its rows' and the L2 penalty
            ``alpha / (2 sum w) ||W||^2``; early stopping's validation score is
            weighted too.  Rows of weight 0 are dropped (the fit is the fit
            without them); weights all 1 give the unweighted fit.  An unlabeled
            row's weight scales its reconstruction loss in pretraining and, where
            fine-tuning visits unlabeled rows (``unlabeled_weight > 0``, not
            "lbfgs"), its unlabeled term (``unlabeled_loss``, after the ramped
            ``unlabeled_weight``), counting in a mini-batch's total weight as a
            labeled row's does.

        Returns
        -------
        self : SdAClassifier
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One fine-tuning epoch over (X, y).

        The first call initialises the network as ``fit`` does (pretraining on this
        first chunk when ``pretrain=True``) and needs ``classes``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_labels)
            Class labels, ``unlabeled_label`` for unlabeled rows (the chunk needs
            a labeled row); or a multi-label indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, as in ``fit``.
        classes : array-like of shape (n_classes,), default=None
            All the classes (without the unlabeled marker), or for multi-label
            one per column (e.g. ``range(n_labels)``); required on the first
            call.

        Returns
        -------
        self : SdAClassifier
        """
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # an unlabeled row is one label's, which an indicator matrix has not
        tags.classifier_tags.multi_label = self.unlabeled_label is None
        return tags

    @property
    def _loss_name(self):
        """The head's loss: the fitted target's (a softmax until fitted)."""
        return HEAD_LOSSES[getattr(self, "_target_type", "multiclass")]

    @property
    def multilabel_(self):
        """Whether the classifier was fitted on a multi-label indicator matrix."""
        return self.out_activation_ == "sigmoid"

    def _validate_training_data(self, X, y, fresh, incremental, classes):
        X, y = validate_rows(
            self,
            X,
            y,
            incremental=incremental,
            # an indicator matrix; other 2-D y raise below
            y_params={"multi_output": True},
            reset=fresh,
            accept_sparse="csr",
            dtype=fit_dtype(self, None if fresh else self.coefs_[0]),
            order="C",
        )
        columns = y.ndim == 2 and y.shape[1] > 1  # a label per row: a 1-D y
        multilabel = columns and type_of_target(y) == "multilabel-indicator"
        if self.unlabeled_label is not None and columns:
            raise ValueError(
                f"{type(self).__name__}: unlabeled_label={self.unlabeled_label!r} "
                "needs one label per row; a multi-label y (an indicator matrix) "
                "has no unlabeled rows. Set unlabeled_label=None, or pretrain a "
                "StackedDenoisingAutoencoder on the unlabeled rows."
            )
        if not fresh and multilabel != self.multilabel_:
            kinds = {True: "a multi-label indicator matrix", False: "one label per row"}
            raise ValueError(
                f"{type(self).__name__} was fitted on {kinds[self.multilabel_]}, "
                f"y has {kinds[not self.multilabel_]}; fit it anew (warm_start="
                "False) to change the kind of target."
            )
        # the head's loss follows (a fresh fit's kind, else the same as before)
        self._target_type = "multilabel-indicator" if multilabel else "multiclass"
        if multilabel:
            return X, self._indicator_targets(X, y, fresh, incremental, classes), None
        y = column_or_1d(y, warn=True)
        labeled = labeled_rows(y, self.unlabeled_label, type(self).__name__)
        y_labeled = y if labeled is None else y[labeled]
        check_classification_targets(y_labeled)
        if incremental:
            marker = self.unlabeled_label
            if (
                marker is not None
                and classes is not None
                and np.any(np.asarray(classes) == marker)
            ):
                raise ValueError(
                    f"classes holds the unlabeled marker {marker!r}; pass the "
                    "classes of the labeled rows only."
                )
            _check_partial_fit_first_call(self, classes)
        elif fresh:
            self.classes_ = np.unique(y_labeled)
            self._warn_about_minus_one(y)
        elif not np.array_equal(np.unique(y_labeled), self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` has "
                f"{np.unique(y_labeled)}. Set warm_start=False to fit new classes."
            )
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contain only one class: {self.classes_[0]!r}."
            )
        unknown = np.setdiff1d(y_labeled, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen before ({unknown.tolist()}); the classes "
                f"are {self.classes_.tolist()}."
            )
        # an unlabeled row's is zero: its label is none of the classes
        Y = (y[:, None] == self.classes_[None, :]).astype(X.dtype)
        return X, Y, labeled

    def _indicator_targets(self, X, y, fresh, incremental, classes):
        """Y of an indicator matrix y, one label a column; ``classes_`` as
        MLPClassifier's, ``arange(n_labels)`` (``partial_fit``: ``classes``)."""
        Y = (y.toarray() if hasattr(y, "toarray") else np.asarray(y)).astype(X.dtype)
        n_labels = Y.shape[1]
        if incremental and _check_partial_fit_first_call(self, classes):
            if len(self.classes_) != n_labels:
                raise ValueError(
                    f"classes has {len(self.classes_)} labels, y has {n_labels} "
                    "columns: pass one class per column of the indicator matrix."
                )
        elif fresh and not incremental:
            self.classes_ = np.arange(n_labels)
        elif n_labels != len(self.classes_):
            raise ValueError(
                f"y has {n_labels} labels, but {type(self).__name__} was fitted "
                f"with {len(self.classes_)}."
            )
        return np.ascontiguousarray(Y)

    def _warn_about_minus_one(self, y):
        """Warn where -1 looks like scikit-learn's unlabeled marker, taken as a class.

        The sign: without ``unlabeled_label``, a class -1 of three or more that
        labels most rows, as in semi-supervised data (a {-1, +1} binary problem,
        or -1 a class among others, stays silent).
        """
        if self.unlabeled_label is not None or len(self.classes_) < 3:
            return
        minus_one = np.broadcast_to(np.asarray(y == -1, dtype=bool), y.shape)
        if minus_one.mean() > 0.5:
            warnings.warn(
                f"{type(self).__name__}: -1 labels {minus_one.mean():.0%} of the "
                f"rows and is taken as one of {len(self.classes_)} classes. If -1 "
                "marks unlabeled rows (the convention of sklearn.semi_supervised), "
                "pass unlabeled_label=-1.",
                UserWarning,
                stacklevel=4,
            )

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the labeled rows of (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels; rows labeled ``unlabeled_label`` are left out.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return super().score(*_labeled_part(self, X, y, sample_weight))

    def _validation_score(self, X, Y, weights=None):
        """Accuracy (weighted by ``weights``), as ``score``: for multi-label, of
        whole rows (subset accuracy)."""
        if self.multilabel_:
            hits = np.all(self._label_indicator(self._forward(X)) == Y, axis=1)
        else:
            hits = self._forward(X).argmax(axis=1) == Y.argmax(axis=1)
        return weighted_mean(hits, weights)

    def _label_indicator(self, logits):
        """0/1 labels of multi-label logits: their probability above 0.5, as
        MLPClassifier thresholds (the ONNX graph thresholds the same)."""
        return (ACTIVATIONS["sigmoid"](logits) > 0.5).astype(np.int64)

    @under_thread_rule
    @in_row_blocks
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multi-label, each label's probability (rows need not sum to 1).
        """
        X = self._validate_for_inference(X)
        return ACTIVATIONS[self.out_activation_](self._forward(X))

    @under_thread_rule
    @in_row_blocks
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
        if self.multilabel_:  # log s(A) = -log(1 + exp(-A)), per label
            return np.negative(np.logaddexp(0, -A, out=A), out=A)
        A -= A.max(axis=1, keepdims=True)
        A -= np.log(np.exp(A).sum(axis=1, keepdims=True))
        return A

    @under_thread_rule
    @in_row_blocks
    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            For multi-label, the indicator matrix of the labels whose
            probability is above 0.5.
        """
        X = self._validate_for_inference(X)
        if self.multilabel_:
            return self._label_indicator(self._forward(X))
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
n_iter_no_change, max_fun, n_jobs, memory, transform_layers, \
fine_tune_corruption_level, dropout
        As in :class:`SdAClassifier`, except that early stopping scores R^2,
        averaged over the outputs as ``score`` (and ``MLPRegressor``) do, on
        the labeled rows, and that fine-tuning visits the labeled rows only,
        so ``fine_tune_corruption_level="auto"`` and ``dropout="auto"`` are
        always 0.
    unlabeled_label : None or np.nan, default=None
        With np.nan, a row whose targets are all NaN is unlabeled: pretraining
        uses it, fine-tuning (on the labeled rows alone), ``score`` and early
        stopping leave it out; a row with some NaN targets raises.  None: NaN
        targets raise, as scikit-learn's regressors do.

    Attributes
    ----------
    coefs_, intercepts_, stack_, loss_curve_, loss_, best_loss_, \
validation_scores_, best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, \
fine_tune_corruption_level_, dropout_, n_features_in_, feature_names_in_
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

    _parameter_constraints = {
        **_BaseSdA._parameter_constraints,
        "unlabeled_label": [None, "nan"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Pretrain (unless ``pretrain=False``), then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A ``numpy.memmap`` or dask array larger than scikit-learn's
            ``working_memory`` is read block by block, never whole (README,
            "Data larger than memory").
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (None: all 1), as in
            ``MLPRegressor``: each row's loss is scaled by its weight in
            pretraining (every layer) and fine-tuning, a mini-batch's cost being
            the weighted mean of its rows' and the L2 penalty
            ``alpha / (2 sum w) ||W||^2``; early stopping's validation score is
            weighted too.  Rows of weight 0 are dropped (the fit is the fit
            without them); weights all 1 give the unweighted fit.  An unlabeled
            row's weight (``unlabeled_label``) scales its reconstruction loss in
            pretraining, which alone sees unlabeled rows.

        Returns
        -------
        self : SdARegressor
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One fine-tuning epoch over (X, y); the first call initialises as ``fit``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, as in ``fit``.

        Returns
        -------
        self : SdARegressor
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _validate_training_data(self, X, y, fresh, incremental, classes=None):
        dtype = fit_dtype(self, None if fresh else self.coefs_[0])
        if self.unlabeled_label is None:
            X, y = validate_rows(
                self,
                X,
                y,
                incremental=incremental,
                y_params={"multi_output": True, "y_numeric": True},
                reset=fresh,
                accept_sparse="csr",
                dtype=dtype,
                order="C",
            )
        else:  # NaN targets allowed
            X = validate_rows(
                self,
                X,
                incremental=incremental,
                reset=fresh,
                accept_sparse="csr",
                dtype=dtype,
                order="C",
            )
            y = check_array(
                y,
                ensure_2d=False,
                dtype="numeric",
                ensure_all_finite="allow-nan",
                input_name="y",
            )
            check_consistent_length(X, y)
        labeled = labeled_rows(y, self.unlabeled_label, type(self).__name__)
        if not fresh:
            n_outputs = 1 if y.ndim == 1 else y.shape[1]
            if n_outputs != self.n_outputs_:
                raise ValueError(
                    f"y has {n_outputs} outputs, but {type(self).__name__} was fitted "
                    f"with {self.n_outputs_}."
                )
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        if labeled is not None:
            Y[~labeled] = 0  # never read: fine-tuning visits the labeled rows
        return X, Y, labeled

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions on the labeled rows of (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets; with ``unlabeled_label=np.nan``, rows of NaN targets are
            left out.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return super().score(*_labeled_part(self, X, y, sample_weight))

    def _validation_score(self, X, Y, weights=None):
        """R^2 of each output, averaged: ``score``'s (and r2_score's) definition,
        weighted by ``weights`` as r2_score weighs by ``sample_weight``.

        As r2_score, an output constant in Y scores 1 if predicted exactly, else 0.
        """
        if weights is None:
            residual = ((Y - self._forward(X)) ** 2).sum(axis=0)
            total = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        else:
            w = weights[:, None]
            residual = (w * (Y - self._forward(X)) ** 2).sum(axis=0)
            total = (w * (Y - np.average(Y, axis=0, weights=weights)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - residual / total
        constant = total == 0
        r2[constant] = residual[constant] == 0
        return float(r2.mean())

    @under_thread_rule
    @in_row_blocks
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
        *hidden, (weights, bias, _) = encoder_layers(self)
        code = forward(hidden, X).astype(np.float64)
        # The linear head in float64, as the predictions are: in float32 a single
        # output's matrix-vector product rounds one row differently from many.
        out = dense(code, weights.astype(np.float64), bias, "identity")
        return out.ravel() if out.shape[1] == 1 else out


def spread_labels(codes, Y_labeled, n_neighbors):
    """Label spreading (Zhou et al. 2004) over a symmetric k-NN graph.

    ``codes`` are the rows, the labeled ones first (``Y_labeled``, their one-hot
    rows); returns every row's class distribution (float64; a zero row for a row
    that no labeled row reaches).  Unlike ``LabelSpreading(kernel="knn")``, whose
    graph is not symmetrised and whose iterations stop early at its defaults, the
    graph joins two rows if either is among the other's k nearest (weight 1/2 one
    way, 1 both ways), each row also counts itself in its degree, and the
    spreading runs ``SPREAD_ITERATIONS`` steps of ``F <- alpha S F + (1 - alpha)
    Y`` from ``F = (1 - alpha) Y``, ``S = D^-1/2 W D^-1/2``, alpha
    ``SPREAD_ALPHA``.  On the bundled digits the spread labels were 1.5-3 points
    more accurate than ``LabelSpreading``'s at alpha 0.8, and on full MNIST
    alpha 0.99 was 1.4-2.6 points more accurate than 0.8 (``DEFAULTS.md``,
    fourth and fifth rounds).
    """
    n = len(codes)
    graph = NearestNeighbors(n_neighbors=n_neighbors).fit(codes).kneighbors_graph()
    graph = (graph + graph.T) * 0.5
    degree = np.asarray(graph.sum(axis=1)).ravel() + 1.0  # the row itself
    scale = sp.diags(1.0 / np.sqrt(degree))
    S = (scale @ graph @ scale).tocsr()
    clamped = np.zeros((n, Y_labeled.shape[1]))
    clamped[: len(Y_labeled)] = Y_labeled
    clamped *= 1.0 - SPREAD_ALPHA
    F = clamped.copy()
    for _ in range(SPREAD_ITERATIONS):
        F = S @ F
        F *= SPREAD_ALPHA
        F += clamped
    total = F.sum(axis=1, keepdims=True)
    np.divide(F, total, out=F, where=total > 0)
    return F


def network_state(net):
    """The fitted state of a network in fine-tuning, for the callbacks: its
    weights as they are now (copies: training goes on in place)."""
    return {
        "coefs_": [W.copy() for W in net.coefs_],
        "intercepts_": [b.copy() for b in net.intercepts_],
    }


def _labeled_part(est, X, y, sample_weight):
    """(X, y, sample_weight) without the rows labeled ``est.unlabeled_label``."""
    if est.unlabeled_label is None:
        return X, y, sample_weight
    y_array = np.asarray(y)
    if not is_nan(est.unlabeled_label) or y_array.dtype.kind == "f":
        labeled = labeled_rows(y_array, est.unlabeled_label, type(est).__name__)
        if labeled is not None:
            X, y = _safe_indexing(X, labeled), y_array[labeled]
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight)[labeled]
    return X, y, sample_weight
