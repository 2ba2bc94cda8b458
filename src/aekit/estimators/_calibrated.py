"""Conformal thresholds for `aekit.AnomalyDetector`: ``calibrate`` on rows
known to be normal, then ``p_values`` and ``predict(X, alpha=...)`` with a
guarantee on false alarms (see `aekit.conformal` for what holds and when)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit.conformal import CONTROLS, benjamini_hochberg, conformal_p_values


class CalibratedMixin:
    """``calibrate``, ``p_values`` and ``predict``'s ``alpha`` and ``control``."""

    threshold_: float

    def decision_function(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def calibrate(self, X_normal: Any) -> Any:
        """Keep the scores of ``X_normal``, rows known to be normal and not
        used in ``fit`` (``calibration_scores_``, sorted), for `p_values` and
        ``predict(X, alpha=...)``. Returns the detector.

        Examples
        --------
        >>> import numpy as np, aekit
        >>> rng = np.random.default_rng(0)
        >>> det = aekit.AnomalyDetector(random_state=0).fit(rng.normal(size=(300, 4)))
        >>> det = det.calibrate(rng.normal(size=(200, 4)))
        >>> X_new = np.vstack([rng.normal(size=(50, 4)), [[8.0, 8.0, 8.0, 8.0]]])
        >>> int(det.predict(X_new, alpha=0.05)[-1])
        1
        """
        check_is_fitted(self)
        scores = np.sort(np.asarray(self.decision_function(X_normal), np.float64))
        if len(scores) < 1:
            raise ValueError("X_normal must hold at least one row to calibrate on.")
        self.calibration_scores_ = scores
        return self

    def p_values(self, X: Any) -> np.ndarray:
        """Conformal p-values of the rows ``X`` against the calibration scores,
        ``(1 + #{calibration scores >= s}) / (n + 1)``, shape (n_samples,):
        small for rows scoring above most known-normal rows."""
        if not hasattr(self, "calibration_scores_"):
            raise NotFittedError(
                "p-values need calibration scores: call calibrate(X_normal) with "
                "rows known to be normal (not the training rows) first."
            )
        return conformal_p_values(self.calibration_scores_, self.decision_function(X))

    def predict(
        self,
        X: Any,
        return_confidence: bool = False,
        *,
        alpha: float | None = None,
        control: str = "fdr",
    ) -> Any:
        """1 for anomalies, 0 for normal rows.

        Without ``alpha``: scores above ``threshold_`` (PyOD's contract; with
        ``return_confidence=True``, also the ExCeed confidence). With ``alpha``
        (after `calibrate`): by the conformal `p_values`, ``control="fdr"``
        flags the rows Benjamini-Hochberg rejects at level ``alpha`` (expected
        share of normal rows among those flagged at most ``alpha``),
        ``control="fpr"`` the rows with ``p <= alpha`` (each normal row flagged
        with probability at most ``alpha``); both assume the normal rows are
        exchangeable with the calibration rows (see `aekit.conformal`).
        """
        if alpha is None:
            return super().predict(X, return_confidence)  # type: ignore[misc]
        v.check_float("alpha", alpha, low_open=True, high=1.0, high_open=True)
        v.check_choice("control", control, CONTROLS)
        if return_confidence:
            raise ValueError(
                "return_confidence=True goes with the threshold_ labels; with "
                "alpha, use p_values(X) for each row's evidence."
            )
        p = self.p_values(X)
        flagged = benjamini_hochberg(p, alpha) if control == "fdr" else p <= alpha
        return flagged.astype(np.int64)
