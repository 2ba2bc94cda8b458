"""Thresholds on a vector of anomaly scores (higher = more anomalous) that need no
anomaly rate: the rules behind ``contamination="auto"``. Each function returns the
cut; a score strictly above it is labelled anomalous.

`auto_threshold` is the lower of two classical cuts, each of which fails where the
other holds:

- `mad_threshold`, the modified z-score rule of Iglewicz & Hoaglin ("How to Detect
  and Handle Outliers", 1993): ``median + 3.5 * 1.4826 * MAD``. Median and MAD
  barely move when up to about 40% of the rows are anomalies far from the rest,
  so far anomalies are found at any contamination; but anomalies that form a
  broad shoulder of the distribution (a third of the rows, moderately shifted)
  widen the MAD and nothing is flagged.
- `sigma_threshold`, the two-sigma rule ``mean + 2 * std``: the anomalies' tail
  pulls the mean and standard deviation up, so the cut follows a moderate tail;
  but many far anomalies inflate the standard deviation until they hide
  themselves ("masking", Barnett & Lewis, "Outliers in Statistical Data", 1994).

Taking the lower cut (a row is flagged when either rule flags it) keeps both
strengths. Chosen on the training scores of `AnomalyDetector` on the ADBench
tuning sets (`bench/auto_threshold.py --family adbench`): the training label rate
was within a factor 2 of the true rate on 10 of 18 sets, against 7 for the MAD
rule alone, 9 for two-sigma alone, and 10 at best for PyThresh's thresholders
(FILTER, DSN; PyThresh, https://github.com/KulikDM/pythresh).
"""

from __future__ import annotations

import numpy as np

from aekit.metrics import median_mad

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution, in standard deviations
AUTO_Z = 3.5  # modified z-score cut-off of Iglewicz & Hoaglin (1993)
SIGMAS = 2.0  # the two-sigma rule


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


def sigma_threshold(scores: np.ndarray, k: float = SIGMAS) -> float:
    """``mean + k * std`` of ``scores`` (the k-sigma rule).

    Examples
    --------
    >>> round(sigma_threshold(np.array([0.0, 0.0, 0.0, 4.0])), 3)
    4.464
    """
    scores = _scores(scores)
    return float(scores.mean() + k * scores.std())


def auto_threshold(scores: np.ndarray) -> float:
    """The lower of `mad_threshold` and `sigma_threshold` (see the module
    docstring). All-equal scores give their common value: no row is flagged.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scores = np.r_[rng.normal(size=700), rng.normal(12.0, 1.0, size=300)]
    >>> float(np.mean(scores > auto_threshold(scores)))  # 30% far anomalies
    0.3
    """
    return min(mad_threshold(scores), sigma_threshold(scores))
