"""One source of truth for the hyper-parameters of every estimator.

A parameter lives in ``__init__``, in ``_parameter_constraints`` and in the
docstring's Parameters section; the lists that pass parameters on (stack -> layers,
supervised -> pretraining stack, estimator -> optimizer) are derived from those.
"""

import inspect
import re

import pytest

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._optimizers import OPTIMIZERS
from stackeddae._params import optimizer_params
from stackeddae._validation import TRAINING_CONSTRAINTS

# The SdA parameters that fine-tuning reads and pretraining does not get.
_FINE_TUNING_ONLY = {
    "alpha",
    "early_stopping",
    "validation_fraction",
    "nesterovs_momentum",
    "warm_start",
    "random_state",
    "hidden_layer_sizes",
    # the stack's own is the noise of its unrolled fine-tuning, never run there
    "fine_tune_corruption_level",
}

ESTIMATORS = [
    DenoisingAutoencoder,
    StackedDenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
]


def _documented_parameters(cls):
    """The names in the Parameters section of a numpydoc class docstring."""
    doc = inspect.getdoc(cls)
    section = re.search(r"\nParameters\n-+\n(.*?)\n\n?[A-Z][a-z]+\n-+\n", doc, re.S)
    names = []
    for line in section.group(1).splitlines():
        if line and not line.startswith(" "):  # "a, b : type" or "a, b, c"
            names += [name.strip() for name in line.split(" : ")[0].split(",")]
    return names


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_signature_constraints_and_docstring_name_the_same_parameters(Estimator):
    signature = list(inspect.signature(Estimator.__init__).parameters)[1:]
    documented = _documented_parameters(Estimator)
    assert len(set(documented)) == len(documented), "documented twice"
    assert set(signature) == set(Estimator._parameter_constraints)
    assert set(documented) == set(signature)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_training_parameter_is_a_parameter_of_every_estimator(Estimator):
    assert set(TRAINING_CONSTRAINTS) <= set(Estimator._parameter_constraints)


def test_optimizers_take_their_extra_parameters_under_the_estimators_names():
    for solver in OPTIMIZERS:
        assert optimizer_params(solver)
        assert set(optimizer_params(solver)) <= set(TRAINING_CONSTRAINTS)


def test_each_layer_gets_every_parameter_of_the_stack():
    stack = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(3, 2), corruption_level=[0.1, 0.2], random_state=0
    )
    layer_params = stack.layer_params()
    own = {"hidden_layer_sizes", "random_state"}
    for k, params in enumerate(layer_params):
        assert set(params) == set(DenoisingAutoencoder._parameter_constraints) - {
            "warm_start"
        }
        for name, value in stack.get_params().items():
            if name in params and name not in own | {"corruption_level", "loss"}:
                assert params[name] == value, name
        assert params["n_components"] == (3, 2)[k]


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_pretraining_gets_every_parameter_it_shares_with_the_sda(Estimator):
    sda = Estimator(
        **{
            f"pretrain_{name}": value
            for name, value in dict(
                solver="rmsprop",
                learning_rate_init=0.02,
                batch_size=7,
                max_iter=3,
                momentum=0.5,
            ).items()
        },
        activation="tanh",
        tol=0.3,
        rho=0.5,
        n_jobs=2,
        verbose=1,
    )
    stack = sda.pretraining_stack().get_params()
    assert stack["solver"] == "rmsprop" and stack["learning_rate_init"] == 0.02
    assert stack["batch_size"] == 7 and stack["max_iter"] == 3
    assert stack["momentum"] == 0.5
    sda_params = sda.get_params()
    assert stack["hidden_layer_sizes"] == sda_params["hidden_layer_sizes"]
    for name in set(stack) & set(sda_params) - _FINE_TUNING_ONLY:
        if f"pretrain_{name}" not in sda_params:
            assert stack[name] == sda_params[name], name
