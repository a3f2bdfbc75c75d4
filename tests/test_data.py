"""Tests of rramsim.data: real MNIST, checksums, IDX parsing, folder resolution, subsets."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from rramsim.data import DataError
from rramsim.data import mnist as data

PACKAGED = Path(data.__file__).resolve().parent.parent / "datasets" / "mnist"
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FIRST_LABELS = {
    "train": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    "test": [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
}
# Class counts of the real MNIST splits.
CLASS_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """A developer's own RRAMSIM_* variables must not change what these tests see."""
    monkeypatch.delenv("RRAMSIM_DATA_DIR", raising=False)
    monkeypatch.delenv("RRAMSIM_FASHION_DIR", raising=False)


def copy_test_split(dest: Path, sums: bool = False) -> Path:
    """Copy the packaged MNIST test split (1.6 MB of .gz) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in TEST_FILES:
        shutil.copyfile(PACKAGED / f"{name}.gz", dest / f"{name}.gz")
    if sums:
        shutil.copyfile(PACKAGED / "SHA256SUMS.gz", dest / "SHA256SUMS.gz")
    return dest


def write_idx(path: Path, array: np.ndarray, code: int, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (big-endian payload), the format's reference layout."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype=big).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))


# -- real MNIST -------------------------------------------------------------------------------


@pytest.mark.parametrize("split, n", [("train", 60_000), ("test", 10_000)])
def test_real_mnist_loads_and_verifies(split, n):
    images, labels = data.load_mnist(split)  # verify=True: checks the SHA-256 sums
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9
    assert labels[:10].tolist() == FIRST_LABELS[split]
    assert np.bincount(labels).tolist() == CLASS_COUNTS[split]
    assert images.max() == 255 and images.min() == 0


def test_cached_arrays_cannot_be_corrupted():
    images, labels = data.load_mnist("test")
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        labels.flags.writeable = True
    again, _ = data.load_mnist("test")
    assert np.shares_memory(images, again)  # served from the cache


def test_packaged_sums_match_embedded_sums():
    for sums_name in ("SHA256SUMS.gz", "SHA256SUMS.decompressed"):
        for line in (PACKAGED / sums_name).read_text().splitlines():
            digest, name = line.split()
            assert data._MNIST_SHA256[name] == digest


def test_mnist_dir_default_is_packaged_copy():
    assert data.mnist_dir() == PACKAGED


# -- corruption -------------------------------------------------------------------------------


def test_flipped_byte_fails_checksum(tmp_path):
    folder = copy_test_split(tmp_path)
    flip_byte(folder / "t10k-labels-idx1-ubyte.gz", 2000)
    with pytest.raises(DataError, match="checksum") as info:
        data.load_mnist("test", data_dir=folder)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "built into rramsim.data" in message  # no sums file in the folder: embedded sums
    assert "RRAMSIM_DATA_DIR" in message


def test_folder_sums_file_is_used(tmp_path):
    # Fashion-MNIST has no embedded sums, so only the folder's SHA256SUMS.gz can catch this.
    folder = copy_test_split(tmp_path, sums=True)
    images, _ = data.load_mnist("test", data_dir=folder, dataset="fashion-mnist")
    assert images.shape == (10_000, 28, 28)
    flip_byte(folder / "t10k-images-idx3-ubyte.gz", 100_000)
    with pytest.raises(DataError, match="checksum") as info:
        data.load_mnist("test", data_dir=folder, dataset="fashion-mnist")
    assert "SHA256SUMS.gz" in str(info.value)
    assert "RRAMSIM_FASHION_DIR" in str(info.value)


def test_truncated_files(tmp_path):
    folder = copy_test_split(tmp_path)
    gz = folder / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:5000])
    with pytest.raises(DataError, match="truncated"):
        data.load_idx(gz)
    with pytest.raises(DataError, match="checksum.*truncated"):
        data.load_mnist("test", data_dir=folder)
    with pytest.raises(DataError, match="truncated"):
        data.load_mnist("test", data_dir=folder, verify=False)

    raw = write_idx(tmp_path / "raw-idx", np.arange(12, dtype=np.uint8).reshape(3, 4), 0x08)
    raw.write_bytes(raw.read_bytes()[:-1])
    with pytest.raises(DataError, match=r"truncated.*\(3, 4\) needs 12 data bytes.*11"):
        data.load_idx(raw)
    raw.write_bytes(raw.read_bytes()[:6])
    with pytest.raises(DataError, match="truncated.*header"):
        data.load_idx(raw)


def test_missing_file_names_file_and_fix(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError, match="missing") as info:
        data.load_mnist("test", data_dir=tmp_path)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "RRAMSIM_DATA_DIR" in message
    assert "--data-dir" in message and "reinstall rramsim" in message
    with pytest.raises(DataError, match="missing"):
        data.load_idx(tmp_path / "nothing-here")


def test_missing_folder(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="does not exist"):
        data.load_mnist("test", data_dir=tmp_path / "nope")
    monkeypatch.setenv("RRAMSIM_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="RRAMSIM_DATA_DIR"):
        data.mnist_dir()


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(DataError, match="magic") as info:
        data.load_idx(path)
    assert str(path) in str(info.value)
    path.write_bytes(b"\x00\x00\x42\x01" + bytes(8))
    with pytest.raises(DataError, match="type code 0x42"):
        data.load_idx(path)
    # In place of a real file, without checksums: the IDX checks still catch it.
    folder = copy_test_split(tmp_path / "mnist")
    shutil.copyfile(path, folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="magic"):
        data.load_mnist("test", data_dir=folder, verify=False)


def test_gzip_garbage(tmp_path):
    path = tmp_path / "junk.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match="gzip"):
        data.load_idx(path)


# -- IDX parsing on made-up files -------------------------------------------------------------


@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                         (0x0C, np.int32), (0x0D, np.float32),
                                         (0x0E, np.float64)])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, code, dtype, compress):
    expected = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    if dtype == np.uint8:
        expected = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x", expected, code, compress)
    loaded = data.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, expected)
    loaded[0, 0, 0] = 1  # load_idx's result belongs to the caller


def test_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros(5, np.uint8), 0x08)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="trailing"):
        data.load_idx(path)


def test_count_checks(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (5, 28, 28)), 0x08)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3]), 0x08)
    with pytest.raises(DataError, match="image-label count mismatch"):
        data.load_mnist("test", data_dir=tmp_path, verify=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4]), 0x08)
    images, labels = data.load_mnist("test", data_dir=tmp_path, verify=False)
    assert images.shape == (5, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    # Fashion-MNIST without a sums file: the structural checks include the split's size.
    with pytest.raises(DataError, match="wrong count.*10000"):
        data.load_mnist("test", data_dir=tmp_path, dataset="fashion-mnist")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 10]), 0x08)
    data.clear_cache()  # same size as the file just loaded; do not rely on mtime resolution
    with pytest.raises(DataError, match="out of range"):
        data.load_mnist("test", data_dir=tmp_path, verify=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((5, 27, 28)), 0x08)
    with pytest.raises(DataError, match=r"shape \(N, 28, 28\)"):
        data.load_mnist("test", data_dir=tmp_path, verify=False)


# -- folders ----------------------------------------------------------------------------------


def test_env_var_override(tmp_path, monkeypatch):
    folder = copy_test_split(tmp_path / "env")
    monkeypatch.setenv("RRAMSIM_DATA_DIR", str(folder))
    assert data.mnist_dir() == folder
    images, labels = data.load_mnist("test")
    assert labels[:10].tolist() == FIRST_LABELS["test"]
    assert images.shape == (10_000, 28, 28)
    # Without the training files in that folder, the env var is still what is used.
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        data.load_mnist("train")
    # An explicit folder wins over the environment variable.
    assert data.mnist_dir(PACKAGED) == PACKAGED
    assert data.load_mnist("train", data_dir=PACKAGED)[0].shape == (60_000, 28, 28)


def test_uncompressed_files_accepted(tmp_path):
    ref_images, ref_labels = data.load_mnist("test")
    for name in TEST_FILES:
        with gzip.open(PACKAGED / f"{name}.gz") as src:
            (tmp_path / name).write_bytes(src.read())
    images, labels = data.load_mnist("test", data_dir=tmp_path)  # embedded decompressed sums
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    flip_byte(tmp_path / "t10k-labels-idx1-ubyte", 100)
    with pytest.raises(DataError, match="checksum") as info:
        data.load_mnist("test", data_dir=tmp_path)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_fashion_missing_names_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "_FASHION_DIRS", (tmp_path / "absent",))
    with pytest.raises(DataError, match="dataset-fashion-mnist") as info:
        data.load_mnist("test", dataset="fashion-mnist")
    assert "RRAMSIM_FASHION_DIR" in str(info.value)


@pytest.mark.skipif(
    not any(p.is_dir() for p in data._FASHION_DIRS),
    reason="Debian's dataset-fashion-mnist package is not installed",
)
def test_fashion_mnist_from_debian_package():
    images, labels = data.load_mnist("test", dataset="fashion-mnist")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10
    assert labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


# -- arguments, flattening, subsets -----------------------------------------------------------


def test_bad_names():
    with pytest.raises(ValueError, match="'validation'.*train, test"):
        data.load_mnist("validation")
    with pytest.raises(ValueError, match="'emnist'.*mnist, fashion-mnist"):
        data.load_mnist("test", dataset="emnist")


def test_flatten_images():
    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28) % 256
    flat = data.flatten_images(images.astype(np.uint8))
    assert flat.shape == (2, 784) and flat.dtype == np.float64
    np.testing.assert_array_equal(flat, images.reshape(2, 784) / 255.0)
    assert data.flatten_images(images.astype(np.uint8), np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="uint8"):
        data.flatten_images(images)
    with pytest.raises(ValueError, match="floating"):
        data.flatten_images(images.astype(np.uint8), np.int32)


def test_train_test_subsets_are_seeded():
    x_tr, y_tr, x_te, y_te = data.train_test(train_subset=200, test_subset=50, seed=1)
    assert x_tr.shape == (200, 784) and y_tr.shape == (200,)
    assert x_te.shape == (50, 784) and y_te.shape == (50,)
    assert x_tr.dtype == np.float64 and y_tr.dtype == np.int64
    # pixel values k / 255, the full range present
    assert x_tr.min() == 0.0 and x_tr.max() == 1.0
    assert np.array_equal(x_tr * 255, np.round(x_tr * 255))
    again = data.train_test(train_subset=200, test_subset=50, seed=1)
    for a, b in zip((x_tr, y_tr, x_te, y_te), again):
        np.testing.assert_array_equal(a, b)
    other = data.train_test(train_subset=200, test_subset=50, seed=2)
    assert not np.array_equal(x_tr, other[0]) and not np.array_equal(x_te, other[2])
    # The train draw does not depend on whether a test subset is drawn.
    np.testing.assert_array_equal(data.train_test(train_subset=200, seed=1)[0], x_tr)
    # Every subset row is a distinct row of the full split, with its own label.
    images, labels = data.load_mnist("train")
    full = images.reshape(60_000, -1)
    rows = {row.tobytes(): i for i, row in enumerate(full)}
    idx = [rows[(row * 255).round().astype(np.uint8).tobytes()] for row in x_tr]
    assert len(set(idx)) == 200
    np.testing.assert_array_equal(labels[idx], y_tr)


def test_train_test_full():
    x_tr, y_tr, x_te, y_te = data.train_test()
    assert x_tr.shape == (60_000, 784) and x_te.shape == (10_000, 784)
    assert y_tr[:10].tolist() == FIRST_LABELS["train"]
    x_tr[0, 0] = 0.5  # the result is the caller's own


@pytest.mark.parametrize("kwargs, name", [
    ({"train_subset": 0}, "train_subset"),
    ({"train_subset": -3}, "train_subset"),
    ({"train_subset": 60_001}, "train_subset"),
    ({"train_subset": 10.0}, "train_subset"),
    ({"test_subset": 10_001}, "test_subset"),
])
def test_train_test_bad_subset(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.train_test(seed=0, **kwargs)
