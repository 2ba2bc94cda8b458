"""Streaming scores for `aekit.SeriesDetector`: a ring buffer of the last window
in front of the same float64 inference graph that batch scoring runs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted


class StreamMixin:
    """``update(point)`` and ``score_stream(points)`` for a fitted
    `aekit.SeriesDetector` with ``point_score="end"``.

    A point's streaming score is the score of the window ending at it, the
    moment it arrives: the batch score of ``decision_function`` for that point
    (equal to rounding, ~1e-12). The first ``window_ - 1`` points of a stream
    end no window: `update` returns NaN for them, `score_stream` gives them the
    first window's score, as batch scoring does. A NaN cell in a point takes the
    channel's previous value (a stream cannot see the next one; batch scoring
    interpolates), and is counted in ``stream_filled``.
    """

    window_: int
    n_features_in_: int
    point_score: str
    shift_: np.ndarray
    scale_: np.ndarray
    score_center_: float
    score_scale_: float
    latent_distance: bool

    def _graph(self) -> Any:
        raise NotImplementedError

    def _drop_stream(self) -> None:
        """Forget the stream and the cached graph (after a fit)."""
        for name in ("_ring", "_graph_cache"):
            self.__dict__.pop(name, None)

    def reset_stream(self) -> None:
        """Start a new stream: an empty buffer."""
        check_is_fitted(self)
        if self.point_score != "end":
            raise ValueError(
                "streaming gives the score of the window ending at each point "
                f"(point_score='end'); this detector has point_score="
                f"{self.point_score!r}, whose scores need later points. Fit with "
                "point_score='end' to stream."
            )
        width = self.n_features_in_
        self._ring = np.zeros((2 * self.window_, width))
        self._window = torch.from_numpy(self._ring)
        self._position = 0
        self._seen = 0
        self._last = np.zeros(width)
        self.stream_filled = 0

    def update(self, point: Any) -> float:
        """Score one new point (a number, or one value per channel): the score
        of the window ending at it, NaN while the first window fills."""
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
        self._position = (at + 1) % w
        self._seen += 1
        if self._seen < w:
            return math.nan
        start = self._position
        row = self._window[start : start + w].reshape(1, -1)
        with torch.inference_mode():
            raw = float(self._graph()(row)[2][0])
        if self.latent_distance:
            return raw
        return (math.log(max(raw, 1e-300)) - self.score_center_) / self.score_scale_

    def score_stream(self, points: Any, *, reset: bool = True) -> np.ndarray:
        """`update` on each row of ``points`` (n_time, n_channels) or 1-D, one at
        a time; returns the scores. From a fresh stream (``reset``) the first
        ``window_ - 1`` points get the first window's score, so the result
        equals ``decision_function(points)``."""
        check_is_fitted(self)
        rows = np.asarray(points, dtype=np.float64)
        rows = rows[:, None] if rows.ndim == 1 else rows
        if reset:
            self.reset_stream()
        scores = np.array([self.update(row) for row in rows])
        filling = np.isnan(scores)
        if reset and filling.any() and not filling.all():
            scores[filling] = scores[np.argmax(~filling)]
        return scores
