"""The anomaly rate that partial labels imply (`label_rate`, with a Wilson
interval) and its blend with the label-free rule's rate (`blended_rate`), for
`aekit.AnomalyDetector` fitted with labels."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

LABEL_WEIGHT = 0.75  # the labels' share of the blended rate (chosen on tuning
# sets: docs/anomaly.md, "How the rate with labels was chosen")
WILSON_LEVEL = 0.95
MIN_RATE = 1e-6  # rates are kept positive (the shrinkage takes logs)


def wilson_interval(successes: int, n: int, level: float = WILSON_LEVEL) -> tuple:
    """Wilson's score interval for a binomial proportion (Wilson, JASA 1927)."""
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    middle = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, middle - half), min(1.0, middle + half)


def label_rate(
    scores: np.ndarray, labels: np.ndarray
) -> tuple[float, tuple[float, float]]:
    """The anomaly rate of the training rows that the labels imply, and an
    interval, from a cut ``t`` on ``scores``: with labelled normals, the cut
    that best separates them from the labelled anomalies (the highest balanced
    accuracy); without, the median labelled anomaly's score. The share ``q``
    of all rows above ``t``, with the share of labelled anomalies above it
    (``tpr``) and of labelled normals (``fpr``, 0 without any), gives the
    adjusted count ``(q - fpr) / (tpr - fpr)`` (Forman, "Quantifying counts
    and costs via classification", 2008): it assumes the labelled rows are
    random samples of the anomalies and of the normal rows. The interval puts
    the ends of the Wilson intervals of ``tpr`` and ``fpr`` through the same
    formula. Without labelled normals, normal rows above the cut count as
    anomalies: the estimate leans high."""
    anomalies = np.sort(scores[labels == 1])
    normals = scores[labels == 0]
    if len(normals):
        cut = _best_cut(anomalies, normals)
        n_false = int(np.sum(normals > cut))
        fpr_low, fpr_high = wilson_interval(n_false, len(normals))
        fpr = n_false / len(normals)
    else:
        cut = float(np.nextafter(anomalies[(len(anomalies) - 1) // 2], -np.inf))
        fpr = fpr_low = fpr_high = 0.0
    above = int(np.sum(anomalies > cut))
    q = float(np.mean(scores > cut))
    tpr_low, tpr_high = wilson_interval(above, len(anomalies))
    estimate = _adjusted(q, fpr, above / len(anomalies))
    low = _adjusted(q, fpr_high, tpr_high)
    high = _adjusted(q, fpr_low, tpr_low)
    return estimate, (min(low, estimate), max(high, estimate))


def _adjusted(q: float, fpr: float, tpr: float) -> float:
    if tpr <= fpr:
        return 1.0
    return float(np.clip((q - fpr) / (tpr - fpr), MIN_RATE, 1.0))


def _best_cut(anomalies: np.ndarray, normals: np.ndarray) -> float:
    """The cut (just below a labelled score) with the highest balanced accuracy
    ``(tpr + 1 - fpr) / 2``; ties: the highest cut."""
    candidates = np.unique(np.r_[anomalies, normals])
    cuts = np.nextafter(candidates, -np.inf)
    tpr = (anomalies[None, :] > cuts[:, None]).mean(axis=1)
    fpr = (normals[None, :] > cuts[:, None]).mean(axis=1)
    balanced = tpr - fpr
    best = np.flatnonzero(balanced == balanced.max())[-1]
    return float(cuts[best])


def blended_rate(
    label_estimate: float, label_free: float, weight: float = LABEL_WEIGHT
) -> float:
    """The rate the threshold uses: the geometric blend ``label^w *
    label_free^(1 - w)`` with ``w = weight`` (`LABEL_WEIGHT`). The labels' rate errs by
    a factor that more labels do not shrink (normal rows above the cut count
    as anomalies; known anomalies that the score ranks low move the cut
    down), and the label-free rule errs independently of it, so a fixed blend
    in log space errs less than either."""
    low, high = max(label_estimate, MIN_RATE), max(label_free, MIN_RATE)
    return float(np.exp(weight * np.log(low) + (1 - weight) * np.log(high)))
