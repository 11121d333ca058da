"""The matrix product C <- alpha A B + beta C of numpy's own BLAS (gemm).

numpy's ``matmul`` always computes C = A B: a plain SGD step on a weight matrix then
takes the product into a gradient buffer (which OpenBLAS first zeroes, a pass of
its own) and two more passes, ``g *= lr`` and ``W -= g``.  ``gemm(-lr, A, B, 1, W)``
is the whole step in the product (the update of a 1000 x 1000 weight from a
mini-batch of 100: 2.37 ms as product and passes, 1.56 ms fused, one thread).

The gemm is numpy's own OpenBLAS's, called through ``ctypes``: the library that
``threadpoolctl`` lists as numpy's, so its thread pool is the one numpy's products
use and ``threadpool_limits`` applies to it (scipy's BLAS is another OpenBLAS with
a pool of its own: see ``_optimizers``).  numpy's wheels ship it as
``scipy-openblas``, with the symbols' ``scipy_`` prefix and, for 64-bit integers,
``64_`` suffix.  Where it is not found (numpy built against another BLAS), or a
first product disagrees with numpy's, :func:`available` is False and the callers
take the product with numpy and update in passes; so too where the lookup itself
fails, whatever it raises.  The library is looked up at the first call
(threadpoolctl's scan of the loaded libraries takes tens of milliseconds, once per
process, shared with ``_threads``), not at import.

gemm writes through a raw pointer, past numpy's checks: :func:`gemm` hands it only
what numpy would write itself (C writeable, every array aligned, C apart from A
and B, C in rows, dimensions within the library's integers) and returns False for
the rest, so that numpy's way raises numpy's error (a read-only C: a model loaded
with ``mmap_mode="r"``) instead of writing where it must not.
"""

import ctypes
import functools
import os

import numpy as np

from ._threads import blas_info

# (symbol suffix, integer type, the first dimension it cannot hold (None: any
# array's)): numpy's wheels use 64-bit integers
_VARIANTS = (("64_", ctypes.c_int64, None), ("", ctypes.c_int32, 2**31))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _numpy_openblas():
    """The path of the OpenBLAS that numpy's products run on, or None."""
    home = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
    for info in blas_info():  # threadpoolctl's, shared with the thread rule
        path = os.path.realpath(info.get("filepath") or "")
        if (
            info.get("internal_api") == "openblas"
            and path.startswith(home + os.sep + "numpy")
            and "openblas" in os.path.basename(path)
        ):
            return path
    return None


def _bind(path):
    """{dtype: (the cblas gemm function, its dimension limit)} of the OpenBLAS at
    ``path``; empty if it has none."""
    if path is None:
        return {}
    lib = ctypes.CDLL(path)
    for suffix, integer, limit in _VARIANTS:
        config = getattr(lib, f"scipy_openblas_get_config{suffix}", None)
        if config is None:
            continue
        config.restype = ctypes.c_char_p
        if (b"USE64BITINT" in config()) != (integer is ctypes.c_int64):
            continue
        functions = {}
        for dtype, letter, scalar in (
            (np.dtype(np.float32), "s", ctypes.c_float),
            (np.dtype(np.float64), "d", ctypes.c_double),
        ):
            f = getattr(lib, f"scipy_cblas_{letter}gemm{suffix}", None)
            if f is None:
                return {}
            f.argtypes = [ctypes.c_int] * 3 + [integer] * 3
            f.argtypes += [scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
            f.argtypes += [scalar, ctypes.c_void_p, integer]
            f.restype = None
            functions[dtype] = (f, limit)
        return functions
    return {}


@functools.cache
def _functions():
    """The gemm functions that agree with numpy, by dtype (looked up once)."""
    try:
        functions = _bind(_numpy_openblas())
        rng = np.random.default_rng(0)
        for dtype in list(functions):  # a first product against numpy's
            A = rng.random((7, 5)).astype(dtype)
            B = rng.random((3, 5)).astype(dtype).T  # a transposed operand
            C = rng.random((7, 3)).astype(dtype)
            expected = -0.5 * (A @ B) + 2.0 * C
            if not _call(functions[dtype], -0.5, A, B, 2.0, C) or not np.allclose(
                C, expected, rtol=1e-4
            ):
                del functions[dtype]
    except Exception:  # whatever fails, the fits go on in numpy's way
        return {}
    return functions


def available(dtype=None):
    """Whether :func:`gemm` reaches numpy's BLAS for arrays of ``dtype`` (None:
    for any dtype); where it does not, it always returns False."""
    functions = _functions()
    return bool(functions) if dtype is None else np.dtype(dtype) in functions


def _operand(A):
    """(transpose flag, leading dimension) of a 2-D array with unit stride along a
    dimension, in row-major terms; None if it has none."""
    size = A.itemsize
    rows, cols = A.shape
    s0, s1 = A.strides
    if s1 == size or cols == 1:
        ld = s0 // size if rows > 1 else cols
        if s0 % size == 0 and ld >= max(cols, 1):
            return _NO_TRANS, ld
    if s0 == size or rows == 1:
        ld = s1 // size if cols > 1 else rows
        if s1 % size == 0 and ld >= max(rows, 1):
            return _TRANS, ld
    return None


def gemm(alpha, A, B, beta, C):
    """C <- alpha (A @ B) + beta C in place, by numpy's OpenBLAS.

    A, B and C are aligned 2-D arrays of C's dtype (float32 or float64), each with
    unit stride along one dimension (C along its rows: C-contiguous rows), C
    writeable and not overlapping A or B.  Returns False, leaving C as it was,
    where that BLAS is not :func:`available` or the arrays do not fit it; the
    caller then takes another way (numpy's, which raises where C is read-only).
    """
    function = _functions().get(C.dtype)
    if function is None:
        return False
    return _call(function, alpha, A, B, beta, C)


def _call(function, alpha, A, B, beta, C):
    f, limit = function
    if A.dtype != C.dtype or B.dtype != C.dtype:
        return False
    (m, k), (k2, n) = A.shape, B.shape
    if k != k2 or C.shape != (m, n) or min(m, n) == 0:
        return False
    # flags and bounds, no scans: what numpy checks before it writes C
    if not (
        C.flags.writeable and C.flags.aligned and A.flags.aligned and B.flags.aligned
    ):
        return False
    if np.may_share_memory(C, A) or np.may_share_memory(C, B):
        return False
    if k == 0:  # the product is zero: OpenBLAS may leave C unscaled
        C *= beta
        return True
    a, b, c = _operand(A), _operand(B), _operand(C)
    # gemm has no transpose for C: its rows must be rows (also a (1, n) C, which
    # _operand may describe as a transposed column of stride ldc)
    if a is None or b is None or c is None or c[0] != _NO_TRANS:
        return False
    if limit is not None and max(m, n, k, a[1], b[1], c[1]) >= limit:
        return False  # past the 32-bit integers of this OpenBLAS
    f(
        _ROW_MAJOR,
        a[0],
        b[0],
        m,
        n,
        k,
        alpha,
        A.ctypes.data,
        a[1],
        B.ctypes.data,
        b[1],
        beta,
        C.ctypes.data,
        c[1],
    )
    return True
