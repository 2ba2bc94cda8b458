"""PyOD's detector contract, written once over a detector's scores: a subclass
provides ``decision_function`` (higher = more anomalous) and sets
``decision_scores_``, ``threshold_`` and ``labels_`` in ``fit``; this base
class gives ``predict`` (1 = anomaly, 0 = normal), ``fit_predict`` and
``predict_proba`` as PyOD's ``BaseDetector`` defines them."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf
from sklearn.base import BaseEstimator, OutlierMixin

from aekit import _validation as v

PROBA_METHODS = ("linear", "unify")


class BaseDetector(OutlierMixin, BaseEstimator):
    """Base class of aekit's anomaly detectors (see the module docstring)."""

    decision_scores_: np.ndarray
    threshold_: float
    labels_: np.ndarray

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """1 for anomalies (score above ``threshold_``), 0 for normal samples."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and return its 0/1 labels (``labels_``)."""
        return self.fit(X).labels_

    def predict_proba(self, X: Any, method: str = "linear") -> np.ndarray:
        """Probability of [normal, anomaly] per sample, shape (n_samples, 2).

        ``method="linear"`` min-max scales the scores by the training scores'
        range (clipped to [0, 1]); ``"unify"`` is the Gaussian scaling of Kriegel
        et al. (SDM 2011), ``erf((s - mean) / (std * sqrt(2)))`` clipped at 0 —
        both as in PyOD.
        """
        v.check_choice("method", method, PROBA_METHODS)
        scores = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            span = max(train.max() - train.min(), np.finfo(np.float64).tiny)
            anomaly = (scores - train.min()) / span
        else:
            std = max(train.std(), np.finfo(np.float64).tiny)
            anomaly = erf((scores - train.mean()) / (std * np.sqrt(2.0)))
        anomaly = np.clip(anomaly, 0.0, 1.0)
        return np.column_stack([1.0 - anomaly, anomaly])
