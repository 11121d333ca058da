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


def test_numpy_openblas_is_found():
    # numpy's wheels ship OpenBLAS: the fused step is what the fits use here
    assert _blas.available()


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
