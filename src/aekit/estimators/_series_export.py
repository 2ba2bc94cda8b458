"""`aekit.SeriesDetector`'s window scoring as one torch module, and its ONNX
export by `aekit.export.to_onnx`: raw windows in, window scores out.

The graph takes windows flattened time-major, ``(n, window_ * n_channels)`` in
the series' own units (row ``t * n_channels + c``), scales each channel, runs
the window model's inference graph and returns the codes, the reconstruction
(raw units) and the window score that `decision_function` maps to points (the
robust z of the log error, or the code-distance score, and the value part where
it is larger). The windowing and the point rule stay outside: a point's score is
the mean of the scores of the windows covering it (``point_score="mean"``) or
the score of the window ending at it ("end").
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

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

    def inference_graph(self, dtype: torch.dtype = torch.float64) -> nn.Module:
        """The window scoring as one torch module on the CPU in ``dtype``: raw
        windows flattened time-major ``(n, window_ * n_channels)`` -> (codes,
        reconstruction in raw units, window score). In float64 its scores are
        the window scores `decision_function` maps to points."""
        check_is_fitted(self)
        graph = self.model_.inference_graph(dtype)
        return SeriesWindowGraph(graph, self, dtype).eval()

    def to_onnx(self, path: Any, *, dtype: str | None = None) -> Any:
        """Write the window scoring (`inference_graph`) to ``path`` as ONNX
        (see `aekit.export.to_onnx`): input ``x``, raw windows flattened
        time-major; outputs ``codes``, ``reconstruction``, ``score`` (one per
        window). ``window_``, the point rule and ``threshold_`` are in the
        file's metadata. Needs ``pip install 'aekit[onnx]'``."""
        from aekit.export import to_onnx

        return to_onnx(self, path, dtype=dtype)

    def _onnx_metadata(self) -> dict[str, str]:
        return {
            "score": "window score (map to points by point_score)",
            "window": json.dumps(int(self.window_)),
            "layout": "time-major: feature t * n_channels + c",
            "point_score": self.point_score,
            "threshold": json.dumps(float(self.threshold_)),
            "contamination": json.dumps(self.contamination),
        }
