"""Partial labels for `aekit.AnomalyDetector`: their encoding, the supervised
model that lets them shape the ranking, and the anomaly rate they imply.

Encoding: 1 = a known anomaly, 0 = a known normal row, -1 or NaN = unknown.

The supervised model is XGBOD's design (Zhao & Hryniewicki, IJCNN 2018) with a
logistic regression in place of boosting, so that its parameters are arrays
(saved in safetensors, exported to ONNX): on the raw features, the robust
z-scores of the detector's parts and its unsupervised score, trained on every
training row, the unlabelled ones as normal with a low weight (positive and
unlabelled learning: most unlabelled rows are normal). The detector's score
blends the two, with the supervised share growing with the number of labelled
anomalies. See docs/anomaly.md, "Known anomalies".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression

from aekit.data.chunks import ChunkedTable, is_chunked
from aekit.metrics import median_mad, usable_scale
from aekit.nn.graph import PartsScore
from aekit.nn.labelled import LabelledScore, part_scores

UNKNOWN = -1
BLEND_HALF = 2.0  # labelled anomalies at which the supervised score weighs half
UNLABELLED_WEIGHT = 0.1  # weight of an unlabelled row (as a normal one)
PENALTY_C = 1.0  # inverse L2 strength of the logistic regression
RATE_HALF = 0.0  # shrinkage of the labels' rate (0: none; chosen on tuning sets)
WILSON_LEVEL = 0.95
MIN_RATE = 1e-6  # rates are kept positive (the shrinkage takes logs)
SPREAD_RTOL = 1e-9


def check_labels(y: Any, n_samples: int) -> np.ndarray | None:
    """``y`` as an int64 vector of 1, 0 and -1 (NaN becomes -1); None for
    ``y=None``. Raises ValueError for another length or other values."""
    if y is None:
        return None
    values = np.asarray(y)
    if values.ndim != 1 or len(values) != n_samples:
        raise ValueError(
            f"y must be a vector of one label per row of X ({n_samples}), got "
            f"shape {values.shape}. Use 1 for a known anomaly, 0 for a known "
            "normal row, -1 or NaN for unknown."
        )
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "y must hold the numbers 1 (known anomaly), 0 (known normal) and -1 "
            f"or NaN (unknown), got values such as {values[:3].tolist()!r}."
        ) from None
    numbers = np.where(np.isnan(numbers), UNKNOWN, numbers)
    bad = ~np.isin(numbers, (1.0, 0.0, UNKNOWN))
    if bad.any():
        raise ValueError(
            "y must hold 1 (known anomaly), 0 (known normal) and -1 or NaN "
            f"(unknown), got {np.unique(numbers[bad])[:5].tolist()}."
        )
    labels = numbers.astype(np.int64)
    if (labels != UNKNOWN).all() and len(np.unique(labels)) == 2:
        warnings.warn(
            "y labels every row of X, so the detector is fitted as a supervised "
            "model of these labels. To measure the unsupervised detector against "
            "labels (e.g. in cross-validation), fit it on X alone; to use a few "
            "known labels, mark the other rows -1 or NaN.",
            UserWarning,
            stacklevel=3,
        )
    if (labels != 1).sum() < 2:
        raise ValueError(
            f"y labels {int((labels == 1).sum())} of the {n_samples} rows as "
            "anomalies: at least 2 rows must be normal or unknown to train the "
            "detector's normal model."
        )
    return labels


def blend_weight(n_anomalies: int, half: float = BLEND_HALF) -> float:
    """The supervised score's share of the blend: ``k / (k + half)`` for ``k``
    labelled anomalies (0 without any)."""
    return n_anomalies / (n_anomalies + half)


@dataclass
class LabelModel:
    """The fitted supervised part: the raw features' mean and scale (empty
    when the raw features are not used), the logistic regression's
    coefficients and intercept, the robust centre and scale of its logit over
    the training rows, and the blend weight."""

    feature_mean: np.ndarray
    feature_scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    weight: np.ndarray

    def logit(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef + self.intercept[0]


def label_features(
    raw: np.ndarray | None, part_z: np.ndarray, mean: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """[standardised raw features (if any), parts' z-scores, their max]."""
    columns = [part_z, part_z.max(axis=1, keepdims=True)]
    if raw is not None and raw.shape[1] == len(mean):
        columns.insert(0, (raw - mean) / scale)
    return np.hstack(columns)


def fit_label_model(
    raw: np.ndarray | None,
    part_z: np.ndarray,
    labels: np.ndarray,
    half: float = BLEND_HALF,
    unlabelled_weight: float = UNLABELLED_WEIGHT,
) -> LabelModel:
    """Fit the supervised part on the training rows (``raw``: their numeric
    features, or None to use the parts alone; ``part_z``: the parts' robust
    z-scores; ``labels``: `check_labels`'s encoding, with at least one 1)."""
    mean, scale = np.zeros(0), np.zeros(0)
    if raw is not None:
        mean = raw.mean(axis=0)
        size = np.abs(raw).max(axis=0, initial=0.0)
        scale = usable_scale(raw.std(axis=0), size, SPREAD_RTOL)
    features = label_features(raw, part_z, mean, scale)
    target = (labels == 1).astype(np.int64)
    weights = np.where(labels == UNKNOWN, unlabelled_weight, 1.0)
    # the labelled anomalies weigh as much as the rest together
    weights[target == 1] = weights[target == 0].sum() / target.sum()
    model = LogisticRegression(C=PENALTY_C, max_iter=1000)
    model.fit(features, target, sample_weight=weights / weights.mean())
    coef, intercept = model.coef_[0].astype(np.float64), model.intercept_
    logit = features @ coef + intercept[0]
    center, spread = median_mad(logit)
    spread = usable_scale(np.atleast_1d(spread), np.atleast_1d(center), SPREAD_RTOL)
    k = int(target.sum())
    return LabelModel(
        mean,
        scale,
        coef,
        np.asarray(intercept, np.float64),
        np.atleast_1d(np.float64(center)),
        np.asarray(spread, np.float64).reshape(1),
        np.array([blend_weight(k, half)]),
    )


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


def shrunk_rate(label_estimate: float, unsupervised: float, n_anomalies: int) -> float:
    """The rate the threshold uses: the geometric blend ``label^l *
    unsupervised^(1 - l)`` with ``l = k / (k + RATE_HALF)``, so few labels
    move the label-free rule's rate a little and many replace it."""
    share = n_anomalies / (n_anomalies + RATE_HALF)
    low, high = max(label_estimate, MIN_RATE), max(unsupervised, MIN_RATE)
    return float(np.exp(share * np.log(low) + (1 - share) * np.log(high)))


class LabelsMixin:
    """`aekit.AnomalyDetector`'s side of the labels: leaving known anomalies
    out of training, the supervised part (``label_*_`` attributes) and the
    threshold and rate the labels imply."""

    latent_distance: bool
    contamination: Any
    decision_scores_: np.ndarray
    threshold_: float
    LABEL_ATTRIBUTES = (
        "label_feature_mean_",
        "label_feature_scale_",
        "label_coef_",
        "label_intercept_",
        "label_center_",
        "label_scale_",
        "label_weight_",
        "n_labelled_anomalies_",
        "n_labelled_normals_",
        "contamination_estimate_",
        "contamination_interval_",
        "label_rate_",
    )

    def _forget_labels(self) -> None:
        """Drop a previous fit's label attributes (a refit without labels)."""
        for name in self.LABEL_ATTRIBUTES:
            vars(self).pop(name, None)

    def _labelled(self) -> bool:
        return hasattr(self, "label_coef_")

    def _rows_used(self) -> bool:
        """Whether the score head reads the raw rows (tails, or the supervised
        part's raw features)."""
        raw = self._labelled() and self.label_feature_mean_.size > 0
        return bool(self._tails_used()) or raw  # type: ignore[attr-defined]

    def _normal_rows(self, X: Any, labels: np.ndarray) -> Any:
        """The training rows that are not known anomalies."""
        if not self.latent_distance:
            raise ValueError(
                "fitting with known anomalies (1 in y) needs latent_distance=True "
                "(the supervised part reads the score's parts); got "
                "latent_distance=False."
            )
        if is_chunked(X) or isinstance(X, ChunkedTable):
            raise ValueError(
                "labels (y) need the training rows in memory (an array or a "
                f"DataFrame), got a table on disk ({type(X).__name__})."
            )
        keep = np.flatnonzero(labels != 1)
        return X.iloc[keep] if isinstance(X, pd.DataFrame) else X[keep]

    def _fit_labelled(self, X: Any, train: Any, labels: np.ndarray) -> np.ndarray:
        """The unsupervised statistics from the rows that are not known
        anomalies, then the supervised part on all the rows; returns the
        training rows' (blended) scores."""
        self._fit_latent_distance(train)  # type: ignore[attr-defined]
        errors, codes = self._errors_and_codes(X)  # type: ignore[attr-defined]
        raw = None
        if isinstance(X, np.ndarray) and np.isfinite(X).all():
            raw = np.asarray(X, np.float64)
        rows = None if raw is None else torch.from_numpy(raw)
        head = self._parts_head()  # type: ignore[attr-defined]
        errors_t, codes_t = _tensors(errors, codes)
        with torch.inference_mode():
            z = part_scores(head, errors_t, codes_t, rows).numpy()
        fitted = fit_label_model(raw, z, labels)
        self.label_feature_mean_ = fitted.feature_mean
        self.label_feature_scale_ = fitted.feature_scale
        self.label_coef_ = fitted.coef
        self.label_intercept_ = fitted.intercept
        self.label_center_ = fitted.center
        self.label_scale_ = fitted.scale
        self.label_weight_ = fitted.weight
        self.n_labelled_anomalies_ = int((labels == 1).sum())
        self.n_labelled_normals_ = int((labels == 0).sum())
        return self._latent_scores(errors, codes, X)  # type: ignore[attr-defined]

    def _labelled_head(self, parts: PartsScore) -> LabelledScore:
        return LabelledScore(
            parts,
            *_tensors(
                self.label_feature_mean_,
                self.label_feature_scale_,
                self.label_coef_,
                self.label_intercept_,
                self.label_center_,
                self.label_scale_,
                self.label_weight_,
            ),
        )

    def _label_threshold(self, labels: np.ndarray) -> None:
        """``label_rate_`` and ``contamination_interval_``, the labels' rate and
        its interval (`label_rate`), and ``contamination_estimate_``, that rate
        shrunk by `shrunk_rate` toward the share the label-free rule flags (or
        the given ``contamination``); with ``contamination="auto"`` the
        threshold flags that share of the training rows."""
        scores = self.decision_scores_
        estimate, interval = label_rate(scores, labels)
        unsupervised = float(np.mean(scores > self.threshold_))
        if self.contamination != "auto":
            unsupervised = float(self.contamination)
        rate = shrunk_rate(estimate, unsupervised, int((labels == 1).sum()))
        self.contamination_estimate_ = rate
        self.contamination_interval_ = interval
        self.label_rate_ = estimate
        if self.contamination == "auto":
            self.threshold_ = float(np.quantile(scores, 1.0 - rate))

    def _score_components(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The unsupervised score and the supervised part's robust z-score of
        the rows ``X`` (after fitting with known anomalies): the two that the
        score blends (for benchmarks comparing blend rules)."""
        X = self._validate(X)  # type: ignore[attr-defined]
        errors, codes = self._errors_and_codes(X)  # type: ignore[attr-defined]
        head = self._score_head()  # type: ignore[attr-defined]
        rows = _tensors(X)[0] if self._rows_used() else None
        errors_t, codes_t = _tensors(errors, codes)
        with torch.inference_mode():
            z = part_scores(head.parts, errors_t, codes_t, rows)
            unsupervised = z.amax(dim=1)
            total = head(errors_t, codes_t, rows)
        w = float(self.label_weight_[0])
        supervised = (total - (1.0 - w) * unsupervised) / w
        return unsupervised.numpy(), supervised.numpy()


def _tensors(*arrays: Any) -> list[torch.Tensor]:
    return [torch.from_numpy(np.asarray(a, np.float64)) for a in arrays]
