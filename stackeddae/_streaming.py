"""Where a fit's rows come from: X in memory, X in memory in another dtype than
the training dtype (cast a mini-batch at a time), or a ``numpy.memmap`` or a
dask array larger than memory, served in blocks.

``fit`` and ``partial_fit`` of every estimator validate X with
:func:`validate_rows`.  A C-ordered array of numbers in memory (a memmap that
fits the budget below too) whose dtype is not the training dtype, typically the
user's float64 X of a float32 fit, becomes a :class:`CastRows`: it is validated
where it is (finite in the training dtype, checked without a copy) and never
copied whole; the training loop gathers each mini-batch's rows into a small
scratch of X's dtype and casts them into its float32 buffer, a stack computes
layer 1's codes block by block, and early stopping casts its held-out rows
alone.  The fit is the fit of ``X.astype(dtype)`` bit for bit.  Other X in
memory (X in the training dtype, a list, a DataFrame, sparse or F-ordered X) and
a dask array that fits the budget take scikit-learn's ``validate_data`` as before
(X in the training dtype is read in place, anything else converted: a copy).  A
memmap or dask array larger than the budget in the training dtype becomes a
:class:`BlockSource`, which the training loop reads block by block:
each block is copied once, converted to the training dtype, into one reused
buffer, and the mini-batches are gathered from it, so that the hot loop runs the
same BLAS calls per mini-batch as in memory.

**The budget** is scikit-learn's ``working_memory`` (``sklearn.get_config()``,
MiB, default 1024; set it with ``sklearn.config_context(working_memory=...)``),
the knob scikit-learn's own chunked computations read, rather than a new
parameter of every estimator: it is a property of the machine, not of the model,
and stays out of ``get_params``, grid searches and the ``memory=`` cache's keys.
A block holds at most ``working_memory`` MiB of rows (a whole number of
mini-batches, at least one); the codes of a layer that a stack hands up are kept
in memory when they fit in it and are otherwise spilled to a temporary memmap on
disk (``tempfile``'s directory), deleted when the next layer's codes replace them
and at the end of the fit.  A fit holds about two budgets beside the model: the
block buffer and the codes in memory.

**The rule for equal results.**  An epoch over a BlockSource visits the blocks
(all but a short last one, which comes last) in a random order and the rows of
each block in a random order, drawing from the estimator's generator.  A
streamed fit trains on the same mini-batches as the in-memory fit of
``np.asarray(X, dtype)`` exactly when it visits the same rows in the same order,
which is with ``shuffle=False`` (each block holds whole mini-batches); then the
single DAE, a stack's first layer, and every fit in which no layer hands codes up
(one-layer stacks with their fine-tuning, ``pretrain=False``) are bit-for-bit the
in-memory fit.  The layers above train on codes computed block by block, equal
to ``transform``'s wherever a matrix product's rows do not depend on the rows
beside it (OpenBLAS's kernels for large products, e.g. 784 x 1000 here), and
otherwise up to the last bit (its small-product kernels, and one-row products,
which blocks never are).  With ``shuffle=True`` the in-memory fit draws one
permutation of all the rows, which a fit that reads one block at a time cannot
follow: the order differs, and the fit depends on the block size, hence on
``working_memory``; it is still repeatable with an int ``random_state`` and the
same ``working_memory``.  X that fits in the budget is not streamed at all.

A streamed fit visits every row in each epoch: ``early_stopping`` (held-out
rows), unlabeled rows of the semi-supervised estimators (rows mixed per epoch),
``solver="lbfgs"`` (the full batch) and the ``memory=`` cache (a fingerprint of
X) are refused with an error naming the way out; ``partial_fit`` reads its chunk
in memory as before.
"""

import contextlib
import functools
import os
import shutil
import tempfile

import numpy as np
from sklearn import get_config
from sklearn.utils import gen_batches
from sklearn.utils.validation import (
    _check_y,
    check_array,
    check_consistent_length,
    validate_data,
)

from ._layers import CHUNK_ROWS, encoder_layers, forward

_MIB = 2**20


def budget_bytes():
    """scikit-learn's ``working_memory``, in bytes."""
    return int(get_config()["working_memory"] * _MIB)


def may_stream(X):
    """Whether a fit may read X block by block: a memmap or dask array larger
    than the budget even in float32, the smallest training dtype."""
    return _kind(X) is not None and X.shape[0] * X.shape[1] * 4 > budget_bytes()


def _is_dask_array(X):
    module = type(X).__module__
    return module.startswith("dask.array") and hasattr(X, "chunks")


def _is_dask_collection(X):
    return type(X).__module__.split(".")[0] == "dask"


# Out-of-core kinds of X -> how rows [start, stop) are read as an ndarray.
_READERS = {
    "memmap": lambda X, start, stop: X[start:stop],
    "dask": lambda X, start, stop: np.asarray(X[start:stop].compute()),
}


def _kind(X):
    if isinstance(X, np.memmap):
        return "memmap"
    if _is_dask_array(X):
        return "dask"
    return None


def _training_dtype(X, dtype):
    """The dtype ``validate_data(dtype=dtype)`` would give X: a list keeps X's own
    if listed, else its first entry."""
    if isinstance(dtype, (list, tuple)):
        return np.dtype(X.dtype if X.dtype in dtype else dtype[0])
    return np.dtype(dtype)


def validate_rows(
    est, X, y="no_validation", *, incremental=False, y_params=None, **params
):
    """``validate_data(est, X[, y], **params)``, X as a :class:`BlockSource`, or
    X as a :class:`CastRows`.

    X becomes a BlockSource where it is a memmap or a dask array larger than the
    budget in the training dtype (``params["dtype"]``) and the fit is not
    incremental; y (if given: as in ``validate_data``, ``"no_validation"`` means
    no y, and None a missing one) is then validated as ``validate_data`` would
    with ``y_params`` (``multi_output``, ``y_numeric``), in memory.  X becomes a
    CastRows where it is a C-ordered array of numbers in memory in another dtype
    than the training dtype (the user's float64 X of a float32 fit): validated
    where it is, and read cast a mini-batch at a time, never copied whole.

    Returns X, or (X, y) when y is given.
    """
    no_y = isinstance(y, str) and y == "no_validation"
    if isinstance(X, CastRows):  # validated: a stack hands it to its first layer
        return _validated_y(est, X, y, no_y, y_params, params)
    if not (isinstance(X, BlockSource) or _streams(X, incremental, params)):
        if _casts(X, params):
            return _cast_rows(est, X, y, no_y, y_params, params)
        if no_y:
            return validate_data(est, X, **params)
        return validate_data(est, X, y, **params, **(y_params or {}))
    check_streamable(est)
    if not isinstance(X, BlockSource):
        X = BlockSource(X, _training_dtype(X, params["dtype"]))
    return _validated_y(est, X, y, no_y, y_params, params)


def _validated_y(est, X, y, no_y, y_params, params):
    """X (a BlockSource or CastRows) and y validated as ``validate_data`` would."""
    validate_data(est, X, reset=params.get("reset", True), skip_check_array=True)
    if no_y:
        return X
    if y is None:  # validate_data's error
        validate_data(est, np.empty((1, X.shape[1])), None, reset=False)
    y = _check_y(np.asarray(y), estimator=est, **(y_params or {}))
    check_consistent_length(np.empty((X.shape[0], 0)), y)
    return X, y


def _casts(X, params):
    """Whether a fit reads X in place, cast a mini-batch at a time: a C-ordered
    2-D array of numbers whose dtype is not the training dtype."""
    return (
        isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.flags.c_contiguous
        and X.dtype.kind in "iuf"
        and params.get("dtype") is not None
        and X.dtype != _training_dtype(X, params["dtype"])
    )


def _cast_rows(est, X, y, no_y, y_params, params):
    """X validated in its own dtype, where it is (no copy), and checked to be
    finite in the training dtype; as a CastRows (and y, validated)."""
    dtype = _training_dtype(X, params["dtype"])
    own = {**params, "dtype": None, "ensure_all_finite": False}
    X = validate_data(est, X, **own)  # alone first: X's errors before y's, as
    rows = CastRows(X, dtype)  # check_X_y gives them
    if not (np.isfinite(rows.min()) and np.isfinite(rows.max())):
        rows.check_finite(est)  # raises check_array's error
    if no_y:
        return rows
    _, y = validate_data(est, X, y, **own, **(y_params or {}))  # X: checks only
    return rows, y


def _streams(X, incremental, params):
    """Whether a fit reads X block by block."""
    if _is_dask_collection(X) and not _is_dask_array(X):
        raise TypeError(
            f"stackeddae reads dask arrays, not a {type(X).__name__}: pass "
            "X.to_dask_array(lengths=True)."
        )
    if incremental or _kind(X) is None:
        return False
    if X.ndim != 2 or any(np.isnan(n) for n in X.shape):
        raise ValueError(
            f"An out-of-core X must be 2-D with known row counts, got shape "
            f"{X.shape}; for a dask array with unknown chunk sizes, call "
            "X.compute_chunk_sizes() first."
        )
    size = X.shape[0] * X.shape[1] * _training_dtype(X, params["dtype"]).itemsize
    return size > budget_bytes()


# What a fit that visits every row of every epoch cannot do -> why, and the way out.
_UNSUPPORTED = {
    "early_stopping": (
        lambda est: est.early_stopping,
        "holds out validation rows; set early_stopping=False, or hold out a "
        "validation set yourself",
    ),
    "solver": (
        lambda est: (
            "lbfgs" in (est.solver, getattr(est, "fine_tune_solver", None))
            and (est.solver == "lbfgs" or getattr(est, "fine_tune_max_iter", 1) > 0)
        ),
        "trains on the full batch with 'lbfgs'; choose a mini-batch solver",
    ),
    "pretrain_solver": (
        lambda est: (
            getattr(est, "pretrain_solver", None) == "lbfgs"
            and getattr(est, "pretrain", False)
        ),
        "pretrains on the full batch with 'lbfgs'; choose a mini-batch solver",
    ),
    "memory": (
        lambda est: getattr(est, "memory", None) is not None,
        "caches layers under a fingerprint of X; set memory=None",
    ),
}


def check_every_row(X):
    """Raise where X is read block by block: such a fit cannot train on a subset
    of its rows (the labeled ones, those not held out)."""
    if isinstance(X, BlockSource):
        raise ValueError(
            "A fit that reads X block by block visits every row; it cannot "
            "train on a subset (unlabeled rows, held-out rows). Raise "
            "working_memory (sklearn.config_context) to load X in memory."
        )


def check_streamable(est):
    """Raise where ``est`` cannot train on X read block by block."""
    for name, (applies, why) in _UNSUPPORTED.items():
        if applies(est):
            raise ValueError(
                f"{type(est).__name__} reads X (a memmap or dask array larger than "
                f"sklearn's working_memory={get_config()['working_memory']} MiB) "
                f"block by block, and cannot with this '{name}': it {why}, or raise "
                "working_memory (sklearn.config_context) to load X in memory."
            )


class BlockSource:
    """The rows of a memmap or dask array, read in blocks converted to ``dtype``.

    Looks like a 2-D array to the code that validates and initialises a fit
    (``shape``, ``ndim``, ``dtype``, ``min``, ``max``); the training loop reads
    mini-batches through :meth:`epoch_order` and :meth:`take`, a stack its codes
    through :meth:`blocks`.  Construction reads X once, to check that it is
    finite and to record its range.  The caller's X is only read.
    """

    def __init__(self, X, dtype):
        if np.dtype(X.dtype).kind not in "biuf":
            raise ValueError(
                f"An out-of-core X must hold numbers, got dtype {X.dtype}."
            )
        self.data, self.kind = X, _kind(X)
        self.shape = tuple(int(n) for n in X.shape)
        self.ndim = 2
        self.dtype = np.dtype(dtype)
        row_bytes = max(1, self.shape[1]) * self.dtype.itemsize
        self.capacity = min(self.shape[0], max(2, budget_bytes() // row_bytes))
        self.block_rows = self.capacity  # rows per block: set per epoch
        self._buffer = None
        self._loaded = None  # (start, stop) of the block in the buffer
        self._local = None  # a mini-batch's rows within its block
        self._low, self._high = self._scan()

    # ------------------------------------------------------------ reading
    def _rows(self, start, stop):
        """Rows [start, stop) in the training dtype: a view of the reused buffer."""
        if self._loaded != (start, stop):
            if self._buffer is None or len(self._buffer) < stop - start:
                self._buffer = np.empty((stop - start, self.shape[1]), self.dtype)
            block = _READERS[self.kind](self.data, start, stop)
            with np.errstate(over="ignore"):  # too large for dtype: _scan says
                np.copyto(self._buffer[: stop - start], block, casting="unsafe")
            self._loaded = (start, stop)
        return self._buffer[: stop - start]

    def spans(self):
        """(start, stop) of blocks of at most ``capacity`` rows, none of one row
        (a one-row product takes another BLAS path than a block's rows)."""
        n, size = self.shape[0], self.capacity
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()  # the last row joins the block before it
        return list(zip(starts, [*starts[1:], n], strict=True))

    def blocks(self):
        """(start, stop, rows) of each block in turn."""
        for start, stop in self.spans():
            yield start, stop, self._rows(start, stop)

    def _scan(self):
        low, high = np.inf, -np.inf
        for _, _, rows in self.blocks():
            if rows.size:
                low, high = min(low, rows.min()), max(high, rows.max())
        if not (np.isfinite(low) and np.isfinite(high)) and self.shape[0]:
            raise ValueError(
                "Input X contains NaN or infinity (or values too large for "
                f"{self.dtype.name})."
            )
        return low, high

    def min(self):
        return self._low

    def max(self):
        return self._high

    # ------------------------------------------------------------ epochs
    def epoch_order(self, rng, shuffle, batch_size, rows=None):
        """An epoch's order of the rows, block by block (None: X's own order).

        Blocks hold whole mini-batches, so that no mini-batch spans two blocks;
        with one block the order is the in-memory fit's ``rng.permutation``.
        """
        if rows is not None:
            check_every_row(self)
        n = self.shape[0]
        self.block_rows = size = max(
            batch_size, self.capacity // batch_size * batch_size
        )
        if self._local is None or len(self._local) < batch_size:
            self._local = np.empty(batch_size, np.intp)
        if not shuffle:
            return None
        if n <= size:
            return rng.permutation(n)
        n_full = n // size
        blocks = list(rng.permutation(n_full))
        if n % size:
            blocks.append(n_full)  # the short block last: whole mini-batches first
        order = np.empty(n, np.intp)
        position = 0
        for block in blocks:
            start, stop = block * size, min(n, (block + 1) * size)
            order[position : position + stop - start] = start + rng.permutation(
                stop - start
            )
            position += stop - start
        return order

    def take(self, index, out):
        """The mini-batch of rows ``index`` (a slice or indices, within one block)."""
        size = self.block_rows
        if isinstance(index, slice):
            block = index.start // size
            start = block * size
            rows = self._rows(start, min(self.shape[0], start + size))
            return rows[index.start - start : index.stop - start]
        block = index[0] // size
        start = block * size
        rows = self._rows(start, min(self.shape[0], start + size))
        local = np.subtract(index, start, out=self._local[: len(index)])
        return np.take(rows, local, axis=0, out=out[: len(index)])


# ---------------------------------------------------------------- cast rows


class CastRows:
    """The rows of an array in memory, read in another dtype a few at a time.

    The user's float64 X of a float32 fit (or any array of numbers not in the
    training dtype) is validated where it is and never copied whole: each
    mini-batch's rows are gathered into a reused scratch of X's dtype and cast
    into the batch buffer (:meth:`take`), the codes a stack hands up are
    computed block by block (:func:`encode_rows`), and the few rows a fit holds
    out are cast on their own (``X[rows]``).  Casting a gathered row gives the
    bits of gathering the cast row, so that a fit is the fit of
    ``X.astype(dtype)`` bit for bit.  ``rows`` (positions in X) makes a subset
    of X's rows without copying them (:meth:`subset`).  Looks like a 2-D array
    to the code that validates and initialises a fit, as :class:`BlockSource`.
    """

    def __init__(self, X, dtype, rows=None):
        self.data, self.rows, self.dtype = X, rows, np.dtype(dtype)
        self.shape = (X.shape[0] if rows is None else len(rows), X.shape[1])
        self.ndim = 2
        self._scratch = None  # rows of X gathered, in X's dtype
        self._positions = None  # a mini-batch's positions in X
        self._range = None

    def __reduce__(self):  # what X is, not its buffers (joblib.hash: the cache)
        return CastRows, (self.data, self.dtype, self.rows)

    def subset(self, rows):
        """Rows ``rows`` (positions) of these rows, read in place as these."""
        return CastRows(
            self.data, self.dtype, rows if self.rows is None else self.rows[rows]
        )

    def take(self, index, out):
        """Rows ``index`` (a slice or positions) cast into ``out``'s first rows."""
        if isinstance(index, slice):
            if self.rows is None:  # a view of X: cast it straight
                rows = self.data[index]
                np.copyto(out[: len(rows)], rows, casting="unsafe")
                return out[: len(rows)]
            index = self.rows[index]
        elif self.rows is not None:
            if self._positions is None or len(self._positions) < len(index):
                self._positions = np.empty(len(index), np.intp)
            index = np.take(
                self.rows, index, out=self._positions[: len(index)], mode="wrap"
            )
        n = len(index)
        if self._scratch is None or len(self._scratch) < n:
            self._scratch = np.empty((n, self.shape[1]), self.data.dtype)
        # mode="wrap" (the positions are valid) writes into the scratch without
        # numpy's intermediate copy of mode="raise"
        np.take(self.data, index, axis=0, out=self._scratch[:n], mode="wrap")
        np.copyto(out[:n], self._scratch[:n], casting="unsafe")
        return out[:n]

    def __getitem__(self, index):
        """Rows ``index`` (a slice, positions or a boolean mask): a new array."""
        if isinstance(index, slice):
            index = np.arange(self.shape[0])[index]
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        out = np.empty((len(index), self.shape[1]), self.dtype)
        for rows in gen_batches(len(index), CHUNK_ROWS):
            self.take(index[rows], out[rows])
        return out

    def toarray(self):
        """All the rows, cast: a whole copy, for a full-batch (L-BFGS) fit."""
        return self[:]

    def blocks(self, spans):
        """(start, stop, rows) of each span of rows in turn, cast into a buffer
        reused from one block to the next."""
        buffer = np.empty((max(b - a for a, b in spans), self.shape[1]), self.dtype)
        for start, stop in spans:
            yield start, stop, self.take(slice(start, stop), buffer)

    def _scan(self):
        """The rows' smallest and largest values, in the training dtype (casting
        keeps the order: those of the cast rows)."""
        if self.rows is None:  # over X where it is
            low, high = self.data.min(), self.data.max()
        else:
            spans = list(_spans(self.shape[0], CHUNK_ROWS))
            ranges = [(b.min(), b.max()) for _, _, b in self.blocks(spans)]
            low, high = np.min(ranges, axis=0)[0], np.max(ranges, axis=0)[1]  # NaN wins
        with np.errstate(over="ignore"):  # too large for dtype: not finite
            return self.dtype.type(low), self.dtype.type(high)

    def min(self):
        if self._range is None:
            self._range = self._scan()
        return self._range[0]

    def max(self):
        if self._range is None:
            self._range = self._scan()
        return self._range[1]

    def check_finite(self, est):
        """Raise ``check_array``'s error where a cast row is not finite."""
        for start, stop in _spans(self.shape[0], CHUNK_ROWS):
            rows = self.data[start:stop] if self.rows is None else self[start:stop]
            check_array(rows, dtype=self.dtype, input_name="X", estimator=est)


def row_subset(X, rows):
    """Rows ``rows`` of X for a fit to train on: read in place from a CastRows,
    copied from an array (the held-out rows of early stopping left out)."""
    return X.subset(rows) if isinstance(X, CastRows) else X[rows]


def _spans(n, size):
    """(start, stop) of consecutive blocks of ``size`` rows of n."""
    return [(r.start, r.stop) for r in gen_batches(n, size)]


# ---------------------------------------------------------------- codes


class CodeStore(contextlib.AbstractContextManager):
    """Where a stack fit keeps the codes it hands up: in memory when they fit in
    the budget, else in a memmap in a temporary directory (its file unlinked at
    once where the system allows, so it goes with the array; the directory is
    removed on exit)."""

    def __init__(self):
        self.directory = None
        self.count = 0

    def array(self, shape, dtype):
        dtype = np.dtype(dtype)
        if shape[0] * shape[1] * dtype.itemsize <= budget_bytes():
            return np.empty(shape, dtype)
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="stackeddae-codes-")
        self.count += 1
        path = os.path.join(self.directory, f"codes{self.count}.dat")
        codes = np.memmap(path, dtype=dtype, mode="w+", shape=shape)
        with contextlib.suppress(OSError):  # Windows keeps a mapped file
            os.unlink(path)
        return codes

    def __exit__(self, *exc_info):
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def encode_blocks(source, ae, store):
    """The codes of ``ae`` (a fitted layer) of a BlockSource's rows, block by
    block, in an array from ``store``: the same bits as ``ae.transform``."""
    codes = store.array((source.shape[0], ae.n_components), source.dtype)
    layers = encoder_layers(ae)
    for start, stop, rows in source.blocks():
        codes[start:stop] = forward(layers, rows)
    if isinstance(codes, np.memmap):  # spilled: read by the layer above in blocks
        codes.flush()
        return BlockSource(codes, codes.dtype)
    return codes


# A product of at least this many multiply-adds per block of rows: OpenBLAS then
# computes each row of it as in the product of all the rows (its small-matrix
# kernels, for fewer, and its one-row path round differently).
_LARGE_PRODUCT = 2**24


def _product_spans(n, flops, rows=1024):
    """(start, stop) of blocks of n rows, of at least ``rows`` rows each, whose
    products with a matrix of ``flops`` entries give each row the bits of the
    product of all the rows (see ``_LARGE_PRODUCT``; a small last block joins
    the one before it): one block where there are too few rows for two."""
    rows = max(rows, 1024, -(-_LARGE_PRODUCT // flops))
    if n < 2 * rows:
        return [(0, n)]
    starts = list(range(0, n, rows))
    if (n - starts[-1]) * flops < _LARGE_PRODUCT:
        starts.pop()  # a small last block joins the one before it
    return list(zip(starts, [*starts[1:], n], strict=True))


def encode_rows(ae, source):
    """``ae.transform`` of a CastRows' rows, computed block by block (each block
    cast on its own): the bits of the product of all the cast rows."""
    codes = np.empty((source.shape[0], ae.n_components), source.dtype)
    layers = encoder_layers(ae)
    spans = _product_spans(source.shape[0], source.shape[1] * ae.n_components)
    for start, stop, rows in source.blocks(spans):
        codes[start:stop] = forward(layers, rows)
    return codes


def encode_in_place(ae, codes):
    """``ae.transform(codes)`` for the fit's own codes (C-ordered, not wider than
    ``ae``'s input), computed in blocks of rows written over the rows already
    read, so that a stack holds one layer's codes, not two; the same bits as the
    product of all the rows (see ``_LARGE_PRODUCT``).  None where the codes are
    too few for two such blocks: then ``transform`` is as cheap."""
    n, width = codes.shape
    spans = _product_spans(n, width * ae.n_components)
    if ae.n_components > width or len(spans) < 2 or not codes.flags.c_contiguous:
        return None
    flat = codes.reshape(-1)
    layers = encoder_layers(ae)
    for start, stop in spans:
        out = forward(layers, codes[start:stop])
        # rows < stop are read; the new rows end at stop * n_components <= the
        # old rows' stop * width
        flat[start * ae.n_components : stop * ae.n_components] = out.ravel()
    return flat[: n * ae.n_components].reshape(n, ae.n_components)


# ---------------------------------------------------------------- inference


def in_row_blocks(method):
    """Run the inference ``method(est, X)`` over blocks of X's rows where X is an
    array in another dtype than the model's whose cast copy holds two blocks or
    more: each block is validated (cast) on its own and the outputs are written
    into one array, so that X is never copied whole.  A block holds the budget's
    worth of rows (``working_memory``), or more where a layer needs more for
    each row to get the bits of the product of all the rows (see
    ``_LARGE_PRODUCT``): with a small layer, such as a head of a few classes,
    blocks are 2**24 / (its inputs x outputs) rows, whatever the budget.
    Fewer rows than two blocks are computed whole, as before."""

    @functools.wraps(method)
    def run(est, X, *args, **kwargs):
        spans = _inference_spans(est, X)
        if spans is None:
            return method(est, X, *args, **kwargs)
        out = None
        for start, stop in spans:
            part = method(est, X[start:stop], *args, **kwargs)
            if out is None:
                out = np.empty((X.shape[0], *part.shape[1:]), part.dtype)
            out[start:stop] = part
        return out

    return run


def _inference_spans(est, X):
    """The blocks of rows :func:`in_row_blocks` runs over, or None: X whole."""
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "iuf"):
        return None
    try:
        layers = encoder_layers(est)
    except TypeError:  # not fitted: the method says so
        return None
    dtype = layers[0][0].dtype
    row_bytes = max(1, X.shape[1]) * dtype.itemsize
    if X.dtype == dtype or X.shape[0] * row_bytes <= budget_bytes():
        return None
    flops = min(W.shape[0] * W.shape[1] for W, _, _ in layers)
    spans = _product_spans(X.shape[0], flops, budget_bytes() // row_bytes)
    return spans if len(spans) > 1 else None
