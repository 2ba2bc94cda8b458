"""Window scores, the threshold and the training scores of
`aekit.SeriesDetector`: a window's robust z of its log reconstruction error,
the value part where that is larger, window scores mapped to points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from aekit import thresholds
from aekit.data import series as ts
from aekit.estimators._base import run_graph
from aekit.estimators._series_events import shifted
from aekit.metrics import median_mad, usable_scale

TINY = np.finfo(np.float64).tiny
CONTROL_Z = 2.326  # a normal's 99% quantile, in sigmas
VALUE_QUANTILE = 0.99  # value_score: this training quantile scores CONTROL_Z
# per window: raw score, per-channel errors, largest value deviation
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]


class ScoresMixin:
    """Scores of a series detector from its fitted window model."""

    window_: int
    n_features_in_: int
    point_score: str
    latent_distance: bool
    contamination: Any
    control_margin: float
    shift_: np.ndarray
    scale_: np.ndarray
    value_reference_: np.ndarray
    value_channels_: np.ndarray
    model_: Any

    _described: Any  # EventsMixin's
    _segments_of: Any
    _training_outputs: Any  # CalibrationMixin's

    def _fit_scores(self, scaled: list[np.ndarray], indexes: list[pd.Index]) -> None:
        """Score centre and scale, per-channel error scale, training scores,
        threshold, labels and segments."""
        self.score_center_, self.score_scale_ = 0.0, 1.0
        self.channel_error_ = np.ones(self.n_features_in_)
        raw = self._training_outputs(scaled)
        if not self.latent_distance:
            logs = np.log(np.maximum(np.concatenate([r[0] for r in raw]), TINY))
            center, scale = median_mad(logs)
            self.score_center_ = float(center)
            self.score_scale_ = float(usable_scale(scale, center, 1e-9))
        self._fit_value_scale(np.concatenate([r[2] for r in raw]))
        channel = np.concatenate([r[1] for r in raw])
        self.channel_error_ = usable_scale(np.median(channel, axis=0), 1.0, 1e-12)
        raw = [(r[0], r[1] / self.channel_error_, r[2]) for r in raw]
        points = [self._points(self._window_scores(r)) for r in raw]
        self.decision_scores_ = np.concatenate(points)
        self.threshold_ = self._threshold(self.decision_scores_)
        self.segments_: list[dict] = []
        labels: list[np.ndarray] = []
        offset = 0
        for part, (_, channels, _), index in zip(points, raw, indexes, strict=True):
            found = self._described(part, channels, index)
            flags = self._segments_of(part)[1]
            self.segments_ += [shifted(s, offset) for s in found]
            labels.append(flags)
            offset += len(part)
        self.labels_ = np.concatenate(labels)

    def _fit_value_scale(self, spread: np.ndarray) -> None:
        """Centre and scale of the value part: the training windows' median
        value deviation, and the scale putting their 99% quantile at 2.326."""
        center = float(np.median(spread))
        top = float(np.quantile(spread, VALUE_QUANTILE)) - center
        self.value_center_ = center
        self.value_scale_ = float(usable_scale(top / CONTROL_Z, center, 1e-9))

    def _threshold(self, scores: np.ndarray) -> float:
        if self.contamination == "auto":
            return thresholds.auto_threshold(scores)
        if self.contamination == "control":
            median, mad = median_mad(scores)
            limit = CONTROL_Z * thresholds.MAD_TO_SIGMA * float(mad)
            return float(median) + self.control_margin * limit
        return float(np.quantile(scores, 1.0 - float(self.contamination)))

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        return (values - self.shift_) / self.scale_

    def _graph(self) -> Any:
        """The window model's float64 inference graph (cached): windows ->
        (codes, reconstruction, raw score)."""
        graph = getattr(self, "_graph_cache", None)
        if graph is None:
            graph = self.model_.inference_graph(torch.float64)
            self._graph_cache = graph
        return graph

    def _window_outputs(self, scaled: np.ndarray, graph: Any = None) -> Outputs:
        """Of every window (stride 1) of one scaled series: the raw score, the
        per-channel errors (relative to the training median) and the largest
        value deviation; from the fitted window model's graph, or ``graph``."""
        windows = ts.sliding_windows(scaled, self.window_)
        graph = self._graph() if graph is None else graph
        recon, raw = run_graph(graph, windows, torch.float64, keep=(1, 2))
        shape = (len(windows), self.window_, self.n_features_in_)
        errors = ((recon - windows) ** 2).reshape(shape).mean(axis=1)
        deviation = ts.value_deviation(
            scaled, self.value_reference_, self.value_channels_
        )
        spread = ts.window_max(deviation, self.window_)
        return raw, errors / self.channel_error_, spread

    def _window_scores(self, outputs: Outputs) -> np.ndarray:
        """Window scores: the robust z of the log error (or the inner
        detector's score with ``latent_distance``), and with ``value_score``
        the value part where it is larger."""
        raw, _, spread = outputs
        scores = raw
        if not self.latent_distance:
            logs = np.log(np.maximum(raw, TINY))
            scores = (logs - self.score_center_) / self.score_scale_
        if self.value_channels_.any():
            values = (spread - self.value_center_) / self.value_scale_
            scores = np.maximum(scores, values)
        return scores

    def _points(self, window_values: np.ndarray) -> np.ndarray:
        return ts.point_scores(window_values, self.window_, self.point_score)
