"""Segments (events) and per-channel explanations for `aekit.SeriesDetector`:
flagged points merged into segments, each with its peak and the channels whose
window errors, relative to training, explain it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aekit.data import series as ts


class EventsMixin:
    """``segments``, ``explain`` and the segment rule of a series detector."""

    threshold_: float
    merge_gap_: int
    min_length: int
    n_features_in_: int

    def _each(self, series: Any, what: str) -> tuple[list[Any], bool]:
        raise NotImplementedError

    def _points(self, window_values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _window_scores(self, outputs: Any) -> np.ndarray:
        raise NotImplementedError

    def explain(self, series: Any) -> Any:
        """Per point and channel, the window error of that channel relative to
        its median over the training windows (mapped to points as the scores
        are), shape (n_time, n_channels): which channels drive a score. A
        DataFrame with the channel names and the series' index for DataFrame
        input."""
        results = []
        each, is_list = self._each(series, "explaining")
        for (_, channels, _), index in each:
            per_point = np.column_stack(
                [self._points(channels[:, c]) for c in range(channels.shape[1])]
            )
            if hasattr(self, "feature_names_in_"):
                per_point = pd.DataFrame(
                    per_point, index=index, columns=self.feature_names_in_
                )
            results.append(per_point)
        return results if is_list else results[0]

    def segments(self, series: Any) -> Any:
        """Flagged segments of ``series``: a list of dicts with ``start`` and
        ``end`` (row positions, inclusive), ``start_time``/``end_time`` (the
        index values, as strings), ``peak_score``, ``peak`` (its row) and
        ``channels`` (channel names ordered by their error over the segment,
        relative to training) with ``channel_errors``."""
        return self.scores_and_segments(series, "segmenting")[1]

    def scores_and_segments(self, series: Any, what: str = "scoring") -> tuple:
        """``(decision_function(series), segments(series))`` from one pass over
        the windows (a list of each for a list of series)."""
        scores, found = [], []
        each, is_list = self._each(series, what)
        for outputs, index in each:
            points = self._points(self._window_scores(outputs))
            scores.append(points)
            found.append(self._described(points, outputs[1], index))
        return (scores, found) if is_list else (scores[0], found[0])

    def _described(
        self, scores: np.ndarray, channels: np.ndarray, index: pd.Index
    ) -> list[dict]:
        """The segments of one series' scores, with times and channels."""
        found, _ = self._segments_of(scores)
        explained = [self._points(channels[:, c]) for c in range(channels.shape[1])]
        for seg in found:
            _describe(seg, np.column_stack(explained), index, self._channels())
        return found

    def _channels(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [str(c) for c in range(self.n_features_in_)]
        return [str(n) for n in names]

    def _segments_of(self, scores: np.ndarray) -> tuple[list[dict], np.ndarray]:
        """Segments of one series' point scores and the 0/1 labels they give."""
        runs = ts.merge_runs(scores > self.threshold_, self.merge_gap_, self.min_length)
        labels = np.zeros(len(scores), np.int64)
        found = []
        for start, end in runs:
            labels[start : end + 1] = 1
            peak = start + int(np.argmax(scores[start : end + 1]))
            found.append(
                {
                    "start": start,
                    "end": end,
                    "peak": peak,
                    "peak_score": float(scores[peak]),
                }
            )
        return found, labels

    _fills_empty_rows = True  # a time point with every channel NaN: interpolated


def shifted(segment: dict, offset: int) -> dict:
    """A segment of one of several training series, in concatenated rows."""
    out = dict(segment)
    for key in ("start", "end", "peak"):
        out[key] = int(out[key]) + offset
    return out


def _describe(seg: dict, errors: np.ndarray, index: pd.Index, names: list) -> None:
    """Add times and the channels that explain the segment to ``seg``."""
    span = errors[seg["start"] : seg["end"] + 1].mean(axis=0)
    order = np.argsort(-span, kind="stable")
    seg["start_time"] = str(index[seg["start"]])
    seg["end_time"] = str(index[seg["end"]])
    seg["channels"] = [names[i] for i in order]
    seg["channel_errors"] = [float(span[i]) for i in order]
