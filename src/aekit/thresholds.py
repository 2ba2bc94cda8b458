"""Thresholds on a vector of anomaly scores (higher = more anomalous) that need no
anomaly rate: the rules behind ``contamination="auto"``. Each function returns the
cut; a score strictly above it is labelled anomalous.

`auto_threshold` first asks `mixture_threshold` whether the scores hold a separate
minority group of high scores (a two-component Gaussian mixture, accepted at an
Ashman's D of 3.5 or more): anomalies that are a third of the rows and form their
own group hide from a cut on the spread (they inflate the standard deviation).
Otherwise it is `sigma_threshold`, the two-sigma rule ``mean + 2 * std``: the
anomalies' tail pulls the mean and standard deviation up, so the cut follows a
moderate tail; many far anomalies would inflate the standard deviation until they
hide themselves ("masking", Barnett & Lewis, "Outliers in Statistical Data",
1994), which is the case the mixture step takes.

Two robust cuts are kept for comparison and for other detectors' scores:
`shorth_threshold`, ``center + 3.5 * scale`` with the location and scale of the
shortest half of the scores (the "shorth", the 1-D least median of squares
estimator of Rousseeuw & Leroy, "Robust Regression and Outlier Detection", 1987),
and `mad_threshold`, the median/MAD cut of Iglewicz & Hoaglin ("How to Detect and
Handle Outliers", 1993). Far anomalies do not move them, but anomalies that form a
broad shoulder of the distribution widen the half they are measured on, and they
flag almost nothing there.

How this rule was chosen, and how often it lands near the true rate: docs/anomaly.md,
"How `contamination=\"auto\"` was chosen".
"""

from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture

from aekit.metrics import median_mad

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution, in standard deviations
AUTO_Z = 3.5  # modified z-score cut-off of Iglewicz & Hoaglin (1993)
SIGMAS = 2.0  # the two-sigma rule
SHORTH_TO_SIGMA = 0.7413  # 1 / (width of a normal's shortest half, 1.349 sigma)
MIN_SEPARATION = 3.5  # Ashman's D for `mixture_threshold` to accept a split
MIN_MIXTURE_SCORES = 20  # fewer scores: no mixture is fitted


def _scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(
            f"scores must be a non-empty vector of finite numbers, got {scores.size} "
            "values" + ("" if scores.size == 0 else " with NaN or infinity")
        )
    return scores


def mad_threshold(scores: np.ndarray, z: float = AUTO_Z) -> float:
    """``median + z * 1.4826 * MAD`` of ``scores`` (the modified z-score rule).

    Examples
    --------
    >>> mad_threshold(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    8.1891
    """
    median, mad = median_mad(_scores(scores))
    return float(median + z * MAD_TO_SIGMA * mad)


def shorth_threshold(scores: np.ndarray, z: float = AUTO_Z) -> float:
    """``center + z * scale``: the midpoint of the shortest interval holding half
    of the scores (``n // 2 + 1`` of them) and its width times 0.7413 (a normal
    distribution's standard deviation).

    Examples
    --------
    >>> shorth_threshold(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    7.1891
    """
    x = np.sort(_scores(scores))
    h = len(x) // 2 + 1
    widths = x[h - 1 :] - x[: len(x) - h + 1]
    i = int(np.argmin(widths))
    center = (x[i] + x[i + h - 1]) / 2
    return float(center + z * SHORTH_TO_SIGMA * widths[i])


def sigma_threshold(scores: np.ndarray, k: float = SIGMAS) -> float:
    """``mean + k * std`` of ``scores`` (the k-sigma rule).

    Examples
    --------
    >>> round(sigma_threshold(np.array([0.0, 0.0, 0.0, 4.0])), 3)
    4.464
    """
    scores = _scores(scores)
    return float(scores.mean() + k * scores.std())


def mixture_threshold(
    scores: np.ndarray, separation: float = MIN_SEPARATION
) -> float | None:
    """The cut of a two-component Gaussian mixture on ``scores`` when it finds
    a separate minority group of high scores, else None.

    The mixture is accepted when the upper component holds at most half of the
    scores and the two are separated by Ashman's D, ``sqrt(2) |m1 - m2| /
    sqrt(s1^2 + s2^2)``, of at least ``separation`` (Ashman et al., "Detecting
    bimodality in astronomical datasets", 1994: D > 2 for a clean split; the
    right tail of one skewed group gives D of 2-3, hence 3.5). The cut is then
    the highest score below the lowest one (above the lower component's mean)
    that the upper component more likely explains. Needs at least
    `MIN_MIXTURE_SCORES` scores.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = np.r_[rng.normal(size=650), rng.normal(6.0, 1.0, size=350)]
    >>> float(np.mean(scores > mixture_threshold(scores)))  # 35% anomalies
    0.349
    """
    x = np.sort(_scores(scores))
    if len(x) < MIN_MIXTURE_SCORES or x[0] == x[-1]:
        return None
    mixture = GaussianMixture(2, random_state=0).fit(x[:, None])
    mean = mixture.means_.ravel()
    std = np.sqrt(mixture.covariances_.ravel())
    low, high = np.argsort(mean)
    ashman = np.sqrt(2.0) * (mean[high] - mean[low]) / np.hypot(std[low], std[high])
    if ashman < separation or mixture.weights_[high] > 0.5:
        return None
    upper = (x > mean[low]) & (mixture.predict_proba(x[:, None])[:, high] > 0.5)
    if not upper.any():
        return None
    return float(x[x < x[upper][0]].max())


def auto_threshold(scores: np.ndarray) -> float:
    """`mixture_threshold` where the scores hold a separate group of high
    scores, else `sigma_threshold` (see the module docstring). All-equal scores
    give their common value: no row is flagged.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = np.r_[rng.normal(size=700), rng.normal(12.0, 1.0, size=300)]
    >>> float(np.mean(scores > auto_threshold(scores)))  # 30% far anomalies
    0.3
    """
    mixture = mixture_threshold(scores)
    if mixture is not None:
        return mixture
    return sigma_threshold(scores)
