"""The BLAS thread rule: which thread count a fit and inference use, results that do
not depend on the ambient limit, and concurrent use from threads."""

import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from support import fit_quiet, make_deep, quietly
from threadpoolctl import threadpool_limits

import stackeddae._threads
from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae._objectives import DAEObjective, NetworkObjective, UnrolledObjective
from stackeddae._threads import blas_threads, n_blas_threads


def _now():
    """The BLAS threads in force (cheap: no library search)."""
    blas = stackeddae._threads._controller().select(user_api="blas")
    return max(lib.num_threads for lib in blas.lib_controllers)


def _features(n=300, d=500, seed=0):
    # wide enough that a GEMM's last bits depend on the BLAS thread count
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def _on_cores(monkeypatch, cores):
    monkeypatch.setattr(stackeddae._threads, "_cores", lambda: cores)


def _recording(seen):
    """A patch_objective action: note the BLAS threads each call runs with."""

    def action(i, self, X, Y, original):
        seen.append(_now())
        return original(self, X, Y)

    return action


# ------------------------------------------------------------------ the rule


@pytest.mark.parametrize(
    "cores, n_jobs, threads",
    [
        (2, None, 1),
        (2, 1, 1),
        (2, 2, 2),  # no cap at half the cores: one BLAS in the step
        (2, -1, 2),
        (2, 3, 2),  # more than the cores is all of them
        (16, None, 1),
        (16, 4, 4),
        (16, 12, 12),
        (16, -1, 16),
        (16, -2, 15),
        (16, -12, 5),
        (16, -20, 1),
        (1, -1, 1),
    ],
)
def test_n_jobs_maps_to_threads_up_to_the_cores(monkeypatch, cores, n_jobs, threads):
    _on_cores(monkeypatch, cores)
    assert n_blas_threads(n_jobs) == threads


def test_none_is_one_thread_under_any_joblib_configuration(monkeypatch):
    from joblib import parallel_config

    _on_cores(monkeypatch, 16)
    with parallel_config(n_jobs=4):
        assert n_blas_threads(None) == 1


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("n_jobs, threads", [(None, 1), (2, 2), (-1, 2), (3, 2)])
def test_training_and_inference_run_under_the_rule(
    monkeypatch, patch_objective, solver, n_jobs, threads
):
    # OpenBLAS never runs more threads than it started with (the cores: 2 here),
    # so the rules tested are 1 and 2 threads, on 2 (pretended) cores.
    _on_cores(monkeypatch, 2)
    ambient = 3 - threads
    seen = []
    patch_objective(DAEObjective, _recording(seen))
    dae = DenoisingAutoencoder(4, solver=solver, max_iter=2, n_jobs=n_jobs)
    with threadpool_limits(limits=ambient, user_api="blas"):
        fit_quiet(dae, _features(60, 8))
        assert _now() == ambient  # restored after the fit
        inside = []
        monkeypatch.setattr(
            DenoisingAutoencoder,
            "_encode",
            lambda self, X: inside.append(_now()) or np.zeros((len(X), 4)),
        )
        dae.transform(_features(5, 8))
        assert _now() == ambient
    assert seen and set(seen) == {threads}
    assert inside == [threads]


def test_sda_passes_n_jobs_to_pretraining_and_fine_tuning(monkeypatch, patch_objective):
    _on_cores(monkeypatch, 4)
    pretraining, fine_tuning = [], []
    patch_objective(DAEObjective, _recording(pretraining))
    patch_objective(NetworkObjective, _recording(fine_tuning))
    X, y = _features(60, 8), np.arange(60) % 2
    clf = SdAClassifier((4, 3), n_jobs=2, pretrain_max_iter=1, max_iter=2)
    with threadpool_limits(limits=1, user_api="blas"):
        fit_quiet(clf, X, y)
    assert all(a.n_jobs == 2 for a in clf.stack_.autoencoders_)
    assert set(pretraining) == {2} and set(fine_tuning) == {2}


def test_stack_fine_tuning_runs_under_the_rule(monkeypatch, patch_objective):
    _on_cores(monkeypatch, 4)
    seen = []
    patch_objective(UnrolledObjective, _recording(seen))
    with threadpool_limits(limits=1, user_api="blas"):
        fit_quiet(make_deep(n_jobs=2), _features(60, 8))
    assert seen and set(seen) == {2}


def test_fits_with_the_same_n_jobs_are_identical():
    X = _features(200, 30)
    fits = [
        fit_quiet(DenoisingAutoencoder(4, max_iter=3, n_jobs=2, random_state=0), X)
        for _ in range(2)
    ]
    assert_array_equal(fits[0].components_, fits[1].components_)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


def _scipy_linalg_calls(function, *args):
    """Names of the scipy.linalg functions (scipy's BLAS) that a call makes."""
    called = set()

    def profile(frame, event, arg):
        path = frame.f_code.co_filename.replace("\\", "/")
        if event == "call" and "/scipy/linalg/" in path:
            called.add(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return called


@pytest.mark.parametrize(
    "solver", ["sgd", "sgd_momentum", "adagrad", "rmsprop", "adadelta", "adam"]
)
def test_training_steps_call_numpy_blas_only(solver):
    # scipy's BLAS is a second OpenBLAS with a thread pool of its own: its threads
    # and numpy's took each other's cores when a step alternated between them
    # (a numpy product then a scipy axpy: 0.25 ms on one thread, 11 ms on two).
    X, y = _features(60, 8), np.arange(60) % 2
    params = {"solver": solver, "momentum": 0.0}
    if solver == "sgd_momentum":
        params = {"solver": "sgd", "momentum": 0.9}
    models = [
        DenoisingAutoencoder(4, alpha=1e-3, max_iter=2, **params),
        DenoisingAutoencoder(4, tied_weights=False, alpha=1e-3, max_iter=2, **params),
        SdAClassifier((4,), pretrain=False, alpha=1e-3, max_iter=2, **params),
        *(  # a deep autoencoder's fine-tuning, tied and untied
            StackedDenoisingAutoencoder(
                (4, 3),
                tied_weights=tied,
                alpha=1e-3,
                max_iter=1,
                fine_tune_max_iter=2,
                fine_tune_solver=params["solver"],
                **params,
            )
            for tied in (True, False)
        ),
    ]
    for model in models:
        data = (X, y) if isinstance(model, SdAClassifier) else (X,)
        assert _scipy_linalg_calls(fit_quiet, model, *data) == set()


def test_n_jobs_zero_is_rejected_with_its_meaning():
    with pytest.raises(ValueError, match="n_jobs"):
        DenoisingAutoencoder(4, n_jobs=0).fit(_features(20, 4))


# --------------------------------------------- results independent of the ambient


def _under_ambient(threads, make, *data):
    with threadpool_limits(limits=threads, user_api="blas"):
        est = fit_quiet(make(), *data)
        return est, est.transform(data[0])


MODELS = {
    "stack": lambda: StackedDenoisingAutoencoder(
        (300, 100), max_iter=1, early_stopping=True, random_state=0
    ),
    "classifier": lambda: SdAClassifier(
        (300, 100), pretrain_max_iter=1, max_iter=2, early_stopping=True, random_state=0
    ),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_fits_do_not_depend_on_the_ambient_blas_threads(kind):
    X = _features()
    y = np.arange(len(X)) % 3
    data = (X,) if kind == "stack" else (X, y)
    (a, codes_a), (b, codes_b) = (
        _under_ambient(n, MODELS[kind], *data) for n in (1, 2)
    )
    layers = (
        (a.autoencoders_, b.autoencoders_)
        if kind == "stack"
        else (a.stack_.autoencoders_ + [a], b.stack_.autoencoders_ + [b])
    )
    for x, y_ in zip(*layers, strict=True):
        assert x.loss_curve_ == y_.loss_curve_
        assert x.validation_scores_ == y_.validation_scores_
    if kind == "classifier":
        for x, y_ in zip(a.coefs_, b.coefs_, strict=True):
            assert_array_equal(x, y_)
    assert_array_equal(codes_a, codes_b)


def test_fit_transform_codes_are_those_of_the_fit_rule():
    X = _features()
    with threadpool_limits(limits=2, user_api="blas"):
        codes = StackedDenoisingAutoencoder((300, 100), max_iter=1, random_state=0)
        codes = quietly(codes.fit_transform, X)
    with threadpool_limits(limits=1, user_api="blas"):
        again = StackedDenoisingAutoencoder((300, 100), max_iter=1, random_state=0)
        again = quietly(again.fit_transform, X)
    assert_array_equal(codes, again)


# ----------------------------------------------------------- from many threads


def test_nested_calls_keep_the_outer_rule(monkeypatch):
    _on_cores(monkeypatch, 4)
    with threadpool_limits(limits=1, user_api="blas"):
        with blas_threads(2):
            with blas_threads(1):
                assert _now() == 2
            assert _now() == 2
        assert _now() == 1


class _WatchedCondition(threading.Condition):
    """The thread rule's condition, counting the calls waiting on it."""

    def __init__(self):
        super().__init__()
        self.waiting = 0

    def wait(self, timeout=None):
        self.waiting += 1  # under the lock, which wait's caller holds
        try:
            return super().wait(timeout)
        finally:
            self.waiting -= 1


def _until(condition, timeout=10.0):
    """Wait (polling) until condition() holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _ruled_call(n_jobs, log, name, release=None):
    """A thread that runs under blas_threads(n_jobs), noting when it enters and
    leaves, and holding the limit until ``release`` is set."""

    def run():
        with blas_threads(n_jobs):
            log.append(f"{name} in")
            if release is not None:
                release.wait(timeout=10)
            log.append(f"{name} out")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_waiting_rule_is_not_held_off_by_newcomers_of_the_ruling_one(monkeypatch):
    # While calls under rule 1 hold the limit and a call under rule 2 waits, a new
    # rule-1 call queues behind it: otherwise a steady stream of rule-1 calls from
    # other threads could hold the rule-2 call off forever.
    _on_cores(monkeypatch, 4)  # n_jobs=1: 1 thread, n_jobs=2: 2 threads
    watched = _WatchedCondition()
    monkeypatch.setattr(stackeddae._threads._Limit, "changed", watched)
    log, release = [], threading.Event()
    threads = [_ruled_call(1, log, "A", release)]
    try:
        _until(lambda: log == ["A in"])
        threads.append(_ruled_call(2, log, "B"))
        _until(lambda: watched.waiting == 1)  # B waits for A
        threads.append(_ruled_call(1, log, "C"))
        _until(lambda: "C in" in log or watched.waiting == 2)
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert log == ["A in", "A out", "B in", "B out", "C in", "C out"]
    assert stackeddae._threads._Limit.users == 0


def test_a_call_that_gives_up_waiting_leaves_the_queue(monkeypatch):
    _on_cores(monkeypatch, 4)

    class Interrupted(_WatchedCondition):
        def wait(self, timeout=None):  # Ctrl-C while waiting, the first time
            if not self.waiting:
                self.waiting = -1
                raise KeyboardInterrupt
            return super().wait(timeout)

    monkeypatch.setattr(stackeddae._threads._Limit, "changed", Interrupted())
    log, release, gave_up = [], threading.Event(), []
    threads = [_ruled_call(1, log, "A", release)]

    def impatient():
        try:
            with blas_threads(2):
                log.append("B in")
        except KeyboardInterrupt:
            gave_up.append("B")

    try:
        _until(lambda: log == ["A in"])
        threads.append(threading.Thread(target=impatient, daemon=True))
        threads[-1].start()
        _until(lambda: gave_up == ["B"])
        threads.append(_ruled_call(1, log, "C"))
        _until(lambda: "C out" in log)  # beside A: no one is waiting any more
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=10)
    assert log == ["A in", "C in", "C out", "A out"]
    assert not stackeddae._threads._Limit.queue


def test_fits_with_different_n_jobs_in_threads_take_turns(monkeypatch, patch_objective):
    # Two rules cannot be in force at once in one process: each fit must run while
    # its own is, and the limit found before must be back afterwards.  (What is
    # observed is the rule in force, not OpenBLAS's count: OpenBLAS 0.3.31 ignores
    # thread-count changes made from threads other than the main one.)
    _on_cores(monkeypatch, 2)
    pairs = set()

    def recording(i, self, X, Y, original):
        pairs.add((self.expected, stackeddae._threads._Limit.threads))
        return original(self, X, Y)

    init = DAEObjective.__init__

    def remembering(self, dae, batch_size):
        init(self, dae, batch_size)
        self.expected = n_blas_threads(dae.n_jobs)

    patch_objective(DAEObjective, recording)
    monkeypatch.setattr(DAEObjective, "__init__", remembering)
    X = _features(120, 20)
    makers = [
        lambda n=n: DenoisingAutoencoder(6, max_iter=3, n_jobs=n, random_state=0)
        for n in (1, 2, None, 2, 1, -1)
    ]
    sequential = [fit_quiet(make(), X) for make in makers]
    with threadpool_limits(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=6) as pool:
            threaded = list(pool.map(lambda make: fit_quiet(make(), X), makers * 3))
        assert _now() == 1
    assert pairs and all(expected == got for expected, got in pairs)
    assert {expected for expected, _ in pairs} == {1, 2}
    for a, b in zip(threaded, sequential * 3, strict=True):
        assert_array_equal(a.components_, b.components_)
        assert a.loss_curve_ == b.loss_curve_


def test_inference_beside_a_background_fit_is_exact(monkeypatch):
    # a service answering from one model while it trains another in the background
    _on_cores(monkeypatch, 4)
    X = _features(200, 20)
    y = np.arange(200) % 2
    served = fit_quiet(SdARegressor((8,), max_iter=5, random_state=0, n_jobs=2), X, y)
    chunks = np.array_split(np.arange(200), 20)
    expected = [served.predict(X[rows]) for rows in chunks]
    stop = threading.Event()

    def train():
        while not stop.is_set():
            fit_quiet(StackedDenoisingAutoencoder((8, 4), max_iter=2, n_jobs=1), X)

    background = threading.Thread(target=train)
    background.start()
    try:
        answers = [served.predict(X[rows]) for rows in chunks]
    finally:
        stop.set()
        background.join()
    assert_array_equal(np.concatenate(answers), np.concatenate(expected))


# ------------------------------------------------------------ grid search


def _cv_scores(est, grid, X, y, n_jobs):
    search = GridSearchCV(est, grid, cv=2, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return [search.cv_results_[f"split{i}_test_score"] for i in range(2)]


SEARCHES = {
    # Pipeline.fit calls the stack's fit_transform: its codes feed the classifier
    "pipeline": (
        lambda: Pipeline(
            [
                (
                    "sda",
                    StackedDenoisingAutoencoder((300, 100), max_iter=1, random_state=0),
                ),
                ("clf", LogisticRegression(max_iter=300)),
            ]
        ),
        {"sda__corruption_level": [[0.1, 0.2], [0.3, 0.3]]},
    ),
    "classifier": (
        lambda: SdAClassifier(
            (300, 100), pretrain_max_iter=1, max_iter=3, random_state=0
        ),
        {"corruption_level": [0.1, 0.3]},
    ),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_grid_search_scores_do_not_depend_on_n_jobs(kind):
    # the main process runs under the ambient limit, loky's workers under 1 thread
    X = _features()
    y = (X[:, :250].sum(axis=1) > X[:, 250:].sum(axis=1)).astype(int)
    make, grid = SEARCHES[kind]
    one, two = (_cv_scores(make(), grid, X, y, n_jobs) for n_jobs in (1, 2))
    for a, b in zip(one, two, strict=True):
        assert_array_equal(a, b)
