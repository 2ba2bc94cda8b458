"""The shared behaviour of autoencoders on feature vectors: per-feature scaling
(the ``_model_input`` / ``_model_output`` hooks of `AutoencoderTransformer`),
``reconstruct``, ``reconstruction_error`` and ``errors_and_codes``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import defaults, losses
from aekit.data.chunks import ChunkedTable, is_chunked, open_table, row_blocks
from aekit.data.moments import ColumnStats
from aekit.estimators._base import (
    AutoencoderTransformer,
    check_table_features,
    chunkwise,
    fit_or_nothing,
)
from aekit.estimators._checks import resolve_output_activation
from aekit.metrics import reconstruction_mse
from aekit.training.progress import row_progress
from aekit.training.sources import GATHER_BYTES, ScaledRows
from aekit.training.streaming import StreamSource

SCALINGS = ("standard", "minmax", "global", None)
OUTPUT_ACTIVATIONS = ("auto", "linear", "sigmoid")


def fit_scaler(X: np.ndarray, scaling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) such that ``(X - shift) / scale`` is standardised, in [0, 1]
    per feature (``"minmax"``), in [0, 1] with one shift and scale for every
    feature (``"global"``: the overall min and range) or unchanged (``None``).
    Constant features get scale 1 (except under "global")."""
    return scaler_from_stats(ColumnStats.of_chunks(row_blocks(X)), scaling)


def scaler_from_stats(
    stats: ColumnStats, scaling: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """`fit_scaler` from the data's column statistics (float64, one pass)."""
    d = len(stats.mean)
    if scaling == "standard":
        shift, scale = stats.mean, stats.std
    elif scaling == "minmax":
        shift, scale = stats.low, stats.high - stats.low
    elif scaling == "global":
        low, high = stats.low.min(), stats.high.max()
        shift, scale = np.full(d, low), np.full(d, high - low)
    else:
        shift, scale = np.zeros(d), np.ones(d)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(shift)), scale, 1.0)
    return shift.astype(np.float64), scale.astype(np.float64)


def scale_rows(X: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(X - shift) / scale`` as float32, computed in float64 a block of rows at
    a time (no float64 copy of ``X``)."""
    out = np.empty(X.shape, np.float32)
    start = 0
    for block in row_blocks(X):
        out[start : start + len(block)] = (block - shift) / scale
        start += len(block)
    return out


@dataclass
class ScaledData:
    """A fit's training input: the raw rows (an array, or a table on disk), their
    column statistics and the fitted scaling. ``source(device)`` makes what the
    training loop reads: a stream for a table, else the scaled rows as one tensor
    (or, for big data on a CPU, a source that scales each batch as it is taken,
    so the scaled copy is never made)."""

    rows: np.ndarray | ChunkedTable
    stats: ColumnStats
    shift: np.ndarray
    scale: np.ndarray

    def __len__(self) -> int:
        return self.stats.n

    def source(self, device: torch.device) -> Any:
        if isinstance(self.rows, ChunkedTable):
            return StreamSource(self.rows, self.shift, self.scale, device)
        if device.type == "cpu" and self.rows.nbytes > GATHER_BYTES:
            return ScaledRows(self.rows, self.shift, self.scale)
        return torch.from_numpy(scale_rows(self.rows, self.shift, self.scale)).to(
            device
        )


class BaseAutoencoder(AutoencoderTransformer):
    """Autoencoders on 2-D data ``(n_samples, n_features)``."""

    _parameter_constraints: dict[str, v.Constraint] = {"scaling": v.Choice(SCALINGS)}

    def fit(self, X: Any, y: Any = None) -> BaseAutoencoder:
        """Train on ``X``: an array-like of shape (n_samples, n_features), or data
        read from disk in chunks (a ``.npy`` or Parquet path, a memory-mapped
        array, a `pyarrow.dataset.Dataset` or an `aekit.data.open_table` table;
        see docs/scale.md). ``y`` is ignored. Returns the fitted estimator."""
        with fit_or_nothing(self):
            v.check_params(self)
            warm = self._warm()
            data = self._fit_input(X, reset=not warm)
            if not warm:
                extremes = data.stats.extremes(data.shift, data.scale)
                self._resolve_data_params(extremes, len(data))
            self._train(data, lambda data, dev: data.source(dev))
        return self

    def _fit_input(self, X: Any, *, reset: bool) -> ScaledData:
        """Check ``X`` (in memory, or chunk by chunk from disk), gather its column
        statistics in one pass and (with ``reset``) fit the scaling."""
        rows: np.ndarray | ChunkedTable
        if is_chunked(X):
            rows = open_table(X)
            check_table_features(self, rows, reset=reset)
        else:
            rows = self._validate(X, reset=reset)
        covariance = reset and bool(getattr(self, "pca_path", False))
        if isinstance(rows, ChunkedTable):
            verbose = bool(getattr(self, "verbose", False))
            blocks = row_progress(rows.blocks(), len(rows), "statistics", verbose)
        else:
            blocks = row_blocks(rows)
        stats = ColumnStats.of_chunks(blocks, covariance=covariance)
        self._check_split(stats.n)
        if reset:
            self.scaling_ = self._resolve_scaling(stats)
            self.input_shift_, self.input_scale_ = scaler_from_stats(
                stats, self.scaling_
            )
        return ScaledData(rows, stats, self.input_shift_, self.input_scale_)

    def _resolve_scaling(self, stats: ColumnStats) -> str | None:
        """``scaling_``: the explicit value, or `aekit.defaults.scaling_rule`."""
        if self.scaling == "auto":
            raw = np.stack([stats.low, stats.high])
            return defaults.scaling_rule(raw, whole=stats.whole)
        return self.scaling

    def _resolve_data_params(self, Xs: np.ndarray, n_samples: int) -> None:
        """Fitted settings that depend on the ``n_samples`` scaled training rows,
        given as their columns' minima and maxima ``Xs`` (2, n_features)."""
        self.output_activation_ = self._resolve_output_activation(Xs)

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        return resolve_output_activation(self.output_activation, Xs, self.scaling_)

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        """Scaled float32 features."""
        return scale_rows(X, self.input_shift_, self.input_scale_)

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Scaled features back in input units."""
        return (out * self.input_scale_ + self.input_shift_).astype(dtype)

    @chunkwise
    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode then decode ``X``: its reconstruction in input units."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        recon = self._apply(lambda x: self.module_(x)["recon"], self._model_input(X))
        return self._model_output(recon, X.dtype)

    @chunkwise
    def reconstruction_error(self, X: Any, *, scaled: bool = False) -> np.ndarray:
        """Per-sample mean squared reconstruction error, shape (n_samples,).

        In the units of ``X`` by default; with ``scaled=True`` in the scaled space
        the model was trained in (every feature weighs the same there).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        Xs = self._model_input(X)
        recon = self._apply(lambda x: self.module_(x)["recon"], Xs)
        if scaled:
            return np.asarray(np.mean((recon - Xs) ** 2, axis=1, dtype=np.float64))
        original = self._model_output(recon, np.float64)
        return reconstruction_mse(X, original)

    @chunkwise
    def errors_and_codes(
        self, X: Any, *, dtype: torch.dtype = torch.float64
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scaled reconstruction errors and codes of ``X``, computed in ``dtype``.

        The errors are those of ``reconstruction_error(X, scaled=True)``, the
        codes those of ``transform(X)``, but computed by a copy of the module on
        the CPU in ``dtype``, a block of rows at a time. In float64 a row's
        results do not depend on the other rows: float32 outputs carry ~1e-7
        rounding that changes with the batch, which logs and inverse covariances
        (as in `aekit.AnomalyDetector`) would amplify.

        Returns
        -------
        errors : ndarray of shape (n_samples,)
        codes : ndarray of shape (n_samples, latent_dim)

        Examples
        --------
        >>> import numpy as np, aekit
        >>> X = np.random.default_rng(0).normal(size=(100, 5))
        >>> ae = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0).fit(X)
        >>> errors, codes = ae.errors_and_codes(X)
        >>> errors.dtype, codes.shape
        (dtype('float64'), (100, 2))
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        net = self._cpu_module(dtype)
        errors, codes = [], []
        with torch.inference_mode():
            for block in row_blocks(X):  # rows are independent: any block size
                x = torch.from_numpy(self._model_input(block)).to(dtype)
                codes.append(net.encode(x))
                errors.append(losses.squared_error(net.decode(codes[-1]), x))
        return torch.cat(errors).numpy(), torch.cat(codes).numpy()
