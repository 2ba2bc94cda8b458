"""``aekit detect``'s label and calibration options: ``--labels FILE`` or
``--label-column NAME`` (1 = known anomaly, 0 = known normal, -1 or empty =
unknown) and ``--fdr ALPHA --calibration FILE`` (conformal p-values and
Benjamini-Hochberg; see `aekit.conformal`)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from aekit.cli._io import read_data, read_input
from aekit.data.tabular import read_csv


def add_options(p: argparse.ArgumentParser) -> None:
    """Add the label and calibration options to ``detect``."""
    p.add_argument(
        "--labels",
        help="table of one label per row of DATA (its 'label' column, or its only "
        "column): 1 = known anomaly, 0 = known normal, -1 or empty = unknown",
    )
    p.add_argument(
        "--label-column", help="column of DATA holding such labels (not a feature)"
    )
    p.add_argument(
        "--fdr",
        type=float,
        help="flag rows by conformal p-values against --calibration with "
        "Benjamini-Hochberg at this false discovery rate (e.g. 0.05)",
    )
    p.add_argument(
        "--calibration", help="rows known to be normal, not in DATA (for --fdr)"
    )


def read_features_and_labels(args: argparse.Namespace) -> tuple[Any, Any]:
    """DATA's features (without --label-column) and the labels (or None)."""
    if args.labels and args.label_column:
        raise ValueError("give --labels or --label-column, not both")
    if args.fdr is not None and not args.calibration:
        raise ValueError("--fdr needs --calibration: a file of rows known to be normal")
    if args.calibration and args.fdr is None:
        raise ValueError("--calibration goes with --fdr ALPHA (e.g. --fdr 0.05)")
    if not args.label_column:
        X = read_input(args.data, args.drop, tables=True)
        return X, _label_file(args.labels) if args.labels else None
    whole = read_data(args.data, args.drop, tables=True)
    if not isinstance(whole, pd.DataFrame) or args.label_column not in whole:
        raise ValueError(
            f"--label-column {args.label_column!r} is not a column of {args.data}"
        )
    return whole.drop(columns=[args.label_column]), whole[args.label_column]


def _label_file(path: str) -> np.ndarray:
    if path.endswith((".parquet", ".pq")):
        table = pd.read_parquet(path)
    else:
        table = read_csv(path)
    if "label" in table.columns:
        return table["label"].to_numpy()
    if table.shape[1] != 1:
        raise ValueError(
            f"--labels {path} has {table.shape[1]} columns: name the labels' "
            "column 'label', or give a file with one column"
        )
    return table.iloc[:, 0].to_numpy()


def conformal_labels(detector: Any, X: Any, args: argparse.Namespace) -> tuple:
    """(p-values, 0/1 labels by Benjamini-Hochberg at --fdr) of DATA's rows."""
    calibration = read_input(args.calibration, args.drop, tables=True)
    if args.label_column and isinstance(calibration, pd.DataFrame):
        calibration = calibration.drop(columns=[args.label_column], errors="ignore")
    detector.calibrate(calibration)
    return detector.p_values(X), detector.predict(X, alpha=args.fdr)
