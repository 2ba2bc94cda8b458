"""`aekit.AnomalyDetector` as one torch module (the autoencoder's inference
graph followed by the score head), and its export to ONNX by
`aekit.export.to_onnx`.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit.nn import ScoredGraph


class DetectorExportMixin:
    """`aekit.AnomalyDetector`'s `inference_graph`, `to_onnx` and the entries
    it writes to the ONNX file's metadata."""

    model_: Any
    latent_distance: bool
    contamination: Any
    threshold_: float

    _onnx_dtype = "float64"  # the default of `to_onnx`: labels as decision_function's

    def inference_graph(self, dtype: torch.dtype = torch.float64) -> nn.Module:
        """The fitted detector as one torch module on the CPU in ``dtype``: rows
        of raw features -> (codes, reconstruction in input units, score). The
        score is `decision_function`'s, computed by the same modules (in float64
        they agree to rounding, ~1e-15); what `to_onnx` exports. Needs an aekit
        autoencoder as the model."""
        check_is_fitted(self)
        if not hasattr(self.model_, "inference_graph"):
            raise TypeError(
                f"an AnomalyDetector whose model is {type(self.model_).__name__} "
                "has no inference graph: only aekit autoencoders (e.g. "
                "aekit.Autoencoder) can be exported."
            )
        graph = self.model_.inference_graph(dtype)
        if not self.latent_distance:
            return graph
        head = self._score_head().to(dtype)  # type: ignore[attr-defined]
        return ScoredGraph(graph, head).eval()

    def to_onnx(self, path: Any, *, dtype: str | None = None) -> Any:
        """Write the fitted detector to ``path`` as an ONNX graph (see
        `aekit.export.to_onnx`): input ``x`` (rows of raw features, any number
        of rows), outputs ``codes``, ``reconstruction`` and ``score`` (the
        `decision_function`); ``threshold_`` is in the file's metadata. ``dtype``
        is "float64" (the default: the labels ``score > threshold`` are those of
        `predict`) or "float32". Needs ``pip install 'aekit[onnx]'``. Returns the
        path written."""
        from aekit.export import to_onnx

        return to_onnx(self, path, dtype=dtype)

    def _onnx_metadata(self) -> dict[str, str]:
        """The detector's entries of the ONNX file's metadata."""
        return {
            "score": "decision_function(X)",
            "threshold": json.dumps(float(self.threshold_)),
            "contamination": json.dumps(self.contamination),
            "latent_distance": json.dumps(bool(self.latent_distance)),
            "feature_tails": json.dumps(bool(getattr(self, "feature_tails_", False))),
            "labelled_anomalies": json.dumps(
                int(getattr(self, "n_labelled_anomalies_", 0))
            ),
        }
