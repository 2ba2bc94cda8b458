"""Nearest-neighbour fills of an encoded table, the classical candidate that
`aekit.AutoencoderImputer` checks beside its autoencoders and the column
mean/mode.

Rows are compared by the NaN-Euclidean distance over the cells both rows have
(scikit-learn's `~sklearn.impute.KNNImputer`, which also picks, per column, the
nearest rows that have that column). Numeric columns are standardised by the
imputer's own scaling; a categorical column is one-hot, each level scaled by
``1 / sqrt(2)``, so a level mismatch weighs as much as one scale unit of a
numeric column. A numeric cell gets its neighbours' mean, a categorical cell
their most frequent level (the mean of their one-hot rows).

The neighbours come from a reference sample of at most `MAX_REFERENCE` rows, so
time and memory grow linearly with the rows to fill, not quadratically.
"""

from __future__ import annotations

import numpy as np
from sklearn.impute import KNNImputer

from aekit.data.schema import TableSchema

MAX_REFERENCE = 5000  # rows the neighbours are drawn from, at most
LEVEL_SCALE = 1.0 / np.sqrt(2.0)  # a one-hot level: a mismatch costs 1 (squared)


def knn_features(
    values: np.ndarray, schema: TableSchema, shift: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Encoded rows -> the distance space: numeric columns ``(x - shift) /
    scale``, then each categorical column one-hot (`LEVEL_SCALE`); NaN where the
    cell is missing."""
    num = schema.numeric
    blocks = [(values[:, num] - shift[num]) / scale[num]]
    for j, k in zip(schema.categorical, schema.n_levels, strict=True):
        codes = values[:, j]
        onehot = (codes[:, None] == np.arange(k)[None, :]) * LEVEL_SCALE
        blocks.append(np.where(np.isnan(codes)[:, None], np.nan, onehot))
    return np.hstack(blocks)


def knn_fill(
    reference: np.ndarray,
    queries: np.ndarray,
    schema: TableSchema,
    scaling: tuple[np.ndarray, np.ndarray],
    n_neighbors: int,
) -> np.ndarray:
    """Encoded rows ``queries`` with every cell replaced by the neighbours' fill
    (from the encoded rows ``reference``); observed cells are the caller's to
    keep. ``scaling`` is the (shift, scale) of `knn_features`."""
    features = KNNImputer(n_neighbors=n_neighbors, keep_empty_features=True)
    features.fit(knn_features(reference, schema, *scaling))
    filled = features.transform(knn_features(queries, schema, *scaling))
    out = np.empty(queries.shape)
    num, p = schema.numeric, len(schema.numeric)
    shift, scale = scaling
    out[:, num] = filled[:, :p] * scale[num] + shift[num]
    start = p
    for j, k in zip(schema.categorical, schema.n_levels, strict=True):
        shares = filled[:, start : start + k]
        if schema.columns[j].capped:  # (never the OTHER level)
            shares = shares[:, :-1]
        out[:, j] = shares.argmax(axis=1)
        start += k
    return out


def reference_sample(n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of at most `MAX_REFERENCE` of ``n_rows`` rows."""
    if n_rows <= MAX_REFERENCE:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, MAX_REFERENCE, replace=False))


def knn_check_guesses(
    values: np.ndarray,
    held: list[np.ndarray],
    schema: TableSchema,
    scaling: tuple[np.ndarray, np.ndarray],
    n_neighbors: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The neighbours' fill of each set of held-out cells, from the table with
    that set hidden (NaN elsewhere). At most `MAX_REFERENCE` rows of each set are
    filled (the others stay NaN), so the check's cost is bounded too."""
    guesses = np.full(values.shape, np.nan)
    for cells in held:
        rows = np.flatnonzero(cells.any(axis=1))
        if not len(rows):  # (no check: ``check_fraction=0``)
            continue
        rows = rows[reference_sample(len(rows), rng)]
        hidden = np.where(cells, np.nan, values)
        reference = hidden[reference_sample(len(values), rng)]
        fill = knn_fill(reference, hidden[rows], schema, scaling, n_neighbors)
        guesses[rows] = np.where(cells[rows], fill, np.nan)
    return guesses
