"""Reading outlier-detection benchmark sets: ODDS MATLAB files and ADBench ``.npz``.

ODDS (Rayana 2016, http://odds.cs.stonybrook.edu) ships ``X`` (n x d) and ``y``
(n x 1, 1 = outlier) in MAT files; ADBench (Han et al., NeurIPS 2022) ships the
same in ``.npz`` archives. Most ODDS files are MAT version 5 (read with SciPy); a
few (e.g. ``smtp.mat``) are MAT 7.3, i.e. HDF5, read with ``h5py`` when installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def load_odds(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load an ODDS ``.mat`` or ADBench ``.npz`` file as ``(X, y)``.

    ``X`` is float64 of shape (n_samples, n_features); ``y`` is int64 of shape
    (n_samples,) with 1 = outlier, 0 = inlier.

    Parameters
    ----------
    path : str or path-like
        A ``.mat`` file (MAT 5, or MAT 7.3 / HDF5 with ``h5py`` installed) or an
        ``.npz`` file, each holding arrays ``X`` and ``y``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.npz")
    >>> np.savez(path, X=np.zeros((5, 3)), y=np.array([0, 0, 0, 0, 1]))
    >>> X, y = load_odds(path)  # or an ODDS file such as "odds_mat/cardio.mat"
    >>> X.shape, int(y.sum())
    ((5, 3), 1)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"outlier-detection data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _read_npz(path)
    elif suffix == ".mat":
        X, y = _read_hdf5_mat(path) if _is_hdf5(path) else _read_mat5(path)
    else:
        raise ValueError(
            f"unsupported outlier data file {path.name!r}: use an ODDS .mat or an "
            "ADBench .npz file"
        )
    return _check_xy(X, y, path)


def _is_hdf5(path: Path) -> bool:
    """MAT 7.3 files are HDF5 files with a 512-byte MATLAB header first."""
    with path.open("rb") as fh:
        head = fh.read(520)
    return head[512:520] == _HDF5_MAGIC or head[:8] == _HDF5_MAGIC


def _read_mat5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except (ValueError, NotImplementedError, OSError) as exc:
        raise ValueError(f"could not read {path} as a MAT file: {exc}") from None
    return _pick(mat, path)


def _read_hdf5_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{path.name} is a MAT 7.3 (HDF5) file; reading it needs h5py "
            "(pip install h5py), or use the ADBench .npz version of the set"
        ) from None
    with h5py.File(path, "r") as fh:
        # MATLAB stores column-major: arrays come out transposed.
        arrays = {k: np.asarray(fh[k]).T for k in ("X", "y") if k in fh}
    return _pick(arrays, path)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("X", "y") if k in data.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"could not read {path} as an .npz archive: {exc}") from None
    return _pick(arrays, path)


def _pick(arrays: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise ValueError(f"{path} has no array(s) {missing}; ODDS files hold X and y")
    return np.asarray(arrays["X"]), np.asarray(arrays["y"])


def _check_xy(
    X: np.ndarray, y: np.ndarray, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(
            f"{path}: X must be 2-D with one label per row, got X {X.shape} and "
            f"y {y.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{path}: y must hold 0 (inlier) and 1 (outlier) only")
    return X, y.astype(np.int64)
