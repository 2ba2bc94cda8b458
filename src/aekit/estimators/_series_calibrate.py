"""Cross-fitted calibration of `aekit.SeriesDetector`'s training scores.

A window model fitted on few windows (a short training period, many channels)
reconstructs its own training windows far better than new windows of the same
process: scores of the training period, and the threshold set from them, are
then too low, and most new normal points are flagged. Cross-fitting scores
each training window by a model that did not train on it: the training rows of
every series are cut into ``CROSS_FOLDS`` contiguous blocks; for each block a
window model (the same estimator, the same trimming) is fitted on the windows
lying wholly outside it, and scores the windows whose centre row lies in it.
The score centre and scale, the value scale, the per-channel error scale, the
training scores and the threshold all come from these out-of-sample outputs;
the model kept is still the one fitted on every training window (it sees more
windows than any fold's, so the calibration errs on the side of fewer alarms).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from aekit.data import series as ts

CROSS_FOLDS = 3  # contiguous blocks of the training rows


class CalibrationMixin:
    """``calibration``: which training outputs set the scores' scale and the
    threshold (the final model's own, or cross-fitted ones)."""

    calibration: str
    calibration_: str
    window_: int
    stride_: int
    n_features_in_: int

    _window_outputs: Any
    _make_model: Any

    def _resolve_calibration(self, scaled: list[np.ndarray]) -> str:
        """``calibration``, or "in-sample" where a block of the shortest
        training series would hold no window (too short to cross-fit)."""
        if self.calibration == "cross-fit" and self._folds_fit(scaled):
            return "cross-fit"
        return "in-sample"

    def _folds_fit(self, scaled: list[np.ndarray]) -> bool:
        """Whether each block of the shortest series holds a window."""
        shortest = min(len(s) for s in scaled)
        return shortest // CROSS_FOLDS >= self.window_ + 1

    def _training_outputs(self, scaled: list[np.ndarray]) -> list[Any]:
        """Window outputs of the training series: the final model's own
        ("in-sample") or cross-fitted (see the module's docstring)."""
        if self.calibration_ == "in-sample":
            return [self._window_outputs(s) for s in scaled]
        bounds = [_blocks(len(s)) for s in scaled]
        graphs = []
        for k in range(CROSS_FOLDS):
            train = _outside(scaled, bounds, k, self.window_, self.stride_)
            graphs.append(self._make_model().fit(train).inference_graph(torch.float64))
        out = []
        for s, edges in zip(scaled, bounds, strict=True):
            each = [self._window_outputs(s, graph=g) for g in graphs]
            centres = np.arange(len(s) - self.window_ + 1) + self.window_ // 2
            fold = np.searchsorted(edges, centres, side="right") - 1
            pick = np.arange(len(centres))
            raw = np.stack([e[0] for e in each])[fold, pick]
            errors = np.stack([e[1] for e in each])[fold, pick]
            out.append((raw, errors, each[0][2]))
        return out


def _blocks(n_time: int) -> np.ndarray:
    """Edges of ``CROSS_FOLDS`` contiguous blocks of ``n_time`` rows."""
    return np.linspace(0, n_time, CROSS_FOLDS + 1).astype(int)


def _outside(
    scaled: list[np.ndarray], bounds: list[np.ndarray], k: int, window: int, stride: int
) -> np.ndarray:
    """The training windows lying wholly outside block ``k`` of every series."""
    pieces = []
    for s, edges in zip(scaled, bounds, strict=True):
        for piece in (s[: edges[k]], s[edges[k + 1] :]):
            if len(piece) >= window:
                pieces.append(ts.sliding_windows(piece, window, stride))
    return np.concatenate(pieces)
