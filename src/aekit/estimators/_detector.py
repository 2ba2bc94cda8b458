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

import json
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.covariance import ledoit_wolf
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from aekit import _validation as v
from aekit import defaults, thresholds
from aekit.data.chunks import ChunkedTable, is_chunked, open_table
from aekit.data.schema import needs_schema
from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._base import (
    WrapsModel,
    check_table_features,
    chunkwise,
    fit_or_nothing,
)
from aekit.estimators._calibrated import CalibratedMixin
from aekit.estimators._labels import LabelsMixin, check_labels
from aekit.estimators._outlier import BaseDetector
from aekit.metrics import median_mad, usable_scale
from aekit.nn import LatentDistanceScore, NeighbourDistanceScore, ScoredGraph
from aekit.nn.graph import FeatureTails, neighbour_distances
from aekit.registry import register
from aekit.training.callbacks import Callback

TINY = np.finfo(np.float64).tiny
N_NEIGHBORS = 10  # codes a "knn" code distance averages over
MAX_REFERENCE = 4096  # reference codes kept for the "knn" code distance
MAX_TAIL_REFERENCE = 4096  # order statistics kept per feature for the tails
KNN_FLOOR = 1e-3  # least ``min_distance_`` (in code standard deviations)
KNN_OWN = 1e-3  # a reference code this close to a row's code is the row's own
SPREAD_RTOL = 1e-9  # a spread below this share of the values' size is rounding
CONTAMINATION = v.Real(low_open=True, high=0.5, high_open=False)
MAX_TAIL_FEATURES = 20  # feature_tails="auto": the tails part up to this width


def default_detector_model(random_state: Any = None) -> Autoencoder:
    """The autoencoder `AnomalyDetector` uses when ``model=None``: one hidden layer
    of 64 units and a 32-unit code, with batch norm and dropout 0.2 (with dropout
    in the way, a wide code does not learn the identity, so rare rows still stand
    out); large batches, up to 20 epochs and early stopping keep training short
    (see docs/anomaly.md for how these were chosen)."""
    return Autoencoder(
        hidden_dims=(64,),
        latent_dim=32,
        batch_norm=True,
        dropout=0.2,
        batch_size=256,
        max_epochs=20,
        patience=5,
        scaling="standard",
        loss="mse",
        pca_path=False,
        random_state=random_state,
    )


def knn_distance(
    queries: np.ndarray, reference: np.ndarray, k: int = N_NEIGHBORS
) -> np.ndarray:
    """Mean Euclidean distance from each query row to its ``k`` nearest rows of
    ``reference`` other than itself (`aekit.nn.graph.neighbour_distances`, in
    float64): the code distance of ``code_distance="knn"``."""
    query_rows, reference_rows = _tensors(queries, reference)
    with torch.inference_mode():
        distances = neighbour_distances(query_rows, reference_rows, k, KNN_OWN)
    return distances.numpy()


def shrunk_precision(codes: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of the Ledoit-Wolf covariance of ``codes`` (rows): the
    sample covariance shrunk towards a multiple of the identity by the amount
    that minimises the expected squared error (Ledoit & Wolf, "A well-conditioned
    estimator for large-dimensional covariance matrices", 2004). With few rows
    per code dimension the sample covariance fits the rows it was computed on:
    rows outside them (the trimmed ones, new rows) then get inflated distances
    (see docs/anomaly.md). Codes that are one point (copies of a row) get no
    distance at all: their covariance is rounding error."""
    none = np.zeros((codes.shape[1], codes.shape[1]))
    if len(codes) < 2:
        return none
    cov = np.atleast_2d(ledoit_wolf(codes)[0])
    if np.trace(cov) <= 1e-12 * max(1.0, float(np.square(codes).mean())):
        return none  # the codes are one point (copies of a row): rounding spread
    return np.linalg.pinv(cov, rcond=1e-6, hermitian=True)


def feature_tails(X: np.ndarray, max_reference: int = MAX_TAIL_REFERENCE) -> Any:
    """`aekit.nn.graph.FeatureTails` (float64) of the rows ``X``: each feature's
    sorted values (beyond ``max_reference`` rows, that many evenly spaced order
    statistics, the least and the largest among them) and the sign of its
    skewness (0 for a feature constant up to rounding)."""
    values = np.sort(np.asarray(X, np.float64), axis=0)
    if len(values) > max_reference:
        ranks = np.round(np.linspace(0, len(values) - 1, max_reference))
        values = values[ranks.astype(np.int64)]
    centred = X - X.mean(axis=0)
    spread = centred.std(axis=0)
    size = np.abs(X).max(axis=0, initial=0.0)
    flat = spread <= SPREAD_RTOL * np.maximum(size, 1e-300)
    skewness = (centred**3).mean(axis=0) / np.where(flat, 1.0, spread) ** 3
    sign = np.where(flat, 0.0, np.sign(skewness))
    return FeatureTails(*_tensors(values, sign))


@register("detector")
class AnomalyDetector(LabelsMixin, CalibratedMixin, WrapsModel, BaseDetector):
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
                self.decision_scores_ = self._fit_labelled(X, train, labels)
            elif self.latent_distance:
                self.decision_scores_ = self._fit_latent_distance(X)
            else:
                self.decision_scores_ = self._scores(X)
            self.threshold_ = self._threshold(self.decision_scores_)
            if labels is not None:
                self._label_threshold(labels)
            self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def _fit_model(self, X: np.ndarray, epochs_fraction: float = 1.0) -> Any:
        if self.model is None:
            model = default_detector_model(self.random_state)
        else:
            model = clone(self.model)
            params = model.get_params()
            if "random_state" in params and params["random_state"] is None:
                model.set_params(random_state=self.random_state)  # as sklearn does
        if self.callbacks:
            own = model.get_params().get("callbacks") or []
            model.set_params(callbacks=[*own, *self.callbacks])
        if epochs_fraction != 1.0 and "max_epochs" in model.get_params():
            full = model.max_epochs
            if full == "auto":  # what the model's own fit would resolve
                p = model.get_params()
                n_train = defaults.training_rows(
                    len(X), p["validation_fraction"], p["early_stopping"]
                )
                _, full, _ = defaults.training_budget(
                    n_train, p["batch_size"], full, "auto"
                )
            epochs = max(1, round(epochs_fraction * int(full)))
            model.set_params(max_epochs=epochs)  # a ranking fit, then discarded
        return model.fit(X)

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
        self._fit_tails(X)
        # the score head's parts need no centre or scale yet
        n_parts = 3 if self._tails_used() else 2
        self.score_center_, self.score_scale_ = np.zeros(n_parts), np.ones(n_parts)
        with torch.inference_mode():
            head = self._parts_head()
            errors_t, codes_t = _tensors(errors, codes)
            if isinstance(head, NeighbourDistanceScore):
                known = torch.from_numpy(distances)
                parts = head.parts(errors_t, codes_t, known)
            else:
                parts = head.parts(errors_t, codes_t)
            if self._tails_used():
                parts = torch.cat([parts, self._tail_parts(X, head)], dim=1)
            self.score_center_, scale = median_mad(parts.numpy())
            # (copies of one row have a MAD of rounding error: no scale)
            self.score_scale_ = usable_scale(scale, self.score_center_, SPREAD_RTOL)
            return self._parts_head().combine(parts).numpy()

    def _tails_used(self) -> bool:
        """Whether the score has the feature-tails part: asked for, with
        ``latent_distance``, on a numeric table (a model fitted on a mixed-type
        table has no numeric rows to take tails of)."""
        return bool(self.feature_tails_) and bool(self.latent_distance)

    def _fit_tails(self, X: Any) -> None:
        """Resolve ``feature_tails_`` (``"auto"``: at most `MAX_TAIL_FEATURES`
        columns; never for a model fitted on a mixed-type table, which has no
        numeric rows to take tails of); then each feature's reference values
        (sorted) and skewness sign, from the training rows (at most
        `MAX_TAIL_REFERENCE` order statistics, or for a table on disk a seeded
        sample of that many rows)."""
        wanted = self.feature_tails
        if wanted == "auto":
            wanted = self.n_features_in_ <= MAX_TAIL_FEATURES
        self.feature_tails_ = bool(wanted) and not self._table_model()
        if not self._tails_used():
            return
        if isinstance(X, ChunkedTable):
            rate = min(1.0, MAX_TAIL_REFERENCE / max(len(X), 1))
            rng = np.random.default_rng(self.random_state)
            blocks = [np.asarray(b, np.float64) for b in X.frames()]
            X = np.concatenate([b[rng.random(len(b)) < rate] for b in blocks])
        tails = feature_tails(np.asarray(X, np.float64))
        self.tail_reference_ = tails.reference.numpy()
        self.tail_skew_sign_ = tails.skew_sign.numpy()

    def _tail_parts(self, X: Any, head: Any) -> torch.Tensor:
        """The tail part of the rows ``X`` (an array, or a table on disk read
        chunk by chunk), (n, 1)."""
        blocks = X.frames() if isinstance(X, ChunkedTable) else [X]
        return torch.cat([head.tail_part(*_tensors(b)) for b in blocks])

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
        `inference_graph` (and so `to_onnx`) puts after the model (after
        fitting with known anomalies, the blend with the supervised score)."""
        head = self._parts_head()
        return self._labelled_head(head) if self._labelled() else head

    def _parts_head(self) -> LatentDistanceScore | NeighbourDistanceScore:
        """The unsupervised score's head: the parts and their largest z-score."""
        tails = None
        if self._tails_used():
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
        rows = _tensors(X)[0] if self._rows_used() else None
        return self._score_head()(*_tensors(errors, codes), rows).numpy()

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

    def _fit_input(self, X: Any) -> Any:
        """The training data: a validated array, a table on disk (numeric
        columns; every pass over it reads it chunk by chunk), or a mixed-type
        table (a DataFrame with categorical columns or missing cells, an array
        with NaN) as it is, for the model to encode."""
        if is_chunked(X):
            table = open_table(X)
            check_table_features(self, table, reset=True)
            return table.unnamed()  # the model sees arrays, as after validate_data
        if needs_schema(X):
            validate_data(self, X, skip_check_array=True)
            return X
        return validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )

    def _table_model(self) -> bool:
        """Whether the fitted model encodes its input as a table."""
        schema = getattr(self.model_, "_schema", None)
        return schema is not None and schema() is not None

    def _validate(self, X: Any) -> Any:
        check_is_fitted(self)
        if self._table_model():
            if isinstance(X, pd.DataFrame):
                validate_data(self, X, reset=False, skip_check_array=True)
            return X  # (the model checks it against its schema)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

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

    _onnx_dtype = "float64"  # the default of `to_onnx`: labels as decision_function's

    def inference_graph(self, dtype: torch.dtype = torch.float64) -> nn.Module:
        """The fitted detector as one torch module on the CPU in ``dtype``: rows
        of raw features -> (codes, reconstruction in input units, score). The
        score is `decision_function`'s, computed by the same modules (in float64
        they agree to rounding, ~1e-15); what `to_onnx` exports. Needs an aekit
        autoencoder as the model."""
        check_is_fitted(self)
        if not hasattr(self.model_, "inference_graph"):
            raise TypeError(
                f"an AnomalyDetector whose model is {type(self.model_).__name__} "
                "has no inference graph: only aekit autoencoders (e.g. "
                "aekit.Autoencoder) can be exported."
            )
        graph = self.model_.inference_graph(dtype)
        if not self.latent_distance:
            return graph
        return ScoredGraph(graph, self._score_head().to(dtype)).eval()

    def to_onnx(self, path: Any, *, dtype: str | None = None) -> Any:
        """Write the fitted detector to ``path`` as an ONNX graph (see
        `aekit.export.to_onnx`): input ``x`` (rows of raw features, any number
        of rows), outputs ``codes``, ``reconstruction`` and ``score`` (the
        `decision_function`); ``threshold_`` is in the file's metadata. ``dtype``
        is "float64" (the default: the labels ``score > threshold`` are those of
        `predict`) or "float32". Needs ``pip install 'aekit[onnx]'``. Returns the
        path written."""
        from aekit.export import to_onnx

        return to_onnx(self, path, dtype=dtype)

    def _onnx_metadata(self) -> dict[str, str]:
        """The detector's entries of the ONNX file's metadata."""
        return {
            "score": "decision_function(X)",
            "threshold": json.dumps(float(self.threshold_)),
            "contamination": json.dumps(self.contamination),
            "latent_distance": json.dumps(bool(self.latent_distance)),
            "feature_tails": json.dumps(bool(getattr(self, "feature_tails_", False))),
            "labelled_anomalies": json.dumps(
                int(getattr(self, "n_labelled_anomalies_", 0))
            ),
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells: the model masks them
        return tags


def _tensors(*arrays: Any) -> list[torch.Tensor]:
    """float64 CPU tensors of NumPy arrays."""
    return [torch.from_numpy(np.asarray(a, np.float64)) for a in arrays]


def _rows(X: Any, keep: np.ndarray) -> Any:
    """The rows ``keep`` (sorted positions) of an array, a DataFrame or a table
    on disk."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[keep]
    if not isinstance(X, ChunkedTable):
        return X[keep]
    index = np.concatenate([X.row_indices(p) for p in X.pieces])
    mask = np.zeros(X.pieces[-1].start + X.pieces[-1].n_rows, bool)
    mask[index[keep]] = True
    return X.subset(mask)
