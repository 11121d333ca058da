"""Pictures of fitted stacked denoising autoencoders.

:func:`tile_images` is plain numpy.  The ``plot_*`` functions need matplotlib (the
``plot`` extra: ``pip install stackeddae[plot]``), imported when they are called.
Each draws into one Axes, a new figure's unless ``ax=`` is given, and returns it
(``ax.figure`` is the Figure).
"""

import math

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import DenoisingAutoencoder
from ._corruption import CORRUPTIONS
from ._layers import encoder_layers
from ._stacked import StackedDenoisingAutoencoder
from ._supervised import SdAClassifier, SdARegressor
from ._unrolled import FineTuning

__all__ = [
    "input_space_filters",
    "plot_filters",
    "plot_loss_curves",
    "plot_reconstructions",
    "tile_images",
]

_SUPERVISED = (SdAClassifier, SdARegressor)
_SUPPORTED = (
    "a DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier or SdARegressor"
)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "stackeddae.plotting needs matplotlib; install it with "
            "`pip install stackeddae[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _new_axes(ax, figsize):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


# ------------------------------------------------------------------- tiling
def _grid(n, tile_shape):
    """(rows, cols) for n images; a None entry is computed, None alone is ~square."""
    if tile_shape is None:
        cols = max(1, math.ceil(math.sqrt(n)))
        return max(1, math.ceil(n / cols)), cols
    rows, cols = tile_shape
    if rows is None and cols is None:
        return _grid(n, None)
    if rows is None:
        rows = max(1, math.ceil(n / cols))
    elif cols is None:
        cols = max(1, math.ceil(n / rows))
    if int(rows) < 1 or int(cols) < 1:
        raise ValueError(f"tile_shape must be positive, got {tile_shape!r}.")
    return int(rows), int(cols)


def _tile(images, image_shape, tile_shape, spacing, scale, fill):
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 1:
        images = images[None]
    h, w = (int(s) for s in image_shape)
    if images.ndim not in (2, 3) or math.prod(images.shape[1:]) != h * w:
        raise ValueError(
            f"images must have shape (n_images, {h * w}) or (n_images, {h}, {w}) "
            f"for image_shape={tuple(image_shape)!r}; got {images.shape}."
        )
    if spacing < 0:
        raise ValueError(f"spacing must be >= 0, got {spacing}.")
    images = images.reshape(len(images), h, w)
    rows, cols = _grid(len(images), tile_shape)
    out = np.full(
        (rows * h + (rows - 1) * spacing, cols * w + (cols - 1) * spacing),
        fill,
        dtype=np.float64,
    )
    for k, image in enumerate(images[: rows * cols]):
        if scale:
            low, high = image.min(), image.max()
            image = (image - low) / (high - low) if high > low else image * 0.0
        r, c = divmod(k, cols)
        top, left = r * (h + spacing), c * (w + spacing)
        out[top : top + h, left : left + w] = image
    return out


def tile_images(images, image_shape, tile_shape, spacing=1, scale=True):
    """Lay images out on a grid, in one 2-D array.

    Pure numpy: usable without matplotlib, e.g. to save with any image library.

    Parameters
    ----------
    images : array-like of shape (n_images, height * width) or \
(n_images, height, width)
        The images, one per row (flattened row by row, as in
        ``load_mnist_5k().data``); filters, from ``components_``, work too.
    image_shape : tuple of int
        ``(height, width)`` of one image.
    tile_shape : tuple of int
        ``(rows, columns)`` of the grid, filled row by row.  Either may be None to
        fit all the images.  Images beyond ``rows * columns`` are left out; empty
        cells are 0.
    spacing : int, default=1
        Pixels of 0 between neighbouring images.
    scale : bool, default=True
        Rescale each image on its own to [0, 1] (its minimum to 0, its maximum to
        1; a constant image becomes 0).  With False the values are kept.

    Returns
    -------
    tiled : ndarray of shape (rows * height + (rows - 1) * spacing, \
columns * width + (columns - 1) * spacing)
        The grid, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from stackeddae.plotting import tile_images
    >>> images = np.array([[0, 1, 1, 0], [2, 2, 4, 4]])  # two 2 x 2 images
    >>> tile_images(images, (2, 2), (1, 2))
    array([[0., 1., 0., 0., 0.],
           [1., 0., 0., 1., 1.]])
    >>> tile_images(np.ones((100, 784)), (28, 28), (10, 10)).shape
    (289, 289)
    >>> tile_images(np.ones((7, 784)), (28, 28), (None, 4), spacing=0).shape
    (56, 112)
    """
    return _tile(images, image_shape, tile_shape, spacing, scale, fill=0.0)


def _show_tiles(ax, tiled, cmap, vmin=0.0, vmax=1.0):
    """imshow a tiling whose spacing is NaN: drawn in the axes' background colour."""
    image = ax.imshow(tiled, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _image_shape(n_features, image_shape):
    if image_shape is not None:
        h, w = (int(s) for s in image_shape)
        if h * w != n_features:
            raise ValueError(
                f"image_shape={tuple(image_shape)!r} has {h * w} pixels, but the "
                f"estimator has {n_features} input features."
            )
        return h, w
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"The {n_features} input features are not a square image; pass "
            "image_shape=(height, width)."
        )
    return side, side


# ------------------------------------------------------------------ filters
def _encoder_weights(estimator):
    """Each layer's weights as (n_units, n_inputs): row j is unit j's filter."""
    supported = (DenoisingAutoencoder, StackedDenoisingAutoencoder, *_SUPERVISED)
    if not isinstance(estimator, supported):
        raise TypeError(f"Expected {_SUPPORTED}; got {type(estimator).__name__}.")
    check_is_fitted(estimator)
    return [W.T for W, _, _ in encoder_layers(estimator)]


def input_space_filters(estimator, layer=0):
    """The filters of one layer, projected linearly back to input space.

    Layer 0's filters are the rows of its weight matrix.  For a layer k above,
    they are the rows of ``W_k @ W_{k-1} @ ... @ W_0`` (each W of shape
    (n_units, n_inputs)): a linear projection that ignores the nonlinearities and
    the biases between the layers, so it is a rough picture of what excites unit j
    of layer k, not its exact preferred input.

    Parameters
    ----------
    estimator : DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier \
or SdARegressor
        A fitted estimator.  For the supervised estimators the fine-tuned weights
        ``coefs_`` are used; their last layer is the output layer (one filter per
        class or output).
    layer : int, default=0
        The layer, 0 for the first; negative values count from the top.

    Returns
    -------
    filters : ndarray of shape (n_units, n_features_in_)
    """
    weights = _encoder_weights(estimator)
    n = len(weights)
    if not -n <= layer < n:
        raise ValueError(
            f"layer={layer} is out of range for {type(estimator).__name__} with "
            f"{n} weight layer{'s' if n > 1 else ''}."
        )
    layer %= n
    filters = weights[layer]
    for W in weights[layer - 1 :: -1] if layer else []:
        filters = filters @ W
    return filters


def plot_filters(
    estimator,
    layer=0,
    image_shape=None,
    *,
    n_filters=None,
    tile_shape=None,
    spacing=1,
    cmap="gray",
    title=None,
    ax=None,
):
    """Show the filters of one layer as a grid of images.

    The filters of the first layer are the rows of its weight matrix (for a
    DenoisingAutoencoder, ``components_``).  For a layer above the first they are
    projected back to input space by the product of the weight matrices below
    (see :func:`input_space_filters`): a linear projection that ignores the
    nonlinearities and biases in between.  Each filter is rescaled to [0, 1] on
    its own (black: most negative weight, white: most positive).

    Parameters
    ----------
    estimator : DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier \
or SdARegressor
        A fitted estimator.  Supervised estimators show their fine-tuned weights
        ``coefs_``; their last layer is the output layer.
    layer : int, default=0
        The layer, 0 for the first; negative values count from the top.
    image_shape : tuple of int, default=None
        ``(height, width)`` of the input images; None for square images.
    n_filters : int, default=None
        Show the first ``n_filters`` units only; None shows all.
    tile_shape : tuple of int, default=None
        ``(rows, columns)`` of the grid (see :func:`tile_images`); None for a
        near-square grid.
    spacing : int, default=1
        Pixels between the filters, drawn in the axes' background colour.
    cmap : str or Colormap, default="gray"
        Colormap.
    title : str, default=None
        Axes title; None names the layer.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes, holding one image: the tiled filters.
    """
    _pyplot()
    filters = input_space_filters(estimator, layer)
    if n_filters is not None:
        filters = filters[:n_filters]
    shape = _image_shape(filters.shape[1], image_shape)
    rows, cols = _grid(len(filters), tile_shape)
    ax = _new_axes(ax, figsize=(0.35 * cols + 1, 0.35 * rows + 1))
    _show_tiles(ax, _tile(filters, shape, (rows, cols), spacing, True, np.nan), cmap)
    if title is None:
        n_layers = len(_encoder_weights(estimator))
        k = layer % n_layers
        title = f"layer {k + 1} filters"
        if k:
            title += " (linear projection to input space)"
    ax.set_title(title)
    return ax


# ---------------------------------------------------------- reconstructions
def _reconstructor(estimator):
    """The autoencoder that reconstructs, and its first layer (whose noise we use)."""
    if isinstance(estimator, DenoisingAutoencoder):
        check_is_fitted(estimator)
        return estimator, estimator
    if isinstance(estimator, _SUPERVISED):
        check_is_fitted(estimator)
        if estimator.stack_ is None:
            raise ValueError(
                f"This {type(estimator).__name__} was fitted with pretrain=False: it "
                "has no pretrained autoencoders (stack_ is None) to reconstruct with."
            )
        estimator = estimator.stack_
    if isinstance(estimator, StackedDenoisingAutoencoder):
        check_is_fitted(estimator)
        return estimator, estimator.autoencoders_[0]
    raise TypeError(f"Expected {_SUPPORTED}; got {type(estimator).__name__}.")


def _corrupt(estimator, X, random_state=0):
    """Corrupt X with an estimator's own training noise (of its first layer).

    Parameters
    ----------
    estimator : DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier \
or SdARegressor
        A fitted estimator (for SdAClassifier/SdARegressor, its pretraining
        ``stack_``).
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    random_state : int or None, default=0
        Seed of ``numpy.random.default_rng`` for the noise.

    Returns
    -------
    X_corrupted : ndarray of shape (n_samples, n_features)
    """
    _, bottom = _reconstructor(estimator)
    dtype = bottom.components_.dtype
    X = check_array(X, dtype=dtype, accept_sparse="csr")
    X = X.toarray() if hasattr(X, "toarray") else X
    out = np.array(X, dtype=dtype, copy=True)
    if bottom.corruption_level > 0:
        rng = np.random.default_rng(random_state)
        noise = CORRUPTIONS[bottom.corruption]
        noise(X, bottom.corruption_level, rng, out, *bottom.input_range_)
    return out


def plot_reconstructions(
    estimator,
    X,
    n=10,
    image_shape=None,
    *,
    random_state=0,
    spacing=1,
    cmap="gray",
    title=None,
    ax=None,
):
    """Show inputs, their corrupted versions and the reconstructions.

    Three rows of images: the first ``n`` samples of X; the same samples corrupted
    with the estimator's own noise (``corruption`` and ``corruption_level`` of its
    first layer, drawn from ``numpy.random.default_rng(random_state)``); and the
    reconstructions of the corrupted inputs, ``inverse_transform(transform(
    X_corrupted))``, through every layer of a stack.  SdAClassifier and
    SdARegressor reconstruct with their pretraining stack ``stack_`` (fine-tuning
    trains no decoder).  Pixels are shown on the data's range, ``input_range_``
    of the first layer (black to white), values outside it clipped.

    Parameters
    ----------
    estimator : DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier \
or SdARegressor
        A fitted estimator.
    X : array-like of shape (n_samples, n_features)
        Clean inputs; the first ``n`` are shown.
    n : int, default=10
        Number of samples.
    image_shape : tuple of int, default=None
        ``(height, width)`` of the images; None for square images.
    random_state : int or None, default=0
        Seed of the noise.
    spacing : int, default=1
        Pixels between the images, drawn in the axes' background colour.
    cmap : str or Colormap, default="gray"
        Colormap.
    title : str, default=None
        Axes title; None names the estimator's noise.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes, holding one image: 3 rows of ``min(n, n_samples)`` images.
    """
    _pyplot()
    model, bottom = _reconstructor(estimator)
    X = check_array(X, dtype=bottom.components_.dtype, accept_sparse="csr")[:n]
    X = X.toarray() if hasattr(X, "toarray") else X
    X_corrupted = _corrupt(estimator, X, random_state)
    X_rec = model.inverse_transform(model.transform(X_corrupted))
    shape = _image_shape(X.shape[1], image_shape)
    m = len(X)
    tiled = _tile(
        np.concatenate([X, X_corrupted, X_rec]), shape, (3, m), spacing, False, np.nan
    )
    ax = _new_axes(ax, figsize=(0.6 * m + 1.5, 2.4))
    low, high = bottom.input_range_
    _show_tiles(ax, tiled, cmap, vmin=low, vmax=high if high > low else low + 1)
    h = shape[0]
    ax.set_yticks([h / 2 - 0.5 + r * (h + spacing) for r in range(3)])
    level = bottom.corruption_level
    noise = f"{bottom.corruption} {level:g}" if level > 0 else "no noise"
    middle = f"corrupted\n({noise})" if level > 0 else "input\n(no noise)"
    ax.set_yticklabels(["original", middle, "reconstructed"])
    ax.tick_params(axis="y", length=0)
    ax.set_title(f"reconstructions, {noise}" if title is None else title)
    return ax


# -------------------------------------------------------------- loss curves
def _curves(estimator):
    """[(label, estimator holding the curves, stage)], bottom to top."""
    if isinstance(estimator, DenoisingAutoencoder):
        check_is_fitted(estimator)
        return [("reconstruction", estimator, "pretraining")]
    if isinstance(estimator, StackedDenoisingAutoencoder):
        check_is_fitted(estimator)
        layers = [
            (f"layer {k + 1}", ae, "pretraining")
            for k, ae in enumerate(estimator.autoencoders_)
        ]
        if not getattr(estimator, "fine_tune_n_iter_", 0):
            return layers
        # the unrolled network's record, under the names the curves are read by
        return [*layers, ("fine-tuning", FineTuning(estimator), "fine-tuning")]
    if isinstance(estimator, _SUPERVISED):
        check_is_fitted(estimator)
        stack = [] if estimator.stack_ is None else _curves(estimator.stack_)
        return [*stack, ("fine-tuning", estimator, "fine-tuning")]
    raise TypeError(f"Expected {_SUPPORTED}; got {type(estimator).__name__}.")


def plot_loss_curves(estimator, *, logy=None, title=None, ax=None):
    """Training cost per epoch: one curve per layer's pretraining, and fine-tuning.

    A DenoisingAutoencoder has one curve, a StackedDenoisingAutoencoder one per
    layer and, with ``fine_tune_max_iter > 0``, its fine-tuning curve,
    SdAClassifier and SdARegressor one per pretrained layer (from ``stack_``) and
    the fine-tuning curve.  Validation scores, where early stopping
    recorded them (``validation_scores_``), are drawn dashed against a second
    y-axis on the right (they are scores: higher is better).

    Parameters
    ----------
    estimator : DenoisingAutoencoder, StackedDenoisingAutoencoder, SdAClassifier \
or SdARegressor
        A fitted estimator.
    logy : bool, default=None
        Logarithmic cost axis; None uses it when pretraining and fine-tuning costs,
        of very different sizes, share the axes.
    title : str, default=None
        Axes title.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the costs, one line per curve; the validation scores, if any,
        are on its twin ``ax.right_ax``.
    """
    _pyplot()
    curves = _curves(estimator)
    ax = _new_axes(ax, figsize=(6, 4))
    twin = None
    handles = []
    for k, (label, est, _) in enumerate(curves):
        color = f"C{k}"
        epochs = np.arange(1, len(est.loss_curve_) + 1)
        handles += ax.plot(epochs, est.loss_curve_, color=color, label=label)
        scores = getattr(est, "validation_scores_", None)
        if scores:
            if twin is None:
                twin = ax.twinx()
                twin.set_ylabel("validation score")
            handles += twin.plot(
                np.arange(1, len(scores) + 1),
                scores,
                color=color,
                linestyle="--",
                label=f"{label} (validation)",
            )
    stages = {stage for _, _, stage in curves}
    if logy is None:
        logy = len(stages) > 1
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost")
    ax.legend(handles=handles, loc="upper right")
    ax.right_ax = twin
    ax.set_title(f"{type(estimator).__name__} loss curves" if title is None else title)
    return ax
