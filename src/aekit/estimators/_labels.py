"""Partial labels for `aekit.AnomalyDetector`: their encoding, the supervised
model that lets them shape the ranking, and the anomaly rate they imply.

Encoding: 1 = a known anomaly, 0 = a known normal row, -1 or NaN = unknown.

The supervised part follows XGBOD's design (Zhao & Hryniewicki, IJCNN 2018):
a tree ensemble on the raw features, the robust z-scores of the detector's
parts and its unsupervised score, trained on every training row (known
anomalies against the rest: most unlabelled rows are normal). It is an
`ExtraTreesClassifier` with class weights and leaves of at least
``FOREST_LEAF`` rows, so that one or a few known anomalies still shape large
regions of the feature space; it is kept as arrays (`aekit.estimators._trees`)
and saved in safetensors. The detector's score blends the ranks, among the
training rows, of the unsupervised score and of the forest's probability,
with the supervised share growing with the number of labelled anomalies.
See docs/anomaly.md, "Known anomalies".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import ExtraTreesClassifier

from aekit import thresholds
from aekit.data.chunks import ChunkedTable, is_chunked
from aekit.estimators._code_distance import _tensors
from aekit.estimators._label_rate import (
    LABEL_WEIGHT,
    blended_rate,
    label_rate,
    wilson_interval,
)
from aekit.estimators._trees import ForestArrays, forest_arrays
from aekit.metrics import usable_scale
from aekit.nn.labelled import part_scores

__all__ = [
    "LABEL_WEIGHT",
    "blend_weight",
    "blended_rate",
    "check_labels",
    "label_rate",
    "wilson_interval",
]

UNKNOWN = -1
BLEND_HALF = 1.0  # labelled anomalies at which the supervised rank weighs half
FOREST_TREES = 200
FOREST_LEAF = 20  # least rows in a leaf (chosen on the tuning sets)
MAX_RANK_REFERENCE = 4096  # training scores kept to rank new rows against
SPREAD_RTOL = 1e-9
FOREST_ATTRIBUTES = ("left", "right", "feature", "threshold", "value", "roots")


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
    """The supervised rank's share of the blend: ``k / (k + half)`` for ``k``
    labelled anomalies (0 without any)."""
    return n_anomalies / (n_anomalies + half)


def ecdf_rank(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The mid-rank of each value among the sorted ``reference`` values, in
    [0, 1] (ties count half)."""
    below = np.searchsorted(reference, values, "left")
    upto = np.searchsorted(reference, values, "right")
    return (below + upto) / (2.0 * len(reference))


def rank_reference(scores: np.ndarray) -> np.ndarray:
    """The sorted scores, or at most ``MAX_RANK_REFERENCE`` evenly spaced
    order statistics of them."""
    ordered = np.sort(np.asarray(scores, np.float64))
    if len(ordered) > MAX_RANK_REFERENCE:
        keep = np.linspace(0, len(ordered) - 1, MAX_RANK_REFERENCE).round()
        ordered = ordered[keep.astype(np.int64)]
    return ordered


@dataclass
class LabelModel:
    """The fitted supervised part: the raw features' mean and scale (empty
    when the raw features are not used), the forest, the sorted training
    scores (unsupervised, supervised) that new rows are ranked against, and
    the blend weight."""

    feature_mean: np.ndarray
    feature_scale: np.ndarray
    forest: ForestArrays
    reference: np.ndarray
    weight: float

    def ranks(
        self, raw: np.ndarray | None, part_z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ranks, among the training rows, of the unsupervised score and of
        the forest's probability: the two that `scores` blends."""
        features = label_features(raw, part_z, self.feature_mean, self.feature_scale)
        unsupervised = ecdf_rank(self.reference[0], part_z.max(axis=1))
        supervised = ecdf_rank(self.reference[1], self.forest.predict_proba(features))
        return unsupervised, supervised

    def scores(self, raw: np.ndarray | None, part_z: np.ndarray) -> np.ndarray:
        """``(1 - w) rank(unsupervised) + w rank(forest probability)``."""
        unsupervised, supervised = self.ranks(raw, part_z)
        return (1.0 - self.weight) * unsupervised + self.weight * supervised


def label_features(
    raw: np.ndarray | None, part_z: np.ndarray, mean: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """[standardised raw features (if any), parts' z-scores, their max]."""
    columns = [part_z, part_z.max(axis=1, keepdims=True)]
    if raw is not None and len(mean) and raw.shape[1] == len(mean):
        columns.insert(0, (raw - mean) / scale)
    return np.hstack(columns)


def fit_label_model(
    raw: np.ndarray | None,
    part_z: np.ndarray,
    labels: np.ndarray,
    half: float = BLEND_HALF,
    random_state: Any = None,
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
    forest = ExtraTreesClassifier(
        FOREST_TREES,
        min_samples_leaf=FOREST_LEAF,
        class_weight="balanced_subsample",
        random_state=random_state,
        n_jobs=1,
    )
    arrays = forest_arrays(forest.fit(features, target))
    train = arrays.predict_proba(features)
    reference = np.stack([rank_reference(part_z.max(axis=1)), rank_reference(train)])
    k = int(target.sum())
    return LabelModel(mean, scale, arrays, reference, blend_weight(k, half))


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
        *(f"label_tree_{name}_" for name in FOREST_ATTRIBUTES),
        "label_reference_",
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
        return hasattr(self, "label_tree_roots_")

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

    def _fit_labelled(
        self, X: Any, train: Any, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The unsupervised statistics from the rows that are not known
        anomalies, then the supervised part on all the rows; returns the
        training rows' blended scores and their unsupervised scores (which
        `_label_threshold` reads the labels' rate on)."""
        self._fit_latent_distance(train)  # type: ignore[attr-defined]
        errors, codes = self._errors_and_codes(X)  # type: ignore[attr-defined]
        raw = None
        if isinstance(X, np.ndarray) and np.isfinite(X).all():
            raw = np.asarray(X, np.float64)
        z = self._part_z(errors, codes, raw)
        seed = getattr(self, "random_state", None)
        fitted = fit_label_model(raw, z, labels, random_state=seed)
        self.label_feature_mean_ = fitted.feature_mean
        self.label_feature_scale_ = fitted.feature_scale
        for name in FOREST_ATTRIBUTES:
            setattr(self, f"label_tree_{name}_", getattr(fitted.forest, name))
        self.label_reference_ = fitted.reference
        self.label_weight_ = np.array([fitted.weight])
        self.n_labelled_anomalies_ = int((labels == 1).sum())
        self.n_labelled_normals_ = int((labels == 0).sum())
        return fitted.scores(raw, z), z.max(axis=1)

    def _label_model(self) -> LabelModel:
        forest = ForestArrays(
            *(getattr(self, f"label_tree_{name}_") for name in FOREST_ATTRIBUTES)
        )
        return LabelModel(
            self.label_feature_mean_,
            self.label_feature_scale_,
            forest,
            self.label_reference_,
            float(self.label_weight_[0]),
        )

    def _part_z(self, errors: Any, codes: Any, rows: Any) -> np.ndarray:
        """The robust z-scores of the unsupervised parts (``rows``: the raw
        rows, read by the feature tails)."""
        head = self._parts_head()  # type: ignore[attr-defined]
        rows_t = None if rows is None else _tensors(rows)[0]
        with torch.inference_mode():
            errors_t, codes_t = _tensors(errors, codes)
            return part_scores(head, errors_t, codes_t, rows_t).numpy()

    def _label_inputs(
        self, errors: Any, codes: Any, X: Any
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """What the supervised part reads of rows: their raw features (None
        when it does not use them) and the parts' z-scores."""
        rows = np.asarray(X, np.float64) if self._rows_used() else None
        z = self._part_z(errors, codes, rows)
        return (rows if self.label_feature_mean_.size > 0 else None), z

    def _labelled_scores(self, errors: Any, codes: Any, X: Any) -> np.ndarray:
        """The blended score of rows (after fitting with known anomalies)."""
        return self._label_model().scores(*self._label_inputs(errors, codes, X))

    def _labelled_head(self, parts: Any) -> Any:
        """No torch head: the supervised part is a tree ensemble."""
        raise TypeError(
            "an AnomalyDetector fitted with known anomalies (1 in y) has no "
            "inference graph and cannot be exported to ONNX: its supervised part "
            "is a tree ensemble scored by NumPy. Export a detector fitted without "
            "labels, or save this one with aekit's save (safetensors + JSON)."
        )

    def _label_threshold(
        self, labels: np.ndarray, unsupervised_scores: np.ndarray
    ) -> None:
        """``label_rate_`` and ``contamination_interval_``, the labels' rate and
        its interval (`label_rate`), and ``contamination_estimate_``, that rate
        blended (`blended_rate`) with the share that the label-free rule
        (`aekit.thresholds.auto_threshold`) flags on the same scores; with
        ``contamination="auto"`` the threshold flags that share of the
        training rows (at least the share of known anomalies), else the
        given ``contamination`` sets ``threshold_``. Both rates
        are read on the unsupervised training scores: the forest has seen
        the known anomalies, so its in-sample scores would bias the cut (see
        docs/anomaly.md)."""
        estimate, interval = label_rate(unsupervised_scores, labels)
        cut = thresholds.auto_threshold(unsupervised_scores)
        label_free = float(np.mean(unsupervised_scores > cut))
        # never below the share of rows the labels name as anomalies
        rate = max(blended_rate(estimate, label_free), float(np.mean(labels == 1)))
        self.contamination_estimate_ = rate
        self.contamination_interval_ = interval
        self.label_rate_ = estimate
        if self.contamination == "auto":
            self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - rate))
        else:
            self.threshold_ = self._threshold(self.decision_scores_)  # type: ignore[attr-defined]

    def _score_components(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The ranks (among the training rows) of the unsupervised score and
        of the supervised part's probability for the rows ``X`` (after fitting
        with known anomalies): the two that the score blends (for benchmarks
        comparing blend rules)."""
        X = self._validate(X)  # type: ignore[attr-defined]
        errors, codes = self._errors_and_codes(X)  # type: ignore[attr-defined]
        return self._label_model().ranks(*self._label_inputs(errors, codes, X))
