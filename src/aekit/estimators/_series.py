"""`SeriesDetector`: anomaly scores for every point of a time series from a
dense autoencoder on sliding windows (see docs/series.md)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit import _validation as v
from aekit.data import series as ts
from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._base import WrapsModel, fit_or_nothing
from aekit.estimators._detector import AnomalyDetector
from aekit.estimators._outlier import BaseDetector
from aekit.estimators._series_calibrate import CalibrationMixin
from aekit.estimators._series_conv import WindowConvAutoencoder
from aekit.estimators._series_events import EventsMixin
from aekit.estimators._series_export import SeriesExportMixin
from aekit.estimators._series_lstm import WindowLSTMAutoencoder
from aekit.estimators._series_resolve import ResolveMixin
from aekit.estimators._series_scores import ScoresMixin
from aekit.estimators._series_stream import StreamMixin
from aekit.registry import register
from aekit.training import resolve_device

CONTAMINATION = v.Real(low_open=True, high=0.5, high_open=False)
CALIBRATIONS = ("in-sample", "cross-fit")
MODELS = ("dense", "conv", "lstm")
MIN_TRAIN_WINDOWS = 3  # fewer leave the window model nothing to learn from


@register("series", input_kind="series")
class SeriesDetector(
    ScoresMixin,
    EventsMixin,
    StreamMixin,
    CalibrationMixin,
    ResolveMixin,
    SeriesExportMixin,
    WrapsModel,
    BaseDetector,
):
    """Anomaly detector for time series: one score per time point.

    Each channel is scaled on the training period; windows of ``window_``
    consecutive points are flattened and reconstructed by a dense
    `aekit.Autoencoder` with its PCA path (so it starts from subsequence PCA),
    trained through `aekit.AnomalyDetector` (which trims the worst-reconstructed
    windows and refits, for training series with anomalies). A window's score
    is the robust z-score (median, MAD over the training windows) of its log
    reconstruction error, or, with ``value_score``, how far its values lie
    from the training values if that is larger; ``point_score`` maps window
    scores to points. Points
    above ``threshold_`` are merged into segments (events). Read more in
    docs/series.md.

    Parameters
    ----------
    window : int >= 2 or "auto", default="auto"
        Points per window. "auto": the training series' period (the highest
        autocorrelation peak), clipped to [32, 256]; 64 when there is none;
        at most the shortest training series' rows / (4 x channels).
    model : {"dense", "conv", "lstm"}, default="dense"
        The window model: a dense `aekit.Autoencoder` on the flattened window
        (one hidden layer of 64), `aekit.WindowConvAutoencoder` (stride-2
        1-D convolutions over time, 16 and 16 feature maps, kernel 5) or
        `aekit.WindowLSTMAutoencoder` (LSTM encoder and decoder, state 32);
        each with the PCA path, each trained through `aekit.AnomalyDetector`.
    stride : int >= 1 or "auto", default="auto"
        Step between training windows ("auto": 1, or larger so that at most
        20,000 windows are trained on). Scoring uses every window.
    latent_dim : int or "auto", default="auto"
        Code size. "auto": principal components explaining 90% of the training
        windows' variance, in [1, 32].
    point_score : {"mean", "end"}, default="mean"
        "mean": a point's score is the mean over the windows covering it;
        "end": the score of the window ending at it (the first ``window_ - 1``
        points take the first window's). Streaming gives "end" scores as each
        point arrives and "mean" scores ``window_ - 1`` points later.
    scaling : {"robust", "standard"}, default="robust"
        Per-channel scaling fitted on the training series: median and IQR, or
        mean and standard deviation. Constant channels get scale 1.
    contamination : float in (0, 0.5], "auto" or "control", default="control"
        How ``threshold_`` is set from the training points' scores: the ``1 -
        contamination`` quantile, `aekit.thresholds.auto_threshold`, or the
        control limit ``median + control_margin * 2.326 * 1.4826 * MAD``: the
        training scores' 99% quantile as a normal distribution fitted robustly
        (median, MAD) puts it, times a margin; anomalies in the training
        series do not raise it.
    control_margin : float > 0, default=1.5
    min_length : int >= 1, default=1
        Segments (after merging) shorter than this are not flagged.
    merge_gap : int >= 0 or "auto", default="auto"
        Flagged runs separated by at most this many points merge into one
        segment ("auto": ``window_ // 4``).
    trim : float in [0, 0.5), default=0.1
        Share of training windows left out of the final fit (see
        `aekit.AnomalyDetector`).
    value_score : bool or "auto", default="auto"
        Also score each window by its values: per point the distance from the
        training median in units of the training spread on that side (largest
        over the channels read), its maximum over the window, scaled so the
        training windows' 99% quantile scores 2.326; a window's score is the
        larger of this and the reconstruction score. Catches rare levels that
        a window reconstruction misses (a smooth window at an unseen level).
        True: every channel; "auto": a univariate series whose level does
        not trend over the training period (a line in time explains under
        half its variance), no channel of a multivariate one. Saved as the
        mask ``value_channels_``.
    calibration : {"in-sample", "cross-fit"}, default="in-sample"
        Which training scores set the score scales and ``threshold_``: the
        final model's own ("in-sample"), or each training window's score from
        a model fitted without the block of rows around it ("cross-fit", three
        contiguous blocks, three extra fits; fewer false alarms where a model
        fitted on few windows scores its own windows far lower than new
        normal ones, and more missed points).
    latent_distance : bool, default=False
        Also score the window's code distance (`aekit.AnomalyDetector`'s
        score, the larger of the two robust z-scores).
    max_epochs : int, default=30
    time_column : str or None, default=None
        DataFrame column holding the timestamps (else its index orders it).
    device : str, default="auto"
    random_state : int or None, default=None

    Attributes
    ----------
    window_, stride_, latent_dim_, merge_gap_ : int
    period_ : int or None
        The period found in the training series (None: none, or window given).
    resolved_params_ : dict
    model_ : AnomalyDetector
        Fitted on the flattened training windows.
    shift_, scale_ : ndarray of shape (n_channels,)
    score_center_, score_scale_ : float
        Median and MAD of the training windows' log errors.
    value_channels_ : ndarray of bool, shape (n_channels,)
        The channels the value score reads.
    calibration_ : str
    value_reference_ : ndarray of shape (3, n_channels)
        Median and upper and lower spread of the scaled training values.
    value_center_, value_scale_ : float
        Median of the training windows' value deviations and the scale that
        puts their 99% quantile at 2.326.
    channel_error_ : ndarray of shape (n_channels,)
        Median per-channel window error over the training windows.
    decision_scores_, labels_ : ndarray (per training point; concatenated
        over a list of series)
    threshold_ : float
    segments_ : list of dict
        Segments of the training series (see `segments`).
    n_filled_ : int
        NaN cells of the training series filled by interpolation.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> t = np.arange(1200)
    >>> x = np.sin(2 * np.pi * t / 50)
    >>> x[900:905] += 3.0  # a spike
    >>> det = aekit.SeriesDetector(max_epochs=5, random_state=0).fit(x[:800])
    >>> det.window_
    50
    >>> scores = det.decision_function(x)
    >>> scores.shape, bool(scores[900:960].max() > scores[:800].max())
    ((1200,), True)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "window": v.Auto(v.Int(low=2)),
        "model": v.Choice(MODELS),
        "stride": v.Auto(v.Int()),
        "latent_dim": v.Auto(v.Int()),
        "point_score": v.Choice(ts.POINT_RULES),
        "scaling": v.Choice(ts.SCALINGS),
        "control_margin": v.Real(low_open=True),
        "min_length": v.Int(),
        "merge_gap": v.Auto(v.Int(low=0)),
        "trim": v.Real(high=0.5),
        "value_score": v.Auto(v.Bool()),
        "calibration": v.Choice(CALIBRATIONS),
        "latent_distance": v.Bool(),
        "max_epochs": v.Int(),
        "time_column": v.Optional(v.ColumnName()),
    }

    def __init__(
        self,
        window: int | str = "auto",
        *,
        model: str = "dense",
        stride: int | str = "auto",
        latent_dim: int | str = "auto",
        point_score: str = "mean",
        scaling: str = "robust",
        contamination: float | str = "control",
        control_margin: float = 1.5,
        min_length: int = 1,
        merge_gap: int | str = "auto",
        trim: float = 0.1,
        value_score: bool | str = "auto",
        calibration: str = "in-sample",
        latent_distance: bool = False,
        max_epochs: int = 30,
        time_column: str | None = None,
        device: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.window = window
        self.model = model
        self.stride = stride
        self.latent_dim = latent_dim
        self.point_score = point_score
        self.scaling = scaling
        self.contamination = contamination
        self.control_margin = control_margin
        self.min_length = min_length
        self.merge_gap = merge_gap
        self.trim = trim
        self.value_score = value_score
        self.calibration = calibration
        self.latent_distance = latent_distance
        self.max_epochs = max_epochs
        self.time_column = time_column
        self.device = device
        self.random_state = random_state

    def _check_param_rules(self) -> None:
        if isinstance(self.contamination, str):
            if self.contamination not in ("auto", "control"):
                raise ValueError(
                    "contamination must be a float in (0, 0.5], 'auto' or "
                    f"'control', got {self.contamination!r}."
                )
        else:
            CONTAMINATION.check("contamination", self.contamination)
        try:
            resolve_device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', "
                f"got {self.device!r} ({exc})."
            ) from None

    # -- fit ---------------------------------------------------------------------

    def fit(self, series: Any, y: Any = None) -> SeriesDetector:
        """Fit on a normal period (or an unlabelled series: the worst windows are
        trimmed); ``y`` is ignored. Sets the resolved window, the scaling, the
        window model, ``threshold_``, ``labels_`` and ``segments_``."""
        with fit_or_nothing(self):
            v.check_params(self)
            parts, _ = self._read(series, reset=True)
            self.n_filled_ = sum(p.n_filled for p in parts)
            values = np.concatenate([p.values for p in parts])
            self._resolve_window(parts)
            self.shift_, self.scale_ = ts.fit_channel_scaler(values, self.scaling)
            scaled = [self._scaled(p.values) for p in parts]
            self.value_reference_ = ts.fit_value_reference(np.concatenate(scaled))
            self.value_channels_ = self._value_channels(scaled)
            self._resolve_stride(scaled)
            train = np.concatenate(
                [ts.sliding_windows(s, self.window_, self.stride_) for s in scaled]
            )
            if len(train) < MIN_TRAIN_WINDOWS:
                raise ValueError(
                    f"the training series give {len(train)} windows of window_="
                    f"{self.window_} points, fewer than {MIN_TRAIN_WINDOWS}: give "
                    "a longer normal period or a smaller window"
                )
            self.latent_dim_ = self._resolve_latent_dim(train)
            self.calibration_ = self._resolve_calibration(scaled)
            self.model_ = self._make_model().fit(train)
            self._drop_stream()
            self._fit_scores(scaled, [p.index for p in parts])
        return self

    def _read(self, series: Any, *, reset: bool) -> tuple[list[ts.Series], bool]:
        """The series as a list, checked against the fit (channels, names) and
        with NaN cells filled; and whether ``series`` was a list."""
        parts, is_list, _ = ts.as_series_list(series, self.time_column)
        frames = series if is_list else [series]
        for item, part in zip(frames, parts, strict=True):
            first = reset and part is parts[0]
            table = _as_table(item, self.time_column, part.values)
            validate_data(self, table, skip_check_array=True, reset=first)
            if first and isinstance(table, pd.DataFrame):
                self.channel_names_ = [str(c) for c in table.columns]
            part.values, part.n_filled = ts.fill_missing(part.values)
        return parts, is_list

    def _make_model(self) -> AnomalyDetector:
        """The unfitted window detector: the window autoencoder inside
        `aekit.AnomalyDetector` (trimming, optional code distance)."""
        return AnomalyDetector(
            self._window_model(),
            trim=self.trim,
            latent_distance=self.latent_distance,
            random_state=self.random_state,
        )

    def _window_model(self) -> Autoencoder:
        """The window autoencoder (``model``), with the PCA path and no
        scaling of its own (the channels are scaled already)."""
        common: dict[str, Any] = {
            "latent_dim": self.latent_dim_,
            "pca_path": True,
            "scaling": None,
            "batch_size": 256,
            "max_epochs": self.max_epochs,
            "patience": 5,
            "device": self.device,
            "random_state": self.random_state,
        }
        if self.model == "conv":
            return WindowConvAutoencoder(n_channels=self.n_features_in_, **common)
        if self.model == "lstm":
            return WindowLSTMAutoencoder(n_channels=self.n_features_in_, **common)
        return Autoencoder(hidden_dims=(64,), loss="mse", **common)

    @property
    def resolved_params_(self) -> dict[str, Any]:
        """The value used for each parameter that may be "auto"."""
        check_is_fitted(self)
        names = ("window", "stride", "latent_dim", "merge_gap", "calibration")
        return {name: getattr(self, f"{name}_") for name in names}

    # -- scoring -------------------------------------------------------------------

    def _each(self, series: Any, what: str) -> tuple[list[Any], bool]:
        """Per series of ``series``: (`_window_outputs`, index); and whether
        ``series`` was a list."""
        check_is_fitted(self)
        parts, is_list = self._read(series, reset=False)
        out = []
        for i, part in enumerate(parts):
            self._check_length(len(part.values), f"series{f'[{i}]' if i else ''}")
            if part.n_filled:
                warnings.warn(
                    f"{part.n_filled} NaN cells of the series were filled by linear "
                    f"interpolation before {what}",
                    UserWarning,
                    stacklevel=3,
                )
            out.append((self._window_outputs(self._scaled(part.values)), part.index))
        return out, is_list

    def decision_function(self, series: Any) -> Any:
        """One anomaly score per time point, aligned with the input (a list of
        arrays for a list of series); higher is more anomalous, about 0 for a
        typical training window."""
        each, is_list = self._each(series, "scoring")
        scores = [self._points(self._window_scores(out)) for out, _ in each]
        return scores if is_list else scores[0]

    def predict(self, series: Any, return_confidence: bool = False) -> Any:
        """0/1 per point (1 = inside a flagged segment: scores above
        ``threshold_``, merged and at least ``min_length`` long)."""
        v.check_bool("return_confidence", return_confidence)
        scores = self.decision_function(series)
        many = isinstance(scores, list)
        scores = scores if many else [scores]
        labels = [self._segments_of(s)[1] for s in scores]
        if return_confidence:
            pairs = zip(scores, labels, strict=True)
            conf = [self._confidence(s, lab) for s, lab in pairs]
            return (labels, conf) if many else (labels[0], conf[0])
        return labels if many else labels[0]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN cells: interpolated
        return tags


def _as_table(item: Any, time_column: Any, values: np.ndarray) -> Any:
    """What `validate_data` checks names and widths on: the numeric DataFrame
    (time column as index) or the 2-D values."""
    if isinstance(item, pd.Series):
        item = item.to_frame()
    if isinstance(item, pd.DataFrame) and time_column in item.columns:
        return item.set_index(time_column)  # (else the index holds the times)
    if isinstance(item, pd.DataFrame):
        return item
    return values
