"""Grid search on a Dask cluster (joblib's dask backend), with and without a shared
pretraining cache, and dask-ml's Incremental streaming partial_fit."""

import glob
import os
import warnings

import dask.array as da
import dask.dataframe as dd
import distributed
import joblib
import numpy as np
import pytest
import sklearn
from dask_ml.wrappers import Incremental
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from support import assert_same_state

from stackeddae import SdAClassifier, StackedDenoisingAutoencoder, _streaming


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


def test_fit_streams_a_dask_array_larger_than_working_memory(cluster, digits):
    """fit reads a dask array block by block on the cluster (bound to 127.0.0.1,
    shut down by the fixture): without shuffling, the in-memory fit bit for bit
    (fits that hand no codes up: tests/test_streaming.py has the rule)."""
    X, y = digits
    chunks = da.from_array(X, chunks=(30, X.shape[1]))
    read = _streaming._READERS["dask"]
    blocks = []

    def recording_read(data, start, stop):
        blocks.append(stop - start)
        return read(data, start, stop)

    budget = 40 * X.shape[1] * 4  # 40 float32 rows: blocks of 2 mini-batches of 20
    for make, target in [
        (
            lambda: SdAClassifier(
                (16, 8),
                pretrain=False,
                max_iter=2,
                shuffle=False,
                batch_size=20,
                random_state=0,
            ),
            y,
        ),
        (
            lambda: StackedDenoisingAutoencoder(
                (16,),
                max_iter=2,
                shuffle=False,
                batch_size=20,
                fine_tune_max_iter=1,
                fine_tune_batch_size=20,
                random_state=0,
            ),
            None,
        ),
    ]:
        blocks.clear()
        with (
            sklearn.config_context(working_memory=budget / 2**20),
            pytest.MonkeyPatch.context() as patch,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", ConvergenceWarning)
            patch.setitem(_streaming._READERS, "dask", recording_read)
            args = () if target is None else (da.from_array(target, chunks=30),)
            streamed = make().fit(chunks, *args)
        assert blocks and max(blocks) <= 40
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            in_memory = make().fit(X, *(() if target is None else (target,)))
        assert_same_state(streamed, in_memory)


def test_dask_collections_fit_cannot_read_are_refused(digits):
    X, y = digits
    frame = dd.from_array(X)
    with pytest.raises(TypeError, match="to_dask_array"):
        StackedDenoisingAutoencoder((4,), max_iter=1).fit(frame)
    unknown = da.from_array(X, chunks=(50, X.shape[1]))
    unknown = unknown[unknown[:, 0] >= 0]  # rows per chunk unknown until computed
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        StackedDenoisingAutoencoder((4,), max_iter=1).fit(unknown)
