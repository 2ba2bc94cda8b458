"""Reading tables from CSV, Parquet, NPY and NPZ files: numeric ones
(`read_table`), or tables as they come, with text columns and empty cells
(`read_frame`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".npy", ".npz")


def read_table(
    path: str | os.PathLike, *, drop: list[str] | None = None
) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table; returns ``(X, column_names)``.

    CSV/TSV (with a header row) and Parquet become float64 arrays with their column
    names; NPY gives the 2-D array it holds; NPZ the array under ``"X"`` or its only
    array. ``drop`` names columns to leave out (e.g. a label column).
    Non-numeric columns are refused with an error that names them.
    """
    path = Path(path)
    frame = read_frame(path, drop=drop)
    if isinstance(frame, np.ndarray):
        return _numeric(frame, path), None
    return frame_to_array(frame, path), [str(c) for c in frame.columns]


def read_frame(
    path: str | os.PathLike, *, drop: list[str] | None = None
) -> pd.DataFrame | np.ndarray:
    """Read a table as it is: CSV/TSV (with a header row) and Parquet as a
    DataFrame whatever its column types (empty cells are missing), NPY/NPZ as a
    2-D array (NaN allowed). ``drop`` names columns to leave out."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _two_d(_read_numpy(path), path)
    if suffix in (".csv", ".tsv", ".txt"):
        frame = read_csv(path)
    elif suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError:
            raise ImportError(
                "reading Parquet needs pyarrow: pip install 'aekit[parquet]'"
            ) from None
        except Exception as exc:
            raise ValueError(f"could not read {path} as Parquet: {exc}") from None
    else:
        allowed = ", ".join(TABLE_SUFFIXES)
        raise ValueError(f"unsupported data file {path.name!r}: use one of {allowed}")
    if drop:
        missing = [c for c in drop if c not in frame.columns]
        if missing:
            raise ValueError(f"columns to drop not in {path.name}: {missing}")
        frame = frame.drop(columns=drop)
    if frame.shape[1] == 0 or len(frame) == 0:
        raise ValueError(f"{path} has no {'columns' if len(frame) else 'rows'}")
    return frame


SEPARATORS = (",", ";", "\t", "|")


def csv_separator(path: str | os.PathLike) -> str:
    """The field separator of a text table: tab for .tsv, else the one of
    `SEPARATORS` that occurs most often in the header line and as often in the
    next (semicolons are common where the decimal mark is a comma), "," when
    none does."""
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        return "\t"
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line for line in (handle.readline() for _ in range(2)) if line]
    if not lines:
        return ","
    counts = {sep: lines[0].count(sep) for sep in SEPARATORS}
    present = [sep for sep in SEPARATORS if counts[sep]]
    steady = [sep for sep in present if lines[-1].count(sep) == counts[sep]]
    candidates = steady or present
    return max(candidates, key=counts.__getitem__) if candidates else ","


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV/TSV table with a header row, its separator found by `csv_separator`;
    with semicolons, text columns that are numbers written with a decimal comma
    ("1,5") are read as numbers."""
    sep = csv_separator(path)
    try:
        frame = pd.read_csv(path, sep=sep)
        if sep == ";" and _decimal_commas(frame):
            frame = pd.read_csv(path, sep=sep, decimal=",")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"could not read {path} as CSV: {exc}") from None
    return frame


def _decimal_commas(frame: pd.DataFrame) -> bool:
    """Whether some text column holds only numbers with a decimal comma."""
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        text = column.dropna().astype(str)
        if len(text) and text.str.fullmatch(r"[-+]?\d*,\d+([eE][-+]?\d+)?").all():
            return True
    return False


def frame_to_array(frame: pd.DataFrame, source: Path | str = "data") -> np.ndarray:
    """A DataFrame of numeric columns as float64; names the columns that are not."""
    bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise ValueError(
            f"{source} has non-numeric columns ({shown}); drop them (--drop) or "
            "encode them as numbers first"
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{source} has no columns")
    return _numeric(frame.to_numpy(dtype=np.float64), source)


def _read_numpy(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"could not read {path} as NumPy data: {exc}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if "X" in names:
            return loaded["X"]
        if len(names) == 1:
            return loaded[names[0]]
    raise ValueError(
        f"{path} holds arrays {names}: name the data array 'X' or keep only one"
    )


def _two_d(X: np.ndarray, source: Path | str) -> np.ndarray:
    """Numbers as a 2-D array (one column for 1-D, rows flattened beyond 2-D)."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{source} holds {X.dtype} data; numbers are needed")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        X = X.reshape(len(X), -1)
    if X.shape[0] == 0:
        raise ValueError(f"{source} has no rows")
    return X


def _numeric(X: np.ndarray, source: Path | str) -> np.ndarray:
    X = _two_d(X, source)
    if not np.isfinite(X).all():
        rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise ValueError(
            f"{source} has missing or infinite values in {len(rows)} rows "
            f"(first at row {rows[0]}); impute or drop them first"
        )
    return X.astype(np.float64, copy=False)
