"""Ratings tables: reading MovieLens files, turning (user, item, rating) rows into a
sparse user-by-item matrix with id maps, and back.

Id labels may be any hashable values. They are kept as NumPy arrays so that a saved
model can restore them: integer labels as ``int64``, anything else as an ``object``
array of ``str``. **Mixed labels** (say ``1`` and ``"a"``) are all converted with
``str``, so ``1`` and ``"1"`` then name the same user; lookups follow the same rule.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aekit.data.tabular import csv_separator

#: Column names tried, in order, when a ratings table does not name its columns.
RATING_COLUMNS = ("user", "item", "rating")


def id_array(labels: Any) -> np.ndarray:
    """Labels as a saveable array: ``int64`` for integers, else ``object`` of str.

    Examples
    --------
    >>> id_array([3, 1, 2]).dtype
    dtype('int64')
    >>> id_array(["b", 7]).tolist()
    ['b', '7']
    """
    arr = np.asarray(labels)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == arr // 1).all():
        return arr.astype(np.int64)  # 1.0, 2.0 read from a CSV are integer ids
    values = arr.tolist()
    if all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([str(x) for x in values], dtype=object)


def lookup(ids: np.ndarray, labels: Any) -> np.ndarray:
    """Positions of ``labels`` in ``ids``, -1 for labels not there.

    Labels follow the rule of `id_array`: for integer ids, ``"5"`` finds ``5``;
    for string ids every label is looked up as ``str(label)``.

    Examples
    --------
    >>> lookup(np.array([10, 20, 30]), [30, "10", 99]).tolist()
    [2, 0, -1]
    """
    index = {label: pos for pos, label in enumerate(ids.tolist())}
    values = np.asarray(labels, dtype=object).ravel().tolist()
    if ids.dtype.kind == "i":
        values = [_as_int(x) for x in values]
    else:
        values = [str(x) for x in values]
    return np.array([index.get(x, -1) for x in values], dtype=np.int64)


def _as_int(x: Any) -> Any:
    try:
        number = float(x)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def ratings_columns(
    frame: pd.DataFrame, user_col: Any, item_col: Any, rating_col: Any
) -> tuple[Any, Any, Any]:
    """The user, item and rating column names of ``frame``.

    Columns given as None default to the first, second and third column (so a
    MovieLens ``userId,movieId,rating,timestamp`` table needs no names). The
    rating column is None for a two-column table (implicit feedback).
    """
    columns = list(frame.columns)
    picked = []
    for pos, (name, given) in enumerate(
        zip(RATING_COLUMNS, (user_col, item_col, rating_col), strict=True)
    ):
        if given is None:
            given = columns[pos] if pos < len(columns) else None
            if given is None and name != "rating":
                raise ValueError(
                    f"a ratings table needs at least user and item columns, got "
                    f"{len(columns)} column(s) {columns}"
                )
        elif given not in frame.columns:
            raise ValueError(
                f"{name}_col={given!r} is not a column of the ratings table; its "
                f"columns are {columns}"
            )
        picked.append(given)
    return picked[0], picked[1], picked[2]


def to_frame(X: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame or a 2-D array of (user, item[, rating]) rows."""
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise ValueError(
            "ratings must be a DataFrame with user, item and rating columns, a "
            "2-D array of (user, item[, rating]) rows or a scipy.sparse user-by-item "
            f"matrix; got an array of shape {arr.shape}"
        )
    return pd.DataFrame(arr, columns=list(RATING_COLUMNS[: arr.shape[1]]))


def frame_to_matrix(
    frame: pd.DataFrame,
    user_col: Any = None,
    item_col: Any = None,
    rating_col: Any = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """A ratings table as ``(matrix, user_ids, item_ids)``.

    ``matrix`` is a float32 CSR matrix of shape (n_users, n_items) holding the
    ratings (1.0 without a rating column); ``user_ids`` and ``item_ids`` (see
    `id_array`) label its rows and columns, in sorted order. A repeated (user, item)
    pair keeps its last rating.

    Examples
    --------
    >>> df = pd.DataFrame({"u": ["b", "a"], "i": [5, 9], "r": [4.0, 2.0]})
    >>> M, users, items = frame_to_matrix(df)
    >>> M.toarray().tolist(), users.tolist(), items.tolist()
    ([[0.0, 2.0], [4.0, 0.0]], ['a', 'b'], [5, 9])
    """
    u_col, i_col, r_col = ratings_columns(frame, user_col, item_col, rating_col)
    if len(frame) == 0:
        raise ValueError("the ratings table has no rows")
    users, items = frame[u_col].to_numpy(), frame[i_col].to_numpy()
    for name, col in ((u_col, users), (i_col, items)):
        if pd.isna(col).any():
            raise ValueError(f"column {name!r} has NaN (missing) ids")
    values = np.ones(len(frame), np.float64)
    if r_col is not None:
        values = pd.to_numeric(frame[r_col], errors="coerce").to_numpy(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(
                f"column {r_col!r} has NaN, infinite or non-numeric values"
            )
    user_ids, rows = np.unique(id_array(users), return_inverse=True)
    item_ids, cols = np.unique(id_array(items), return_inverse=True)
    matrix = pairs_to_matrix(rows, cols, values, (len(user_ids), len(item_ids)))
    return matrix, id_array(user_ids), id_array(item_ids)


def pairs_to_matrix(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """CSR float32 matrix; for a repeated (row, col) the last value wins."""
    key = np.asarray(rows, np.int64) * shape[1] + np.asarray(cols, np.int64)
    _, last = np.unique(key[::-1], return_index=True)
    keep = len(key) - 1 - last
    matrix = sp.csr_matrix(
        (np.asarray(values, np.float32)[keep], (rows[keep], cols[keep])), shape=shape
    )
    matrix.sort_indices()
    return matrix


def read_ratings(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ratings file: CSV/TSV with a header row, or MovieLens 100K ``u.data``.

    ``u.data`` (tab-separated, no header) gets the columns ``userId, movieId,
    rating, timestamp``, the names of the newer MovieLens CSV files.

    Examples
    --------
    >>> ratings = read_ratings("ml-latest-small/ratings.csv")  # doctest: +SKIP
    >>> list(ratings.columns)
    ['userId', 'movieId', 'rating', 'timestamp']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ratings file not found: {path}")
    try:
        if path.name == "u.data" or path.suffix == ".data":
            names = ["userId", "movieId", "rating", "timestamp"]
            return pd.read_csv(path, sep="\t", header=None, names=names)
        return pd.read_csv(path, sep=csv_separator(path))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"could not read {path} as a ratings table: {exc}") from None


def read_item_titles(path: str | os.PathLike) -> dict[Any, str]:
    """``{item id: title}`` from a MovieLens ``movies.csv`` (first column the id,
    a ``title`` column or else the second column) or ML-100K ``u.item``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"items file not found: {path}")
    if path.name == "u.item":
        frame = pd.read_csv(path, sep="|", header=None, encoding="latin-1")
    else:
        frame = pd.read_csv(path)
    title = "title" if "title" in frame.columns else frame.columns[1]
    ids = id_array(frame.iloc[:, 0].to_numpy())
    return dict(zip(ids.tolist(), frame[title].astype(str), strict=True))


def load_movielens(
    folder: str | os.PathLike,
) -> tuple[pd.DataFrame, dict[Any, str]]:
    """``(ratings, titles)`` from a MovieLens folder: ``ratings.csv`` and
    ``movies.csv`` (latest, 20M, ...) or ``u.data`` and ``u.item`` (100K)."""
    folder = Path(folder)
    for ratings, items in (("ratings.csv", "movies.csv"), ("u.data", "u.item")):
        if (folder / ratings).is_file():
            titles = {}
            if (folder / items).is_file():
                titles = read_item_titles(folder / items)
            return read_ratings(folder / ratings), titles
    raise FileNotFoundError(f"no ratings.csv or u.data in {folder}")
