"""stackeddae.plotting: tile_images (numpy only) and smoke tests of the plots (Agg)."""

import sys

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from stackeddae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from stackeddae.plotting import (
    _corrupt,
    input_space_filters,
    plot_filters,
    plot_loss_curves,
    plot_reconstructions,
    tile_images,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SIDE = 8  # 8 x 8 images, 64 features


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((60, SIDE * SIDE))
    y = np.repeat([0, 1, 2], 20)
    return X, y


# float64 weights: the tests compare the plots with products computed here
@pytest.fixture(scope="module")
def dae(data):
    return DenoisingAutoencoder(
        n_components=6, max_iter=2, random_state=0, dtype=np.float64
    ).fit(data[0])


@pytest.fixture(scope="module")
def stack(data):
    return StackedDenoisingAutoencoder(
        hidden_layer_sizes=(6, 4), max_iter=2, random_state=0, dtype=np.float64
    ).fit(data[0])


@pytest.fixture(scope="module")
def clf(data):
    return SdAClassifier(
        hidden_layer_sizes=(6, 4),
        pretrain_max_iter=2,
        max_iter=3,
        random_state=0,
        dtype=np.float64,
    ).fit(*data)


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def grid_shape(rows, cols, side=SIDE, spacing=1):
    return rows * side + (rows - 1) * spacing, cols * side + (cols - 1) * spacing


def drawn(ax):
    """The one image an Axes holds, as a plain array (NaN spacing kept)."""
    images = ax.get_images()
    assert len(images) == 1
    return np.ma.filled(images[0].get_array().astype(float), np.nan)


def cells(tiled, rows, cols, side=SIDE, spacing=1):
    """Cut a tiling back into its images, (rows * cols, side * side)."""
    step = side + spacing
    return np.array(
        [
            tiled[r * step : r * step + side, c * step : c * step + side].ravel()
            for r in range(rows)
            for c in range(cols)
        ]
    )


def rescaled(filters):
    """Each row rescaled to [0, 1], as the filter plots show them."""
    low = filters.min(axis=1, keepdims=True)
    return (filters - low) / np.ptp(filters, axis=1, keepdims=True)


# -------------------------------------------------------- tile_images (no mpl)
def test_tile_images_layout_and_scaling():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(7, 12)) * 5 + 3
    tiled = tile_images(images, (3, 4), (2, 4))
    assert tiled.shape == (2 * 3 + 1, 4 * 4 + 3)
    # each image on its own in [0, 1], min 0 and max 1
    for k in range(7):
        r, c = divmod(k, 4)
        cell = tiled[r * 4 : r * 4 + 3, c * 5 : c * 5 + 4]
        expected = (images[k] - images[k].min()) / np.ptp(images[k])
        np.testing.assert_allclose(cell.ravel(), expected)
    # the spacing and the empty eighth cell are 0
    assert np.all(tiled[3, :] == 0) and np.all(tiled[:, 4] == 0)
    assert np.all(tiled[4:, 15:] == 0)


def test_tile_images_options():
    images = np.arange(2 * 6, dtype=float).reshape(2, 2, 3)  # 3-D input
    raw = tile_images(images, (2, 3), (1, 2), spacing=0, scale=False)
    assert raw.shape == (2, 6)
    np.testing.assert_array_equal(raw, np.hstack([images[0], images[1]]))
    # None computes a dimension; extra images beyond the grid are left out
    assert tile_images(np.ones((7, 4)), (2, 2), (None, 3)).shape == (3 * 2 + 2, 8)
    assert tile_images(np.ones((7, 4)), (2, 2), (2, None)).shape == (5, 4 * 2 + 3)
    assert tile_images(np.ones((9, 4)), (2, 2), (1, 2), spacing=2).shape == (2, 6)
    # a constant image becomes 0 when scaled, stays itself when not
    assert np.all(tile_images(np.full((1, 4), 7.0), (2, 2), (1, 1)) == 0)
    assert np.all(tile_images(np.full((1, 4), 7.0), (2, 2), (1, 1), scale=False) == 7)


@pytest.mark.parametrize(
    "images, image_shape, tile_shape, match",
    [
        (np.ones((3, 10)), (3, 3), (1, 3), "image_shape"),
        (np.ones((3, 9)), (3, 3), (0, 3), "tile_shape"),
    ],
)
def test_tile_images_errors(images, image_shape, tile_shape, match):
    with pytest.raises(ValueError, match=match):
        tile_images(images, image_shape, tile_shape)
    with pytest.raises(ValueError, match="spacing"):
        tile_images(np.ones((3, 9)), (3, 3), (1, 3), spacing=-1)


def test_missing_matplotlib_message(monkeypatch, dae, data):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for plot in (plot_filters, plot_loss_curves):
        with pytest.raises(ImportError, match=r"pip install stackeddae\[plot\]"):
            plot(dae)
    with pytest.raises(ImportError, match=r"stackeddae\[plot\]"):
        plot_reconstructions(dae, data[0])


# ---------------------------------------------------------- input_space_filters
def test_input_space_filters_projects_through_the_layers(dae, stack, clf):
    np.testing.assert_array_equal(input_space_filters(dae), dae.components_)
    W0, W1 = (ae.components_ for ae in stack.autoencoders_)
    np.testing.assert_allclose(input_space_filters(stack, 1), W1 @ W0)
    np.testing.assert_allclose(input_space_filters(stack, -1), W1 @ W0)
    head = input_space_filters(clf, 2)
    assert head.shape == (3, SIDE * SIDE)
    np.testing.assert_allclose(head, (clf.coefs_[0] @ clf.coefs_[1] @ clf.coefs_[2]).T)
    with pytest.raises(ValueError, match="out of range"):
        input_space_filters(stack, 2)
    with pytest.raises(ValueError, match="out of range"):
        input_space_filters(dae, 1)


# ------------------------------------------------------------------ plots (Agg)
def test_plot_filters_dae(plt, dae):
    ax = plot_filters(dae)
    tiled = drawn(ax)
    assert tiled.shape == grid_shape(2, 3)  # 6 filters on a 2 x 3 grid
    assert np.isnan(tiled[SIDE, :]).all()  # the spacing shows the background
    filters = cells(tiled, 2, 3)
    np.testing.assert_allclose(filters, rescaled(dae.components_))
    assert ax.get_title() == "layer 1 filters"


def test_plot_filters_upper_layer_and_options(plt, stack):
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_filters(stack, layer=1, ax=left)
    assert ax is left and ax.figure is fig
    assert drawn(ax).shape == grid_shape(2, 2)
    assert "projection" in ax.get_title()
    np.testing.assert_allclose(
        cells(drawn(ax), 2, 2), rescaled(input_space_filters(stack, 1))
    )
    ax = plot_filters(stack, n_filters=5, tile_shape=(1, None), title="x", ax=right)
    assert drawn(ax).shape == grid_shape(1, 5)
    assert ax.get_title() == "x"
    assert len(fig.axes) == 2


def test_plot_filters_supervised(plt, clf, data):
    assert drawn(plot_filters(clf)).shape == grid_shape(2, 3)
    assert drawn(plot_filters(clf, layer=-1)).shape == grid_shape(2, 2)  # 3 classes
    reg = SdARegressor(
        hidden_layer_sizes=(5,), pretrain=False, max_iter=2, random_state=0
    ).fit(data[0], data[1].astype(float))
    assert drawn(plot_filters(reg, layer=1)).shape == grid_shape(1, 1)


def test_plot_filters_image_shape(plt, data):
    X = data[0][:, :48]  # 6 x 8 images
    dae = DenoisingAutoencoder(n_components=4, max_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="not a square image"):
        plot_filters(dae)
    with pytest.raises(ValueError, match="48 input features"):
        plot_filters(dae, image_shape=(7, 7))
    assert drawn(plot_filters(dae, image_shape=(6, 8))).shape == (13, 17)


def test_plot_reconstructions_dae(plt, dae, data):
    X = data[0]
    ax = plot_reconstructions(dae, X, n=5)
    tiled = drawn(ax)
    assert tiled.shape == grid_shape(3, 5)
    original, corrupted, reconstructed = np.split(cells(tiled, 3, 5), 3)
    np.testing.assert_allclose(original, X[:5])
    # masking 0.3: about 30% of the pixels are set to 0, the others kept
    zeroed = (corrupted == 0) & (original != 0)
    assert 0.15 < zeroed.mean() < 0.45
    np.testing.assert_allclose(corrupted[~zeroed], original[~zeroed])
    expected_noise = _corrupt(dae, X[:5], random_state=0)
    np.testing.assert_allclose(corrupted, expected_noise)
    np.testing.assert_allclose(
        reconstructed, dae.inverse_transform(dae.transform(expected_noise)), rtol=1e-6
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "original",
        "corrupted\n(masking 0.3)",
        "reconstructed",
    ]
    # seeded: the same picture twice, another with another seed
    np.testing.assert_array_equal(drawn(plot_reconstructions(dae, X, n=5)), tiled)
    other = drawn(plot_reconstructions(dae, X, n=5, random_state=1))
    assert not np.array_equal(other, tiled)


def test_plot_reconstructions_stack_and_supervised(plt, stack, clf, data):
    X = data[0]
    tiled = drawn(plot_reconstructions(stack, X, n=100))  # n capped at n_samples
    assert tiled.shape == grid_shape(3, len(X))
    _, corrupted, reconstructed = np.split(cells(tiled, 3, len(X)), 3)
    np.testing.assert_allclose(
        reconstructed,
        stack.inverse_transform(stack.transform(corrupted)),
        rtol=1e-6,
        atol=1e-12,
    )
    tiled = drawn(plot_reconstructions(clf, X, n=4))
    _, corrupted, reconstructed = np.split(cells(tiled, 3, 4), 3)
    np.testing.assert_allclose(
        reconstructed,
        clf.stack_.inverse_transform(clf.stack_.transform(corrupted)),
        rtol=1e-6,
        atol=1e-12,
    )
    no_stack = SdAClassifier(
        hidden_layer_sizes=(4,), pretrain=False, max_iter=1, random_state=0
    ).fit(*data)
    with pytest.raises(ValueError, match="pretrain=False"):
        plot_reconstructions(no_stack, X)


@pytest.mark.parametrize("corruption", ["gaussian", "salt_and_pepper"])
def test_plot_reconstructions_noise_types(plt, data, corruption):
    X = data[0]
    dae = DenoisingAutoencoder(
        n_components=4, corruption=corruption, max_iter=1, random_state=0
    ).fit(X)
    ax = plot_reconstructions(dae, X, n=3)
    original, corrupted, _ = np.split(cells(drawn(ax), 3, 3), 3)
    assert not np.allclose(original, corrupted)
    if corruption == "salt_and_pepper":
        changed = corrupted != original
        assert set(np.unique(corrupted[changed])) <= {0.0, 1.0}
    assert corruption in ax.get_yticklabels()[1].get_text()


def test_plot_reconstructions_without_noise(plt, data):
    X = data[0]
    ae = DenoisingAutoencoder(n_components=4, corruption_level=0, max_iter=1).fit(X)
    ax = plot_reconstructions(ae, X, n=3)
    original, corrupted, _ = np.split(cells(drawn(ax), 3, 3), 3)
    np.testing.assert_array_equal(original, corrupted)
    assert "no noise" in ax.get_title()


def test_plot_loss_curves(plt, dae, stack, clf):
    ax = plot_loss_curves(dae)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), dae.loss_curve_)
    np.testing.assert_array_equal(line.get_xdata(), [1, 2])
    assert ax.right_ax is None and ax.get_yscale() == "linear"

    ax = plot_loss_curves(stack)
    assert [line.get_label() for line in ax.get_lines()] == ["layer 1", "layer 2"]

    ax = plot_loss_curves(clf)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["layer 1", "layer 2", "fine-tuning"]
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), clf.loss_curve_)
    assert ax.get_yscale() == "log"  # pretraining and fine-tuning costs together
    assert len(ax.get_legend().get_texts()) == 3


def test_plot_loss_curves_and_reconstructions_of_a_fine_tuned_stack(plt, data):
    X, _ = data
    deep = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(6, 4),
        max_iter=2,
        fine_tune_max_iter=3,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
        dtype=np.float64,
    ).fit(X)
    ax = plot_loss_curves(deep)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["layer 1", "layer 2", "fine-tuning"]
    curve = ax.get_lines()[2].get_ydata()
    np.testing.assert_allclose(curve, deep.fine_tune_loss_curve_)
    [line] = ax.right_ax.get_lines()[-1:]
    np.testing.assert_allclose(line.get_ydata(), deep.fine_tune_validation_scores_)
    # the reconstructions are the fine-tuned network's
    _, corrupted, reconstructed = np.split(
        cells(drawn(plot_reconstructions(deep, X, n=4)), 3, 4), 3
    )
    expected = deep.inverse_transform(deep.transform(corrupted))
    np.testing.assert_allclose(reconstructed, expected, rtol=1e-6)


def test_plot_loss_curves_validation_scores(plt, data):
    X, y = data
    clf = SdAClassifier(
        hidden_layer_sizes=(5,),
        pretrain_max_iter=2,
        max_iter=4,
        early_stopping=True,
        random_state=0,
    ).fit(X, y)
    fig, ax = plt.subplots()
    assert plot_loss_curves(clf, ax=ax, logy=False) is ax
    assert ax.get_yscale() == "linear"
    assert len(ax.get_lines()) == 2
    (scores,) = ax.right_ax.get_lines()
    np.testing.assert_allclose(scores.get_ydata(), clf.validation_scores_)
    assert scores.get_linestyle() == "--"
    assert len(fig.axes) == 2  # the costs and their twin
    assert len(ax.get_legend().get_texts()) == 3

    stack = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(5, 3), max_iter=2, early_stopping=True, random_state=0
    ).fit(X)
    ax = plot_loss_curves(stack)
    assert len(ax.get_lines()) == 2 and len(ax.right_ax.get_lines()) == 2


@pytest.mark.parametrize(
    "plot", [plot_filters, plot_loss_curves, lambda est: plot_reconstructions(est, 0)]
)
def test_plots_reject_other_and_unfitted_estimators(plt, data, plot):
    with pytest.raises(TypeError, match="DenoisingAutoencoder"):
        plot(PCA(2).fit(data[0]))
    with pytest.raises(NotFittedError):
        plot(StackedDenoisingAutoencoder())
