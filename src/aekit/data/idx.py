"""Reading MNIST-style IDX files (``*-idx3-ubyte``, optionally gzip-compressed)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# IDX type codes -> big-endian NumPy dtypes.
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip or not) into an array of its stored shape.

    MNIST images come back as ``uint8`` of shape (n, 28, 28), labels as (n,).

    Examples
    --------
    >>> images = read_idx("mnist/train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape
    (60000, 28, 28)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"could not read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} is truncated or padded: header says shape {shape} "
            f"({expected} bytes), file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist(
    folder: str | os.PathLike, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (or Fashion-MNIST) images as float32 in [0, 1] of shape (n, 28, 28), and
    labels, from the four standard IDX files in ``folder`` (``split``: train/test)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    folder = Path(folder)

    def find(kind: str) -> Path:
        for name in (f"{prefix}-{kind}-ubyte.gz", f"{prefix}-{kind}-ubyte"):
            if (folder / name).is_file():
                return folder / name
        raise FileNotFoundError(f"{prefix}-{kind}-ubyte[.gz] not found in {folder}")

    images = read_idx(find("images-idx3")).astype(np.float32) / 255.0
    labels = read_idx(find("labels-idx1")).astype(np.int64)
    return images, labels
