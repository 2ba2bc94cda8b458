"""What the ``aekit`` commands share: reading data files, writing tables, parsing
option values and turning command-line flags into estimator parameters. Imports no
other module of `aekit.cli`."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aekit import registry
from aekit.data import read_frame, read_table
from aekit.data.chunks import ChunkedTable, NotStreamable, is_chunked, open_table
from aekit.data.images import IMAGE_SUFFIXES, read_images
from aekit.data.ratings import read_ratings
from aekit.training.progress import row_progress

# The object `ArgumentParser.add_subparsers` returns; command modules add to it.
Subcommands = argparse._SubParsersAction

DATA_HELP = (
    "CSV, TSV, Parquet, NPY or NPZ file of numbers, or a directory of Parquet "
    "files (.npy and Parquet are read in chunks, never whole)"
)
TABLE_HELP = (
    "CSV (fields separated by , ; tab or |), TSV, Parquet, NPY or NPZ file "
    "(text columns and empty cells allowed), or a directory of Parquet files "
    "(numeric .npy and Parquet are read in "
    "chunks, never whole; tables with text columns in memory)"
)
OUTPUT_HELP = ".csv, .parquet or .npy"

# Shortcut flags for common parameters: flag -> (parameter name, type).
SHORTCUTS = {
    "latent_dim": int,
    "hidden_dims": str,
    "max_epochs": int,
    "batch_size": int,
    "learning_rate": float,
    "activation": str,
    "loss": str,
    "optimizer": str,
    "noise": float,
    "sparsity": float,
    "contractive": float,
    "dropout": float,
    "scaling": str,
    "device": str,
    "random_state": int,
    "user_col": str,  # recommenders: ratings table columns
    "item_col": str,
    "rating_col": str,
}


def add_drop_option(parser: argparse.ArgumentParser) -> None:
    """``--drop COLUMN``, repeatable, for commands that read a table."""
    parser.add_argument("--drop", action="append", default=[], help="column to ignore")


def model_params(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The estimator parameters set on the command line, checked against ``cls``."""
    accepted = set(inspect.signature(cls).parameters)
    params: dict[str, Any] = {}
    for name in [*SHORTCUTS, "batch_norm"]:
        value = getattr(args, name, None)
        if value is not None:
            params[name] = value
    if isinstance(params.get("hidden_dims"), str):
        params["hidden_dims"] = parse_sizes(params["hidden_dims"])
    params.update(_parse_param_items(args.param))
    if args.verbose and "verbose" in accepted:
        params["verbose"] = True
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"model {registry.name_of(cls)!r} has no "
            f"parameter(s) {unknown}; "
            f"it takes: {', '.join(sorted(accepted))}"
        )
    return params


def _parse_param_items(items: list[str]) -> dict[str, Any]:
    """``--param NAME=VALUE`` options, each VALUE parsed as JSON or kept as text."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw  # a bare word such as cosine
    return params


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"128,64"`` -> (128, 64), for ``--hidden-dims``."""
    try:
        return tuple(int(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError:
        raise ValueError(
            f"--hidden-dims expects comma-separated ints such as 128,64; got {text!r}"
        ) from None


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """``"28x28"`` -> (28, 28); None stays None."""
    if text is None:
        return None
    try:
        height, width = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise ValueError(
            f"--size expects HEIGHTxWIDTH such as 28x28; got {text!r}"
        ) from None
    return height, width


def read_data(
    path: str, drop: list[str], *, tables: bool = False
) -> pd.DataFrame | np.ndarray:
    """A table file as a DataFrame when it has column names, else an array. With
    ``tables`` (for models that take mixed-type tables) as it is, text columns
    and empty cells included; else numbers only, with a clear error otherwise."""
    if tables:
        return read_frame(path, drop=drop)
    X, columns = read_table(path, drop=drop)
    return X if columns is None else pd.DataFrame(X, columns=columns)


def read_input(
    path: str, drop: list[str], *, tables: bool = False
) -> pd.DataFrame | np.ndarray | ChunkedTable:
    """A data file for the model commands: .npy and Parquet files and Parquet
    directories as a `ChunkedTable` read in chunks (``drop`` leaves Parquet
    columns out), other files in memory (`read_data`). With ``tables`` (models
    that take mixed-type tables), a Parquet file with non-numeric columns or
    missing cells is read whole instead (mixed-type tables do not stream)."""
    if not is_chunked(path):
        return read_data(path, drop, tables=tables)
    try:
        table = open_table(path)
    except NotStreamable:  # text columns or missing cells
        if not tables:
            raise
        return read_data(path, drop, tables=True)
    if not drop:
        return table
    if table.columns is None:
        raise ValueError(f"--drop needs named columns, but {path} is a .npy array")
    missing = [c for c in drop if c not in table.columns]
    if missing:
        raise ValueError(f"columns to drop not in {path}: {missing}")
    return open_table(path, columns=[c for c in table.columns if c not in drop])


def write_chunks(parts: Iterable[pd.DataFrame], n_rows: int, path: str) -> None:
    """Write tables ``parts`` one after the other to ``path`` (.parquet, .csv or
    .npy, by the suffix) with a progress bar over the ``n_rows`` rows, never
    holding more than one part."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix not in (".npy", ".parquet", ".pq", ".csv", ".txt", ""):
        raise ValueError(f"unsupported output {out.name!r}: use .csv, .parquet or .npy")
    writer: Any = None
    done = 0
    for part in row_progress(parts, n_rows, "writing"):  # type: ignore[arg-type]
        writer = _write_part(writer, part, out, suffix, done, n_rows)
        done += len(part)
    if suffix in (".parquet", ".pq") and writer is not None:
        writer.close()
    elif suffix == ".npy" and writer is not None:
        writer.flush()
    print(f"wrote {done} rows to {out}")


def _write_part(
    writer: Any, part: pd.DataFrame, out: Path, suffix: str, done: int, n_rows: int
) -> Any:
    """Append ``part`` (rows ``done`` onwards) to ``out``; returns the open writer."""
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        batch = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(out, batch.schema)
        writer.write_table(batch)
    elif suffix == ".npy":
        if writer is None:
            shape = (n_rows, part.shape[1])
            writer = np.lib.format.open_memmap(out, "w+", np.float64, shape)
        writer[done : done + len(part)] = part.to_numpy()
    else:
        part.to_csv(out, index=False, header=done == 0, mode="w" if done == 0 else "a")
        writer = True
    return writer


def write_table(table: pd.DataFrame, path: str) -> None:
    """Write ``table`` as .npy, .parquet or .csv (by the suffix) and say so."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".npy":
        np.save(out, table.to_numpy())
    elif suffix in (".parquet", ".pq"):
        table.to_parquet(out, index=False)
    elif suffix in (".csv", ".txt", ""):
        table.to_csv(out, index=False)
    else:
        raise ValueError(f"unsupported output {out.name!r}: use .csv, .parquet or .npy")
    print(f"wrote {len(table)} rows to {out}")


def takes_tables(estimator: Any) -> bool:
    """Whether an estimator (class) reads mixed-type tables: text columns and
    empty cells (`aekit.Autoencoder`, `aekit.AnomalyDetector`...)."""
    return bool(getattr(estimator, "_accepts_tables", False))


def read_for_model(path: str, drop: list[str], estimator: Any) -> Any:
    """DATA for a model command (`train`, `encode`, `reconstruct`, `score`), read
    the same way by each: for an estimator (class or fitted) that takes
    mixed-type tables, empty cells are missing values and text columns are kept
    (the model decides what it can take); for the others, numbers only, with a
    clear error otherwise. .npy and Parquet files of complete numbers are read
    in chunks."""
    return read_input(path, drop, tables=takes_tables(estimator))


def read_table_input(args: argparse.Namespace) -> Any:
    """`aekit train` reader for models with input kind "table" (.npy and Parquet
    read in chunks by the estimator)."""
    cls = registry.get_estimator_class(args.model)
    return read_for_model(args.data, args.drop, cls)


def read_image_input(args: argparse.Namespace) -> np.ndarray:
    """`aekit train` reader for models with input kind "images"."""
    return read_images(args.data, size=parse_image_size(getattr(args, "size", None)))


def read_table_or_images(args: argparse.Namespace) -> Any:
    """`aekit train` reader for models of either (input kind "any", the
    dense VAE): image folders and PNG/JPEG files as flat rows, else a table."""
    path = Path(args.data)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        images = read_image_input(args)
        return images.reshape(len(images), -1)
    return read_table_input(args)


def read_series_input(args: argparse.Namespace) -> Any:
    """`aekit train` reader for models with input kind "series": the channels
    indexed by a first column that is not numeric (the timestamps), if any; a
    folder of such files as a list (a fleet)."""
    from aekit.cli.series import read_fleet

    _, frames, many = read_fleet(args.data, None, args.drop)
    return frames if many else frames[0]


def read_ratings_input(args: argparse.Namespace) -> pd.DataFrame:
    """`aekit train` reader for models with input kind "ratings": a CSV/TSV
    ratings table with a header, or MovieLens 100K ``u.data``."""
    return read_ratings(args.data)


# How `aekit train` reads DATA, keyed by `aekit.registry.input_kind` of the model.
INPUT_READERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "table": read_table_input,
    "images": read_image_input,
    "any": read_table_or_images,
    "ratings": read_ratings_input,
    "series": read_series_input,
}
