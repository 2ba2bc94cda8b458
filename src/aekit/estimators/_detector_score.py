"""How `aekit.AnomalyDetector` turns a fitted autoencoder into its score: the
parts (the log reconstruction error, the log code distance and, with
``feature_tails_``, the log tail score), their centre and scale over the
training rows, and the torch module (the score head) that computes the largest
of their robust z-scores, for `decision_function` and the ONNX export alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.estimators._code_distance import (
    KNN_FLOOR,
    KNN_OWN,
    MAX_REFERENCE,
    N_NEIGHBORS,
    SPREAD_RTOL,
    _tensors,
    knn_distance,
    shrunk_precision,
)
from aekit.metrics import median_mad, usable_scale
from aekit.nn import LatentDistanceScore, NeighbourDistanceScore
from aekit.nn.graph import FeatureTails


class ScoreHeadMixin:
    """`aekit.AnomalyDetector`'s score parts: the reference statistics of the
    codes (``code_mean_`` and ``code_precision_``, or ``reference_codes_``,
    ``code_scale_`` and ``min_distance_``), the parts' ``score_center_`` and
    ``score_scale_``, and the score head built from them."""

    trim: float
    code_distance: str
    latent_distance: bool
    random_state: Any
    model_: Any
    code_scale_: np.ndarray
    reference_codes_: np.ndarray
    min_distance_: float
    code_mean_: np.ndarray
    code_precision_: np.ndarray
    score_center_: np.ndarray
    score_scale_: np.ndarray
    tail_reference_: np.ndarray
    tail_skew_sign_: np.ndarray

    def _fit_latent_distance(self, X: np.ndarray) -> np.ndarray:
        """The reference statistics of the codes of the training rows the final
        model reconstructs best (the same ``1 - trim`` share that trimming keeps): the
        reference codes and the least neighbour distance ("knn"), or the codes'
        mean and precision ("mahalanobis"), and the feature tails; then the
        centre and scale of the score parts over all the training rows.
        Returns the training rows' scores (the score head's, from parts
        computed once)."""
        errors, codes = self._errors_and_codes(X)
        best = codes[errors <= np.quantile(errors, 1.0 - self.trim)]
        distances = None
        if self.code_distance == "knn":
            if len(best) > MAX_REFERENCE:
                rng = np.random.default_rng(self.random_state)
                best = best[np.sort(rng.choice(len(best), MAX_REFERENCE, False))]
            # (a code dimension constant over them is left unscaled)
            size = np.abs(best).max(initial=0.0)
            self.code_scale_ = usable_scale(best.std(axis=0), size, SPREAD_RTOL)
            self.reference_codes_ = best / self.code_scale_
            distances = knn_distance(codes / self.code_scale_, self.reference_codes_)
            self.min_distance_ = max(float(distances.min()), KNN_FLOOR)
        else:
            self.code_mean_ = best.mean(axis=0)
            self.code_precision_ = shrunk_precision(best)
        self._fit_tails(X)  # type: ignore[attr-defined]
        # the score head's parts need no centre or scale yet
        n_parts = 3 if self._tails_used() else 2  # type: ignore[attr-defined]
        self.score_center_, self.score_scale_ = np.zeros(n_parts), np.ones(n_parts)
        with torch.inference_mode():
            head = self._parts_head()
            errors_t, codes_t = _tensors(errors, codes)
            if isinstance(head, NeighbourDistanceScore):
                known = torch.from_numpy(distances)
                parts = head.parts(errors_t, codes_t, known)
            else:
                parts = head.parts(errors_t, codes_t)
            if self._tails_used():  # type: ignore[attr-defined]
                tail_parts = self._tail_parts(X, head)  # type: ignore[attr-defined]
                parts = torch.cat([parts, tail_parts], dim=1)
            self.score_center_, scale = median_mad(parts.numpy())
            # (copies of one row have a MAD of rounding error: no scale)
            self.score_scale_ = usable_scale(scale, self.score_center_, SPREAD_RTOL)
            return self._parts_head().combine(parts).numpy()

    def _errors_and_codes(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """Scaled reconstruction errors and codes of ``X`` (no codes without
        ``latent_distance``), in float64: from the model's ``errors_and_codes``
        when it has one (batch-independent float64 scoring, by the model's
        `inference_graph`; float32 rounding would be amplified by the logs and
        the inverse covariance), else from its (float32) public methods."""
        model = self.model_
        if hasattr(model, "errors_and_codes"):
            errors, codes = model.errors_and_codes(X, dtype=torch.float64)
            return errors, codes
        errors = np.asarray(model.reconstruction_error(X, scaled=True), np.float64)
        if not self.latent_distance:
            return errors, None
        return errors, np.asarray(model.transform(X), np.float64)

    def _score_head(self) -> nn.Module:
        """The ``latent_distance`` score as a torch module (float64), from the
        fitted statistics: what `decision_function` computes and what
        `inference_graph` (and so `to_onnx`) puts after the model. After
        fitting with known anomalies there is none (the supervised part is a
        tree ensemble scored by NumPy): `_labelled_head` raises a TypeError."""
        head = self._parts_head()
        if self._labelled():  # type: ignore[attr-defined]
            return self._labelled_head(head)  # type: ignore[attr-defined]
        return head

    def _parts_head(self) -> LatentDistanceScore | NeighbourDistanceScore:
        """The unsupervised score's head: the parts and their largest z-score."""
        tails = None
        if self._tails_used():  # type: ignore[attr-defined]
            tails = FeatureTails(*_tensors(self.tail_reference_, self.tail_skew_sign_))
        if self.code_distance == "knn":
            reference, code_scale, center, scale, low = _tensors(
                self.reference_codes_,
                self.code_scale_,
                self.score_center_,
                self.score_scale_,
                self.min_distance_,
            )
            return NeighbourDistanceScore(
                reference, code_scale, center, scale, low, N_NEIGHBORS, KNN_OWN, tails
            )
        mean, precision, center, scale = _tensors(
            self.code_mean_, self.code_precision_, self.score_center_, self.score_scale_
        )
        return LatentDistanceScore(mean, precision, center, scale, tails)

    @torch.inference_mode()
    def _latent_scores(
        self, errors: np.ndarray, codes: np.ndarray, X: np.ndarray
    ) -> np.ndarray:
        if self._labelled():  # type: ignore[attr-defined]
            return self._labelled_scores(errors, codes, X)  # type: ignore[attr-defined]
        rows = _tensors(X)[0] if self._rows_used() else None  # type: ignore[attr-defined]
        return self._score_head()(*_tensors(errors, codes), rows).numpy()
