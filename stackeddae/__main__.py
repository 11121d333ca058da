"""Command line: ``python -m stackeddae demo``.

The demo pretrains and fine-tunes an SdA on the bundled digits and compares it, on
one fixed split, with the same network trained without pretraining and with
logistic regression on the raw pixels.
"""

import argparse
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from . import SdAClassifier, __version__
from .datasets import load_mnist_5k


def demo(random_state=0, verbose=False):
    """Fit the three models on the fixed split; return rows of (name, acc, secs)."""
    X, y = load_mnist_5k(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0
    )
    print(
        f"stackeddae {__version__} demo: {len(X_train)} training and {len(X_test)} "
        "test digits (MNIST, 28x28, scaled to [0, 1])",
        flush=True,
    )
    models = [
        ("SdA (pretrained + fine-tuned)", SdAClassifier(random_state=random_state)),
        (
            "same network, no pretraining",
            SdAClassifier(pretrain=False, random_state=random_state),
        ),
        ("logistic regression, raw pixels", LogisticRegression(max_iter=1000)),
    ]
    rows = []
    for name, model in models:
        if verbose and isinstance(model, SdAClassifier):
            model.set_params(verbose=True)
        print(f"fitting {name} ...", flush=True)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append((name, model.score(X_test, y_test), seconds))
    print()
    print(f"{'model':<34} {'test accuracy':>13} {'fit time':>10}")
    for name, accuracy, seconds in rows:
        print(f"{name:<34} {accuracy:>13.3f} {seconds:>8.1f} s")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stackeddae")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "demo", help="SdA vs no pretraining vs logistic regression"
    )
    run.add_argument("--random-state", type=int, default=0)
    run.add_argument("--verbose", action="store_true", help="one line per epoch")
    args = parser.parse_args(argv)
    demo(random_state=args.random_state, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
