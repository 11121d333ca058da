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
"""

import json
import time
import warnings
from inspect import unwrap
from pathlib import Path

from _common import machine
from threadpoolctl import threadpool_info

from stackeddae import SdAClassifier, StackedDenoisingAutoencoder
from stackeddae._threads import n_blas_threads
from stackeddae.datasets import load_mnist_5k

# ----------------------------------------------------------------- configuration
CALLS = 2000  # one-row predictions per turn
TURNS = 5  # interleaved turns; the best of each variant is kept
RESULTS = Path(__file__).resolve().parent / "results"
NAME = "bench_inference_threads"


def interleave(variants):
    """Best time of each variant, turns interleaved."""
    times = {name: [] for name in variants}
    for _ in range(TURNS):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def main():
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
    results = {
        "rule_threads": n_blas_threads(None),
        "ambient_threads": ambient,
        "one_row_predict_us": {
            k: v / CALLS * 1e6
            for k, v in interleave(
                {
                    "rule": lambda: [clf.predict(row) for _ in range(CALLS)],
                    "ambient": lambda: [
                        unwrap(SdAClassifier.predict)(clf, row) for _ in range(CALLS)
                    ],
                }
            ).items()
        },
        "transform_5000_s": interleave(
            {
                "rule": lambda: stack.transform(X),
                "ambient": lambda: unwrap(StackedDenoisingAutoencoder.transform)(
                    stack, X
                ),
            }
        ),
        "predict_5000_s": interleave(
            {
                "rule": lambda: clf.predict(X),
                "ambient": lambda: unwrap(SdAClassifier.predict)(clf, X),
            }
        ),
    }
    for key, value in results.items():
        print(f"{key:22s} {value}")
    out = RESULTS / f"{NAME}.json"
    payload = {
        "machine": machine(),
        "results": results,
        "note": "2-core machine shared with other jobs while this ran",
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
