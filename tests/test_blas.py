"""numpy's own BLAS gemm, C <- alpha A B + beta C, against numpy's products."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from stackeddae import _blas
from stackeddae._blas import gemm


def _operands(dtype, transpose_a, transpose_b, m=7, k=5, n=3):
    rng = np.random.default_rng(0)
    A = rng.random((k, m) if transpose_a else (m, k)).astype(dtype)
    B = rng.random((n, k) if transpose_b else (k, n)).astype(dtype)
    C = rng.random((m, n)).astype(dtype)
    return (A.T if transpose_a else A), (B.T if transpose_b else B), C


def _numpy_ships_openblas():
    """Whether numpy is a wheel that ships scipy-openblas (not conda, MKL, ...)."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (KeyError, TypeError):
        return False
    return blas.get("name") == "scipy-openblas"


@pytest.fixture
def fresh_lookup():
    """The BLAS lookup done again in the test, and again after it."""
    _blas._functions.cache_clear()
    yield
    _blas._functions.cache_clear()


@pytest.mark.skipif(
    not _numpy_ships_openblas(), reason="numpy is not built on scipy-openblas"
)
def test_numpy_openblas_is_found():
    # numpy's wheels ship OpenBLAS: the fused step is what the fits use here
    assert _blas.available()
    assert _blas.available(np.float32) and _blas.available(np.float64)
    assert not _blas.available(np.float16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (-0.3, 1.0), (2.0, 0.5)])
def test_gemm_matches_numpy(dtype, transpose_a, transpose_b, alpha, beta):
    A, B, C = _operands(dtype, transpose_a, transpose_b)
    expected = alpha * (A.astype(float) @ B.astype(float)) + beta * C
    assert gemm(alpha, A, B, beta, C)
    assert C.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(C, expected, rtol=tol, atol=tol)


def test_gemm_on_row_blocks_and_views():
    # the leading dimension of a block of rows of a wider buffer
    rng = np.random.default_rng(1)
    big = rng.random((10, 8))
    A, B = big[2:5, 1:6], big[:5, :4]  # strided rows
    C = np.zeros((3, 4))
    assert gemm(1.0, A, B, 0.0, C)
    assert_allclose(C, A @ B)
    out = np.zeros((6, 4))[::2]  # rows not contiguous with each other: still rows
    assert gemm(1.0, A, B, 0.0, out)
    assert_allclose(out, A @ B)


def test_gemm_refuses_what_it_cannot_take():
    A, B, C = _operands(np.float32, False, False)
    before = C.copy()
    assert not gemm(1.0, A.astype(np.float64), B, 0.0, C)  # mixed dtypes
    assert not gemm(1.0, A, B, 0.0, np.asfortranarray(C))  # C not in rows
    assert not gemm(1.0, A[:, ::2], B[::2], 0.0, C)  # no unit stride
    assert not gemm(1.0, A, B[:4], 0.0, C)  # shapes
    assert not gemm(1.0, A.astype(np.int64), B.astype(np.int64), 0, C.astype(int))
    assert np.array_equal(C, before)


def test_gemm_of_an_empty_inner_dimension_scales_c():
    C = np.ones((2, 3))
    assert gemm(1.0, np.empty((2, 0)), np.empty((0, 3)), 0.5, C)
    assert_allclose(C, 0.5)


def test_gemm_refuses_a_read_only_or_unaligned_c():
    # a read-only C (a model loaded with mmap_mode="r") is left to numpy, which
    # raises; gemm through ctypes would write into it (or segfault on a mapping)
    A, B, C = _operands(np.float64, False, False)
    before = C.copy()
    C.flags.writeable = False
    assert not gemm(1.0, A, B, 0.0, C)
    assert np.array_equal(C, before)

    def unaligned(X):
        buffer = np.zeros(X.nbytes + 1, np.uint8)
        out = buffer[1:].view(X.dtype).reshape(X.shape)
        out[...] = X
        assert not out.flags.aligned
        return out

    C = before.copy()
    assert not gemm(1.0, A, B, 0.0, unaligned(C))
    assert not gemm(1.0, unaligned(A), B, 0.0, C)
    assert not gemm(1.0, A, unaligned(B), 0.0, C)
    assert np.array_equal(C, before)


@pytest.mark.parametrize("k", [3, 5])
def test_gemm_refuses_a_single_row_c_with_strided_columns(k):
    # gemm has no transpose for C: a (1, n) C whose columns are not adjacent
    # (a column of a wider buffer, transposed) cannot be written by it
    base = np.zeros((5, k))
    C = base[:, :1].T  # shape (1, 5), column stride k
    A, B = np.ones((1, 4)), np.ones((4, 5))
    assert not gemm(1.0, A, B, 0.0, C)
    assert not base.any()
    # a (1, n) C in a row, and an (m, 1) C with any row stride, are rows
    row = np.zeros((3, 5))[1:2]
    assert gemm(1.0, A, B, 0.0, row)
    assert_allclose(row, A @ B)
    column = np.zeros((6, 3))[::2, 1:2]
    assert gemm(1.0, np.ones((3, 4)), np.ones((4, 1)), 0.0, column)
    assert_allclose(column, 4.0)


def test_gemm_refuses_a_c_that_overlaps_its_operands():
    A = np.random.default_rng(0).random((4, 4))
    before = A.copy()
    assert not gemm(1.0, A, A[:, :2].copy(), 0.0, A[:, :2])
    assert not gemm(1.0, A[:2, :2].copy(), A[:2], 0.0, A[1:3])  # B's row 1
    assert np.array_equal(A, before)


def test_a_failing_lookup_leaves_the_products_to_numpy(monkeypatch, fresh_lookup):
    # whatever the lookup of numpy's BLAS raises, fits go on in numpy's way
    def broken():
        raise RuntimeError("threadpoolctl could not inspect the libraries")

    monkeypatch.setattr(_blas, "_numpy_openblas", broken)
    assert not _blas.available()
    A, B, C = _operands(np.float64, False, False)
    assert not gemm(1.0, A, B, 0.0, C)


class _Unread(np.ndarray):
    """A view whose elements are not to be read, not even by its repr."""

    def __repr__(self):
        return f"<unread view of shape {self.shape}, strides {self.strides}>"


@pytest.mark.parametrize("limit", [2**31, None])
def test_the_32_bit_integer_variant_refuses_dimensions_past_its_range(
    monkeypatch, limit
):
    # OpenBLAS built with 32-bit integers (limit 2**31) would take a leading
    # dimension of 2**31 as a negative number; the 64-bit variant (None) takes it
    calls = []
    functions = {np.dtype(np.float64): (lambda *args: calls.append(args), limit)}
    monkeypatch.setattr(_blas, "_functions", lambda: functions)
    # A's rows 2**31 elements apart: memory beyond the buffer, which nothing may
    # read (the call is a fake, and the view's repr, in a failure's report, says
    # so), above B and C in one buffer, so that A's bounds do not take them in
    buffer = np.zeros(32)
    B, C = buffer[:12].reshape(3, 4), buffer[12:20].reshape(2, 4)
    A = np.lib.stride_tricks.as_strided(
        buffer[20:], shape=(2, 3), strides=(8 * 2**31, 8)
    ).view(_Unread)
    assert gemm(1.0, A, B, 0.0, C) == (limit is None)
    assert len(calls) == (limit is None)
    if calls:
        assert calls[0][8] == 2**31  # lda
