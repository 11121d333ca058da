"""The one parameter-routing table: where each estimator parameter goes.

``ROUTES`` maps every ``__init__`` parameter of every estimator to the places that
read it, and, for the training parameters, to the solvers whose training reads it.
The lists that pass parameters on are derived from it: the parameters of each
layer of a stack (:func:`parameters` of ``TO_LAYERS``), those a supervised SdA
hands to its pretraining stack (``PRETRAINING_NAMES``), the optimizer's keyword
arguments (:func:`optimizer_params`) and a pretrained layer's cache key
(:func:`key_params`), which holds only what that layer's training reads: under
``solver="sgd"`` a grid over ``beta_1`` pretrains once.

Places:

- ``LAYER``: a :class:`DenoisingAutoencoder` parameter;
- ``STACK``: a :class:`StackedDenoisingAutoencoder` parameter, and ``TO_LAYERS``:
  one it hands to every layer as is (it sets the other layer parameters per layer:
  ``n_components``, ``corruption_level``, ``loss``, ``random_state``; it continues
  its layers itself on ``warm_start``);
- ``PRETRAINING``: a parameter of :class:`SdAClassifier` and :class:`SdARegressor`
  that sets their pretraining (``pretrain_x`` sets the stack's ``x``; ``pretrain``
  whether there is any), and ``FINE_TUNING``: one their fine-tuning reads;
- ``SEMI_SUPERVISED``: a parameter of :class:`SdAClassifier` alone, of the term
  its fine-tuning adds for the unlabeled rows;
- ``UNROLLED``: a :class:`StackedDenoisingAutoencoder` parameter that the
  fine-tuning of its unrolled network reads (``fine_tune_x`` as its ``x``: see
  :data:`UNROLLED_NAMES`); the fine-tuning parameters are in no layer's cache key;
- ``KEY``: in a pretrained layer's cache key (see ``_cache.py``), where the layer's
  solver reads it;
- ``OPTIMIZER``: a keyword argument of the solver's optimizer class
  (``_optimizers.py``), beyond the step size and its schedule;
- ``DETECTOR``: a :class:`ReconstructionOutlierDetector` parameter.
"""

import dataclasses

LAYER = "layer"
STACK = "stack"
TO_LAYERS = "to_layers"
PRETRAINING = "pretraining"
FINE_TUNING = "fine_tuning"
SEMI_SUPERVISED = "semi_supervised"
UNROLLED = "unrolled"
KEY = "key"
OPTIMIZER = "optimizer"
DETECTOR = "detector"

STOCHASTIC = ("sgd", "adagrad", "rmsprop", "adadelta", "adam")
SOLVERS = (*STOCHASTIC, "lbfgs")
# The solvers with a step size and its schedule: AdaDelta learns its own.
STEPPED = ("sgd", "adagrad", "rmsprop", "adam")


@dataclasses.dataclass(frozen=True)
class Route:
    """Where a parameter goes, and which solvers' training reads it."""

    places: frozenset
    solvers: tuple = SOLVERS
    # (parameter, value): read only when that parameter has that value
    only_if: tuple | None = None

    def is_read(self, params):
        """Whether training with ``params`` (a layer's) reads this parameter."""
        if params["solver"] not in self.solvers:
            return False
        return self.only_if is None or params[self.only_if[0]] == self.only_if[1]


def _route(places, solvers=SOLVERS, only_if=None):
    return Route(frozenset(places.split()), solvers, only_if)


# Each layer's, each stack's and fine-tuning's training, all in one loop.
_TRAINING = "layer stack to_layers fine_tuning key"
# ... and read as they are by the fine-tuning of a stack's unrolled network.
_UNROLLED = f"{_TRAINING} unrolled"
# ... and shared by pretraining under the same name.
_SHARED = f"{_TRAINING} pretraining"

ROUTES = {
    # the network
    "n_components": _route("layer key"),
    "hidden_layer_sizes": _route("stack pretraining fine_tuning"),
    # one per layer of a stack, or one for all
    "activation": _route("layer stack pretraining fine_tuning key"),
    "pretrain": _route("pretraining"),
    # the autoencoders' reconstruction and noise
    "loss": _route("layer stack key"),
    "corruption": _route("layer stack to_layers pretraining key unrolled"),
    "corruption_level": _route("layer stack pretraining key"),
    "tied_weights": _route("layer stack to_layers pretraining key"),
    "sparsity_target": _route("layer stack to_layers key"),
    "sparsity_weight": _route("layer stack to_layers key"),
    # training
    "solver": _route(_TRAINING),
    "alpha": _route(_UNROLLED),
    # the supervised SdAs' dropout of the hidden units while fine-tuning
    "dropout": _route("fine_tuning"),
    "batch_size": _route(_TRAINING, STOCHASTIC),
    "learning_rate": _route(f"{_SHARED} unrolled", STEPPED),
    "learning_rate_init": _route(_TRAINING, STEPPED),
    "power_t": _route(
        f"{_SHARED} unrolled", STEPPED, only_if=("learning_rate", "invscaling")
    ),
    "max_iter": _route(_TRAINING),
    "shuffle": _route(f"{_SHARED} unrolled", STOCHASTIC),
    "random_state": _route("layer stack fine_tuning key detector"),
    "dtype": _route(_SHARED),
    "tol": _route(f"{_SHARED} unrolled"),
    "verbose": _route("layer stack to_layers pretraining fine_tuning unrolled"),
    "warm_start": _route("layer stack fine_tuning"),
    "momentum": _route(f"{_UNROLLED} optimizer", ("sgd",)),
    "nesterovs_momentum": _route(f"{_UNROLLED} optimizer", ("sgd",)),
    # early stopping leaves validation_scores_ = [] on an L-BFGS layer: all solvers
    "early_stopping": _route(_UNROLLED),
    "validation_fraction": _route(
        _UNROLLED, STOCHASTIC, only_if=("early_stopping", True)
    ),
    "beta_1": _route(f"{_SHARED} unrolled optimizer", ("adam",)),
    "beta_2": _route(f"{_SHARED} unrolled optimizer", ("adam",)),
    "epsilon": _route(
        f"{_SHARED} unrolled optimizer", ("adagrad", "rmsprop", "adadelta", "adam")
    ),
    "rho": _route(f"{_SHARED} unrolled optimizer", ("rmsprop", "adadelta")),
    "n_iter_no_change": _route(f"{_SHARED} unrolled", STOCHASTIC),
    "max_fun": _route(f"{_SHARED} unrolled", ("lbfgs",)),
    # the thread count is in the key itself (n_jobs=4 and 8 are one on 4 cores)
    "n_jobs": _route("layer stack to_layers pretraining fine_tuning unrolled"),
    "memory": _route("stack pretraining"),
    # what transform returns: inference only, set on the pretraining stack too
    "transform_layers": _route("stack pretraining"),
    # the supervised estimators' own settings of their pretraining stack
    "pretrain_solver": _route("pretraining"),
    "pretrain_learning_rate_init": _route("pretraining"),
    "pretrain_batch_size": _route("pretraining"),
    "pretrain_max_iter": _route("pretraining"),
    "pretrain_momentum": _route("pretraining"),
    # rows without a label: pretraining sees them, the supervised loss does not
    "unlabeled_label": _route("fine_tuning"),
    "unlabeled_loss": _route("semi_supervised"),
    "unlabeled_weight": _route("semi_supervised"),
    "unlabeled_neighbors": _route("semi_supervised"),
    "unlabeled_rounds": _route("semi_supervised"),
    # a stack's fine-tuning of its unrolled network: its own settings
    "fine_tune_max_iter": _route("stack unrolled"),
    "fine_tune_solver": _route("stack unrolled"),
    "fine_tune_learning_rate_init": _route("stack unrolled"),
    "fine_tune_batch_size": _route("stack unrolled"),
    # ... and the supervised SdAs' noise on the input while fine-tuning
    "fine_tune_corruption_level": _route("stack unrolled fine_tuning"),
    # the outlier detector
    "estimator": _route("detector"),
    "n_neighbors": _route("detector"),
    "subspace_variance": _route("detector"),
    "contamination": _route("detector"),
}


def parameters(place):
    """The parameters that reach ``place``, in the table's order."""
    return [name for name, route in ROUTES.items() if place in route.places]


def _stack_name(name):
    return name.removeprefix("pretrain_")


# A supervised SdA's parameter -> the pretraining stack's parameter it sets.
PRETRAINING_NAMES = {
    name: _stack_name(name)
    for name in parameters(PRETRAINING)
    if STACK in ROUTES[_stack_name(name)].places
}


# What the fine-tuning of a stack's unrolled network reads under the training
# loop's name (``max_iter``) -> the stack's parameter (``fine_tune_max_iter``).
UNROLLED_NAMES = {
    name.removeprefix("fine_tune_"): name for name in parameters(UNROLLED)
}


def sda_parameters(classifier=False):
    """The parameters of SdARegressor, or with ``classifier`` of SdAClassifier."""
    places = {PRETRAINING, FINE_TUNING} | ({SEMI_SUPERVISED} if classifier else set())
    return [name for name, route in ROUTES.items() if route.places & places]


def optimizer_params(solver):
    """The keyword arguments of ``solver``'s optimizer class that an estimator sets."""
    return [name for name in parameters(OPTIMIZER) if solver in ROUTES[name].solvers]


def key_params(params):
    """The part of a layer's ``params`` that its training reads: its cache key."""
    return {
        name: value
        for name, value in params.items()
        if KEY in ROUTES[name].places and ROUTES[name].is_read(params)
    }
