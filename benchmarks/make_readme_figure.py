"""Draw ``docs/filters_ae_vs_dae.png``, the README's picture.

The first-layer filters of a plain autoencoder (corruption 0) and of a denoising
autoencoder (masking noise, corruption 0.3), each 784-100 and trained for 15 epochs
on the 5000 bundled MNIST digits with ``random_state=0`` (a few seconds).

Usage::

    pip install stackeddae[plot]
    python benchmarks/make_readme_figure.py
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from stackeddae import DenoisingAutoencoder  # noqa: E402
from stackeddae.datasets import load_mnist_5k  # noqa: E402
from stackeddae.plotting import plot_filters  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "filters_ae_vs_dae.png"


def main():
    warnings.filterwarnings("ignore", message=".*maximum number of epochs")
    X, _ = load_mnist_5k(return_X_y=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.4), layout="constrained")
    # The three lines of the README (max_iter defaults to 15 epochs):
    for ax, level in zip(axes, [0.0, 0.3], strict=True):
        dae = DenoisingAutoencoder(100, corruption_level=level, random_state=0).fit(X)
        plot_filters(dae, ax=ax, title=f"corruption_level={level}")
    fig.suptitle("First-layer filters, 784-100 autoencoders, 15 epochs on 5000 digits")
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=100)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
