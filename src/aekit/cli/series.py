"""``aekit detect --series``: one score and 0/1 label per time point of a series
file, with `aekit.SeriesDetector`, and a picture of the series with its score and
the flagged segments shaded."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aekit import persistence
from aekit.data import read_frame
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
        "--train-rows",
        type=int,
        help="with --series: fit on the first N rows (a normal period) and score "
        "every row (default: fit on the whole series, trimming its worst windows)",
    )
    parser.add_argument(
        "--fit-on",
        help="with --series: fit on this file (a normal period of the same "
        "channels) and score DATA",
    )
    parser.add_argument(
        "--window-model",
        choices=("dense", "conv"),
        default="dense",
        help="with --series: the window autoencoder (default dense; conv: 1-D "
        "convolutions over time)",
    )


def read_series(
    path: str, time_column: str | None, drop: list[str] | None = None
) -> pd.DataFrame:
    """The series file as a DataFrame of numeric channels indexed by time (the
    time column: ``time_column``, else a first column that is not numeric)."""
    read = read_frame(path, drop=drop)
    frame = pd.DataFrame(read) if isinstance(read, np.ndarray) else read
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
            stamps = _timestamps(stamps, time_column, path)
        frame = frame.drop(columns=time_column).set_index(stamps)
    return frame


def _timestamps(stamps: pd.Series, name: str, path: str) -> pd.Series:
    """The time column parsed as dates, with an error naming it otherwise."""
    try:
        with warnings.catch_warnings():  # (a format guessed per element is fine)
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(stamps)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"the time column {name!r} of {path} holds values that are neither "
            f"numbers nor dates ({exc}); name the time column with --time-column, "
            "or --drop the column"
        ) from None


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
    """Fit on the series (or on its first --train-rows rows, or on --fit-on),
    score every point, write scores, plot, save."""
    frame = read_series(args.data, args.time_column, args.drop)
    detector = SeriesDetector(
        _window(args.window),
        model=args.window_model,
        contamination=_contamination(args.contamination),
        random_state=args.random_state,
    )
    train = _training_period(args, frame)
    if train is None:
        detector.fit(frame)
        scores, segments = detector.decision_scores_, detector.segments_
    else:
        detector.fit(train)
        scores, segments = detector.decision_function(frame), detector.segments(frame)
    write_scores(frame, scores, segments, args.output)
    print(
        f"window {detector.window_}: {len(segments)} segments, "
        f"{sum(s['end'] - s['start'] + 1 for s in segments)} of {len(frame)} points "
        f"flagged (threshold {detector.threshold_:.5g})"
    )
    for seg in segments[:10]:
        print(
            f"  {seg['start_time']} .. {seg['end_time']}: peak "
            f"{seg['peak_score']:.3g}, channels {', '.join(seg['channels'][:3])}"
        )
    if args.model_dir:
        persistence.save(detector, args.model_dir)
        print(f"saved the detector to {args.model_dir}")
    if args.plot:
        figure = series_figure(frame, scores, segments, detector.threshold_)
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.plot, dpi=100)
        print(f"wrote {args.plot}")


def score_series(detector: SeriesDetector, args: argparse.Namespace) -> None:
    """`aekit score` with a detector saved by ``aekit detect --series``: the
    score and 0/1 label of every point of the series DATA."""
    frame = read_series(args.data, detector.time_column, args.drop)
    if detector.time_column is not None:  # the detector reads it as a column
        frame = frame.reset_index()
    scores, segments = detector.decision_function(frame), detector.segments(frame)
    if detector.time_column is not None:
        frame = frame.set_index(detector.time_column)
    write_scores(frame, scores, segments, args.output)
    flagged = sum(s["end"] - s["start"] + 1 for s in segments)
    print(f"{len(segments)} segments, {flagged} of {len(frame)} points flagged")


def _training_period(args: argparse.Namespace, frame: pd.DataFrame) -> Any:
    """The normal period to fit on (--train-rows or --fit-on), or None: fit on
    the whole series."""
    if args.train_rows is not None and args.fit_on:
        raise ValueError("give --train-rows or --fit-on, not both")
    if args.fit_on:
        train = read_series(args.fit_on, args.time_column, args.drop)
        if list(train.columns) != list(frame.columns):
            raise ValueError(
                f"--fit-on {args.fit_on} has channels {[str(c) for c in train.columns]}"
                f", DATA has {[str(c) for c in frame.columns]}: they must match"
            )
        return train
    if args.train_rows is None:
        return None
    if not 2 <= args.train_rows <= len(frame):
        raise ValueError(
            f"--train-rows must be between 2 and the series' {len(frame)} rows, got "
            f"{args.train_rows}"
        )
    return frame.iloc[: args.train_rows]


def write_scores(
    frame: pd.DataFrame, scores: np.ndarray, segments: list[dict], path: str
) -> None:
    """One row per time point: its time, score and 0/1 label (inside a flagged
    segment)."""
    labels = np.zeros(len(frame), np.int64)
    for seg in segments:
        labels[seg["start"] : seg["end"] + 1] = 1
    table = pd.DataFrame({"score": scores, "label": labels}, index=frame.index)
    _write(table.reset_index(), path)


def _write(table: pd.DataFrame, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".npy":
        np.save(path, table[["score", "label"]].to_numpy())
    else:
        table.to_csv(path, index=False)


def series_figure(
    frame: pd.DataFrame, scores: np.ndarray, segments: list[dict], threshold: float
) -> Any:
    """One panel per channel (up to 8) and the score with the threshold below;
    the flagged segments shaded in every panel."""
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
    axes[-1].plot(x, scores, lw=0.8, color="black")
    axes[-1].axhline(threshold, color="red", ls="--", lw=0.8)
    axes[-1].set_ylabel("score")
    for seg in segments:
        for ax in axes:
            ax.axvspan(x[seg["start"]], x[seg["end"]], color="red", alpha=0.2)
    fig.tight_layout()
    return fig
