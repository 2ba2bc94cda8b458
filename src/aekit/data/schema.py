"""Tables as users have them: the column schema of a mixed-type table and its
encoding to numbers and back.

A `TableSchema` records, per column, its name, kind (``"numeric"``,
``"categorical"`` or ``"bool"``), pandas dtype and, for categorical and bool
columns, its levels. `TableSchema.encode` turns a DataFrame (or a 2-D array) into
one float64 block of the same width: numeric columns as numbers, categorical
ones as level codes 0, 1, ..., with NaN for every missing cell.
`TableSchema.decode` turns such a block back into a DataFrame with the original
column names, dtypes and categories.

Levels are capped: a column with more than `MAX_LEVELS` distinct values keeps
the ``MAX_LEVELS - 1`` most frequent and maps the rest to one extra level,
`OTHER`, which is never chosen when decoding. A value not seen in training is
treated as missing (with one warning per call), or as `OTHER` in a capped
column. A schema is saved with the model as plain JSON (`to_dict`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_LEVELS = 1000  # at most this many levels per column, OTHER included
OTHER = "(other)"  # the level of the values beyond the cap
KINDS = ("numeric", "categorical", "bool")


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, pandas dtype (as text) and levels (for
    categorical and bool columns; the last is `OTHER` when ``capped``)."""

    name: Any
    kind: str
    dtype: str
    levels: tuple[Any, ...] = ()
    capped: bool = False


def needs_schema(X: Any) -> bool:
    """Whether ``X`` needs the mixed-type path: a DataFrame with a column that is
    not a plain number (categorical, text, bool) or with a missing cell."""
    if not isinstance(X, pd.DataFrame):
        return False
    kinds = (_kind(X[c]) for c in X.columns)
    return any(k != "numeric" for k in kinds) or bool(X.isna().to_numpy().any())


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    if numeric and not isinstance(series.dtype, pd.CategoricalDtype):
        return "numeric"
    if series.dtype == object and series.notna().any():
        values = series.dropna()
        if values.map(lambda x: isinstance(x, bool | np.bool_)).all():
            return "bool"
    return "categorical"


def _warn_if_mostly_numbers(series: pd.Series, name: Any) -> None:
    """Warn when a text column is numbers but for a few cells (a "?" or "n/a"
    for a missing value): it is taken as categorical, one level per number."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return
    values = series.dropna().astype(str)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values[numbers.isna()]
    if len(values) >= 20 and 0 < len(bad) <= 0.05 * len(values):
        shown = ", ".join(repr(v) for v in pd.unique(bad)[:3])
        warnings.warn(
            f"column {name!r} holds numbers but for {len(bad)} cells ({shown}); "
            "it is taken as categorical. If those cells mean 'missing', make "
            "them empty (e.g. pd.read_csv(..., na_values=[...]) or replace them) "
            "so the column stays numeric",
            UserWarning,
            stacklevel=4,
        )


def _plain(value: Any) -> Any:
    """A level as a JSON-able Python scalar (str for anything exotic)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, bool | int | float | str) else str(value)


def _levels(series: pd.Series, kind: str) -> tuple[tuple[Any, ...], bool]:
    """The column's levels (most frequent first beyond the cap) and whether it
    was capped."""
    if kind == "bool":
        return (False, True), False
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = list(series.cat.categories)
    else:
        levels = sorted(
            series.dropna().unique().tolist(), key=lambda x: (str(type(x)), x)
        )
    if len(levels) <= MAX_LEVELS:
        return tuple(_plain(x) for x in levels), False
    top = series.value_counts().index[: MAX_LEVELS - 1]
    return (*(_plain(x) for x in top), OTHER), True


class TableSchema:
    """The columns of a training table (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"size": [1.0, None, 3.0], "colour": ["red", "blue", None]})
    >>> schema = TableSchema.from_frame(df)
    >>> [(c.name, c.kind, c.levels) for c in schema.columns]
    [('size', 'numeric', ()), ('colour', 'categorical', ('blue', 'red'))]
    >>> schema.encode(df)
    array([[ 1.,  1.],
           [nan,  0.],
           [ 3., nan]])
    >>> schema.decode(schema.encode(df)).dtypes.tolist()
    [dtype('float64'), dtype('O')]
    """

    def __init__(self, columns: list[Column], *, frame: bool = True) -> None:
        self.columns = tuple(columns)
        self.frame = frame  # fitted on a DataFrame (else on an array)
        self.numeric = [i for i, c in enumerate(columns) if c.kind == "numeric"]
        self.categorical = [i for i, c in enumerate(columns) if c.kind != "numeric"]

    @classmethod
    def from_frame(cls, X: Any) -> TableSchema:
        """The schema of a DataFrame, or of a 2-D numeric array (columns 0, 1...)."""
        frame = isinstance(X, pd.DataFrame)
        df = X if frame else pd.DataFrame(np.asarray(X))
        columns = []
        for name in df.columns:
            kind = _kind(df[name])
            if kind == "categorical":
                _warn_if_mostly_numbers(df[name], name)
            levels, capped = (
                _levels(df[name], kind) if kind != "numeric" else ((), False)
            )
            columns.append(
                Column(_plain(name), kind, str(df[name].dtype), levels, capped)
            )
        return cls(columns, frame=frame)

    @property
    def names(self) -> list[Any]:
        return [c.name for c in self.columns]

    @property
    def n_levels(self) -> list[int]:
        """Number of levels of each categorical (or bool) column, in order."""
        return [len(self.columns[i].levels) for i in self.categorical]

    def to_dict(self) -> dict[str, Any]:
        """The schema as JSON-able data (saved in the model's ``config.json``)."""
        return {
            "frame": self.frame,
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "dtype": c.dtype,
                    "levels": list(c.levels),
                    "capped": c.capped,
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        columns = [
            Column(c["name"], c["kind"], c["dtype"], tuple(c["levels"]), c["capped"])
            for c in data["columns"]
        ]
        return cls(columns, frame=bool(data["frame"]))

    # -- encoding -----------------------------------------------------------------

    def encode(self, X: Any) -> np.ndarray:
        """``X`` as float64 (n_samples, n_columns): numbers, level codes, NaN for
        missing cells. Columns are found by name in a DataFrame fitted on one,
        else by position. A missing column, or text in a numeric column, is a
        ValueError naming the column; unseen levels become missing (one warning)."""
        df = self._frame_of(X)
        out = np.empty(df.shape, np.float64)
        unseen: dict[Any, list[Any]] = {}
        for j, column in enumerate(self.columns):
            series = df.iloc[:, j]
            if column.kind == "numeric":
                out[:, j] = _numbers(series, column.name)
            else:
                out[:, j] = _codes(series, column, unseen)
        if unseen:
            shown = "; ".join(f"{k!r}: {v[:3]}" for k, v in unseen.items())
            warnings.warn(
                f"categories not seen in training, treated as missing ({shown})",
                UserWarning,
                stacklevel=3,
            )
        if np.isinf(out).any():
            raise ValueError("Input contains infinity; replace it or mark it missing")
        return out

    def _frame_of(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame) and self.frame:
            missing = [c for c in self.names if c not in X.columns]
            if missing:
                raise ValueError(
                    f"column(s) {missing} of the training table are missing from X "
                    f"(it has {list(X.columns)[:10]})"
                )
            return X[self.names]
        df = pd.DataFrame(X) if not isinstance(X, pd.DataFrame) else X
        if df.ndim != 2 or df.shape[1] != len(self.columns):
            raise ValueError(
                f"X has {df.shape[1] if df.ndim == 2 else 1} features, but the model "
                f"is expecting {len(self.columns)} features as input."
            )
        return df

    def decode(self, values: np.ndarray, index: Any = None) -> Any:
        """Encoded values (numbers and level codes) back to a table with the
        training columns' names, dtypes and categories; an array when the
        schema was fitted on an array."""
        if not self.frame:
            return np.asarray(values, np.float64)
        data = {}
        for j, column in enumerate(self.columns):
            data[column.name] = _decoded(values[:, j], column)
        return pd.DataFrame(data, index=index)


def _numbers(series: pd.Series, name: Any) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype) or not (
        pd.api.types.is_numeric_dtype(series.dtype) or series.isna().all()
    ):
        raise ValueError(
            f"column {name!r} was numeric in training but X's column has dtype "
            f"{series.dtype}; pass numbers (missing cells as NaN)"
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _codes(series: pd.Series, column: Column, unseen: dict) -> np.ndarray:
    """Level codes of ``series`` (NaN where missing or unseen)."""
    text = column.kind == "categorical" and all(
        isinstance(x, str) for x in column.levels
    )
    numbers = pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
        series.dtype, pd.CategoricalDtype
    )
    if text and numbers and series.notna().any():
        raise ValueError(
            f"column {column.name!r} held text in training but X's column "
            f"has dtype {series.dtype}"
        )
    values = series.astype(object).to_numpy()
    lookup = {level: code for code, level in enumerate(column.levels)}
    missing = pd.isna(values)
    codes = np.full(len(values), np.nan)
    for i in np.flatnonzero(~missing):
        value = _plain(values[i])
        code = lookup.get(value)
        if code is None and column.capped:
            code = len(column.levels) - 1
        if code is None:
            unseen.setdefault(column.name, []).append(value)
        else:
            codes[i] = code
    return codes


def _decoded(values: np.ndarray, column: Column) -> Any:
    """One column of encoded values in the training column's dtype."""
    dtype = column.dtype
    if column.kind == "numeric":
        if dtype.lower().startswith(("int", "uint")):
            if np.isnan(values).any():
                return pd.array(np.round(values), dtype="Float64")
            return np.round(values).astype(dtype)
        return values.astype(dtype if dtype.startswith("float") else np.float64)
    codes = np.where(np.isnan(values), -1, values).astype(np.int64)
    levels = list(column.levels)
    if dtype == "category":
        return pd.Categorical.from_codes(codes, categories=levels)
    labels = np.array(levels + [None], dtype=object)[codes]
    if column.kind == "bool" and (codes >= 0).all():
        return labels.astype(bool)
    try:
        return pd.Series(labels, dtype=object).astype(dtype).array
    except (TypeError, ValueError):
        return labels
