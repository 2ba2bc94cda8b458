"""`AnomalyDetector`: outlier scores from an autoencoder, with PyOD's detector
contract (``decision_function``, ``predict`` 1 = anomaly, ``predict_proba``,
``decision_scores_``, ``threshold_``, ``labels_``).

The training data are assumed contaminated: a short first fit ranks the rows by
reconstruction error, the ``trim`` share with the largest errors is left out,
and the model is fitted afresh on the rest (a one-step version of robust
autoencoders, Zhou & Paffenroth, KDD 2017, https://doi.org/10.1145/3097983.3098052).
A row's score is the largest of the robust z-scores (median and MAD over the
training rows) of its parts: the log reconstruction error, a log distance of its
code from the codes of the best-reconstructed training rows (Mahalanobis with a
Ledoit-Wolf covariance, or the mean distance to the nearest codes), and, on
narrow tables, ECOD's per-feature tail probabilities (Li et al., TKDE 2022,
https://arxiv.org/abs/2201.00382), so that a row is as anomalous as its most
extreme part. ``contamination="auto"`` sets the threshold by
`aekit.thresholds.auto_threshold`.

Read more in docs/anomaly.md, which also tells how each default was chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aekit import _validation as v
from aekit import thresholds
from aekit.estimators._base import WrapsModel, chunkwise, fit_or_nothing
from aekit.estimators._calibrated import CalibratedMixin
from aekit.estimators._code_distance import (
    KNN_FLOOR,
    KNN_OWN,
    MAX_REFERENCE,
    N_NEIGHBORS,
    SPREAD_RTOL,
    knn_distance,
    shrunk_precision,
)
from aekit.estimators._detector_export import DetectorExportMixin
from aekit.estimators._detector_model import (
    DetectorModelMixin,
    _rows,
    default_detector_model,
)
from aekit.estimators._detector_score import ScoreHeadMixin
from aekit.estimators._feature_tails import (
    MAX_TAIL_FEATURES,
    MAX_TAIL_REFERENCE,
    FeatureTailsMixin,
    feature_tails,
)
from aekit.estimators._labels import LabelsMixin, check_labels
from aekit.estimators._outlier import BaseDetector
from aekit.registry import register
from aekit.training.callbacks import Callback

__all__ = [  # the score's helpers and constants are re-exported from here
    "AnomalyDetector",
    "default_detector_model",
    "feature_tails",
    "knn_distance",
    "shrunk_precision",
    "KNN_FLOOR",
    "KNN_OWN",
    "MAX_REFERENCE",
    "MAX_TAIL_FEATURES",
    "MAX_TAIL_REFERENCE",
    "N_NEIGHBORS",
    "SPREAD_RTOL",
]

TINY = np.finfo(np.float64).tiny
CONTAMINATION = v.Real(low_open=True, high=0.5, high_open=False)


@register("detector")
class AnomalyDetector(
    ScoreHeadMixin,
    FeatureTailsMixin,
    DetectorExportMixin,
    DetectorModelMixin,
    LabelsMixin,
    CalibratedMixin,
    WrapsModel,
    BaseDetector,
):
    """Anomaly detector scoring samples by an autoencoder's reconstruction error,
    the distance of their codes, and (on narrow tables) per-feature tails.

    Follows PyOD's contract, so it can replace a PyOD detector: ``decision_function``
    is higher for more anomalous samples, ``predict`` returns 1 for anomalies and 0
    for normal samples.

    Parameters
    ----------
    model : aekit autoencoder estimator or None, default=None
        Any estimator with ``reconstruction_error(X, scaled=True)`` (e.g.
        `aekit.Autoencoder`); a clone is fitted. None uses
        `default_detector_model`.
    contamination : float in (0, 0.5] or "auto", default=0.1
        Expected fraction of anomalies, which sets ``threshold_`` as the
        ``1 - contamination`` quantile of the training scores. "auto" needs no
        rate: `aekit.thresholds.auto_threshold` of the (log) training scores.
    trim : float in [0, 0.5), default=0.3
        Fraction of training samples with the largest reconstruction error (after
        a short first fit) left out of the final fit: robustness to anomalies in
        the training data. 0 fits once.
    latent_distance : bool, default=True
        Add the distance of the sample's code from the codes of the training rows
        the final model reconstructs best to the reconstruction error: the score
        is the largest of the parts' robust z-scores. False scores by
        reconstruction error alone (and ignores ``feature_tails``).
    code_distance : {"mahalanobis", "knn"}, default="mahalanobis"
        With ``latent_distance``: the Mahalanobis distance from those codes' mean,
        or the mean distance to the nearest 10 of them other than the row's own
        (standardised; for normal rows in several clusters).
    feature_tails : bool or "auto", default="auto"
        With ``latent_distance``: add ECOD's per-feature tail probabilities
        (`aekit.nn.graph.FeatureTails` of the training rows) as one more part,
        ``log(1 + score)``, so that extremes of single features count where an
        autoencoder has little to compress. "auto" adds it to tables of at most
        20 columns; never for a model fitted on a mixed-type table.
    ranking_epochs : float in (0, 1], default=0.25
        The first (ranking) fit's share of the model's ``max_epochs`` when
        trimming; 1 gives a full-length first fit.
    random_state : int or None, default=None
        Seed of the default model, or of a given ``model`` whose own
        ``random_state`` is None (as scikit-learn's meta-estimators do).
    callbacks : list of aekit.callbacks.Callback or None, default=None
        Added to the model's own callbacks for its fits: the ranking fit, then
        the final one (each begins and ends training; a `MaxTime` budget applies
        to each, a `HistoryLogger` file ends up with the final fit's epochs).
        Not saved with the model.

    Attributes
    ----------
    model_ : estimator
        The fitted autoencoder (after trimming).
    decision_scores_ : ndarray of shape (n_samples,)
        Scores of the training samples.
    threshold_ : float
        Scores above it are labelled anomalous.
    labels_ : ndarray of shape (n_samples,)
        0/1 labels of the training samples.
    n_trimmed_ : int
        Training samples left out of the second fit.
    code_mean_, code_precision_ : ndarray (``code_distance="mahalanobis"``)
        Mean and pseudo-inverse Ledoit-Wolf covariance of those training rows'
        codes.
    reference_codes_, code_scale_ : ndarray (``code_distance="knn"``)
        Those training rows' codes divided by ``code_scale_``, their standard
        deviation per dimension.
    min_distance_ : float (``code_distance="knn"``)
        The least neighbour distance of a training row (at least 1e-3): the
        code part is ``log(1 + log(distance / min_distance_))``.
    feature_tails_ : bool (with ``latent_distance``)
        Whether the score has the feature-tails part ("auto" resolved).
    tail_reference_, tail_skew_sign_ : ndarray (with ``feature_tails_``)
        Each feature's sorted training values (at most 4,096 order statistics)
        and the sign of its skewness.
    score_center_, score_scale_ : ndarray of shape (2,) or (3,)
        Median and MAD over the training rows of the parts (with
        ``latent_distance``): the log reconstruction error, the log code
        distance and, with ``feature_tails_``, the log tail score.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only for DataFrame input)

    Examples
    --------
    >>> import numpy as np, aekit
    >>> rng = np.random.default_rng(0)
    >>> basis = rng.normal(size=(2, 16))
    >>> normal = rng.normal(size=(300, 2)) @ basis + 0.1 * rng.normal(size=(300, 16))
    >>> odd = rng.normal(size=(15, 16))  # off the plane the normal rows lie on
    >>> X = np.vstack([normal, odd])
    >>> det = aekit.AnomalyDetector(contamination=0.05, random_state=0).fit(X)
    >>> det.predict(X).shape
    (315,)
    >>> scores = det.decision_function(X)
    >>> bool(scores[300:].mean() > scores[:300].mean())  # the odd rows score higher
    True
    """

    _accepts_tables = True  # (with a model that takes them, as the default)
    _parameter_constraints: dict[str, v.Constraint] = {
        "trim": v.Real(high=0.5),
        "latent_distance": v.Bool(),
        "code_distance": v.Choice(("knn", "mahalanobis")),
        "feature_tails": v.Auto(v.Bool()),
        "ranking_epochs": v.Real(low_open=True, high=1.0, high_open=False),
        "callbacks": v.Optional(v.InstancesOf(Callback)),
    }

    def __init__(
        self,
        model: Any = None,
        *,
        contamination: float | str = 0.1,
        trim: float = 0.3,
        latent_distance: bool = True,
        code_distance: str = "mahalanobis",
        feature_tails: bool | str = "auto",
        ranking_epochs: float = 0.25,
        random_state: int | None = None,
        callbacks: list[Callback] | None = None,
    ) -> None:
        self.model = model
        self.contamination = contamination
        self.trim = trim
        self.latent_distance = latent_distance
        self.code_distance = code_distance
        self.feature_tails = feature_tails
        self.ranking_epochs = ranking_epochs
        self.random_state = random_state
        self.callbacks = callbacks

    def _check_param_rules(self) -> None:
        """The checks a constraint table cannot express: ``contamination`` is a
        float or "auto", and ``model`` has the methods the score needs."""
        if isinstance(self.contamination, str) and self.contamination != "auto":
            raise ValueError(
                "contamination must be a float in (0, 0.5] or 'auto', got "
                f"{self.contamination!r}."
            )
        if self.contamination != "auto":
            CONTAMINATION.check("contamination", self.contamination)
        needs = ["reconstruction_error"] + ["transform"] * bool(self.latent_distance)
        missing = [name for name in needs if not hasattr(self.model, name)]
        if self.model is not None and missing:
            raise TypeError(
                "model must be an aekit autoencoder estimator with "
                f"{' and '.join(needs)} (e.g. aekit.Autoencoder), got "
                f"{type(self.model).__name__}, which lacks {missing[0]}."
            )

    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        """Fit the autoencoder on ``X``, trim, refit, and set
        ``decision_scores_``, ``threshold_`` and ``labels_``.

        ``y`` (optional) holds partial labels, one per row: 1 = a known
        anomaly, 0 = a known normal row, -1 or NaN = unknown. Known anomalies
        are left out of the autoencoder's training rows; with at least one,
        a supervised model on the features and the score's parts is blended
        into the score, and with ``contamination="auto"`` the labels move the
        threshold (see docs/anomaly.md, "Known anomalies"). ``y=None``, or
        labels with no known anomaly, give the unsupervised detector."""
        with fit_or_nothing(self):
            v.check_params(self)
            self._forget_labels()
            X = self._fit_input(X)
            labels = check_labels(y, len(X))
            if labels is not None and not (labels == 1).any():
                labels = None  # no known anomaly: the unsupervised detector
            train = X if labels is None else self._normal_rows(X, labels)
            n_trim = int(self.trim * len(train))
            trimming = n_trim > 0 and len(train) - n_trim >= 2
            model = self._fit_model(train, self.ranking_epochs if trimming else 1.0)
            if trimming:
                errors = model.reconstruction_error(train, scaled=True)
                n_keep = len(train) - n_trim
                keep = np.sort(np.argsort(errors, kind="stable")[:n_keep])
                model = self._fit_model(_rows(train, keep))
            else:
                n_trim = 0
            self.model_ = model
            self.n_trimmed_ = n_trim
            if labels is not None:
                self.decision_scores_, unsupervised = self._fit_labelled(
                    X, train, labels
                )
            elif self.latent_distance:
                self.decision_scores_ = self._fit_latent_distance(X)
            else:
                self.decision_scores_ = self._scores(X)
            if labels is None:
                self.threshold_ = self._threshold(self.decision_scores_)
            else:
                self._label_threshold(labels, unsupervised)
            self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def _threshold(self, scores: np.ndarray) -> float:
        if self.contamination == "auto":
            if self.latent_distance:  # the score is already on a log scale
                return thresholds.auto_threshold(scores)
            log_cut = thresholds.auto_threshold(np.log(np.maximum(scores, TINY)))
            return float(np.exp(log_cut))
        return float(np.quantile(scores, 1.0 - float(self.contamination)))

    def _scores(self, X: np.ndarray) -> np.ndarray:
        errors, codes = self._errors_and_codes(X)
        if not self.latent_distance:
            return errors
        return self._latent_scores(errors, codes, X)

    @chunkwise
    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores, shape (n_samples,); higher means more anomalous. With
        ``latent_distance``, the largest of the robust z-scores of the log
        reconstruction error, the log code distance and (with
        ``feature_tails_``) the log tail score (about 0 for a typical training
        row); without it, the mean squared reconstruction error in the model's
        scaled space."""
        return self._scores(self._validate(X))

    @chunkwise
    def explain(self, X: Any) -> Any:
        """Per-feature squared reconstruction errors in the scaled space, shape
        (n_samples, n_features): which features drive each sample's
        reconstruction error (their mean over features; the whole score when
        ``latent_distance=False``). Plot one row with
        `aekit.plotting.feature_errors`.

        For a model fitted on a mixed-type table, each column's share of the
        row's reconstruction error (squared error of a numeric cell,
        cross-entropy of a categorical one, weighted; 0 for missing cells),
        which sums to it; a DataFrame with the table's columns and index when
        the model was fitted on a DataFrame."""
        X = self._validate(X)
        if self._table_model():
            shares = self.model_.column_errors(X)
            if hasattr(self, "feature_names_in_"):
                index = X.index if isinstance(X, pd.DataFrame) else None
                return pd.DataFrame(shares, columns=self.feature_names_in_, index=index)
            return shares
        scale = getattr(self.model_, "input_scale_", 1.0)
        diff = (np.asarray(self.model_.reconstruct(X), np.float64) - X) / scale
        return diff**2

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells: the model masks them
        return tags
