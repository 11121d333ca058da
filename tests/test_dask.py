"""Grid search on a Dask cluster (joblib's dask backend), with and without a shared
pretraining cache, and dask-ml's Incremental streaming partial_fit."""

import glob
import os
import warnings

import dask.array as da
import distributed
import joblib
import numpy as np
import pytest
from dask_ml.wrappers import Incremental
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from stackeddae import SdAClassifier, StackedDenoisingAutoencoder


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16).astype(np.float32), y[:200]


def _search(estimator, grid, X, y, backend, **params):
    search = GridSearchCV(estimator, grid, cv=2, n_jobs=2, **params)
    with warnings.catch_warnings(), joblib.parallel_config(backend=backend):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


def _pipeline(memory=None):
    stack = StackedDenoisingAutoencoder(
        (16, 8), max_iter=2, random_state=0, memory=memory
    )
    return Pipeline([("sda", stack), ("clf", LogisticRegression(max_iter=200))])


SEARCHES = {
    "classifier": (
        lambda: SdAClassifier((16,), pretrain_max_iter=2, max_iter=5, random_state=0),
        {"corruption_level": [0.1, 0.3], "alpha": [1e-4, 1e-2]},
    ),
    "pipeline": (_pipeline, {"sda__corruption_level": [[0.1, 0.0], [0.3, 0.2]]}),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_dask_and_loky_give_the_same_scores(cluster, digits, kind):
    make, grid = SEARCHES[kind]
    on_dask = _search(make(), grid, *digits, "dask")
    on_loky = _search(make(), grid, *digits, "loky")
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert_array_equal(on_dask.cv_results_[key], on_loky.cv_results_[key])


def _written(location):
    """Each stored layer with the identity of its file: rewriting one changes it."""
    paths = glob.glob(os.path.join(location, "**", "output.pkl"), recursive=True)
    return {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in paths}


def test_a_warm_shared_cache_trains_no_layer_on_the_cluster(cluster, digits, tmp_path):
    grid = {"sda__corruption_level": [[a, b] for a in (0.1, 0.3) for b in (0.0, 0.2)]}
    cold = _search(_pipeline(str(tmp_path)), grid, *digits, "dask", refit=False)
    written = _written(tmp_path)
    assert len(written) == 2 * (2 + 4)  # distinct layer prefixes, two folds
    warm = _search(_pipeline(str(tmp_path)), grid, *digits, "dask", refit=False)
    assert _written(tmp_path) == written  # no layer trained (or stored) again
    plain = _search(_pipeline(), grid, *digits, "dask", refit=False)
    for search in (cold, warm):
        assert_array_equal(
            search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
        )


def test_incremental_streams_partial_fit_over_dask_chunks(cluster, digits):
    X, _ = digits
    chunks = da.from_array(X, chunks=(50, X.shape[1]))
    make = lambda: StackedDenoisingAutoencoder((16, 8), random_state=0)  # noqa: E731
    streamed = Incremental(make(), shuffle_blocks=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        streamed.fit(chunks)
    by_hand = make()
    for start in range(0, len(X), 50):
        by_hand.partial_fit(X[start : start + 50])
    for a, b in zip(
        streamed.estimator_.autoencoders_, by_hand.autoencoders_, strict=True
    ):
        assert_array_equal(a.components_, b.components_)
    # a GEMM's last bits depend on its row count: compare chunk by chunk
    by_chunk = [by_hand.transform(X[start : start + 50]) for start in range(0, 200, 50)]
    assert_array_equal(streamed.transform(chunks).compute(), np.vstack(by_chunk))
