"""Time series into windows and window scores back to points.

A series is an array ``(n_time, n_channels)`` (or 1-D for one channel), a
DataFrame of numeric columns ordered by a datetime index or by a ``time_column``,
or a list of such series (several machines of one kind). This module turns them
into float64 arrays (`as_series_list`), fills NaN cells (`fill_missing`), scales
each channel (`fit_channel_scaler`), finds a window length from the series' own
period (`find_period`, `auto_window`), cuts sliding windows (`sliding_windows`)
and maps window scores back to one score per point (`point_scores`).

Rows are taken as consecutive samples: a series with gaps in its timestamps is
not re-sampled (the scores stay aligned with the rows given); `as_series_list`
warns when the steps between timestamps are irregular.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from aekit.metrics import usable_scale

MIN_WINDOW, MAX_WINDOW = 32, 256  # bounds of window="auto" (docs/series.md)
FALLBACK_WINDOW = 64  # window="auto" when the series shows no period (docs/series.md)
MIN_PEAK = 0.2  # least autocorrelation for a peak to count as a period
IQR_TO_SIGMA = 1.349  # interquartile range of a normal distribution
SCALINGS = ("robust", "standard")
POINT_RULES = ("end", "mean")
GAP_FACTOR = 1.5  # a time step this many times the median step is a gap


@dataclass
class Series:
    """One series: float64 values (n_time, n_channels), its index (timestamps
    or row numbers) and the number of NaN cells filled."""

    values: np.ndarray
    index: pd.Index
    n_filled: int = 0


def as_series_list(
    data: Any, time_column: Any = None
) -> tuple[list[Series], bool, list[str] | None]:
    """The series in ``data`` as a list, whether ``data`` was a list, and the
    channel names (DataFrame columns, else None). Raises ValueError for
    non-numeric, empty, unsorted or duplicated-timestamp input."""
    is_list = isinstance(data, list | tuple)
    items = list(data) if is_list else [data]
    if not items:
        raise ValueError("series must not be an empty list")
    parsed = [_one_series(item, time_column, i) for i, item in enumerate(items)]
    names = [p[1] for p in parsed]
    widths = {p[0].values.shape[1] for p in parsed}
    if len(widths) > 1:
        raise ValueError(
            f"every series of a list must have the same channels; got channel "
            f"counts {sorted(widths)}"
        )
    return [p[0] for p in parsed], is_list, names[0]


def _one_series(data: Any, time_column: Any, i: int) -> tuple[Series, Any]:
    where = f"series[{i}]" if i else "series"
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        frame = _ordered_frame(data, time_column, where)
        numeric = frame.select_dtypes(include="number")
        if numeric.shape[1] != frame.shape[1]:
            bad = [str(c) for c in frame.columns if c not in numeric.columns]
            raise ValueError(f"{where} has non-numeric columns {bad}; drop them")
        values = numeric.to_numpy(dtype=np.float64)
        index, names = frame.index, [str(c) for c in frame.columns]
    else:
        if time_column is not None:
            raise ValueError(
                f"time_column={time_column!r} needs a DataFrame, got "
                f"{type(data).__name__}"
            )
        values = check_array(
            data,
            dtype=np.float64,
            ensure_2d=False,
            ensure_all_finite="allow-nan",
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=where,
        )
        if values.ndim == 1:
            values = values[:, None]
        index, names = pd.RangeIndex(len(values)), None
    if values.shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={values.shape}) while a minimum of 1 is required: "
            f"{where} has no channel"
        )
    if values.shape[0] == 0:
        raise ValueError(f"{where} is empty (shape {values.shape})")
    if np.isinf(values).any():
        raise ValueError(f"{where} contains infinity; only NaN cells are filled")
    return Series(values, index), names


def _ordered_frame(frame: pd.DataFrame, time_column: Any, where: str) -> pd.DataFrame:
    """The frame indexed by its timestamps, after checking they increase."""
    if time_column is not None and time_column in frame.columns:
        frame = frame.set_index(time_column)
    elif time_column is not None and frame.index.name != time_column:
        raise ValueError(
            f"time_column={time_column!r} is neither a column of {where} nor the "
            f"name of its index; columns: {[str(c) for c in frame.columns]}"
        )
    index = frame.index
    if isinstance(index, pd.RangeIndex) and time_column is None:
        return frame
    missing = np.flatnonzero(pd.isna(index))
    if len(missing):
        raise ValueError(
            f"{where} has {len(missing)} missing timestamps (first at row "
            f"{missing[0]}); drop those rows or fill in their times"
        )
    if index.has_duplicates:
        first = index[index.duplicated()][0]
        raise ValueError(f"{where} has duplicated timestamps (first: {first})")
    if not index.is_monotonic_increasing:
        stamps = pd.Series(index)
        back = int(np.flatnonzero((stamps < stamps.cummax().shift(1)).to_numpy())[0])
        raise ValueError(
            f"{where} has unsorted timestamps (first at row {back}: {index[back]} "
            "after a later time); sort it first (e.g. frame.sort_index() or "
            "frame.sort_values(time_column))"
        )
    _warn_on_gaps(index, where)
    return frame


def _warn_on_gaps(index: pd.Index, where: str) -> None:
    """Rows are taken as consecutive samples: warn when timestamps have gaps."""
    if len(index) < 3 or not (
        isinstance(index, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(index)
    ):
        return
    if isinstance(index, pd.DatetimeIndex):  # (nanoseconds; time zones kept)
        stamps = index.as_unit("ns").asi8
    else:
        stamps = np.asarray(index)
    steps = np.diff(stamps.astype(np.float64))
    gaps = int(np.sum(steps > GAP_FACTOR * np.median(steps)))
    if gaps:
        warnings.warn(
            f"{where} has {gaps} gaps in its timestamps (steps over "
            f"{GAP_FACTOR}x the median step); rows are scored as consecutive "
            "samples, not re-sampled. Re-sample it first (e.g. frame.resample) to "
            "score missing times as missing cells.",
            UserWarning,
            stacklevel=4,
        )


def fill_missing(values: np.ndarray, where: str = "series") -> tuple[np.ndarray, int]:
    """``values`` with NaN cells filled by linear interpolation along time (the
    nearest value at the ends), and the number of cells filled. A channel with
    no value at all is an error."""
    missing = np.isnan(values)
    count = int(missing.sum())
    if not count:
        return values, 0
    filled = values.copy()
    steps = np.arange(len(values))
    for c in np.flatnonzero(missing.any(axis=0)):
        known = ~missing[:, c]
        if not known.any():
            raise ValueError(f"channel {c} of {where} has no value (every cell NaN)")
        filled[:, c] = np.interp(steps, steps[known], values[known, c])
    return filled, count


def fit_channel_scaler(
    values: np.ndarray, scaling: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel shift and scale: median and IQR / 1.349 ("robust"; the
    standard deviation where the IQR is 0) or mean and standard deviation
    ("standard"). A constant channel gets scale 1 (its values become 0)."""
    if scaling == "robust":
        shift = np.median(values, axis=0)
        q75, q25 = np.percentile(values, [75, 25], axis=0)
        spread = (q75 - q25) / IQR_TO_SIGMA
        spread = np.where(spread > 0, spread, values.std(axis=0))
    else:
        shift, spread = values.mean(axis=0), values.std(axis=0)
    return shift, usable_scale(spread, np.abs(values).max(axis=0), 1e-9)


def find_period(x: np.ndarray, max_lag: int = 8 * MAX_WINDOW) -> int | None:
    """The dominant period of the 1-D series ``x``: the lag of the highest local
    maximum of its autocorrelation after the first zero crossing (as TSB-AD's
    ``find_length_rank``), if that peak reaches ``MIN_PEAK``; else None."""
    x = np.asarray(x, np.float64)
    x = x - x.mean()
    n = len(x)
    max_lag = min(max_lag, n // 2)
    if max_lag < 3 or not np.any(x):
        return None
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
    acf = acf / acf[0]
    below = np.flatnonzero(acf <= 0)
    if not below.size:
        return None
    start = int(below[0])
    inner = acf[start:-1]
    peaks = np.flatnonzero((inner[1:-1] > inner[:-2]) & (inner[1:-1] >= inner[2:]))
    if not peaks.size:
        return None
    best = int(peaks[np.argmax(inner[1:-1][peaks])])
    lag = start + 1 + best
    return lag if acf[lag] >= MIN_PEAK else None


def auto_window(values: np.ndarray) -> tuple[int, int | None]:
    """``window="auto"``: the period of the channel whose autocorrelation peak
    is highest, clipped to [32, 256]; 64 when no channel shows a period. Returns
    (window, period found or None)."""
    best, best_peak = None, -np.inf
    for c in range(values.shape[1]):
        period = find_period(values[:, c])
        if period is None:
            continue
        x = values[:, c] - values[:, c].mean()
        peak = float(np.dot(x[:-period], x[period:]) / max(np.dot(x, x), 1e-300))
        if peak > best_peak:
            best, best_peak = period, peak
    if best is None:
        return FALLBACK_WINDOW, None
    return int(np.clip(best, MIN_WINDOW, MAX_WINDOW)), best


def sliding_windows(values: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Windows of ``window`` consecutive rows every ``stride`` rows (the last
    window ends at the last row), flattened time-major: shape (n_windows,
    window * n_channels), row ``i`` holding rows ``starts[i] : starts[i] +
    window``. A view where possible."""
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    view = view.transpose(0, 2, 1)  # (n_windows, window, n_channels)
    starts = window_starts(len(values), window, stride)
    return view[starts].reshape(len(starts), -1)


def window_starts(n_time: int, window: int, stride: int) -> np.ndarray:
    """First rows of the windows ``sliding_windows`` cuts (the last window is
    always included, so every row is covered)."""
    starts = np.arange(0, n_time - window + 1, stride)
    if starts[-1] != n_time - window:
        starts = np.append(starts, n_time - window)
    return starts


def point_scores(window_scores: np.ndarray, window: int, rule: str) -> np.ndarray:
    """One score per point from the scores of every window (stride 1, window
    ``i`` covering points ``i .. i + window - 1``), by ``rule``:

    - "end": a point's score is the score of the window ending at it; the first
      ``window - 1`` points, which end no window, take the first window's score.
      What a stream can give the moment a point arrives.
    - "mean": the mean score of the windows covering the point.
    """
    n_windows = len(window_scores)
    if rule == "end":
        head = np.full(window - 1, window_scores[0])
        return np.concatenate([head, window_scores])
    n_time = n_windows + window - 1
    sums = np.cumsum(np.concatenate([[0.0], window_scores]))
    points = np.arange(n_time)
    first = np.maximum(points - window + 1, 0)
    last = np.minimum(points, n_windows - 1)
    return (sums[last + 1] - sums[first]) / (last - first + 1)


def merge_runs(
    flags: np.ndarray, max_gap: int, min_length: int
) -> list[tuple[int, int]]:
    """Runs of True in ``flags`` as (start, end) rows, inclusive: runs separated
    by at most ``max_gap`` False rows merge into one, and merged runs shorter
    than ``min_length`` rows are dropped.

    Examples
    --------
    >>> merge_runs(np.array([1, 1, 0, 1, 0, 0, 0, 1], bool), 1, 2)
    [(0, 3)]
    """
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    runs: list[tuple[int, int]] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if runs and start - runs[-1][1] - 1 <= max_gap:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return [(s, e) for s, e in runs if e - s + 1 >= min_length]


def fit_value_reference(scaled: np.ndarray) -> np.ndarray:
    """Per channel of the scaled training values: median, and the spread above
    and below it (75% quantile minus median, median minus 25% quantile; 1
    where that is 0). Shape (3, n_channels): what `value_deviation` measures
    from."""
    q25, median, q75 = np.percentile(scaled, [25, 50, 75], axis=0)
    up = usable_scale(q75 - median, median, 1e-9)
    down = usable_scale(median - q25, median, 1e-9)
    return np.stack([median, up, down])


def trend_share(values: np.ndarray) -> np.ndarray:
    """Per channel of one series (n_time, n_channels), the share of its
    variance that a straight line in time explains (R squared, 0 for a
    constant channel): how much the level moves over the period."""
    t = np.arange(len(values), dtype=np.float64)
    t = (t - t.mean()) / max(float(t.std()), 1e-300)
    centred = values - values.mean(axis=0)
    slope = t @ centred / len(t)
    total = (centred**2).mean(axis=0)
    return np.where(total > 0, slope**2 / np.maximum(total, 1e-300), 0.0)


def value_deviation(
    scaled: np.ndarray, reference: np.ndarray, channels: np.ndarray | None = None
) -> np.ndarray:
    """Per point, the largest over channels of the distance of the (scaled)
    value from the training median in units of the training spread on its side
    (above: the upper quartile's distance; below: the lower one's). Shape
    (n_time,): a point-level view of rare values that a reconstruction of
    windows can miss (a smooth window at a level never seen reconstructs well
    by its mean). Only the ``channels`` (a boolean mask) count when given;
    with none of them, 0 everywhere."""
    if channels is not None:
        if not channels.any():
            return np.zeros(len(scaled))
        scaled, reference = scaled[:, channels], reference[:, channels]
    median, up, down = reference
    above = scaled >= median
    return np.where(above, (scaled - median) / up, (median - scaled) / down).max(axis=1)


def window_max(values: np.ndarray, window: int) -> np.ndarray:
    """The maximum of ``values`` (n_time,) over every window (stride 1)."""
    return np.lib.stride_tricks.sliding_window_view(values, window).max(axis=1)
