"""Tables read a chunk of rows at a time: a memory-mapped or on-disk ``.npy`` and a
Parquet file, directory of Parquet files or `pyarrow.dataset.Dataset`.

A `ChunkedTable` is a list of `Piece` s (a row range of one file: for Parquet a
row group, for NPY a block of rows), so it can be read in any order, split across
processes (`ChunkedTable.shard`) and checked chunk by chunk: a non-numeric or
missing column, files that disagree on their columns and NaN or infinite values
raise a ValueError naming the file and the rows. Only one chunk of at most
`CHUNK_CELLS` values is in memory at a time.

Examples
--------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
>>> np.save(path, np.arange(12.0).reshape(6, 2))
>>> table = open_table(path, chunk_rows=4)
>>> len(table), table.n_features, [len(c) for _, c in table.chunks()]
(6, 2, [4, 2])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

CHUNK_CELLS = 1 << 22  # values per chunk read (32 MB in float64)
PARQUET_SUFFIXES = (".parquet", ".pq")


class NotStreamable(ValueError):
    """A table on disk that cannot be read in chunks as numbers: its mixed-type
    or missing cells need the in-memory table path (`aekit.data.schema`)."""


class NonNumericColumns(NotStreamable):
    """A table on disk has columns that are not numbers (they do not stream)."""


class MissingCells(NotStreamable):
    """A Parquet file's metadata counts missing (null) cells in its columns."""


@dataclass(frozen=True)
class Piece:
    """Rows ``start`` to ``start + n_rows`` (of the whole table) stored in ``path``:
    NPY rows from byte ``first`` onwards, or Parquet row group ``first`` after
    its first ``skip`` rows (a row group cut by `ChunkedTable.shard`)."""

    path: str
    first: int
    start: int
    n_rows: int
    skip: int = 0

    def describe(self, lo: int = 0, hi: int | None = None) -> str:
        """'<file>, rows a-b' for rows ``lo..hi`` of this piece (table numbering)."""
        hi = self.n_rows if hi is None else hi
        return f"{self.path}, rows {self.start + lo}-{self.start + hi - 1}"


@dataclass(frozen=True, eq=False)
class ChunkedTable:
    """A numeric table on disk, read in chunks (see the module docstring).

    Make one with `open_table`. ``columns`` are the column names (Parquet) or None
    (NPY); ``pieces`` cover the rows in order.
    """

    kind: str  # "npy" or "parquet"
    pieces: tuple[Piece, ...]
    n_features: int
    columns: tuple[str, ...] | None
    dtype: np.dtype
    chunk_rows: int
    filesystem: Any = None  # pyarrow filesystem of a Dataset's files
    stored: np.dtype | None = None  # a .npy file's own dtype
    keep: np.ndarray | None = None  # bool per row: the rows of the table (or all)
    named: bool = True  # whether estimators see the column names

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """The column names estimators see (None for a .npy or `unnamed`)."""
        return self.columns if self.named else None

    def unnamed(self) -> ChunkedTable:
        """The same table, its chunks handed out as plain arrays."""
        return replace(self, named=False)

    def __len__(self) -> int:
        return sum(len(self.row_indices(p)) for p in self.pieces)

    def row_indices(self, piece: Piece) -> np.ndarray:
        """Indices of ``piece``'s rows that belong to the table."""
        rows = np.arange(piece.start, piece.start + piece.n_rows)
        return rows if self.keep is None else rows[self.keep[rows]]

    def subset(self, keep: np.ndarray) -> ChunkedTable:
        """The table restricted to the rows where the boolean ``keep`` (one entry
        per row of the file(s)) is True."""
        keep = np.asarray(keep, bool)
        if self.keep is not None:
            keep = keep & self.keep
        return replace(self, keep=keep)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), self.n_features

    def shard(self, rank: int, world_size: int) -> ChunkedTable:
        """Rank ``rank``'s block of consecutive rows, for data parallel fits: the
        table's rows cut into ``world_size`` blocks in rank order whose sizes
        differ by at most one (as `aekit.training.sources.shard_bounds`), pieces
        at a block's edge cut in two. Disjoint for different ranks, together the
        whole table."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        counts = [self._count(p) for p in self.pieces]
        n = sum(counts)
        lo, hi = n * rank // world_size, n * (rank + 1) // world_size
        pieces, seen = [], 0
        for piece, count in zip(self.pieces, counts, strict=True):
            a, b = max(lo - seen, 0), min(hi - seen, count)  # its rows in the block
            seen += count
            if a >= b:
                continue
            if (a, b) == (0, count):
                pieces.append(piece)
                continue
            rows = self.row_indices(piece) - piece.start  # (those of the table)
            pieces.append(self._cut(piece, int(rows[a]), int(rows[b - 1]) + 1))
        return replace(self, pieces=tuple(pieces))

    def _count(self, piece: Piece) -> int:
        if self.keep is None:
            return piece.n_rows
        return int(self.keep[piece.start : piece.start + piece.n_rows].sum())

    def _cut(self, piece: Piece, lo: int, hi: int) -> Piece:
        """Rows ``lo`` to ``hi`` of ``piece`` (counted from its first row)."""
        if self.kind == "npy":
            stored = self.dtype if self.stored is None else self.stored
            first = piece.first + lo * self.n_features * stored.itemsize
            return Piece(piece.path, first, piece.start + lo, hi - lo)
        skip = piece.skip + lo  # (Parquet: rows of the row group before it)
        return Piece(piece.path, piece.first, piece.start + lo, hi - lo, skip)

    def chunks(
        self, order: Sequence[int] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(row indices, rows) of at most ``chunk_rows`` rows, the pieces in
        ``order`` (indices into ``pieces``; default: in turn), each checked to be
        finite."""
        for i in range(len(self.pieces)) if order is None else order:
            piece, offset = self.pieces[i], 0
            for block in self._read(piece):
                _check_finite(block, piece, offset)
                rows = np.arange(len(block)) + (piece.start + offset)
                offset += len(block)
                if self.keep is not None:
                    mask = self.keep[rows]
                    rows, block = rows[mask], block[mask]
                if len(rows):
                    yield rows, block

    def blocks(self) -> Iterator[np.ndarray]:
        """The rows, a chunk at a time, in order."""
        return (block for _, block in self.chunks())

    def frames(self) -> Iterator[Any]:
        """The rows a chunk at a time, as DataFrames with the column names (or
        arrays when there are none)."""
        import pandas as pd

        for block in self.blocks():
            names = self.feature_names
            yield (
                block
                if names is None
                else pd.DataFrame(block, columns=list(names), copy=False)
            )

    def _read(self, piece: Piece) -> Iterator[np.ndarray]:
        if self.kind == "npy":
            d, stored = self.n_features, self.stored
            block = np.fromfile(piece.path, stored, piece.n_rows * d, "", piece.first)
            yield block.reshape(piece.n_rows, d).astype(self.dtype, copy=False)
            return
        pf = _parquet_file(piece.path, self.filesystem)
        skip, left = piece.skip, piece.n_rows
        for batch in pf.iter_batches(
            batch_size=self.chunk_rows,
            row_groups=[piece.first],
            columns=self.columns,
            use_threads=False,  # (per-thread buffers cost memory, not time, here)
        ):
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch, skip = batch.slice(skip, left), 0
            left -= batch.num_rows
            cols = [c.to_numpy(zero_copy_only=False) for c in batch.columns]
            yield np.column_stack(cols).astype(self.dtype, copy=False)
            if not left:
                return


def row_blocks(X: np.ndarray) -> Iterator[np.ndarray]:
    """Views of consecutive rows of the 2-D array ``X``, `CHUNK_CELLS` values
    each."""
    step = _rows_per_chunk(X.shape[1] if X.ndim > 1 else 1, None)
    for start in range(0, len(X), step):
        yield X[start : start + step]


def is_chunked(X: Any) -> bool:
    """Whether ``X`` is read in chunks rather than held in memory: a
    `ChunkedTable`, a memory-mapped array, a `pyarrow.dataset.Dataset` or a path
    to a ``.npy`` / Parquet file or a directory."""
    if isinstance(X, np.memmap):
        return _whole_npy(X)
    if isinstance(X, ChunkedTable) or _is_dataset(X):
        return True
    return isinstance(X, str | os.PathLike) and (
        Path(X).is_dir() or Path(X).suffix.lower() in (".npy", *PARQUET_SUFFIXES)
    )


def open_table(
    source: Any, columns: Sequence[str] | None = None, chunk_rows: int | None = None
) -> ChunkedTable:
    """A `ChunkedTable` over ``source``: a path to a ``.npy`` file, a Parquet file
    or a directory of them, a memory-mapped array (``np.load(path,
    mmap_mode="r")``) or a `pyarrow.dataset.Dataset`. ``columns`` picks Parquet
    columns by name (default: all, which must all be numeric); ``chunk_rows``
    sets the rows per chunk (default: `CHUNK_CELLS` values)."""
    if isinstance(source, ChunkedTable):
        return source
    if isinstance(source, np.memmap):
        if not _whole_npy(source):
            raise ValueError(
                "only a whole .npy file mapped by np.load(path, mmap_mode='r') is "
                "read in chunks; pass a slice of one as an array"
            )
        return _open_npy(source, chunk_rows)
    if isinstance(source, str | os.PathLike) and Path(source).suffix == ".npy":
        if columns is not None:
            raise ValueError("columns= selects Parquet columns; a .npy has no names")
        return _open_npy(source, chunk_rows)
    if isinstance(source, str | os.PathLike) and not Path(source).exists():
        raise FileNotFoundError(f"data not found: {source}")
    return _open_parquet(source, columns, chunk_rows)


def _whole_npy(X: np.memmap) -> bool:
    """Whether ``X`` maps a whole 2-D ``.npy`` file (as ``np.load(path,
    mmap_mode="r")`` gives), not a slice or view of one."""
    name = X.filename
    if name is None or X.ndim != 2 or not str(name).endswith(".npy"):
        return False
    try:
        whole = np.load(name, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError):
        return False
    same = (whole.shape, whole.dtype, whole.offset) == (X.shape, X.dtype, X.offset)
    return same and X.flags.c_contiguous


def _rows_per_chunk(n_features: int, chunk_rows: int | None) -> int:
    if chunk_rows is not None:
        if int(chunk_rows) < 1:
            raise ValueError(f"chunk_rows must be a positive int, got {chunk_rows}")
        return int(chunk_rows)
    return max(1, CHUNK_CELLS // max(1, n_features))


def _open_npy(source: Any, chunk_rows: int | None) -> ChunkedTable:
    if isinstance(source, np.memmap):
        path, offset, shape, dtype = (
            str(source.filename),
            int(source.offset),
            source.shape,
            source.dtype,
        )
    else:
        path = str(source)
        try:
            mm = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ValueError(f"could not read {path} as a .npy array: {exc}") from None
        if mm.dtype.hasobject or mm.flags.f_contiguous and mm.ndim > 1:
            raise ValueError(
                f"{path}: only C-ordered numeric .npy files stream (a column-"
                "ordered array, such as DataFrame.to_numpy() can give, is not); "
                "save it with np.save(path, np.ascontiguousarray(array))"
            )
        offset, shape, dtype = int(mm.offset), mm.shape, mm.dtype
        del mm
    if dtype.kind not in "biuf":
        raise ValueError(f"{path} holds {dtype} data; numbers are needed")
    if len(shape) != 2 or shape[0] == 0:
        raise ValueError(f"{path} must hold a 2-D array with rows, got {shape}")
    n, d = int(shape[0]), int(shape[1])
    rows = _rows_per_chunk(d, chunk_rows)
    pieces = tuple(
        Piece(path, offset + s * d * dtype.itemsize, s, min(rows, n - s))
        for s in range(0, n, rows)
    )
    out = dtype if dtype.kind == "f" and dtype.itemsize >= 4 else np.dtype("float64")
    # plain file reads, not a memory map (whose pages count as this process's)
    return ChunkedTable("npy", pieces, d, None, np.dtype(out), rows, None, dtype)


def _is_dataset(X: Any) -> bool:
    return type(X).__module__.startswith("pyarrow") and hasattr(X, "files")


def _parquet_file(path: str, filesystem: Any) -> Any:
    import pyarrow.parquet as pq

    source = path if filesystem is None else filesystem.open_input_file(path)
    return pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)


def _parquet_files(source: Any) -> tuple[list[str], Any]:
    if _is_dataset(source):
        return sorted(source.files), source.filesystem
    path = Path(source)
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.rglob("*")
            if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file()
        )
        if not files:
            raise ValueError(f"no .parquet files in the directory {path}")
        return files, None
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        raise ValueError(
            f"cannot stream {path.name!r}: use a .npy, a .parquet file or a "
            "directory of .parquet files"
        )
    return [str(path)], None


def _open_parquet(
    source: Any, columns: Sequence[str] | None, chunk_rows: int | None
) -> ChunkedTable:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(
            "reading Parquet needs pyarrow: pip install 'aekit[parquet]'"
        ) from None
    files, fs = _parquet_files(source)
    names: tuple[str, ...] | None = None if columns is None else tuple(columns)
    pieces: list[Piece] = []
    start = 0
    for path in files:
        try:
            pf = _parquet_file(path, fs)
        except Exception as exc:
            raise ValueError(f"could not read {path} as Parquet: {exc}") from None
        names = _check_schema(pf.schema_arrow, path, names, columns is not None)
        for group in range(pf.metadata.num_row_groups):
            _check_no_nulls(pf.metadata.row_group(group), path, group, names)
            n = pf.metadata.row_group(group).num_rows
            if n:
                pieces.append(Piece(path, group, start, n))
                start += n
    if not pieces or names is None:
        raise ValueError(f"{source} has no rows")
    rows = _rows_per_chunk(len(names), chunk_rows)
    return ChunkedTable("parquet", tuple(pieces), len(names), names, _F64, rows, fs)


_F64 = np.dtype("float64")


def _check_schema(
    schema: Any, path: str, names: tuple[str, ...] | None, chosen: bool
) -> tuple[str, ...]:
    """The columns to read from a file with ``schema``: the chosen ones (each
    present), or all of them (the same as the files before)."""
    import pyarrow.types as pt

    present = list(schema.names)
    if names is None:
        names = tuple(present)
    elif chosen:
        missing = [c for c in names if c not in present]
        if missing:
            raise ValueError(f"{path} has no column(s) {missing}; it has {present}")
    elif tuple(present) != names:
        raise ValueError(
            f"{path} has columns {present}, but the files before it have "
            f"{list(names)}: every file of a Parquet directory needs the same "
            "columns (or choose some with columns=)"
        )
    numeric = (pt.is_integer, pt.is_floating, pt.is_boolean)
    bad = [c for c in names if not any(f(schema.field(c).type) for f in numeric)]
    if bad:
        types = ", ".join(f"{c} ({schema.field(c).type})" for c in bad[:5])
        raise NonNumericColumns(
            f"{path} has non-numeric columns: {types}; choose numeric ones with "
            "columns= (--columns) or encode them as numbers first"
        )
    return names


def _check_no_nulls(
    row_group: Any, path: str, group: int, names: tuple[str, ...]
) -> None:
    """`MissingCells` when the row group's statistics count null cells in the
    chosen columns (NaN written by pandas is stored as null): a cheap check on
    the metadata, before any row is read. Cells the statistics do not count are
    caught while reading (`_check_finite`)."""
    for i in range(row_group.num_columns):
        column = row_group.column(i)
        stats = column.statistics
        name = column.path_in_schema
        if name in names and stats is not None and stats.null_count:
            raise MissingCells(
                f"{path} (row group {group}) has {stats.null_count} missing "
                f"cell(s) in column {name!r}; impute or drop them first, or read "
                "the file into a DataFrame (in memory, aekit masks missing cells)"
            )


def _check_finite(block: np.ndarray, piece: Piece, offset: int) -> None:
    if block.dtype.kind == "f" and not np.isfinite(block).all():
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        lo, hi = offset + bad[0], offset + bad[-1] + 1
        raise ValueError(
            f"{piece.describe(lo, hi)} hold(s) missing or infinite values in "
            f"{len(bad)} row(s) (first at row {piece.start + lo}); impute or drop "
            "them first"
        )
