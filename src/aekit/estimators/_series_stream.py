"""Streaming scores for `aekit.SeriesDetector`: a ring buffer of the last window
in front of the same float64 window model that batch scoring runs (a NumPy copy
of its graph where `numpy_window_error` covers it: a torch call per point costs
more than the arithmetic)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit.estimators._series_numpy import numpy_window_error

TINY = float(np.finfo(np.float64).tiny)  # as batch scoring's floor of the error


class StreamMixin:
    """``update(point)`` and ``score_stream(points)`` for a fitted
    `aekit.SeriesDetector`.

    Each new point completes the window ending at it, which is scored at once
    by the same float64 graph as batch scoring. With ``point_score="end"``
    that is the point's score, given the moment it arrives. With "mean" a
    point's score is final only when the last window covering it has
    arrived, ``window_ - 1`` points later: `update` returns that delayed
    score (of the point ``window_ - 1`` points back). The first ``window_ -
    1`` points of a stream complete no window, and `update` returns NaN.
    `score_stream` returns, for a fresh stream, exactly what
    ``decision_function`` gives for the same points (to rounding, ~1e-12).
    A NaN cell in a point takes the channel's previous value (a stream cannot
    see the next one; batch scoring interpolates), and is counted in
    ``stream_filled``.
    """

    window_: int
    n_features_in_: int
    point_score: str
    shift_: np.ndarray
    scale_: np.ndarray
    score_center_: float
    score_scale_: float
    latent_distance: bool
    value_reference_: np.ndarray
    value_channels_: np.ndarray
    value_center_: float
    value_scale_: float

    def _graph(self) -> Any:
        raise NotImplementedError

    def _drop_stream(self) -> None:
        """Forget the stream and the cached graph (after a fit)."""
        for name in ("_ring", "_graph_cache", "_window_error"):
            self.__dict__.pop(name, None)

    def reset_stream(self) -> None:
        """Start a new stream: an empty buffer."""
        check_is_fitted(self)
        width = self.n_features_in_
        self._ring = np.zeros((2 * self.window_, width))
        self._position = 0
        self._seen = 0
        self._last = np.zeros(width)
        self._recent = np.zeros(self.window_)  # the last window scores (ring)
        self._deviation = np.zeros(self.window_)  # the last value deviations
        self.stream_filled = 0
        self._value_on = bool(self.value_channels_.any())
        self._value_ref = self.value_reference_[:, self.value_channels_]
        if not hasattr(self, "_window_error"):
            graph = None if self.latent_distance else self._graph()
            self._window_error = numpy_window_error(graph)

    def update(self, point: Any) -> float:
        """Take one new point (a number, or one value per channel) and return
        a final point score: this point's with ``point_score="end"``, the one
        ``window_ - 1`` points back with "mean"; NaN while the first window
        fills."""
        score = self._push(point)
        if self.point_score == "end" or math.isnan(score):
            return score
        n_windows = self._seen - self.window_ + 1
        self._recent[(n_windows - 1) % self.window_] = score
        count = min(n_windows, self.window_)
        return float(self._recent[:count].sum()) / count

    def _push(self, point: Any) -> float:
        """Buffer one point; the score of the window ending at it (NaN while
        the first window fills)."""
        if getattr(self, "_ring", None) is None:
            self.reset_stream()
        x = np.asarray(point, dtype=np.float64).reshape(-1)
        if x.shape[0] != self.n_features_in_:
            raise ValueError(
                f"point has {x.shape[0]} values, but the detector was fitted on "
                f"{self.n_features_in_} channels"
            )
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, self._last, x)
            self.stream_filled += int(missing.sum())
        self._last = x
        w, at = self.window_, self._position
        scaled = (x - self.shift_) / self.scale_
        self._ring[at] = scaled
        self._ring[at + w] = scaled
        if self._value_on:
            median, up, down = self._value_ref
            above = scaled[self.value_channels_] - median
            self._deviation[at] = np.where(above >= 0, above / up, -above / down).max()
        self._position = (at + 1) % w
        self._seen += 1
        if self._seen < w:
            return math.nan
        start = self._position
        score = self._raw_score(self._ring[start : start + w].reshape(-1))
        if not self.latent_distance:
            score = (
                math.log(max(score, TINY)) - self.score_center_
            ) / self.score_scale_
        if self._value_on:
            spread = float(self._deviation.max())
            score = max(score, (spread - self.value_center_) / self.value_scale_)
        return score

    def _raw_score(self, window: np.ndarray) -> float:
        """The window model's raw score of one flattened window."""
        if self._window_error is not None:
            return self._window_error(window)
        row = torch.from_numpy(window).reshape(1, -1)
        with torch.inference_mode():
            return float(self._graph()(row)[2][0])

    def score_stream(self, points: Any, *, reset: bool = True) -> np.ndarray:
        """Feed the rows of ``points`` (n_time, n_channels) or 1-D one at a
        time. From a fresh stream (``reset``) returns one score per point,
        equal to ``decision_function(points)`` (the window scores computed
        point by point, mapped to points by ``point_score``); with
        ``reset=False`` returns what `update` gives for each."""
        check_is_fitted(self)
        rows = np.asarray(points, dtype=np.float64)
        rows = rows[:, None] if rows.ndim == 1 else rows
        if not reset:
            return np.array([self.update(row) for row in rows])
        self.reset_stream()
        windows = np.array([self._push(row) for row in rows])[self.window_ - 1 :]
        if not len(windows):
            return np.full(len(rows), math.nan)
        return self._points(windows)

    def _points(self, window_values: np.ndarray) -> np.ndarray:
        raise NotImplementedError
