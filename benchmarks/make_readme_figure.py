"""Draw ``docs/filters_ae_vs_dae.png``, the README's picture.

The first-layer filters of a plain autoencoder (corruption 0) and of a denoising
autoencoder (masking noise, corruption 0.3), each 784-100 and trained for 15 epochs
on the 5000 bundled MNIST digits with ``random_state=0`` (a few seconds).

Usage::

    pip install stackeddae[plot]
    python benchmarks/make_readme_figure.py
    python benchmarks/make_readme_figure.py --smoke   # draws into memory only
"""

import io
import warnings
from pathlib import Path

from _common import main, require

from stackeddae import DenoisingAutoencoder
from stackeddae.datasets import load_mnist_5k

ROOT = Path(__file__).resolve().parents[1]
CONFIG = dict(
    figure="docs/filters_ae_vs_dae.png",  # relative to the repository ("": memory)
    epochs=15,  # DenoisingAutoencoder's default max_iter, as in the README
    rows=5000,
)
SMOKE = dict(figure="", epochs=1, rows=500)


def measure(cfg):
    require("matplotlib", "(the plot extra)", "pip install stackeddae[plot]")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from stackeddae.plotting import plot_filters

    warnings.filterwarnings("ignore", message=".*maximum number of epochs")
    X = load_mnist_5k(return_X_y=True)[0][: cfg.rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.4), layout="constrained")
    rows = []
    # The three lines of the README (max_iter defaults to 15 epochs):
    for ax, level in zip(axes, [0.0, 0.3], strict=True):
        dae = DenoisingAutoencoder(
            100, corruption_level=level, max_iter=cfg.epochs, random_state=0
        ).fit(X)
        plot_filters(dae, ax=ax, title=f"corruption_level={level}")
        rows.append(
            {"corruption_level": level, "epochs": dae.n_iter_, "cost": dae.loss_}
        )
    fig.suptitle(
        f"First-layer filters, 784-100 autoencoders, {cfg.epochs} epochs on "
        f"{len(X)} digits"
    )
    if cfg.figure:
        out = ROOT / cfg.figure
        out.parent.mkdir(exist_ok=True)
        fig.savefig(out, dpi=100)
        print(f"wrote {out}")
    else:
        fig.savefig(io.BytesIO(), dpi=100)
    plt.close(fig)
    return rows


if __name__ == "__main__":
    main(measure, CONFIG, smoke=SMOKE, doc=__doc__)
