"""Concurrency: concurrent inference and concurrent fits of clones match the
single-threaded results.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from support import (
    all_outputs,
    assert_same_state,
    fit_quiet,
    make_clf,
    make_dae,
    make_reg,
    make_stack,
    make_target,
    make_X,
    make_y,
    make_y_reg,
)

THREAD_CASES = {
    "dae": lambda: make_dae(tied_weights=False),
    "stack": make_stack,
    "classifier": make_clf,
    "regressor": make_reg,
}


@pytest.mark.parametrize("kind", list(THREAD_CASES))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_concurrent_inference_matches_single_threaded(kind, sparse):
    X, y = make_X(seed=9, n=400), make_target(kind, 400)
    est = fit_quiet(THREAD_CASES[kind](), make_X(), make_target(kind))
    chunks = [slice(start, start + 40) for start in range(0, 400, 40)]
    data = sp.csr_matrix(X) if sparse else X

    def job(chunk):
        return all_outputs(est, data[chunk], None if y is None else y[chunk])

    expected = [job(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            results = list(pool.map(job, chunks * 2))
    for got, want in zip(results, expected * 2, strict=True):
        assert got.keys() == want.keys()
        for name in want:
            assert_array_equal(got[name], want[name], err_msg=name)


def test_concurrent_fits_of_clones_match_sequential_fits():
    # fits in threads share nothing: no global random state, no shared buffers
    X, y = make_X(), make_y()
    models = [make_dae(), make_stack(), make_clf(), make_reg()]
    targets = [None, None, y, make_y_reg()]
    sequential = [
        fit_quiet(clone(m), X, t) for m, t in zip(models, targets, strict=True)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(clone(m).fit, X, t)
                for m, t in zip(models * 2, targets * 2, strict=True)
            ]
            threaded = [f.result() for f in futures]
    for a, b in zip(threaded, sequential * 2, strict=True):
        assert_same_state(a, b)
