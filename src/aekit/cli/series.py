"""``aekit detect --series``: one score and 0/1 label per time point of a series
file, with `aekit.SeriesDetector`, and a picture of the series with its score and
the flagged segments shaded."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aekit import persistence
from aekit.estimators import SeriesDetector

MAX_PANELS = 8  # channels drawn; the score panel comes below them


def add_options(parser: argparse.ArgumentParser) -> None:
    """The series options of ``aekit detect``."""
    parser.add_argument(
        "--series",
        action="store_true",
        help="the file is a time series (rows in time order): score every point "
        "with SeriesDetector (see docs/series.md); the contamination default is "
        "then 'control' (a control limit on the training scores)",
    )
    parser.add_argument(
        "--time-column",
        help="with --series: the timestamp column (default: a first column that "
        "is not numeric, if any)",
    )
    parser.add_argument(
        "--window", default="auto", help="with --series: points per window, or auto"
    )
    parser.add_argument(
        "--window-model",
        choices=("dense", "conv"),
        default="dense",
        help="with --series: the window autoencoder (default dense; conv: 1-D "
        "convolutions over time)",
    )


def read_series(path: str, time_column: str | None) -> pd.DataFrame:
    """The series file as a DataFrame of numeric channels indexed by time."""
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if time_column is None and not pd.api.types.is_numeric_dtype(frame.iloc[:, 0]):
        time_column = str(frame.columns[0])
    if time_column is not None:
        if time_column not in frame.columns:
            raise ValueError(
                f"--time-column {time_column!r} is not a column of {path}; columns: "
                f"{[str(c) for c in frame.columns]}"
            )
        stamps = frame[time_column]
        if not pd.api.types.is_numeric_dtype(stamps):
            stamps = pd.to_datetime(stamps)
        frame = frame.drop(columns=time_column).set_index(stamps)
    return frame


def _window(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--window expects an int or 'auto', got {text!r}") from None


def _contamination(text: str | None) -> float | str:
    if text is None or text in ("auto", "control"):
        return text or "control"
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            "--contamination expects a fraction such as 0.01, 'auto' or "
            f"'control', got {text!r}"
        ) from None


def cmd_detect_series(args: argparse.Namespace) -> None:
    """Fit on the series, score every point, write scores, plot, save."""
    frame = read_series(args.data, args.time_column)
    frame = frame.drop(columns=[c for c in args.drop if c in frame.columns])
    detector = SeriesDetector(
        _window(args.window),
        model=args.window_model,
        contamination=_contamination(args.contamination),
        random_state=args.random_state,
    ).fit(frame)
    table = pd.DataFrame(
        {"score": detector.decision_scores_, "label": detector.labels_},
        index=frame.index,
    )
    _write(table.reset_index(), args.output)
    print(
        f"window {detector.window_}: {len(detector.segments_)} segments, "
        f"{int(detector.labels_.sum())} of {len(frame)} points flagged "
        f"(threshold {detector.threshold_:.5g})"
    )
    for seg in detector.segments_[:10]:
        print(
            f"  {seg['start_time']} .. {seg['end_time']}: peak "
            f"{seg['peak_score']:.3g}, channels {', '.join(seg['channels'][:3])}"
        )
    if args.model_dir:
        persistence.save(detector, args.model_dir)
        print(f"saved the detector to {args.model_dir}")
    if args.plot:
        figure = series_figure(frame, detector)
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.plot, dpi=100)
        print(f"wrote {args.plot}")


def _write(table: pd.DataFrame, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".npy":
        np.save(path, table[["score", "label"]].to_numpy())
    else:
        table.to_csv(path, index=False)


def series_figure(frame: pd.DataFrame, detector: SeriesDetector) -> Any:
    """One panel per channel (up to 8) and the score with the threshold below;
    the training segments shaded in every panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = list(frame.columns[:MAX_PANELS])
    fig, axes = plt.subplots(
        len(channels) + 1, 1, sharex=True, figsize=(10, 1.8 * (len(channels) + 1))
    )
    x = frame.index
    for ax, name in zip(axes, channels, strict=False):
        ax.plot(x, frame[name].to_numpy(), lw=0.8)
        ax.set_ylabel(str(name))
    axes[-1].plot(x, detector.decision_scores_, lw=0.8, color="black")
    axes[-1].axhline(detector.threshold_, color="red", ls="--", lw=0.8)
    axes[-1].set_ylabel("score")
    for seg in detector.segments_:
        for ax in axes:
            ax.axvspan(x[seg["start"]], x[seg["end"]], color="red", alpha=0.2)
    fig.tight_layout()
    return fig
