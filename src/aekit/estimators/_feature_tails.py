"""The feature-tails part of `aekit.AnomalyDetector`'s score: ECOD's
per-feature tail probabilities (Li et al., TKDE 2022,
https://arxiv.org/abs/2201.00382), so that extremes of single features count
where an autoencoder has little to compress.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from aekit.data.chunks import ChunkedTable
from aekit.estimators._code_distance import SPREAD_RTOL, _tensors
from aekit.nn.graph import FeatureTails

MAX_TAIL_REFERENCE = 4096  # order statistics kept per feature for the tails
MAX_TAIL_FEATURES = 20  # feature_tails="auto": the tails part up to this width


def feature_tails(X: np.ndarray, max_reference: int = MAX_TAIL_REFERENCE) -> Any:
    """`aekit.nn.graph.FeatureTails` (float64) of the rows ``X``: each feature's
    sorted values (beyond ``max_reference`` rows, that many evenly spaced order
    statistics, the least and the largest among them) and the sign of its
    skewness (0 for a feature constant up to rounding)."""
    values = np.sort(np.asarray(X, np.float64), axis=0)
    if len(values) > max_reference:
        ranks = np.round(np.linspace(0, len(values) - 1, max_reference))
        values = values[ranks.astype(np.int64)]
    centred = X - X.mean(axis=0)
    spread = centred.std(axis=0)
    size = np.abs(X).max(axis=0, initial=0.0)
    flat = spread <= SPREAD_RTOL * np.maximum(size, 1e-300)
    skewness = (centred**3).mean(axis=0) / np.where(flat, 1.0, spread) ** 3
    sign = np.where(flat, 0.0, np.sign(skewness))
    return FeatureTails(*_tensors(values, sign))


class FeatureTailsMixin:
    """`aekit.AnomalyDetector`'s side of the tails part: whether the score has
    it (``feature_tails_``) and the training rows' order statistics and
    skewness signs (``tail_reference_``, ``tail_skew_sign_``)."""

    feature_tails: bool | str
    latent_distance: bool
    random_state: Any
    n_features_in_: int
    feature_tails_: bool
    tail_reference_: np.ndarray
    tail_skew_sign_: np.ndarray

    def _tails_used(self) -> bool:
        """Whether the score has the feature-tails part: asked for, with
        ``latent_distance``, on a numeric table (a model fitted on a mixed-type
        table has no numeric rows to take tails of)."""
        return bool(self.feature_tails_) and bool(self.latent_distance)

    def _fit_tails(self, X: Any) -> None:
        """Resolve ``feature_tails_`` (``"auto"``: at most `MAX_TAIL_FEATURES`
        columns; never for a model fitted on a mixed-type table, which has no
        numeric rows to take tails of); then each feature's reference values
        (sorted) and skewness sign, from the training rows (at most
        `MAX_TAIL_REFERENCE` order statistics, or for a table on disk a seeded
        sample of that many rows)."""
        wanted = self.feature_tails
        if wanted == "auto":
            wanted = self.n_features_in_ <= MAX_TAIL_FEATURES
        self.feature_tails_ = bool(wanted) and not self._table_model()  # type: ignore[attr-defined]
        if not self._tails_used():
            return
        if isinstance(X, ChunkedTable):
            rate = min(1.0, MAX_TAIL_REFERENCE / max(len(X), 1))
            rng = np.random.default_rng(self.random_state)
            blocks = [np.asarray(b, np.float64) for b in X.frames()]
            X = np.concatenate([b[rng.random(len(b)) < rate] for b in blocks])
        tails = feature_tails(np.asarray(X, np.float64))
        self.tail_reference_ = tails.reference.numpy()
        self.tail_skew_sign_ = tails.skew_sign.numpy()

    def _tail_parts(self, X: Any, head: Any) -> torch.Tensor:
        """The tail part of the rows ``X`` (an array, or a table on disk read
        chunk by chunk), (n, 1)."""
        blocks = X.frames() if isinstance(X, ChunkedTable) else [X]
        return torch.cat([head.tail_part(*_tensors(b)) for b in blocks])
