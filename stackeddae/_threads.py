"""The BLAS thread rule of fits and inference, safe to use from many threads.

Every matrix product of a fit (training steps, the codes handed up a stack,
early-stopping scores) and of inference runs with ``n_blas_threads(n_jobs)`` BLAS
threads, whatever the process's ambient limit: a GEMM's summation order, hence its
last bits, depends on the thread count, so this is what makes a fit a function of
its inputs and ``n_jobs`` only.

BLAS keeps one thread count per process (OpenBLAS has no per-thread setting), so
calls with different rules cannot run at the same time: :func:`blas_threads`
serialises them.  Calls with the same rule (the default, one thread) share the
limit and run concurrently; a call with another rule waits until they are done,
and calls that come while it waits queue behind it (in order of arrival), so that
a steady stream of calls under the rule in force cannot hold it off.  (So a call
must not, while it holds the limit, wait for a call of another thread: that one
may be queued behind a waiting call of another rule.)
A call nested in another (pretraining inside a fit, a transform inside a
fit_transform) runs under the outer rule.  While any call holds the limit, every
other BLAS user of the process (numpy, scikit-learn) runs under it too.
"""

import threading
from collections import deque
from contextlib import contextmanager
from functools import lru_cache, wraps

from joblib import cpu_count
from threadpoolctl import ThreadpoolController


def n_blas_threads(n_jobs):
    """BLAS threads for ``n_jobs``: None 1, -1 all cores, k k threads (at most all).

    Negative values count back from the cores as in joblib (-2: all cores but one),
    at least one.  None is 1 whatever the joblib backend or ``parallel_config``, so
    that the backend running a fit cannot change its result.  No other cap: since a
    training step calls one BLAS library (numpy's), a second thread no longer slows
    it down (benchmarks/RESULTS.md, "Threads"); where more threads do not pay (small
    mini-batches), the estimators' ``n_jobs`` docstrings say so.
    """
    cores = _cores()
    if n_jobs is None:
        return 1
    wanted = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(wanted, cores))


@lru_cache(maxsize=1)
def _cores():
    # joblib reads the CPU affinity and cgroup quota: ~50 us, once per process
    return cpu_count()


@lru_cache(maxsize=1)
def _controller():
    # Finding the loaded BLAS libraries takes about 20 ms: once per process.
    return ThreadpoolController()


@lru_cache(maxsize=1)
def _blas_libraries():
    return _controller().select(user_api="blas").lib_controllers


def blas_info():
    """threadpoolctl's description of each loaded BLAS library (a list of dicts:
    ``internal_api``, ``version``, ``architecture``, ``num_threads``, ...)."""
    return [lib.info() for lib in _blas_libraries()]


class _Limit:
    """The process's one BLAS limit: the rule in force, how many calls use it, and
    the calls waiting for their turn."""

    changed = threading.Condition()
    threads = None
    users = 0
    found = ()  # (library, its thread count before the first user came)
    queue = deque()  # a token per waiting call, first come first


_nesting = threading.local()


@contextmanager
def blas_threads(n_jobs):
    """Run the block with ``n_blas_threads(n_jobs)`` BLAS threads.

    Waits while other threads of the process run under a different rule; restores
    the limit found when the last concurrent user leaves.
    """
    if getattr(_nesting, "depth", 0):  # an outer call of this thread rules
        _nesting.depth += 1
        try:
            yield
        finally:
            _nesting.depth -= 1
        return
    threads = n_blas_threads(n_jobs)
    with _Limit.changed:
        if _Limit.queue or (_Limit.users and _Limit.threads != threads):
            _wait_for_turn(threads)
        if not _Limit.users:
            # Set through the libraries directly: threadpoolctl's limit() costs
            # ~100 us, as much as a one-row predict.
            _Limit.found = [(lib, lib.num_threads) for lib in _blas_libraries()]
            for lib, found in _Limit.found:
                if found != threads:
                    lib.set_num_threads(threads)
            _Limit.threads = threads
        _Limit.users += 1
    _nesting.depth = 1
    try:
        yield
    finally:
        _nesting.depth = 0
        with _Limit.changed:
            _Limit.users -= 1
            if not _Limit.users:
                for lib, found in _Limit.found:
                    if found != _Limit.threads:
                        lib.set_num_threads(found)
                _Limit.found, _Limit.threads = (), None
                _Limit.changed.notify_all()


def _wait_for_turn(threads):
    """Queue until this call is first in line and its rule can be in force (holding
    ``_Limit.changed``).  Calls of one rule next to each other in the queue enter
    together; a call that gives up (Ctrl-C) leaves the queue."""
    me = object()
    _Limit.queue.append(me)
    try:
        while _Limit.queue[0] is not me or (_Limit.users and _Limit.threads != threads):
            _Limit.changed.wait()
    finally:
        _Limit.queue.remove(me)
        _Limit.changed.notify_all()  # the next in line may enter too, or be first


def under_thread_rule(method):
    """Run an estimator method under ``blas_threads(self.n_jobs)``."""

    @wraps(method)
    def ruled(self, *args, **kwargs):
        with blas_threads(self.n_jobs):
            return method(self, *args, **kwargs)

    return ruled
