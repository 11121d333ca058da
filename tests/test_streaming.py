"""Fits of a numpy.memmap (and a dask array: tests/test_dask.py) larger than
scikit-learn's working_memory, read block by block (stackeddae/_streaming.py)."""

import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from support import (
    MAKERS,
    N,
    assert_same_state,
    fit_quiet,
    make_clf,
    make_dae,
    make_deep,
    make_reg,
    make_stack,
    make_target,
    make_X,
    make_y,
    quietly,
    trained_arrays,
)

from stackeddae import StackedDenoisingAutoencoder, _streaming

# 20 rows of 6 float32 features: 3 blocks of the 60 rows, 2 mini-batches of 10 each;
# a layer's codes (60 x 5 float32) are larger than this, so they are spilled.
BUDGET_MIB = 20 * 6 * 4 / 2**20
# Fits in which no layer hands codes up: the rule makes them bit-for-bit equal.
EXACT = {
    "dae": make_dae,
    "deep": lambda **p: make_deep(hidden_layer_sizes=(5,), **p),
    "classifier": lambda **p: make_clf(pretrain=False, **p),
    "regressor": lambda **p: make_reg(pretrain=False, **p),
}
ESTIMATORS = {**MAKERS, "deep": make_deep}
SUPERVISED = ("classifier", "regressor")


def write_memmap(path, X, mode="r"):
    """X written to ``path``, opened again as a memmap (read-only by default)."""
    out = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    out[:] = X
    out.flush()
    del out
    return np.memmap(path, dtype=X.dtype, mode=mode, shape=X.shape)


@pytest.fixture
def reads(monkeypatch):
    """The size in float32 of every block read from a memmap, and every spilled
    code array, during a test."""
    log = {"blocks": [], "spilled": []}
    read = _streaming._READERS["memmap"]

    def recording_read(X, start, stop):
        log["blocks"].append((stop - start) * X.shape[1] * 4)  # float32 bytes
        return read(X, start, stop)

    monkeypatch.setitem(_streaming._READERS, "memmap", recording_read)
    array = _streaming.CodeStore.array

    def recording_array(self, shape, dtype):
        codes = array(self, shape, dtype)
        if isinstance(codes, np.memmap):
            log["spilled"].append((self.directory, codes.shape))
        return codes

    monkeypatch.setattr(_streaming.CodeStore, "array", recording_array)
    return log


def streamed_fit(est, X, y=None, budget=BUDGET_MIB):
    with sklearn.config_context(working_memory=budget):
        return fit_quiet(est, X, y)


@pytest.mark.parametrize("kind", EXACT)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_memmap_fit_without_shuffle_is_the_in_memory_fit(kind, dtype, tmp_path, reads):
    """The rule: with shuffle=False the streamed fit visits the rows in the
    in-memory fit's order, and is that fit bit for bit."""
    X = make_X().astype(dtype)
    y = make_target(kind)
    est = EXACT[kind](shuffle=False)
    streamed = streamed_fit(clone(est), write_memmap(tmp_path / "X.dat", X), y)
    assert reads["blocks"] and max(reads["blocks"]) <= BUDGET_MIB * 2**20
    assert_same_state(streamed, fit_quiet(clone(est), X, y))


@pytest.mark.parametrize("kind", ["stack", "deep", "classifier", "regressor"])
def test_codes_handed_up_block_by_block(kind, tmp_path, reads):
    """Layer 1 is the in-memory fit's bit for bit; the layers above train on codes
    computed block by block (here spilled to disk), which are ``transform``'s up
    to BLAS's rounding of a block's product (small products take kernels whose
    last bit depends on the row count)."""
    X, y = make_X(), make_target(kind)
    est = ESTIMATORS[kind](shuffle=False)
    streamed = streamed_fit(clone(est), write_memmap(tmp_path / "X.dat", X), y)
    in_memory = fit_quiet(clone(est), X, y)
    assert reads["spilled"]  # layer 1's codes went to disk
    first = [
        getattr(streamed, "stack_", streamed),
        getattr(in_memory, "stack_", in_memory),
    ]
    assert_same_state(first[0].autoencoders_[0], first[1].autoencoders_[0])
    for a, b in zip(trained_arrays(streamed), trained_arrays(in_memory), strict=True):
        assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["stack", "classifier"])
def test_memmap_fit_with_shuffle_shuffles_within_blocks(kind, tmp_path, reads):
    """Shuffled, a streamed fit differs from the in-memory one (it cannot draw
    one permutation of all rows), and is repeatable."""
    X, y = make_X(), make_target(kind)
    mm = write_memmap(tmp_path / "X.dat", X)
    est = ESTIMATORS[kind]()
    first, second = streamed_fit(clone(est), mm, y), streamed_fit(clone(est), mm, y)
    assert_same_state(first, second)
    in_memory = fit_quiet(clone(est), X, y)
    with pytest.raises(AssertionError):
        assert_same_state(first, in_memory)
    assert max(reads["blocks"]) <= BUDGET_MIB * 2**20


def test_epoch_order_keeps_mini_batches_within_blocks(tmp_path):
    X = make_X(n=67)
    with sklearn.config_context(working_memory=BUDGET_MIB):
        source = _streaming.BlockSource(write_memmap(tmp_path / "X.dat", X), "f4")
    rng = np.random.default_rng(0)
    order = source.epoch_order(rng, True, batch_size=10)
    assert source.block_rows == 20
    assert sorted(order) == list(range(67))
    for start in range(0, 67, 10):  # each mini-batch inside one block
        assert len(set(order[start : start + 10] // 20)) == 1
    assert set(order[60:]) == set(range(60, 67))  # the short block last
    batch = source.take(order[:10], np.empty((10, 6), np.float32))
    assert_array_equal(batch, X[order[:10]].astype(np.float32))


def test_spilled_codes_are_deleted(tmp_path, monkeypatch, reads):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    X = write_memmap(tmp_path / "X.dat", make_X())
    streamed_fit(make_deep(), X)
    assert reads["spilled"]
    assert [p.name for p in tmp_path.iterdir()] == ["X.dat"]


def test_caller_arrays_are_not_modified(tmp_path):
    X, y = make_X(), make_target("classifier")
    mm = write_memmap(tmp_path / "X.dat", X, mode="r+")  # writable, and not written
    y_copy = y.copy()
    streamed_fit(make_clf(), mm, y)
    streamed_fit(make_deep(), mm)
    assert_array_equal(mm, X)
    assert_array_equal(y, y_copy)


def test_a_memmap_that_fits_is_read_as_before(tmp_path, reads):
    X = write_memmap(tmp_path / "X.dat", make_X())
    fit_quiet(make_stack(), X)  # working_memory's default, 1024 MiB
    assert reads["blocks"] == [] and reads["spilled"] == []


@pytest.mark.parametrize(
    "params, match",
    [
        ({"early_stopping": True}, "early_stopping"),
        ({"solver": "lbfgs"}, "solver"),
        ({"fine_tune_solver": "lbfgs"}, "solver"),
        ({"memory": "cache"}, "memory"),
    ],
)
def test_unsupported_settings_are_refused(params, match, tmp_path):
    X = write_memmap(tmp_path / "X.dat", make_X())
    with pytest.raises(ValueError, match=f"block by block.*'{match}'"):
        streamed_fit(make_deep(**params), X)


def test_a_classifier_pretraining_with_lbfgs_is_refused_by_its_own_name(tmp_path):
    X = write_memmap(tmp_path / "X.dat", make_X())
    with pytest.raises(ValueError, match="SdAClassifier.*'pretrain_solver'"):
        streamed_fit(make_clf(pretrain_solver="lbfgs"), X, make_y())


def test_unlabeled_rows_are_refused(tmp_path):
    X = write_memmap(tmp_path / "X.dat", make_X())
    y = make_target("classifier")
    y[::2] = -1
    clf = make_clf(unlabeled_label=-1)
    with pytest.raises(ValueError, match="visits every row"):
        streamed_fit(clf, X, y)
    assert not hasattr(clf, "stack_")  # refused before pretraining read X


def test_zero_weights_of_a_streamed_x_are_refused(tmp_path):
    # dropping the rows of weight 0 would load the others in memory
    X = write_memmap(tmp_path / "X.dat", make_X())
    weights = np.ones(X.shape[0])
    weights[::3] = 0
    with sklearn.config_context(working_memory=BUDGET_MIB):
        with pytest.raises(ValueError, match="rows of weight 0"):
            make_stack().fit(X, sample_weight=weights)
        with pytest.raises(ValueError, match="rows of weight 0"):
            make_clf().fit(X, make_target("classifier"), sample_weight=weights)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.full((N, 6), np.nan), ValueError, "NaN or infinity"),
        (np.full((N, 6), 1e300), ValueError, "NaN or infinity"),  # float32: inf
        (np.ones((N, 2, 3)), ValueError, "2-D"),
    ],
)
def test_bad_memmaps_are_refused(bad, error, match, tmp_path):
    X = write_memmap(tmp_path / "X.dat", bad)
    with pytest.raises(error, match=match):
        streamed_fit(make_stack(), X)


def test_partial_fit_reads_its_chunk_in_memory(tmp_path, reads):
    X = write_memmap(tmp_path / "X.dat", make_X())
    with sklearn.config_context(working_memory=BUDGET_MIB):
        make_stack().partial_fit(X)
    assert reads["blocks"] == []


# ----------------------------------------------------------- under a memory limit

# The child process: imports (and BLAS's buffers) first, then a limit on its data
# segment of its current size + LIMIT; RLIMIT_DATA counts private writable memory
# (malloc's heap and anonymous mmaps) but not file-backed shared mappings such as
# a memmap's pages, so a memmap 4x LIMIT can be read, and a copy of it cannot.
_CHILD = """
import resource, sys, warnings
import numpy as np, sklearn
from stackeddae import SdAClassifier, StackedDenoisingAutoencoder

path, n, d, limit_mib, kind = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
X = np.memmap(path, dtype=np.float64, mode="r", shape=(n, d))
y = np.arange(n) % 3
for dtype in (np.float32, np.float64):  # BLAS's buffers before the limit
    np.ones((512, 512), dtype) @ np.ones((512, 512), dtype)
warnings.simplefilter("ignore")
data = [int(line.split()[1]) for line in open("/proc/self/status")
        if line.startswith("VmData")][0] * 1024
limit = data + limit_mib * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(
    resource.RLIMIT_DATA)[1]))
try:
    np.ones((n, d), np.float32)  # the limit bites: X's float32 copy cannot be made
    sys.exit("the limit did not stop a float32 copy of X")
except MemoryError:
    pass
layers = dict(hidden_layer_sizes=(32, 16), batch_size=50, random_state=0)
with sklearn.config_context(working_memory=limit_mib / 4):
    if kind == "stack":
        est = StackedDenoisingAutoencoder(max_iter=1, **layers).fit(X)
    else:
        est = SdAClassifier(pretrain_max_iter=1, max_iter=1, **{
            ("pretrain_" + k if k == "batch_size" else k): v
            for k, v in layers.items()}).fit(X, y)
print("fitted", type(est).__name__)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA and /proc: Linux")
@pytest.mark.parametrize("kind", ["stack", "classifier"])
def test_memmap_four_times_a_memory_limit(kind, tmp_path):
    limit_mib, d = 24, 256
    n = 4 * limit_mib * 2**20 // (8 * d)  # float64 X: 4x the limit
    X = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=(n, d))
    for start in range(0, n, 4096):  # written in pieces, to keep this test lean
        piece = X[start : start + 4096]
        piece[:] = np.random.default_rng(start).random(piece.shape)
    X.flush()
    del X
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(tmp_path / "X.dat")]
        + [str(n), str(d), str(limit_mib), kind],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert "fitted" in child.stdout


# ----------------------------------------------------------- codes in memory


def _wide_stack():
    """Three layers of 400 over 6000 rows: each layer's codes are 9.6 MB."""
    X = np.random.default_rng(0).random((6000, 20), dtype=np.float32)
    stack = StackedDenoisingAutoencoder(
        (400, 400, 400), max_iter=1, batch_size=100, random_state=0
    )
    return stack, X


def test_a_stack_holds_one_layer_of_codes_at_a_time():
    """Layer 2's codes are written over layer 1's: the fit's peak beyond X is
    one layer's codes (and a block of the product), not two."""
    stack, X = _wide_stack()
    codes_bytes = 6000 * 400 * 4
    tracemalloc.start()
    try:
        fit_quiet(stack, X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes_bytes < peak < 1.5 * codes_bytes


def test_codes_in_place_are_the_codes_of_transform(monkeypatch):
    stack, X = _wide_stack()
    in_place = fit_quiet(clone(stack), X)
    monkeypatch.setattr("stackeddae._stacked.encode_in_place", lambda ae, codes: None)
    assert_same_state(in_place, fit_quiet(clone(stack), X))
    layer = in_place.autoencoders_[1]
    codes = in_place.autoencoders_[0].transform(X)
    assert_array_equal(
        _streaming.encode_in_place(layer, codes.copy()), layer.transform(codes)
    )


# ----------------------------------------------------------- X cast in place

# Fits that read every kind of row of X: shuffled or not, weighted, held out,
# unlabeled, full batch, in chunks; each must be the fit of X.astype(float32).
_Y_SEMI = np.where(np.arange(N) % 3 == 0, -1, make_target("classifier"))
_WEIGHTS = np.random.default_rng(1).random(N) + 0.5
CAST_FITS = {
    "dae": lambda X: make_dae(loss="squared_error").fit(X),
    "dae unshuffled": lambda X: make_dae(shuffle=False).fit(X),
    "dae early stopping": lambda X: make_dae(early_stopping=True).fit(X),
    "dae lbfgs": lambda X: make_dae(solver="lbfgs").fit(X),
    "stack weighted": lambda X: make_stack().fit(X, sample_weight=_WEIGHTS),
    "stack partial_fit": lambda X: make_stack().partial_fit(X).partial_fit(X),
    "deep early stopping": lambda X: make_deep(early_stopping=True).fit(X),
    "deep unshuffled": lambda X: make_deep(shuffle=False).fit(X),
    "classifier": lambda X: make_clf().fit(X, make_target("classifier")),
    "classifier early stopping weighted": lambda X: make_clf(
        early_stopping=True, validation_fraction=0.2
    ).fit(X, make_target("classifier"), sample_weight=_WEIGHTS),
    "classifier lbfgs semi-supervised": lambda X: make_clf(
        solver="lbfgs", unlabeled_label=-1
    ).fit(X, _Y_SEMI),
    "classifier partial_fit": lambda X: make_clf().partial_fit(
        X, make_target("classifier"), classes=[0, 1, 2]
    ),
    "regressor warm start": lambda X: (
        make_reg(warm_start=True)
        .fit(X, make_target("regressor"))
        .fit(X, make_target("regressor"))
    ),
    **{
        f"semi-supervised {loss}": lambda X, loss=loss: make_clf(
            unlabeled_label=-1,
            unlabeled_loss=loss,
            unlabeled_weight=0.5,
            early_stopping=True,
            validation_fraction=0.3,
        ).fit(X, _Y_SEMI)
        for loss in ("pseudo_label", "entropy", "consistency", "spreading")
    },
}


@pytest.mark.parametrize("name", CAST_FITS)
def test_a_float64_fit_is_the_fit_of_its_float32_copy(name):
    """X read in place and cast a mini-batch at a time: the same bits as the
    fit of the float32 copy that fit used to make."""
    X = make_X()
    fitted = quietly(CAST_FITS[name], X)
    assert_same_state(fitted, quietly(CAST_FITS[name], X.astype(np.float32)))


def test_codes_of_a_cast_x_handed_up_block_by_block():
    """Layer 1's codes of a cast X are computed in blocks of at least
    _LARGE_PRODUCT multiply-adds (2 here), the bits of the product of all rows."""
    X = np.random.default_rng(0).random((2100, 128))
    spans = _streaming._product_spans(2100, 128 * 128)
    assert len(spans) == 2
    stack = StackedDenoisingAutoencoder((128, 8), max_iter=1, random_state=0)
    fitted = fit_quiet(clone(stack), X)
    assert_same_state(fitted, fit_quiet(clone(stack), X.astype(np.float32)))
    layer = fitted.autoencoders_[0]
    assert_array_equal(
        _streaming.encode_rows(layer, _streaming.CastRows(X, np.float32)),
        layer.transform(X.astype(np.float32)),
    )


def test_cast_rows_read_as_the_rows_of_the_cast_copy():
    X = make_X(n=50)
    X32, picked = X.astype(np.float32), np.arange(3, 40, 2)
    rows = _streaming.CastRows(X, np.float32)
    subset = rows.subset(picked)
    out = np.empty((10, X.shape[1]), np.float32)
    assert_array_equal(rows.take(slice(5, 12), out), X32[5:12])
    assert_array_equal(rows.take(np.array([7, 1, 30]), out), X32[[7, 1, 30]])
    assert_array_equal(subset.take(slice(2, 6), out), X32[picked][2:6])
    assert_array_equal(subset.take(np.array([4, 0]), out), X32[picked][[4, 0]])
    assert_array_equal(subset[np.arange(19) % 2 == 0], X32[picked][::2])
    assert_array_equal(subset.toarray(), X32[picked])
    assert (subset.min(), subset.max()) == (X32[picked].min(), X32[picked].max())
    assert (rows.min(), rows.max()) == (X32.min(), X32.max())


@pytest.mark.parametrize(
    "value, message",
    [
        (1e300, r"infinity or a value too large for dtype\('float32'\)"),
        (np.nan, "Input X contains NaN"),
    ],
)
def test_a_float64_x_not_finite_in_float32_is_refused_as_before(value, message):
    X = make_X()
    X[5, 3] = value
    for est in (make_stack(), make_dae()):
        with pytest.raises(ValueError, match=message):
            est.fit(X)


def test_a_float64_x_errors_come_before_y_errors_as_in_check_x_y():
    X, y = make_X(), np.arange(60) % 2
    X[5, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make_clf().fit(X, y[:-1])  # and y of another length
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make_reg().fit(X, np.where(y, np.nan, 1.0))  # and y not finite


def test_nan_in_any_block_of_a_subset_is_found():
    X = make_X(n=3000).astype(np.float64)
    X[2500, 0] = np.nan  # past the first block of rows
    subset = _streaming.CastRows(X, np.float32).subset(np.arange(3000))
    assert np.isnan(subset.min()) and np.isnan(subset.max())


# The small fits of a float64 X whose peak is measured: first layers wide enough
# for their codes to be computed in blocks (see _streaming._product_spans).
_LEAN = {"max_iter": 1, "batch_size": 100}
LEAN_FITS = {
    "dae": lambda: make_dae(n_components=32, **_LEAN),
    "stack": lambda: make_stack(hidden_layer_sizes=(32, 16), **_LEAN),
    "deep": lambda: make_deep(
        hidden_layer_sizes=(32, 16), fine_tune_max_iter=1, fine_tune_batch_size=100
    ),
    "classifier": lambda: make_clf(
        hidden_layer_sizes=(32, 16), pretrain_batch_size=100, **_LEAN
    ),
    "regressor": lambda: make_reg(
        hidden_layer_sizes=(32, 16), pretrain_batch_size=100, **_LEAN
    ),
}


@pytest.mark.parametrize("kind", LEAN_FITS)
def test_a_float64_fit_makes_no_float32_copy_of_x(kind):
    """The peak of a fit's allocations on float64 X stays well below the
    float32 copy of X (validate_data's, before): X is read where it is."""
    n, d = 10_000, 400
    X = np.random.default_rng(0).random((n, d))
    y = make_target(kind.replace("deep", "stack"), n)
    before = X.copy()
    tracemalloc.start()
    try:
        fit_quiet(LEAN_FITS[kind](), X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.size * 4
    assert_array_equal(X, before)  # read only


# ----------------------------------------------------------- inference in blocks

# Models whose every product has at least 256 x 64 entries, so that blocks of
# 1024 rows are large products (see _streaming._LARGE_PRODUCT).
_WIDE = {
    "dae": lambda: make_dae(n_components=64),
    "stack": lambda: make_stack(hidden_layer_sizes=(64, 256)),
    "classifier": lambda: make_clf(hidden_layer_sizes=(64,)),
    "regressor": lambda: make_reg(hidden_layer_sizes=(64,)),
}
_INFERENCE = {
    "dae": ["transform", "score_samples"],
    "stack": ["transform", "score_samples"],
    "classifier": ["transform", "predict", "predict_proba", "predict_log_proba"],
    "regressor": ["transform", "predict"],
}


def _wide_target(kind, n):
    rows = np.arange(n)
    targets = {
        "classifier": rows % 256,
        "regressor": np.sin(np.outer(rows, np.arange(256))),
    }
    return targets.get(kind)


@pytest.mark.parametrize("kind", _WIDE)
def test_inference_on_a_large_float64_x_casts_a_block_at_a_time(kind):
    """Over working_memory (1 MiB: 1024 rows of 256 float32), inference on a
    float64 X casts 1024 rows at a time: the outputs of the whole cast X."""
    X = np.random.default_rng(0).random((8400, 256))
    est = fit_quiet(_WIDE[kind](), X[:600], _wide_target(kind, 600))
    for method in _INFERENCE[kind]:
        whole = getattr(est, method)(X)
        with sklearn.config_context(working_memory=1):
            assert len(_streaming._inference_spans(est, X)) == 8
            assert_array_equal(getattr(est, method)(X), whole)


def test_inference_in_blocks_makes_no_float32_copy_of_x():
    X = np.random.default_rng(0).random((8400, 256))
    dae = fit_quiet(make_dae(n_components=64), X[:600])
    with sklearn.config_context(working_memory=1):
        tracemalloc.start()
        try:
            codes = dae.transform(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < codes.nbytes + 0.25 * X.size * 4
