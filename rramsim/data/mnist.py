"""MNIST and Fashion-MNIST: finding, verifying and loading the IDX files.

The four files of a data set (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``) are read either gzip-compressed
(``NAME.gz``) or uncompressed (``NAME``). Where they come from, in order of precedence:

1. the ``data_dir`` argument (the command line's ``--data-dir``);
2. the environment variable ``RRAMSIM_DATA_DIR`` (MNIST) or ``RRAMSIM_FASHION_DIR``
   (Fashion-MNIST);
3. the default: MNIST ships with rramsim (``rramsim/datasets/mnist``), so a fresh checkout runs
   offline; Fashion-MNIST is Debian's ``dataset-fashion-mnist`` package, installed in
   ``/usr/share/datasets/fashion-mnist``.

Every file is checked before use: its SHA-256 sum against the folder's ``SHA256SUMS.gz`` /
``SHA256SUMS.decompressed`` (or, for MNIST, the canonical sums embedded below), then the IDX
structure (magic number, dtype code, dimensions, exact payload length), the image size, the
number of examples and the agreement of images and labels. Every problem raises
:class:`DataError`, whose message names the file, says what is wrong and what to do.

Loaded arrays are cached for the life of the process and handed out read-only.

MNIST is by Yann LeCun and Corinna Cortes (CC BY-SA 3.0); Fashion-MNIST is by Zalando Research
(MIT licence).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

from rramsim.errors import DataError, InputError
from rramsim.rng import spawn

DATASETS = ("mnist", "fashion-mnist")
"""Names accepted by the ``dataset`` arguments."""

SPLITS = ("train", "test")
"""Names accepted by the ``split`` arguments."""

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Both data sets have the same sizes.
_COUNTS = {"train": 60_000, "test": 10_000}
_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10

_ENV_VARS = {"mnist": "RRAMSIM_DATA_DIR", "fashion-mnist": "RRAMSIM_FASHION_DIR"}
_PRETTY = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_DEBIAN_PACKAGE = "dataset-fashion-mnist"
# Where Debian's package puts the files (``dpkg -L dataset-fashion-mnist``); the second is the
# same layout for a hand-made install under /usr/local.
_FASHION_DIRS = (
    Path("/usr/share/datasets/fashion-mnist"),
    Path("/usr/local/share/datasets/fashion-mnist"),
)

_SUMS_FILES = ("SHA256SUMS.gz", "SHA256SUMS.decompressed")
# Canonical SHA-256 sums of the MNIST files, compressed and decompressed (identical to the
# packaged SHA256SUMS.gz and SHA256SUMS.decompressed); used when a folder brings no sums file.
_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",  # noqa: E501
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"

_GENERIC_FIX = "Replace it with a good copy of the IDX file."


def _packaged_mnist_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "datasets" / "mnist"


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; valid names: {', '.join(DATASETS)}")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; valid names: {', '.join(SPLITS)}")


def _fix_hint(dataset: str) -> str:
    """What a user can do about a bad or missing file of ``dataset``."""
    names = ", ".join(f"{name}[.gz]" for pair in _FILES.values() for name in pair)
    env = _ENV_VARS[dataset]
    folder = (
        f"pass --data-dir DIR or set {env} to a folder holding the four {_PRETTY[dataset]} "
        f"IDX files ({names})"
    )
    if dataset == "mnist":
        return f"To fix: {folder}, or reinstall rramsim to restore the packaged copy."
    return (
        f"To fix: install Debian's {_DEBIAN_PACKAGE} package "
        f"(apt-get install {_DEBIAN_PACKAGE}), or {folder}."
    )


def _resolve_dir(data_dir, dataset: str) -> tuple[Path, str]:
    """The data folder of ``dataset`` and a phrase saying where it came from."""
    _check_dataset(dataset)
    env = _ENV_VARS[dataset]
    if data_dir is not None:
        path, source = Path(os.fspath(data_dir)).expanduser(), "the data_dir argument / --data-dir"
    elif os.environ.get(env):
        path, source = Path(os.environ[env]).expanduser(), f"the environment variable {env}"
    elif dataset == "mnist":
        path = _packaged_mnist_dir()
        if not path.is_dir():
            raise DataError(f"{path}: the packaged MNIST folder is missing. {_fix_hint(dataset)}")
        return path, "the packaged copy"
    else:
        for path in _FASHION_DIRS:
            if path.is_dir():
                return path, f"Debian's {_DEBIAN_PACKAGE} package"
        tried = ", ".join(str(p) for p in _FASHION_DIRS)
        raise DataError(
            f"Fashion-MNIST not found: no folder {tried} (Debian's {_DEBIAN_PACKAGE} package "
            f"is not installed?) and {env} is not set. {_fix_hint(dataset)}"
        )
    if not path.is_dir():
        raise DataError(
            f"{path}: data folder (from {source}) does not exist or is not a folder. "
            f"{_fix_hint(dataset)}"
        )
    return path, source


def mnist_dir(data_dir=None, dataset: str = "mnist") -> Path:
    """Find the folder holding the IDX files of ``dataset``.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Explicit folder (the command line's ``--data-dir``); wins over everything else.
    dataset : {"mnist", "fashion-mnist"}
        Which data set.

    Returns
    -------
    pathlib.Path
        ``data_dir`` if given; else the folder named by ``RRAMSIM_DATA_DIR`` (MNIST) or
        ``RRAMSIM_FASHION_DIR`` (Fashion-MNIST) if set and non-empty; else the default: the
        copy packaged with rramsim (MNIST) or Debian's ``dataset-fashion-mnist`` install in
        ``/usr/share/datasets/fashion-mnist`` (Fashion-MNIST).

    Raises
    ------
    DataError
        If the chosen folder does not exist (for Fashion-MNIST's default: the message names
        the Debian package to install).
    ValueError
        If ``dataset`` is not a known name.
    """
    return _resolve_dir(data_dir, dataset)[0]


def _read_bytes(path: Path, fix: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}). {fix}") from None


def _parse_idx(raw: bytes, path: Path, fix: str) -> np.ndarray:
    """Decode the bytes of an IDX file (gzip-compressed or not) into a native-endian array."""
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except EOFError:
            raise DataError(
                f"{path}: truncated: the gzip stream ends before its end marker. {fix}"
            ) from None
        except (OSError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc}). {fix}") from None
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, shorter than an IDX header. {fix}")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise DataError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()} (an IDX file starts with two "
            f"zero bytes, a type code and the number of dimensions); not an IDX file. {fix}"
        )
    if code not in _IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DataError(f"{path}: bad IDX magic number: unknown type code 0x{code:02X} "
                        f"(valid: {valid}). {fix}")
    if ndim == 0:
        raise DataError(f"{path}: bad IDX magic number: zero dimensions. {fix}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{path}: truncated: {len(raw)} bytes, shorter than the {header}-byte IDX header. {fix}"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    payload = len(raw) - header
    if payload < expected:
        raise DataError(
            f"{path}: truncated: shape {dims} needs {expected} data bytes, the file has "
            f"{payload}. {fix}"
        )
    if payload > expected:
        raise DataError(
            f"{path}: {payload - expected} unexpected trailing bytes after the data of shape "
            f"{dims}. {fix}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return data.reshape(dims).astype(dtype.newbyteorder("="))


def load_idx(path) -> np.ndarray:
    """Read one IDX file, gzip-compressed or not.

    Compression is recognised by the gzip magic bytes, not the file name. The header is
    validated (two zero bytes, a known type code, at least one dimension) and the payload must
    have exactly the length the dimensions call for.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file.

    Returns
    -------
    numpy.ndarray
        Array of the shape and dtype the header declares (native byte order; uint8 for
        MNIST), owned by the caller.

    Raises
    ------
    DataError
        If the file is missing, unreadable, not gzip-decodable, has a bad magic number, or its
        payload is truncated or too long.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise DataError(f"{path}: missing (no such file). {_GENERIC_FIX}")
    return _parse_idx(_read_bytes(path, _GENERIC_FIX), path, _GENERIC_FIX)


def _read_sums(path: Path, fix: str) -> dict[str, str]:
    """Parse a ``sha256sum``-style file: ``HEX  NAME`` (or ``HEX *NAME``) per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: checksum file cannot be read ({exc}). {fix}") from None
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise DataError(
                f"{path}: malformed checksum file, line {number}: {line!r} (expected "
                f"'SHA256  FILENAME'). {fix}"
            )
        sums[parts[1].lstrip("*").strip()] = digest
    return sums


def _expected_sha256(folder: Path, name: str, dataset: str, fix: str) -> tuple[str | None, str]:
    """The expected SHA-256 of file ``name`` in ``folder``, and where it comes from."""
    for sums_name in _SUMS_FILES:
        sums_path = folder / sums_name
        if sums_path.is_file():
            digest = _read_sums(sums_path, fix).get(name)
            if digest is not None:
                return digest, str(sums_path)
    if dataset == "mnist" and name in _MNIST_SHA256:
        return _MNIST_SHA256[name], "the canonical MNIST sums built into rramsim.data"
    return None, ""


def _find_file(folder: Path, name: str, source: str, dataset: str) -> Path:
    """``folder/NAME.gz`` if present, else ``folder/NAME``."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"{folder / name}[.gz]: missing: the {_PRETTY[dataset]} folder {folder} (from {source}) "
        f"has neither {name}.gz nor {name}. {_fix_hint(dataset)}"
    )


def _load_checked(path: Path, dataset: str, verify: bool) -> np.ndarray:
    fix = _fix_hint(dataset)
    raw = _read_bytes(path, fix)
    if verify:
        expected, origin = _expected_sha256(path.parent, path.name, dataset, fix)
        if expected is not None:
            actual = hashlib.sha256(raw).hexdigest()
            if actual != expected:
                try:
                    _parse_idx(raw, path, "")
                    also = ""
                except DataError as exc:
                    detail = str(exc).removeprefix(f"{path}: ").strip()
                    also = f" The file is also unreadable: {detail}"
                raise DataError(
                    f"{path}: SHA-256 checksum mismatch: got {actual}, expected {expected} "
                    f"(from {origin}); the file is corrupt, truncated or a different "
                    f"version.{also} {fix}"
                )
    return _parse_idx(raw, path, fix)


def _stat_key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _load_split_cached(
    image_path: Path, label_path: Path, dataset: str, split: str, verify: bool, _stamp: tuple
) -> tuple[np.ndarray, np.ndarray]:
    # ``_stamp`` (mtimes and sizes) only keys the cache: a file changed on disk is read anew.
    fix = _fix_hint(dataset)
    images = _load_checked(image_path, dataset, verify)
    labels = _load_checked(label_path, dataset, verify)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise DataError(
            f"{image_path}: expected uint8 images of shape (N, 28, 28), found {images.dtype} "
            f"of shape {images.shape}. {fix}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{label_path}: expected uint8 labels of shape (N,), found {labels.dtype} of shape "
            f"{labels.shape}. {fix}"
        )
    if verify and len(images) != _COUNTS[split]:
        raise DataError(
            f"{image_path}: wrong count: {len(images)} images, {_PRETTY[dataset]} {split} has "
            f"{_COUNTS[split]}. {fix}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{label_path}: image-label count mismatch: {len(labels)} labels for "
            f"{len(images)} images in {image_path.name}. {fix}"
        )
    if labels.size and int(labels.max()) >= _N_CLASSES:
        raise DataError(
            f"{label_path}: label {int(labels.max())} out of range 0..{_N_CLASSES - 1}. {fix}"
        )
    labels = labels.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_mnist(
    split: str = "train", data_dir=None, dataset: str = "mnist", verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST or Fashion-MNIST.

    Parameters
    ----------
    split : {"train", "test"}
        Training (60,000 examples) or test (10,000 examples) split.
    data_dir : str or os.PathLike, optional
        Folder holding the IDX files; see :func:`mnist_dir` for the default.
    dataset : {"mnist", "fashion-mnist"}
        Which data set.
    verify : bool
        Check each file's SHA-256 sum (against the folder's ``SHA256SUMS.gz`` /
        ``SHA256SUMS.decompressed``; for MNIST, failing those, against the canonical sums;
        Fashion-MNIST without a sums file gets only the structural checks) and the number of
        examples. ``False`` skips both and keeps the structural checks (IDX header, payload
        length, 28x28 uint8 images, as many labels as images, labels in 0..9).

    Returns
    -------
    images : numpy.ndarray, uint8, shape (N, 28, 28)
        Pixel intensities 0..255. Read-only (shared with the in-process cache).
    labels : numpy.ndarray, int64, shape (N,)
        Class indices 0..9. Read-only.

    Raises
    ------
    DataError
        If a file is missing, unreadable, fails its checksum, is truncated, is not IDX, or the
        counts are wrong.
    ValueError
        If ``split`` or ``dataset`` is not a known name.

    Notes
    -----
    Each file is read as ``NAME.gz`` if present, else as uncompressed ``NAME``. Results are
    cached per resolved file (and its modification time and size), so repeated calls are free.
    """
    _check_split(split)
    folder, source = _resolve_dir(data_dir, dataset)
    folder = folder.resolve()
    image_name, label_name = _FILES[split]
    image_path = _find_file(folder, image_name, source, dataset)
    label_path = _find_file(folder, label_name, source, dataset)
    watched = (image_path, label_path, *(folder / name for name in _SUMS_FILES))
    stamp = tuple(_stat_key(path) for path in watched)
    images, labels = _load_split_cached(image_path, label_path, dataset, split, bool(verify), stamp)
    # Views of read-only arrays cannot be made writeable again, so the cache stays intact.
    return images.view(), labels.view()


def clear_cache() -> None:
    """Forget every split loaded by :func:`load_mnist` (frees its memory)."""
    _load_split_cached.cache_clear()


def flatten_images(images: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Flatten uint8 images into rows of intensities in [0, 1].

    Parameters
    ----------
    images : numpy.ndarray, uint8, shape (N, H, W)
        Pixel intensities 0..255 (H = W = 28 for MNIST).
    dtype : numpy floating dtype
        Output dtype.

    Returns
    -------
    numpy.ndarray, shape (N, H * W)
        ``images / 255`` in row-major pixel order (784 columns for MNIST), a new writable array.

    Raises
    ------
    ValueError
        If ``images`` is not a 3-D uint8 array or ``dtype`` is not a floating dtype.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise InputError(
            f"images must be uint8 of shape (N, H, W), got {images.dtype} of shape {images.shape}"
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise InputError(f"dtype must be a floating dtype, got {dtype}")
    out = images.reshape(len(images), -1).astype(dtype)
    np.divide(out, 255, out=out)
    return out


def _subset_indices(n_available: int, size, name: str, seed_seq) -> np.ndarray | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise InputError(f"{name} must be an integer or None, got {size!r}")
    if not 1 <= size <= n_available:
        raise InputError(f"{name} must be in 1..{n_available} (or None for all), got {size}")
    rng = np.random.default_rng(seed_seq)
    return np.sort(rng.choice(n_available, size=int(size), replace=False))


def train_test(
    data_dir=None,
    dataset: str = "mnist",
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both splits, flattened to float64 rows in [0, 1], optionally subsampled.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder holding the IDX files; see :func:`mnist_dir`.
    dataset : {"mnist", "fashion-mnist"}
        Which data set.
    train_subset, test_subset : int, optional
        Take this many examples of the split, drawn at random without replacement and kept in
        file order; ``None`` takes all.
    seed : int or numpy.random.SeedSequence, optional
        Seed of the subset draws (through :mod:`rramsim.rng`; the train and test draws use
        independent child streams, so one does not depend on whether the other is drawn).
        ``None`` draws fresh entropy.

    Returns
    -------
    x_train : numpy.ndarray, float64, shape (N_train, 784)
    y_train : numpy.ndarray, int64, shape (N_train,)
    x_test : numpy.ndarray, float64, shape (N_test, 784)
    y_test : numpy.ndarray, int64, shape (N_test,)
        Intensities in [0, 1] and class indices 0..9; new writable arrays.

    Raises
    ------
    ValueError
        If a subset size is not an integer in 1..N (the message names the argument).
    DataError
        As :func:`load_mnist`.
    """
    train_seq, test_seq = spawn(seed, 2)
    out = []
    for split, size, name, seq in (
        ("train", train_subset, "train_subset", train_seq),
        ("test", test_subset, "test_subset", test_seq),
    ):
        images, labels = load_mnist(split, data_dir=data_dir, dataset=dataset)
        idx = _subset_indices(len(images), size, name, seq)
        if idx is not None:
            images, labels = images[idx], labels[idx]
        out += [flatten_images(images), np.array(labels, dtype=np.int64)]
    return tuple(out)
