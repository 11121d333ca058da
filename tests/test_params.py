"""The parameter-routing table (``_params.py``): every parameter of every estimator
is in it, the lists derived from it are the estimators' own, and what it says a
solver does not read does not change a layer trained with that solver (so the
cache key may leave it out)."""

import dataclasses
import inspect

import numpy as np
import pytest
from support import assert_same_state, make_X, quietly

from stackeddae import (
    DenoisingAutoencoder,
    ReconstructionOutlierDetector,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._optimizers import OPTIMIZERS, BaseOptimizer
from stackeddae._params import (
    DETECTOR,
    KEY,
    LAYER,
    PRETRAINING_NAMES,
    ROUTES,
    SOLVERS,
    STACK,
    TO_LAYERS,
    UNROLLED,
    UNROLLED_NAMES,
    key_params,
    optimizer_params,
    parameters,
    sda_parameters,
)
from stackeddae._training import Settings

ESTIMATORS = {
    DenoisingAutoencoder: parameters(LAYER),
    StackedDenoisingAutoencoder: parameters(STACK),
    SdAClassifier: sda_parameters(classifier=True),
    SdARegressor: sda_parameters(),
    ReconstructionOutlierDetector: parameters(DETECTOR),
}


def _init_parameters(cls):
    return list(inspect.signature(cls.__init__).parameters)[1:]


@pytest.mark.parametrize("Estimator", list(ESTIMATORS))
def test_every_init_parameter_is_in_the_table(Estimator):
    assert set(_init_parameters(Estimator)) <= set(ROUTES)
    # and the table names exactly the estimator's parameters
    assert sorted(ESTIMATORS[Estimator]) == sorted(_init_parameters(Estimator))


def test_every_entry_is_some_estimators_parameter():
    named = {name for cls in ESTIMATORS for name in _init_parameters(cls)}
    assert set(ROUTES) == named


def test_derived_lists_stay_within_their_estimators():
    layer, stack = set(parameters(LAYER)), set(parameters(STACK))
    assert set(parameters(TO_LAYERS)) <= layer & stack
    # the stack sets these per layer, or keeps them, rather than passing them on
    assert layer & stack - set(parameters(TO_LAYERS)) == {
        "activation",
        "corruption_level",
        "loss",
        "random_state",
        "warm_start",
    }
    assert set(parameters(KEY)) <= layer
    assert set(PRETRAINING_NAMES.values()) <= stack
    assert {k: v for k, v in PRETRAINING_NAMES.items() if k != v} == {
        f"pretrain_{name}": name
        for name in ("solver", "learning_rate_init", "batch_size", "max_iter")
        + ("momentum",)
    }


def test_unrolled_names_are_stack_parameters_and_what_the_loop_reads():
    stack = set(parameters(STACK))
    assert set(parameters(UNROLLED)) <= stack
    assert set(UNROLLED_NAMES.values()) == set(parameters(UNROLLED))
    # fine_tune_x is read as x; a stack's own fine-tuning settings are no layer's
    own = {k: v for k, v in UNROLLED_NAMES.items() if k != v}
    assert own == {
        name: f"fine_tune_{name}"
        for name in ("max_iter", "solver", "learning_rate_init", "batch_size")
        + ("corruption_level",)
    }
    assert not set(own.values()) & set(parameters(KEY))
    # every setting the training loop reads of an estimator
    loop = {f.name for f in dataclasses.fields(Settings)} - {
        "optimizer_params",
        "name",
        "label",
    }
    loop |= {name for solver in SOLVERS for name in optimizer_params(solver)}
    assert loop <= set(UNROLLED_NAMES)


@pytest.mark.parametrize("solver", SOLVERS)
def test_optimizer_params_are_the_optimizer_classes_keyword_arguments(solver):
    common = inspect.signature(BaseOptimizer.__init__).parameters
    expected = []
    if solver in OPTIMIZERS:
        signature = inspect.signature(OPTIMIZERS[solver].__init__).parameters
        expected = [p for p in signature if p not in common]
    assert sorted(optimizer_params(solver)) == sorted(expected)


def test_every_route_names_real_solvers():
    assert set(SOLVERS) == {*OPTIMIZERS, "lbfgs"}
    for name, route in ROUTES.items():
        assert set(route.solvers) <= set(SOLVERS), name
        if route.only_if is not None:
            assert route.only_if[0] in ROUTES, name


# Another valid value of each parameter of a layer that some solver does not read.
_OTHER_VALUES = {
    "batch_size": 7,
    "learning_rate": "adaptive",
    "learning_rate_init": 0.05,
    "power_t": 0.9,
    "shuffle": False,
    "momentum": 0.5,
    "nesterovs_momentum": False,
    "validation_fraction": 0.3,
    "beta_1": 0.5,
    "beta_2": 0.9,
    "epsilon": 0.1,
    "rho": 0.5,
    "n_iter_no_change": 2,
    "max_fun": 3,
}

# Settings the check runs under: as they are, no-improvement rule never fires (so
# "adaptive" would act on nothing); with a tol no epoch beats, it fires at epoch 3
# (stopping the fit, or dividing an "adaptive" step); early stopping reads
# validation_fraction.
_SETTINGS = {
    "no rule": {},
    "rule fires": dict(max_iter=5, tol=1e3, n_iter_no_change=1),
    "early stopping": dict(
        max_iter=5, tol=1e3, n_iter_no_change=1, early_stopping=True
    ),
}


def _layer(solver, **params):
    defaults = dict(batch_size=10, max_iter=3, tol=0.0, random_state=0)
    return DenoisingAutoencoder(
        4, solver=solver, dtype=np.float64, **{**defaults, **params}
    )


@pytest.mark.parametrize("setting", _SETTINGS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_what_the_table_says_a_solver_ignores_leaves_its_layer_unchanged(
    solver, setting
):
    X = make_X()
    base = _layer(solver, **_SETTINGS[setting])
    params = base.get_params()
    ignored = [name for name in _OTHER_VALUES if name not in key_params(params)]
    assert ignored  # every solver ignores something here
    fitted = quietly(base.fit, X)
    if setting != "no rule" and solver != "lbfgs":
        assert fitted.n_iter_ == 3  # the rule fired (and stopped this fit)
    for name in ignored:
        assert _OTHER_VALUES[name] != params[name], name
        other = _layer(solver, **{**_SETTINGS[setting], name: _OTHER_VALUES[name]})
        assert_same_state(fitted, quietly(other.fit, X), name)


@pytest.mark.parametrize(
    "solver, name",
    [
        ("sgd", "momentum"),
        ("sgd", "learning_rate_init"),
        ("sgd", "batch_size"),
        ("sgd", "shuffle"),
        ("adam", "beta_1"),
        ("adam", "beta_2"),
        ("adagrad", "epsilon"),
        ("rmsprop", "rho"),
        ("adadelta", "rho"),
        ("lbfgs", "max_fun"),
    ],
)
def test_what_the_table_says_a_solver_reads_is_in_the_key(solver, name):
    # the other value changes the layer, so leaving it out of the key would be wrong
    X = make_X()
    base = _layer(solver)
    assert name in key_params(base.get_params())
    fitted = quietly(base.fit, X)
    other = quietly(_layer(solver, **{name: _OTHER_VALUES[name]}).fit, X)
    assert not np.array_equal(fitted.components_, other.components_)


def test_power_t_is_read_under_invscaling_only():
    params = _layer("sgd").get_params()
    assert "power_t" not in key_params(params)
    assert "power_t" in key_params({**params, "learning_rate": "invscaling"})
    X = make_X()
    fits = [
        quietly(_layer("sgd", learning_rate="invscaling", power_t=p).fit, X)
        for p in (0.5, 0.9)
    ]
    assert not np.array_equal(fits[0].components_, fits[1].components_)
