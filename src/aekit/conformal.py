"""Conformal p-values and false discovery rate control for anomaly scores.

Given the scores of ``n`` calibration rows known to be normal, the conformal
p-value of a new row with score ``s`` is ``(1 + #{calibration scores >= s}) /
(n + 1)`` (Vovk, Gammerman & Shafer, "Algorithmic Learning in a Random World",
2005; for outlier detection, Bates et al., "Testing for outliers with conformal
p-values", Annals of Statistics 2023, https://arxiv.org/abs/2104.08279).

What is guaranteed, and when: if a new normal row and the calibration rows are
exchangeable (drawn from the same distribution, and the calibration rows were
not used to fit the detector), ``P(p <= alpha) <= alpha`` for that row, so
flagging ``p <= alpha`` keeps each row's false alarm probability at most
``alpha`` ("fpr" control). Flagging by Benjamini-Hochberg at level ``alpha``
keeps the expected share of false alarms among the flagged rows (the false
discovery rate) at most ``alpha`` ("fdr" control): conformal p-values sharing
one calibration set are positively dependent (PRDS), for which BH stays valid
(Bates et al., Theorem 2). Neither holds if the normal rows drift away from
the calibration rows, or if the calibration rows were training rows (their
scores are then in-sample, too low).
"""

from __future__ import annotations

import numpy as np

CONTROLS = ("fdr", "fpr")


def conformal_p_values(calibration: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(1 + #{calibration >= s}) / (n + 1)`` for each score ``s``.

    Examples
    --------
    >>> conformal_p_values(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.5, 9.0]))
    array([1.  , 0.5 , 0.25])
    """
    cal = np.sort(np.asarray(calibration, np.float64).ravel())
    s = np.asarray(scores, np.float64).ravel()
    at_least = len(cal) - np.searchsorted(cal, s, side="left")
    return (1.0 + at_least) / (len(cal) + 1.0)


def benjamini_hochberg(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Boolean mask of the rows Benjamini-Hochberg rejects at level ``alpha``
    (Benjamini & Hochberg, JRSS B 1995): with the p-values sorted, the ``k``
    smallest where ``k`` is the largest index with ``p_(k) <= alpha k / m``.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.001, 0.02, 0.04, 0.5]), 0.05).tolist()
    [True, True, False, False]
    """
    p = np.asarray(p_values, np.float64).ravel()
    m = len(p)
    order = np.argsort(p, kind="stable")
    passing = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    flagged = np.zeros(m, bool)
    if len(passing):
        flagged[order[: passing[-1] + 1]] = True
    return flagged
