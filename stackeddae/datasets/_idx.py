"""A strict reader of IDX files, the format in which MNIST is published.

An IDX file is a magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order, big
endian.  See http://yann.lecun.com/exdb/mnist/ (bottom of the page).
"""

import gzip
import zlib

import numpy as np

# Type code (the magic number's third byte) -> dtype of the values in the file.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# Read the values in pieces so that a corrupt header cannot make us allocate more
# than the file holds.
_CHUNK = 1 << 24


def read_idx(path):
    """Read an IDX file, gzipped or not, into a new array.

    Gzip is recognised by the file's first bytes, not its name.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    array : ndarray
        Of the file's shape, in the file's type in native byte order; writeable.

    Raises
    ------
    ValueError
        If the file is not an IDX file (wrong magic number, unknown type code, no
        dimensions), or if it is truncated, longer than its header says, or a corrupt
        gzip stream.  The message names the file.
    """
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            return _read(raw, path)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read(f, path)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc


def _read(f, path):
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(
            f"{path}: not an IDX file: {len(magic)} bytes, shorter than the "
            "4-byte magic number"
        )
    code, ndim = magic[2], magic[3]
    if magic[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: not an IDX file: magic number 0x{magic.hex()} does not "
            "start with two zero bytes"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise ValueError(
            f"{path}: not an IDX file: unknown type code 0x{code:02x} in magic "
            f"number 0x{magic.hex()} (known: {known})"
        )
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares no dimensions")
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} "
            f"bytes of sizes, the file has {len(header)}"
        )
    shape = tuple(int(n) for n in np.frombuffer(header, dtype=">u4"))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    payload = bytearray()
    while len(payload) <= expected:  # one byte more than expected shows trailing data
        chunk = f.read(min(_CHUNK, expected + 1 - len(payload)))
        if not chunk:
            break
        payload += chunk
    if len(payload) != expected:
        short = len(payload) < expected
        raise ValueError(
            f"{path}: {'truncated' if short else 'longer than its header'}: the "
            f"header declares shape {shape} of {dtype.str[1:]}, {expected} bytes of "
            f"values, but the file holds {len(payload) if short else 'more'}"
        )
    # bytearray is mutable, so the array is writeable without a copy.
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    if dtype.itemsize > 1 and not dtype.isnative:
        array = array.byteswap().view(dtype.newbyteorder("="))
    return array
