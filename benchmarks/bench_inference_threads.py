"""What the fixed thread rule costs inference: per call, and in throughput.

``transform``, ``predict`` and scoring run under ``n_blas_threads(n_jobs)`` BLAS
threads (one by default) instead of the process's BLAS default, so that their
results do not depend on the ambient limit.  Two costs, each measured against the
same method without the rule (``inspect.unwrap`` of it, under the BLAS default),
the variants interleaved:

1. per call: ``predict`` on one row, the case of a service answering requests;
2. throughput: ``transform`` of 5000 digits by a (256, 128) stack, and ``predict``
   of an SdAClassifier (256, 256).

Usage::

    python benchmarks/bench_inference_threads.py     # ~1 min on 2 cores
    python benchmarks/bench_inference_threads.py --smoke   # seconds: does it run?
"""

import time
import warnings
from inspect import unwrap

from _common import Result, main
from threadpoolctl import threadpool_info

from stackeddae import SdAClassifier, StackedDenoisingAutoencoder
from stackeddae._threads import n_blas_threads
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
CONFIG = dict(
    calls=2000,  # one-row predictions per turn
    turns=5,  # interleaved turns; the best of each variant is kept
)
SMOKE = dict(calls=20, turns=1)
COLUMNS = {"quantity": "", "rule": ".4g", "ambient": ".4g", "rule_over_ambient": ".3f"}


def interleave(variants, turns):
    """Best time of each variant, turns interleaved."""
    times = {name: [] for name in variants}
    for _ in range(turns):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def measure(cfg):
    X, y = load_mnist_5k(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack = StackedDenoisingAutoencoder((256, 128), max_iter=1, random_state=0)
        stack.fit(X[:1000])
        clf = SdAClassifier(pretrain_max_iter=1, max_iter=2, random_state=0)
        clf.fit(X[:1000], y[:1000])
    row = X[:1]
    ambient = max(
        i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
    )
    one_row = interleave(
        {
            "rule": lambda: [clf.predict(row) for _ in range(cfg.calls)],
            "ambient": lambda: [
                unwrap(SdAClassifier.predict)(clf, row) for _ in range(cfg.calls)
            ],
        },
        cfg.turns,
    )
    results = {
        "one_row_predict_us": {k: v / cfg.calls * 1e6 for k, v in one_row.items()},
        "transform_5000_s": interleave(
            {
                "rule": lambda: stack.transform(X),
                "ambient": lambda: unwrap(StackedDenoisingAutoencoder.transform)(
                    stack, X
                ),
            },
            cfg.turns,
        ),
        "predict_5000_s": interleave(
            {
                "rule": lambda: clf.predict(X),
                "ambient": lambda: unwrap(SdAClassifier.predict)(clf, X),
            },
            cfg.turns,
        ),
    }
    rows = [
        {"quantity": k, **v, "rule_over_ambient": v["rule"] / v["ambient"]}
        for k, v in results.items()
    ]
    return Result(
        rows,
        summary={"rule_threads": n_blas_threads(None), "ambient_threads": ambient},
        text=f"BLAS threads: {n_blas_threads(None)} under the rule, {ambient} ambient",
    )


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__, columns=COLUMNS)
