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

from aekit import persistence, plotting
from aekit.data import read_frame
from aekit.estimators import SeriesDetector
from aekit.estimators._series_events import shifted


def add_options(parser: argparse.ArgumentParser) -> None:
    """The series options of ``aekit detect``."""
    parser.add_argument(
        "--series",
        action="store_true",
        help="the file is a time series (rows in time order), or a folder of them "
        "(a fleet of machines of one kind, one file each): score every point with "
        "SeriesDetector (see docs/series.md); the contamination default is then "
        "'control' (a control limit on the training scores)",
    )
    parser.add_argument(
        "--time-column",
        help="with --series: the timestamp column (default: the first column if "
        "it is not numeric, else the only column that is not, if any)",
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
        "--explain",
        action="store_true",
        help="with --series: also write each channel's window error relative to "
        "training per point (columns error_<channel>; 1 = as in training)",
    )
    parser.add_argument(
        "--window-model",
        choices=("dense", "conv", "lstm"),
        default="dense",
        help="with --series: the window autoencoder (default dense; conv: 1-D "
        "convolutions over time; lstm: LSTMs over time, slower)",
    )


def read_series(
    path: str, time_column: str | None, drop: list[str] | None = None
) -> pd.DataFrame:
    """The series file as a DataFrame of numeric channels indexed by time (the
    time column: ``time_column``, else the first column if it is not numeric,
    else the only column that is not)."""
    read = read_frame(path, drop=drop)
    frame = pd.DataFrame(read) if isinstance(read, np.ndarray) else read
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if time_column is None and text and (text[0] == frame.columns[0] or len(text) == 1):
        time_column = str(text[0])  # the first column, or the only one, of text
    if time_column is not None:
        if time_column not in frame.columns:
            raise ValueError(
                f"the time column {time_column!r} is not a column of {path}; "
                f"columns: {[str(c) for c in frame.columns]}"
            )
        stamps = frame[time_column]
        if not pd.api.types.is_numeric_dtype(stamps):
            stamps = _timestamps(stamps, time_column, path)
        frame = frame.drop(columns=time_column).set_index(stamps)
    return frame


def _timestamps(stamps: pd.Series, name: str, path: str) -> pd.Series:
    """The time column parsed as dates, with an error naming it otherwise.
    Dates such as 02/01/2024 read month first unless that fails or puts the
    series out of order and day first does not (both in order: the steadier
    steps)."""
    parsed, error = [], None
    for day_first in (False, True):
        try:
            with warnings.catch_warnings():  # (a format guessed per element)
                warnings.simplefilter("ignore", UserWarning)
                parsed.append(pd.to_datetime(stamps, dayfirst=day_first))
        except (ValueError, TypeError) as exc:
            error = error or exc
    if not parsed:
        raise ValueError(
            f"the time column {name!r} of {path} holds values that are neither "
            f"numbers nor dates ({error}); name the time column with "
            "--time-column, or --drop the column"
        )
    return min(parsed, key=_disorder)  # (the first, month first, on a tie)


def _disorder(stamps: pd.Series) -> tuple[bool, float]:
    """How badly ``stamps`` read as a time axis: out of order first, then the
    spread of the steps relative to their median."""
    steps = np.diff(stamps.to_numpy().astype("datetime64[ns]").astype(np.int64))
    if not len(steps):
        return False, 0.0
    unsorted = bool((steps <= 0).any())
    spread = float(np.std(steps) / max(abs(float(np.median(steps))), 1.0))
    return unsorted, spread


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


SERIES_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def read_fleet(
    path: str, time_column: str | None, drop: list[str] | None
) -> tuple[list[str], list[pd.DataFrame], bool]:
    """The series of a file, or of every table file in a folder (a fleet of
    machines of one kind, one file each, sorted by name, every file with the
    same channels): their names (file stems, or whole names where two stems
    are alike), the series and whether ``path`` is a folder."""
    folder = Path(path)
    if not folder.is_dir():
        return [folder.stem], [read_series(path, time_column, drop)], False
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in SERIES_SUFFIXES)
    if not files:
        raise ValueError(
            f"{path} is a folder with no series files ({', '.join(SERIES_SUFFIXES)})"
        )
    frames = [read_series(str(f), time_column, drop) for f in files]
    for file, frame in zip(files[1:], frames[1:], strict=True):
        if list(frame.columns) != list(frames[0].columns):
            raise ValueError(
                f"the files of a fleet must have the same channels: {file.name} "
                f"has {[str(c) for c in frame.columns]}, {files[0].name} has "
                f"{[str(c) for c in frames[0].columns]}"
            )
    stems = [f.stem for f in files]
    names = [f.name if stems.count(f.stem) > 1 else f.stem for f in files]
    return names, frames, True


def cmd_detect_series(args: argparse.Namespace) -> None:
    """Fit on the series (or on the first --train-rows rows of each, or on
    --fit-on), score every point, write scores, plot, save."""
    names, frames, many = read_fleet(args.data, args.time_column, args.drop)
    detector = SeriesDetector(
        _window(args.window),
        model=args.window_model,
        contamination=_contamination(args.contamination),
        time_column=frames[0].index.name,  # (None: rows in order, no times)
        random_state=args.random_state,
    )
    train = _training_period(args, frames)
    if train is None:
        detector.fit(frames)
        if detector.n_filled_:
            print(f"{detector.n_filled_} empty cells filled by linear interpolation")
        scores, segments = _split(detector, frames)
    else:
        detector.fit(train)
        scores, segments = scored(detector, frames)
    explained = detector.explain(frames) if args.explain else None
    table = _score_table(names, frames, scores, segments, many, explained)
    _write(table, args.output)
    print(f"window {detector.window_}, threshold {detector.threshold_:.5g}:")
    _report(names, frames, segments, many)
    if args.model_dir:
        persistence.save(detector, args.model_dir)
        print(f"saved the detector to {args.model_dir}")
    if args.plot:
        pictures = zip(names, frames, scores, segments, strict=True)
        for name, frame, score, found in pictures:
            path = Path(args.plot)
            path = path if path.suffix else path.with_suffix(".png")
            if many:  # one picture per series: PLOT's name with the series'
                path = path.with_name(f"{path.stem}_{name}{path.suffix}")
            figure = plotting.series_scores(
                frame, score, threshold=detector.threshold_, segments=found
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(path, dpi=100)
            print(f"wrote {path}")


def scored(detector: SeriesDetector, frames: list[pd.DataFrame]) -> tuple[list, list]:
    """Each series' point scores and segments, in one pass over its windows
    (one warning for its filled cells), after checking its channels."""
    return detector.scores_and_segments(_checked_channels(detector, frames))


def _checked_channels(
    detector: SeriesDetector, frames: list[pd.DataFrame]
) -> list[pd.DataFrame]:
    """The frames, after checking they hold the fitted channels (by name)."""
    fitted = getattr(detector, "channel_names_", None)
    for frame in frames:
        names = [str(c) for c in frame.columns]
        if fitted is not None and names != fitted:
            extra = sorted(set(names) - set(fitted))
            hint = f"; --drop {' --drop '.join(extra)}?" if extra else ""
            raise ValueError(
                f"the series has channels {names}, the detector was fitted on "
                f"{fitted}{hint}"
            )
    return frames


def _split(detector: SeriesDetector, frames: list[pd.DataFrame]) -> tuple[list, list]:
    """A detector fitted on a list of series (one, or a fleet's): each series'
    training scores and segments (``decision_scores_`` and ``segments_`` run
    end to end)."""
    scores, segments = [], []
    ends = np.cumsum([len(f) for f in frames])
    for frame, end in zip(frames, ends, strict=True):
        start = end - len(frame)
        scores.append(detector.decision_scores_[start:end])
        found = [seg for seg in detector.segments_ if start <= seg["start"] < end]
        segments.append([shifted(seg, -start) for seg in found])
    return scores, segments


def score_series(detector: SeriesDetector, args: argparse.Namespace) -> None:
    """`aekit score` with a detector saved by ``aekit detect --series``: the
    score and 0/1 label of every point of the series DATA (a file, or a folder
    of them)."""
    names, frames, many = read_fleet(args.data, detector.time_column, args.drop)
    scores, segments = scored(detector, frames)
    _write(_score_table(names, frames, scores, segments, many), args.output)
    _report(names, frames, segments, many)


def _report(
    names: list[str], frames: list[pd.DataFrame], segments: list[list], many: bool
) -> None:
    """Flagged points and the first segments, series by series."""
    for name, frame, found in zip(names, frames, segments, strict=True):
        flagged = sum(seg["end"] - seg["start"] + 1 for seg in found)
        where = f"{name}: " if many else ""
        noun = "segment" if len(found) == 1 else "segments"
        print(f"{where}{len(found)} {noun}, {flagged} of {len(frame)} points flagged")
        for seg in found[:10]:
            print(
                f"  {seg['start_time']} .. {seg['end_time']}: peak "
                f"{seg['peak_score']:.3g}, channels {', '.join(seg['channels'][:3])}"
            )


def _training_period(args: argparse.Namespace, frames: list[pd.DataFrame]) -> Any:
    """The normal period to fit on (the first --train-rows rows of each series,
    or the series of --fit-on), or None: fit on the whole series."""
    if args.train_rows is not None and args.fit_on:
        raise ValueError("give --train-rows or --fit-on, not both")
    if args.fit_on:
        _, train, _ = read_fleet(args.fit_on, args.time_column, args.drop)
        for part in train:
            if list(part.columns) != list(frames[0].columns):
                raise ValueError(
                    f"--fit-on {args.fit_on} has channels "
                    f"{[str(c) for c in part.columns]}, DATA has "
                    f"{[str(c) for c in frames[0].columns]}: they must match"
                )
        return train
    if args.train_rows is None:
        return None
    shortest = min(len(frame) for frame in frames)
    if not 2 <= args.train_rows <= shortest:
        raise ValueError(
            f"--train-rows must be between 2 and the series' {shortest} rows, got "
            f"{args.train_rows}"
        )
    return [frame.iloc[: args.train_rows] for frame in frames]


def _score_table(
    names: list[str],
    frames: list[pd.DataFrame],
    scores: list[np.ndarray],
    segments: list[list],
    many: bool,
    explained: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per time point: (the series' name, for a folder,) its time, score
    and 0/1 label (inside a flagged segment), and with ``explained`` each
    channel's relative window error (``error_<channel>``)."""
    tables = []
    for i, (name, frame, score, found) in enumerate(
        zip(names, frames, scores, segments, strict=True)
    ):
        labels = np.zeros(len(frame), np.int64)
        for seg in found:
            labels[seg["start"] : seg["end"] + 1] = 1
        table = pd.DataFrame({"score": score, "label": labels}, index=frame.index)
        if explained is not None:
            errors = np.asarray(explained[i])
            for c, channel in enumerate(frame.columns):
                table[f"error_{channel}"] = errors[:, c]
        table = table.reset_index()
        if many:
            table.insert(0, "series", name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _write(table: pd.DataFrame, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".npy":
        np.save(path, table[["score", "label"]].to_numpy())
    else:
        table.to_csv(path, index=False)
