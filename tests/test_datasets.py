"""The MNIST loaders: the strict IDX reader and fetch_mnist, on IDX files the tests
write (no network: the download is replaced by a fake ``urlopen``)."""

import gzip
import hashlib
import io
import struct
from urllib.error import URLError

import numpy as np
import pytest

import stackeddae.datasets._idx as idx_module
import stackeddae.datasets._mnist as mnist_module
from stackeddae.datasets import fetch_mnist, load_mnist_5k
from stackeddae.datasets._idx import IDX_DTYPES, read_idx

TYPE_CODES = {dtype: code for code, dtype in IDX_DTYPES.items()}
TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array):
    """The IDX encoding of ``array`` (big endian, as published)."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, TYPE_CODES[big.dtype], array.ndim])
    return header + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()


def write(path, content, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def digits(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[-1, -1, -1] = 0, 255  # both ends of the scale
    return images, rng.integers(0, 10, size=n, dtype=np.uint8)


@pytest.fixture
def mnist_home(tmp_path):
    """A data_home with 7 training and 3 test digits, some files gzipped."""
    train, test = digits(7, 0), digits(3, 1)
    folder = tmp_path / "mnist"
    for (name, array), gz in zip(
        zip(TRAIN + TEST, train + test, strict=True),
        [True, False, False, True],
        strict=True,
    ):
        write(folder / (f"{name}.gz" if gz else name), idx_bytes(array), gz=gz)
    return tmp_path, train, test


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails as offline; returns the URLs tried."""
    tried = []

    def offline(url, timeout=None):
        tried.append(url)
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(mnist_module, "urlopen", offline)
    return tried


# --- read_idx ---------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(24) - 7).reshape(2, 3, 4).astype(dtype.newbyteorder("="))
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(array), gz=gz))
    assert got.dtype == array.dtype and got.dtype.isnative
    assert got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, array)
    assert got.flags.writeable


def test_read_idx_knows_gzip_by_content_not_name(tmp_path):
    array = np.arange(5, dtype=np.uint8)
    gzipped = write(tmp_path / "labels-idx1-ubyte", idx_bytes(array), gz=True)
    plain = write(tmp_path / "labels-idx1-ubyte.gz", idx_bytes(array))
    np.testing.assert_array_equal(read_idx(gzipped), array)
    np.testing.assert_array_equal(read_idx(plain), array)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "shorter than the 4-byte magic number"),
        (b"\x00\x00\x08", "shorter than the 4-byte magic number"),
        (b"\x01" + GOOD[1:], "does not start with two zero bytes"),
        (b"PK\x03\x04" + GOOD[4:], "does not start with two zero bytes"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown type code 0x07"),
        (b"\x00\x00\x08\x00", "declares no dimensions"),
        (GOOD[:10], r"truncated IDX header: 2 dimensions need 8 bytes"),
        (GOOD[:-1], r"truncated: .* shape \(3, 4\) of u1, 12 bytes .* holds 11"),
        (GOOD[:12], r"truncated: .* holds 0"),
        (GOOD + b"\x00", "longer than its header"),
    ],
    ids=[
        "empty",
        "short-magic",
        "nonzero-magic",
        "zip-magic",
        "unknown-type",
        "no-dimensions",
        "short-header",
        "short-values",
        "no-values",
        "trailing-byte",
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_rejects_malformed_files(tmp_path, content, message, gz):
    path = write(tmp_path / "bad-idx", content, gz=gz)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_reads_in_chunks(tmp_path, monkeypatch, gz):
    monkeypatch.setattr(idx_module, "_CHUNK", 5)  # GOOD holds 12 bytes of values
    np.testing.assert_array_equal(
        read_idx(write(tmp_path / "good", GOOD, gz=gz)), np.arange(12).reshape(3, 4)
    )
    with pytest.raises(ValueError, match="longer than its header"):
        read_idx(write(tmp_path / "long", GOOD + b"\x00", gz=gz))
    with pytest.raises(ValueError, match="truncated: .* holds 11"):
        read_idx(write(tmp_path / "short", GOOD[:-1], gz=gz))


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    gzipped = gzip.compress(GOOD)
    truncated = write(tmp_path / "truncated.gz", gzipped[:-12])
    with pytest.raises(ValueError, match="truncated.gz: corrupt gzip stream"):
        read_idx(truncated)
    # A flipped bit in the CRC, found only at the end of the stream.
    crc = bytearray(gzipped)
    crc[-8] ^= 1
    with pytest.raises(ValueError, match="corrupt gzip stream"):
        read_idx(write(tmp_path / "crc.gz", bytes(crc)))


def test_read_idx_does_not_trust_a_huge_header(tmp_path):
    # 2**32 - 1 cubed doubles: allocating them up front would fail or swap.
    content = b"\x00\x00\x0e\x03" + b"\xff" * 12 + b"\x00" * 16
    with pytest.raises(ValueError, match="truncated: .* holds 16"):
        read_idx(write(tmp_path / "huge", content))


# --- fetch_mnist on local files ----------------------------------------------------


def test_fetch_mnist_reads_the_standard_split(mnist_home, no_network):
    home, (train_x, train_y), (test_x, test_y) = mnist_home
    bunch = fetch_mnist(data_home=home)
    assert not no_network
    X, y = bunch.data, bunch.target
    assert X.shape == (10, 784) and X.dtype == np.float32
    assert y.shape == (10,) and y.dtype == np.int64
    raw = np.concatenate([train_x, test_x]).reshape(10, 784)
    np.testing.assert_array_equal(X, raw.astype(np.float32) / np.float32(255))
    assert X.min() == 0 and X.max() == 1
    np.testing.assert_array_equal(y, np.concatenate([train_y, test_y]))
    assert bunch.images.shape == (10, 28, 28)
    assert np.shares_memory(bunch.images, X)
    assert bunch.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert bunch.feature_names[-1] == "pixel_27_27" and len(bunch.feature_names) == 784
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert bunch.frame is None
    assert "60000" in bunch.DESCR and "Creative Commons" in bunch.DESCR

    train = fetch_mnist(data_home=home, subset="train", return_X_y=True)
    test = fetch_mnist(data_home=home, subset="test", return_X_y=True)
    np.testing.assert_array_equal(train[0], X[:7])
    np.testing.assert_array_equal(test[0], X[7:])
    np.testing.assert_array_equal(train[1], y[:7])
    np.testing.assert_array_equal(test[1], y[7:])


def test_fetch_mnist_raw_pixels(mnist_home, no_network):
    home, (train_x, _), _ = mnist_home
    X, _ = fetch_mnist(data_home=home, subset="train", as_float=False, return_X_y=True)
    assert X.dtype == np.uint8 and X.flags.writeable
    np.testing.assert_array_equal(X, train_x.reshape(7, 784))


def test_fetch_mnist_scales_as_load_mnist_5k(tmp_path, no_network):
    images, labels = load_mnist_5k(return_X_y=True, as_float=False)
    for name, array in zip(TRAIN, [images.reshape(-1, 28, 28), labels], strict=True):
        write(tmp_path / "mnist" / name, idx_bytes(array.astype(np.uint8)))
    X, y = fetch_mnist(data_home=tmp_path, subset="train", return_X_y=True)
    X_5k, y_5k = load_mnist_5k(return_X_y=True)
    assert X.dtype == X_5k.dtype
    np.testing.assert_array_equal(X, X_5k)  # bit for bit
    np.testing.assert_array_equal(y, y_5k)
    assert y.dtype == y_5k.dtype


def test_fetch_mnist_as_frame(mnist_home, no_network):
    pd = pytest.importorskip("pandas")
    home, _, (_, test_y) = mnist_home
    bunch = fetch_mnist(data_home=home, subset="test", as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame)
    assert list(bunch.data.columns) == bunch.feature_names
    assert isinstance(bunch.target, pd.Series) and bunch.target.name == "target"
    assert list(bunch.frame.columns) == [*bunch.feature_names, "target"]
    assert bunch.frame.shape == (3, 785)
    np.testing.assert_array_equal(bunch.frame["target"], test_y)
    assert (bunch.data.dtypes == np.float32).all()
    assert bunch.images.shape == (3, 28, 28)
    X, y = fetch_mnist(data_home=home, subset="test", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


def test_fetch_mnist_default_data_home(mnist_home, no_network, monkeypatch):
    home, _, (_, test_y) = mnist_home
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    np.testing.assert_array_equal(fetch_mnist(subset="test").target, test_y)


def test_fetch_mnist_prefers_the_uncompressed_file(mnist_home, no_network):
    home = mnist_home[0]
    assert (home / "mnist" / f"{TEST[1]}.gz").is_file()
    other = np.full(3, 9, dtype=np.uint8)
    write(home / "mnist" / TEST[1], idx_bytes(other))
    np.testing.assert_array_equal(
        fetch_mnist(data_home=home, subset="test").target, other
    )


def test_fetch_mnist_rejects_an_unknown_subset(mnist_home):
    with pytest.raises(ValueError, match=r"subset must be one of \['all', 'test', "):
        fetch_mnist(data_home=mnist_home[0], subset="validation")


@pytest.mark.parametrize(
    "name, array, message",
    [
        (
            TEST[0],
            np.zeros(3, dtype=np.uint8),
            r"expected MNIST images, .* shape \(3,\)",
        ),
        (TEST[0], np.zeros((3, 28, 27), dtype=np.uint8), "expected MNIST images"),
        (TEST[0], np.zeros((3, 28, 28), dtype=np.float32), "got float32"),
        (TEST[1], np.zeros((3, 28, 28), dtype=np.uint8), "expected MNIST labels"),
        (TEST[1], np.zeros(3, dtype=np.int32), "expected MNIST labels"),
        (TEST[1], np.zeros(4, dtype=np.uint8), "4 labels for 3 images"),
        (TEST[1], np.array([0, 10, 1], dtype=np.uint8), "digits 0-9; found 10"),
    ],
)
def test_fetch_mnist_rejects_files_that_are_not_mnist(tmp_path, name, array, message):
    for good, content in zip(TEST, digits(3, 2), strict=True):
        write(tmp_path / "mnist" / good, idx_bytes(content))
    path = write(tmp_path / "mnist" / name, idx_bytes(array))
    with pytest.raises(ValueError, match=message) as info:
        fetch_mnist(data_home=tmp_path, subset="test", download_if_missing=False)
    assert str(path) in str(info.value)


# --- fetch_mnist without the files -------------------------------------------------


def test_fetch_mnist_without_files_and_download_if_missing_false(tmp_path, no_network):
    for name, content in zip(TRAIN, digits(2, 3), strict=True):
        write(tmp_path / "mnist" / name, idx_bytes(content))
    assert fetch_mnist(data_home=tmp_path, subset="train", download_if_missing=False)
    with pytest.raises(OSError, match="download_if_missing is False") as info:
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    assert f"{TEST[0]}, {TEST[1]} (gzipped" in message and TRAIN[0] not in message
    assert not no_network


def test_fetch_mnist_offline_says_where_the_files_go(tmp_path, no_network):
    with pytest.raises(OSError, match="Could not download") as info:
        fetch_mnist(data_home=tmp_path, subset="train", n_retries=1, delay=0)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message
    assert f"{TRAIN[0]}, {TRAIN[1]} (gzipped" in message
    assert "Name or service not known" in message
    # Every mirror, once per round.
    mirrors = mnist_module.MNIST_MIRRORS
    assert no_network == [f"{m}{TRAIN[0]}.gz" for m in mirrors] * 2
    assert not (tmp_path / "mnist").exists()


@pytest.fixture
def mirrors(monkeypatch):
    """Fake mirrors: ``served[mirror][name]`` is the gzipped content a mirror sends
    (a missing entry fails as an HTTP 404); the published md5 become the fakes'."""
    files = dict(zip(TRAIN + TEST, digits(4, 4) + digits(2, 5), strict=True))
    content = {name: gzip.compress(idx_bytes(a)) for name, a in files.items()}
    monkeypatch.setattr(
        mnist_module,
        "MNIST_FILES",
        {name: hashlib.md5(c).hexdigest() for name, c in content.items()},
    )
    first, second = mnist_module.MNIST_MIRRORS
    served = {first: {}, second: dict(content)}
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        mirror, _, file = url.rpartition("/")
        body = served[mirror + "/"].get(file.removesuffix(".gz"))
        if body is None:
            raise URLError("HTTP Error 404: Not Found")
        return io.BytesIO(body)

    monkeypatch.setattr(mnist_module, "urlopen", urlopen)
    return files, served, tried


def test_fetch_mnist_downloads_and_caches_the_missing_files(tmp_path, mirrors):
    files, served, tried = mirrors
    first, second = mnist_module.MNIST_MIRRORS
    write(tmp_path / "mnist" / TEST[1], idx_bytes(files[TEST[1]]))
    X, y = fetch_mnist(data_home=tmp_path, return_X_y=True, delay=0)
    # The first mirror fails, the second serves; the local file is not fetched.
    assert tried == [
        f"{mirror}{name}.gz" for name in [*TRAIN, TEST[0]] for mirror in (first, second)
    ]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(
        [f"{TRAIN[0]}.gz", f"{TRAIN[1]}.gz", f"{TEST[0]}.gz", TEST[1]]
    )
    np.testing.assert_array_equal(y, np.concatenate([files[TRAIN[1]], files[TEST[1]]]))
    raw = np.concatenate([files[TRAIN[0]], files[TEST[0]]]).reshape(6, 784)
    np.testing.assert_array_equal(X, raw / np.float32(255))
    tried.clear()
    fetch_mnist(data_home=tmp_path, delay=0)
    assert tried == []


def test_fetch_mnist_refuses_a_download_with_the_wrong_md5(tmp_path, mirrors):
    files, served, tried = mirrors
    first, second = mnist_module.MNIST_MIRRORS
    served[first][TEST[1]] = gzip.compress(idx_bytes(np.zeros(2, dtype=np.uint8)))
    served[second][TEST[1]] = b"<html>moved</html>"
    with pytest.raises(OSError, match="md5 .*, expected .*md5 .*, expected") as info:
        fetch_mnist(data_home=tmp_path, subset="test", n_retries=0)
    assert f"{TEST[1]} (gzipped" in str(info.value)
    # The images came; the labels were refused and nothing half-written is left.
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [f"{TEST[0]}.gz"]
    # A corrected mirror is used on the next call.
    served[second][TEST[1]] = gzip.compress(idx_bytes(files[TEST[1]]))
    y = fetch_mnist(data_home=tmp_path, subset="test", n_retries=0).target
    np.testing.assert_array_equal(y, files[TEST[1]])
