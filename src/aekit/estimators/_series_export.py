"""`aekit.SeriesDetector`'s scoring as torch modules, and their ONNX export by
`aekit.export`: raw windows in, window scores out (`SeriesWindowGraph`); or a
raw series in, the point scores and the 0/1 labels of `predict` out
(`SeriesPointsGraph`).

The graph takes windows flattened time-major, ``(n, window_ * n_channels)`` in
the series' own units (row ``t * n_channels + c``), scales each channel, runs
the window model's inference graph and returns the codes, the reconstruction
(raw units) and the window score that `decision_function` maps to points (the
robust z of the log error, or the code-distance score, and the value part where
it is larger). The windowing and the point rule stay outside: a point's score is
the mean of the scores of the windows covering it (``point_score="mean"``) or
the score of the window ending at it ("end").

The points graph puts them inside, for a series of any length: the windows are
gathered by index, the "mean" rule is a difference of cumulative sums, and the
labels follow `aekit.data.series.merge_runs` with sliding maxima: a run of
unflagged points is filled when the flagged points on either side are at most
``merge_gap_ + 1`` apart, then a point stays flagged when some ``min_length``
consecutive flagged points hold it (erosion, then dilation).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit import _validation as v

TINY = float(np.finfo(np.float64).tiny)


class SeriesWindowGraph(nn.Module):
    """Raw flattened windows -> (codes, reconstruction, window score)."""

    shift: torch.Tensor
    scale: torch.Tensor
    tiny: torch.Tensor
    center: torch.Tensor
    spread: torch.Tensor
    keep: torch.Tensor
    reference: torch.Tensor
    value_center: torch.Tensor
    value_scale: torch.Tensor

    def __init__(self, graph: nn.Module, detector: Any, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = graph
        w, c = detector.window_, detector.n_features_in_
        self.window, self.n_channels = w, c
        self.sample_shape = (w * c,)

        def tensor(values: Any) -> torch.Tensor:
            return torch.as_tensor(np.asarray(values, np.float64), dtype=dtype)

        self.register_buffer("shift", tensor(np.tile(detector.shift_, w)))
        self.register_buffer("scale", tensor(np.tile(detector.scale_, w)))
        self.log_score = not detector.latent_distance
        # numbers as buffers: the exporter would write Python floats as float32
        self.register_buffer("tiny", tensor(TINY))
        self.register_buffer("center", tensor(detector.score_center_))
        self.register_buffer("spread", tensor(detector.score_scale_))
        self.value = bool(detector.value_channels_.any())
        keep = np.flatnonzero(detector.value_channels_)
        self.register_buffer("keep", torch.as_tensor(keep, dtype=torch.int64))
        reference = detector.value_reference_[:, keep]
        self.register_buffer("reference", tensor(reference))
        self.register_buffer("value_center", tensor(detector.value_center_))
        self.register_buffer("value_scale", tensor(detector.value_scale_))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        scaled = (x - self.shift) / self.scale
        codes, recon, raw = self.inner(scaled)
        recon = recon * self.scale + self.shift
        score = raw
        if self.log_score:
            score = (
                torch.log(torch.maximum(raw, self.tiny)) - self.center
            ) / self.spread
        if self.value:
            score = torch.maximum(score, self._value_part(scaled))
        return codes, recon, score

    def _value_part(self, scaled: torch.Tensor) -> torch.Tensor:
        """The window's largest side-scaled value deviation, standardised."""
        points = scaled.reshape(-1, self.window, self.n_channels)
        points = points.index_select(2, self.keep)
        median, up, down = self.reference[0], self.reference[1], self.reference[2]
        above = (points - median) / up
        below = (median - points) / down
        deviation = torch.where(points >= median, above, below)
        spread = deviation.amax(dim=(1, 2))
        return (spread - self.value_center) / self.value_scale


def sliding_max(values: torch.Tensor, k: int) -> torch.Tensor:
    """Maximum of each run of ``k`` consecutive values (``len - k + 1`` of
    them), by gathering: a pooling operator would fix the series' length in
    the exported graph."""
    rows = torch.arange(values.shape[0] - k + 1).unsqueeze(1)
    return values[rows + torch.arange(k).unsqueeze(0)].amax(dim=1)


class SeriesPointsGraph(nn.Module):
    """A raw series (n_time, n_channels), finite, longer than a window -> (point
    scores, 0/1 labels), as `decision_function` and `predict` give them."""

    far: torch.Tensor
    threshold: torch.Tensor

    def __init__(self, windows: SeriesWindowGraph, detector: Any) -> None:
        super().__init__()
        self.windows = windows
        self.window, self.n_channels = windows.window, windows.n_channels
        self.sample_shape = (self.n_channels,)
        self.rows, self.min_rows = "time", self.window + 1
        self.output_names = ("score", "label")
        self.metadata = {
            "score": "point score (as decision_function)",
            "label": "0/1 per point (as predict: merged, short runs dropped)",
            "layout": "a series: rows in time order, one column per channel",
        }
        self.rule = detector.point_score
        self.gap, self.min_length = int(detector.merge_gap_), int(detector.min_length)
        dtype = windows.shift.dtype
        self.register_buffer(
            "threshold", torch.tensor(detector.threshold_, dtype=dtype)
        )
        self.register_buffer("far", torch.tensor(1e15, dtype=dtype))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, w = x.shape[0], self.window
        starts = torch.arange(n - w + 1).unsqueeze(1)
        windows = x[starts + torch.arange(w).unsqueeze(0)].reshape(
            -1, w * self.n_channels
        )
        scores = self.windows(windows)[2]
        points = self._points(scores, n)
        flags = (points > self.threshold).to(x.dtype)
        if self.gap > 0:
            flags = self._merged(flags, n)
        if self.min_length > 1:
            flags = self._long_runs(flags)
        return points, flags.to(torch.int64)

    def _points(self, scores: torch.Tensor, n: int) -> torch.Tensor:
        """`aekit.data.series.point_scores` of the window scores."""
        w = self.window
        if self.rule == "end":
            return torch.cat([scores[:1].expand(w - 1), scores])
        sums = torch.cat([torch.zeros_like(scores[:1]), torch.cumsum(scores, 0)])
        t = torch.arange(n)
        first = torch.clamp(t - (w - 1), min=0)
        last = torch.clamp(t, max=n - w)
        return (sums[last + 1] - sums[first]) / (last - first + 1).to(scores.dtype)

    def _merged(self, flags: torch.Tensor, n: int) -> torch.Tensor:
        """Gaps of at most ``gap`` unflagged points between flagged ones filled:
        for each point, the nearest flagged point at most ``gap`` back and
        ahead (itself included)."""
        g, far = self.gap, self.far
        at = torch.arange(n).to(flags.dtype)
        edge = far.expand(g).neg()
        before = sliding_max(torch.cat([edge, torch.where(flags > 0, at, -far)]), g + 1)
        after = -sliding_max(
            torch.cat([torch.where(flags > 0, -at, -far), edge]), g + 1
        )
        filled = (before > -far) & (after < far) & (after - before - 1 <= g)
        return torch.maximum(flags, filled.to(flags.dtype))

    def _long_runs(self, flags: torch.Tensor) -> torch.Tensor:
        """The flagged points inside runs of at least ``min_length``."""
        m = self.min_length
        pad = torch.zeros(m - 1, dtype=flags.dtype)
        inside = -sliding_max(torch.cat([-flags, pad]), m)  # a full run starts here
        return sliding_max(torch.cat([pad, inside]), m)


class SeriesExportMixin:
    """``inference_graph`` and ``to_onnx`` of `aekit.SeriesDetector`."""

    model_: Any
    threshold_: float
    window_: int
    point_score: str
    contamination: Any

    model: str

    @property
    def _onnx_dtype(self) -> str:
        """The default of `to_onnx`: float64 as `decision_function` computes,
        float32 for the conv and LSTM models (onnxruntime's CPU Conv and LSTM
        have no float64)."""
        return "float32" if self.model in ("conv", "lstm") else "float64"

    def inference_graph(self, dtype: torch.dtype = torch.float64) -> SeriesWindowGraph:
        """The window scoring as one torch module on the CPU in ``dtype``: raw
        windows flattened time-major ``(n, window_ * n_channels)`` -> (codes,
        reconstruction in raw units, window score). In float64 its scores are
        the window scores `decision_function` maps to points."""
        check_is_fitted(self)
        graph = self.model_.inference_graph(dtype)
        return SeriesWindowGraph(graph, self, dtype).eval()

    def points_graph(self, dtype: torch.dtype = torch.float64) -> nn.Module:
        """The whole scoring as one torch module on the CPU in ``dtype``: a raw
        series (n_time, n_channels) with more than ``window_`` points and no
        NaN -> (point scores, 0/1 labels), in float64 equal to
        `decision_function` and `predict`."""
        return SeriesPointsGraph(self.inference_graph(dtype), self).eval()

    def to_onnx(
        self, path: Any, *, dtype: str | None = None, points: bool = False
    ) -> Any:
        """Write the scoring to ``path`` as ONNX (see `aekit.export.to_onnx`).

        Default: the window scoring (`inference_graph`): input ``x``, raw
        windows flattened time-major; outputs ``codes``, ``reconstruction``,
        ``score`` (one per window); ``window_``, the point rule and
        ``threshold_`` are in the file's metadata. With ``points=True`` the
        whole scoring (`points_graph`): input ``x``, the raw series (n_time,
        n_channels) of any length above ``window_``, NaN cells filled first;
        outputs ``score`` and ``label`` per point, as `decision_function` and
        `predict`. Needs ``pip install 'aekit[onnx]'``."""
        from aekit.export import write_graph

        v.check_bool("points", points)
        build = self.points_graph if points else self.inference_graph
        return write_graph(self, build, path, dtype)

    def _onnx_metadata(self) -> dict[str, str]:
        return {
            "score": "window score (map to points by point_score)",
            "window": json.dumps(int(self.window_)),
            "layout": "time-major: feature t * n_channels + c",
            "point_score": self.point_score,
            "threshold": json.dumps(float(self.threshold_)),
            "contamination": json.dumps(self.contamination),
        }
