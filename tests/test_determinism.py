"""Determinism: an int random_state makes fits, partial_fit sequences and grid
searches bit-for-bit repeatable, whatever the global random state or n_jobs.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_validate
from support import (
    MAKERS,
    assert_same_state,
    fit_quiet,
    make_clf,
    make_dae,
    make_reg,
    make_stack,
    make_target,
    make_X,
    partial_fit_quiet,
    trained_arrays,
)

VARIANTS = {
    "dense-sgd-momentum": dict(momentum=0.9),
    "sparse-adam": dict(solver="adam", learning_rate_init=0.01),
    "float32-salt-and-pepper": dict(corruption="salt_and_pepper"),
    "gaussian-untied-early-stopping": dict(
        corruption="gaussian", tied_weights=False, early_stopping=True
    ),
}


def _variant_data(variant, kind):
    X = make_X(seed=7) * (make_X(seed=8) > 0.3)
    if variant.startswith("sparse"):
        X = sp.csr_matrix(X)
    if variant.startswith("float32"):
        X = X.astype(np.float32)
    return X, make_target(kind)


def _variant(kind, variant, **params):
    params = {**VARIANTS[variant], **params}
    if kind in ("classifier", "regressor"):
        params.pop("tied_weights", None)
    return MAKERS[kind](**params)


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_random_state_gives_bit_identical_fits(kind, variant):
    X, y = _variant_data(variant, kind)
    first = fit_quiet(_variant(kind, variant), X, y)
    second = fit_quiet(_variant(kind, variant), X, y)
    assert_same_state(first, second)
    # refitting the same object, and fitting a clone, start over identically
    assert_same_state(fit_quiet(first, X, y), second)
    assert_same_state(fit_quiet(clone(second), X, y), second)
    # different seeds give different weights
    other = fit_quiet(_variant(kind, variant, random_state=1), X, y)
    for a, b in zip(trained_arrays(first), trained_arrays(other), strict=True):
        if a.ndim == 2:
            assert not np.array_equal(a, b)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_fits_ignore_the_global_random_state(kind):
    X, y = make_X(), make_target(kind)
    saved = np.random.get_state()  # noqa: NPY002 (the legacy global state, on purpose)
    try:
        np.random.seed(1)  # noqa: NPY002
        first = fit_quiet(MAKERS[kind](), X, y)
        np.random.seed(2)  # noqa: NPY002
        second = fit_quiet(MAKERS[kind](), X, y)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    assert_same_state(first, second)
    # a RandomState instance seeds as its int would, when freshly made
    third = fit_quiet(MAKERS[kind](random_state=np.random.RandomState(0)), X, y)
    fourth = fit_quiet(MAKERS[kind](random_state=np.random.RandomState(0)), X, y)
    assert_same_state(third, fourth)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_partial_fit_sequences_are_bit_identical(kind):
    X, y = make_X(), make_target(kind)
    ests = [MAKERS[kind](solver="adam", learning_rate_init=0.01) for _ in range(2)]
    for est in ests:
        for chunk in (slice(0, 30), slice(30, 60), slice(10, 50)):
            partial_fit_quiet(est, X[chunk], None if y is None else y[chunk])
    assert_same_state(*ests)


def test_random_state_none_gives_different_fits():
    X = make_X()
    a = fit_quiet(make_dae(random_state=None), X)
    b = fit_quiet(make_dae(random_state=None), X)
    assert not np.array_equal(a.components_, b.components_)


SEARCHES = {
    "dae": (make_dae, {"corruption_level": [0.1, 0.4]}),
    "stack": (make_stack, {"corruption_level": [[0.1, 0.2], 0.4]}),
    "classifier": (
        make_clf,
        {"pretrain": [True, False], "corruption_level": [0.1, 0.4]},
    ),
    "regressor": (make_reg, {"alpha": [1e-4, 1e-1]}),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_grid_search_is_identical_across_n_jobs(kind):
    maker, grid = SEARCHES[kind]
    X, y = make_X(), make_target(kind)
    results = {}
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(maker(), grid, cv=2, n_jobs=n_jobs).fit(X, y)
            folds = cross_validate(
                maker(), X, y, cv=2, n_jobs=n_jobs, return_estimator=True
            )
        results[n_jobs] = search, folds
    (s1, f1), (s2, f2) = results[1], results[2]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert_array_equal(s1.cv_results_[key], s2.cv_results_[key])
    assert s1.best_params_ == s2.best_params_
    assert_same_state(s1.best_estimator_, s2.best_estimator_)
    # the models fitted in the worker processes are bit-identical too
    assert_array_equal(f1["test_score"], f2["test_score"])
    for a, b in zip(f1["estimator"], f2["estimator"], strict=True):
        assert_same_state(a, b)
