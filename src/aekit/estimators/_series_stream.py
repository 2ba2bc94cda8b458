"""Streaming scores for `aekit.SeriesDetector`: a ring buffer of the last window
in front of the same float64 window model that batch scoring runs (a NumPy copy
of its graph where `numpy_window_error` covers it: a torch call per point costs
more than the arithmetic)."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit.estimators._series_numpy import numpy_window_error

TINY = float(np.finfo(np.float64).tiny)  # as batch scoring's floor of the error


@dataclass
class StreamState:
    """One stream's buffer: the scaled points of the last window twice over
    (a window is always one contiguous slice), where the next point goes, how
    many points came, the last point (for NaN cells), the last window scores
    and value deviations (rings), and the NaN cells filled so far."""

    ring: np.ndarray
    recent: np.ndarray
    deviation: np.ndarray
    last: np.ndarray
    position: int = 0
    seen: int = 0
    filled: int = 0


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
    see the next one; batch scoring interpolates), or before any value the
    channel's training centre (``shift_``), and is counted in
    ``stream_filled``.

    Several streams (the machines of a fleet watched by one detector) each
    keep their own buffer: pass ``stream=`` any hashable name (a machine's
    id) to `update`, `score_stream`, `reset_stream` and `stream_filled_of`;
    ``None`` is the default stream.
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
        """Forget every stream and the cached graph (after a fit)."""
        for name in ("_streams", "_graph_cache", "_window_error"):
            self.__dict__.pop(name, None)

    def reset_stream(self, stream: Hashable = None) -> None:
        """Start stream ``stream`` afresh: an empty buffer."""
        check_is_fitted(self)
        width = self.n_features_in_
        streams = self.__dict__.setdefault("_streams", {})
        streams[stream] = StreamState(
            ring=np.zeros((2 * self.window_, width)),
            recent=np.zeros(self.window_),
            deviation=np.zeros(self.window_),
            last=self.shift_.copy(),  # a NaN before any value: the training centre
        )
        self._value_on = bool(self.value_channels_.any())
        self._value_ref = self.value_reference_[:, self.value_channels_]
        if not hasattr(self, "_window_error"):
            graph = None if self.latent_distance else self._graph()
            self._window_error = numpy_window_error(graph)

    @property
    def stream_filled(self) -> int:
        """NaN cells filled in the default stream since it started."""
        return self.stream_filled_of(None)

    def stream_filled_of(self, stream: Hashable = None) -> int:
        """NaN cells filled in stream ``stream`` since it started (0 for a
        stream that has not started)."""
        state = self.__dict__.get("_streams", {}).get(stream)
        return 0 if state is None else state.filled

    def _state(self, stream: Hashable) -> StreamState:
        """Stream ``stream``'s buffer (a new one for a new name)."""
        streams = self.__dict__.get("_streams", {})
        if stream not in streams:
            self.reset_stream(stream)
        return self.__dict__["_streams"][stream]

    def update(self, point: Any, stream: Hashable = None) -> float:
        """Take one new point (a number, or one value per channel) of stream
        ``stream`` and return a final point score: this point's with
        ``point_score="end"``, the one ``window_ - 1`` points back with
        "mean"; NaN while the stream's first window fills."""
        state = self._state(stream)
        score = self._push(point, state)
        if self.point_score == "end" or math.isnan(score):
            return score
        n_windows = state.seen - self.window_ + 1
        state.recent[(n_windows - 1) % self.window_] = score
        count = min(n_windows, self.window_)
        return float(state.recent[:count].sum()) / count

    def _push(self, point: Any, state: StreamState) -> float:
        """Buffer one point; the score of the window ending at it (NaN while
        the first window fills)."""
        x = np.asarray(point, dtype=np.float64).reshape(-1)
        if x.shape[0] != self.n_features_in_:
            raise ValueError(
                f"point has {x.shape[0]} values, but the detector was fitted on "
                f"{self.n_features_in_} channels"
            )
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, state.last, x)
            state.filled += int(missing.sum())
        state.last = x
        w, at = self.window_, state.position
        scaled = (x - self.shift_) / self.scale_
        state.ring[at] = scaled
        state.ring[at + w] = scaled
        if self._value_on:
            median, up, down = self._value_ref
            above = scaled[self.value_channels_] - median
            state.deviation[at] = np.where(above >= 0, above / up, -above / down).max()
        state.position = (at + 1) % w
        state.seen += 1
        if state.seen < w:
            return math.nan
        start = state.position
        score = self._raw_score(state.ring[start : start + w].reshape(-1))
        if not self.latent_distance:
            score = (
                math.log(max(score, TINY)) - self.score_center_
            ) / self.score_scale_
        if self._value_on:
            spread = float(state.deviation.max())
            score = max(score, (spread - self.value_center_) / self.value_scale_)
        return score

    def _raw_score(self, window: np.ndarray) -> float:
        """The window model's raw score of one flattened window."""
        if self._window_error is not None:
            return self._window_error(window)
        row = torch.from_numpy(window).reshape(1, -1)
        with torch.inference_mode():
            return float(self._graph()(row)[2][0])

    def score_stream(
        self, points: Any, *, reset: bool = True, stream: Hashable = None
    ) -> np.ndarray:
        """Feed the rows of ``points`` (n_time, n_channels) or 1-D one at a
        time to stream ``stream``. From a fresh stream (``reset``) returns one
        score per point, equal to ``decision_function(points)`` (the window
        scores computed point by point, mapped to points by ``point_score``);
        with ``reset=False`` returns what `update` gives for each."""
        check_is_fitted(self)
        rows = np.asarray(points, dtype=np.float64)
        rows = rows[:, None] if rows.ndim == 1 else rows
        if not reset:
            return np.array([self.update(row, stream) for row in rows])
        self.reset_stream(stream)
        state = self._state(stream)
        windows = np.array([self._push(row, state) for row in rows])
        windows = windows[self.window_ - 1 :]
        if not len(windows):
            return np.full(len(rows), math.nan)
        return self._points(windows)

    def _points(self, window_values: np.ndarray) -> np.ndarray:
        raise NotImplementedError
