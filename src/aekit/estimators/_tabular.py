"""The shared behaviour of autoencoders on feature vectors: per-feature scaling
(the ``_model_input`` / ``_model_output`` hooks of `AutoencoderTransformer`),
``reconstruct`` and ``reconstruction_error``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.data.chunks import ChunkedTable, is_chunked, open_table, row_blocks
from aekit.data.moments import ColumnStats
from aekit.estimators._base import (
    AutoencoderTransformer,
    check_table_features,
    chunkwise,
    fit_or_nothing,
)
from aekit.estimators._checks import resolve_output_activation
from aekit.estimators._mixed import TableMixin
from aekit.metrics import reconstruction_mse, usable_scale
from aekit.training.distributed import merged_stats, table_shard
from aekit.training.progress import row_progress
from aekit.training.sources import GATHER_BYTES, ScaledRows
from aekit.training.streaming import StreamSource

SCALINGS = ("standard", "minmax", "global", None)
OUTPUT_ACTIVATIONS = ("auto", "linear", "sigmoid")


def fit_scaler(X: np.ndarray, scaling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) such that ``(X - shift) / scale`` is standardised, in [0, 1]
    per feature (``"minmax"``), in [0, 1] with one shift and scale for every
    feature (``"global"``: the overall min and range) or unchanged (``None``).
    Constant features get scale 1 (except under "global"). Missing cells (NaN)
    are left out."""
    low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    return _scaler(np.nanmean(X, axis=0), np.nanstd(X, axis=0), low, high, scaling)


def scaler_from_stats(
    stats: ColumnStats, scaling: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """`fit_scaler` from the data's column statistics (float64, one pass)."""
    return _scaler(stats.mean, stats.std, stats.low, stats.high, scaling)


def _scaler(
    mean: np.ndarray,
    std: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    scaling: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) of `fit_scaler` from the columns' means, standard
    deviations, minima and maxima (NaN for a column with no observed cell)."""
    d = len(mean)
    if scaling == "standard":
        shift, scale = mean, std
    elif scaling == "minmax":
        shift, scale = low, high - low
    elif scaling == "global":
        lowest, highest = np.nanmin(low), np.nanmax(high)
        shift, scale = np.full(d, lowest), np.full(d, highest - lowest)
    else:
        shift, scale = np.zeros(d), np.ones(d)
    shift = np.nan_to_num(shift)  # (a column with no observed cell)
    scale = usable_scale(scale, shift, 1e-12)
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

    def extremes(self) -> np.ndarray:
        """The scaled columns' minima and maxima, (2, n_features)."""
        return self.stats.extremes(self.shift, self.scale)

    def unit_spread(self) -> float:
        """The mean of ``x (1 - x)`` over the scaled cells (`ColumnStats`)."""
        return self.stats.unit_spread(self.shift, self.scale)

    def source(self, device: torch.device) -> Any:
        if isinstance(self.rows, ChunkedTable):
            return StreamSource(self.rows, self.shift, self.scale, device)
        if device.type == "cpu" and self.rows.nbytes > GATHER_BYTES:
            return ScaledRows(self.rows, self.shift, self.scale)
        return torch.from_numpy(scale_rows(self.rows, self.shift, self.scale)).to(
            device
        )


@dataclass
class TableData:
    """A mixed-type table's training input, held in memory: its model input
    ``values`` (see `aekit.estimators._mixed.TableMixin`)."""

    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def extremes(self) -> np.ndarray:
        """The columns' minima and maxima (missing cells left out), (2, n)."""
        bounds = [np.nanmin(self.values, axis=0), np.nanmax(self.values, axis=0)]
        return np.stack(bounds).astype(np.float32)

    def unit_spread(self) -> float:
        """The mean of ``x (1 - x)`` over the observed cells."""
        return float(np.nanmean(self.values * (1 - self.values)))

    def source(self, device: torch.device) -> torch.Tensor:
        return torch.from_numpy(self.values).to(device)


class BaseAutoencoder(TableMixin, AutoencoderTransformer):
    """Autoencoders on 2-D data ``(n_samples, n_features)``; those that set
    ``_accepts_tables`` also on mixed-type tables with missing cells (see
    `aekit.estimators._mixed`)."""

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
                self._resolve_data_params(
                    data.extremes(), len(data), data.unit_spread()
                )
            self._train(data, lambda data, dev: data.source(dev))
        return self

    def _fit_input(self, X: Any, *, reset: bool) -> ScaledData | TableData:
        """Check ``X`` (in memory, or chunk by chunk from disk), gather its column
        statistics in one pass and (with ``reset``) fit the scaling. A mixed-type
        table (see `TableMixin`) is encoded and scaled in memory."""
        rows: np.ndarray | ChunkedTable
        if is_chunked(X):
            rows = open_table(X)
            check_table_features(self, rows, reset=reset)
            if reset:
                self.__dict__.pop("schema_", None)  # (from an earlier fit on a table)
        else:
            rows = self._validate(X, reset=reset)
            if self._schema() is not None:
                return self._table_fit_input(rows, reset=reset)
        covariance = reset and bool(getattr(self, "pca_path", False))
        if isinstance(rows, ChunkedTable):  # (under DDP, each rank reads its block)
            mine = table_shard(rows)
            verbose = bool(getattr(self, "verbose", False))
            blocks = row_progress(mine.blocks(), len(mine), "statistics", verbose)
            stats = merged_stats(ColumnStats.of_chunks(blocks, covariance=covariance))
        else:
            stats = ColumnStats.of_chunks(row_blocks(rows), covariance=covariance)
        self._check_split(stats.n)
        if reset:
            self.scaling_ = self._resolve_scaling(stats)
            self.input_shift_, self.input_scale_ = scaler_from_stats(
                stats, self.scaling_
            )
        return ScaledData(rows, stats, self.input_shift_, self.input_scale_)

    def _table_fit_input(self, X: np.ndarray, *, reset: bool) -> TableData:
        """`_fit_input` of a table's encoding ``X``: (with ``reset``) the scaling
        of its numeric columns and ``column_weights_``, then its model input."""
        self._check_split(len(X))
        if reset and self._hidden_cells is not None:
            X = np.where(self._hidden_cells, np.nan, X)
        if reset:
            self.scaling_ = "standard" if self.scaling == "auto" else self.scaling
            fit = lambda numbers: fit_scaler(numbers, self.scaling_)  # noqa: E731
            self.input_shift_, self.input_scale_ = self._table_scaler(X, fit)
        data = TableData(self._table_input(X))
        if reset:
            self.column_weights_ = self._table_weights(data.values)
        return data

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        if not self._accepts_tables:
            return super()._validate(X, reset=reset)
        return self._table_or_array(X, reset=reset, validate=super()._validate)

    def _resolve_scaling(self, stats: ColumnStats) -> str | None:
        """``scaling_``: the explicit value, or `aekit.defaults.scaling_rule`."""
        if self.scaling == "auto":
            raw = np.stack([stats.low, stats.high])
            return defaults.scaling_rule(raw, whole=stats.whole)
        return self.scaling

    def _resolve_data_params(
        self, Xs: np.ndarray, n_samples: int, unit_spread: float
    ) -> None:
        """Fitted settings that depend on the ``n_samples`` scaled training rows,
        given as their columns' minima and maxima ``Xs`` (2, n_features) and the
        mean of ``x (1 - x)`` over their cells (``unit_spread``)."""
        self.output_activation_ = self._resolve_output_activation(Xs)

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        return resolve_output_activation(self.output_activation, Xs, self.scaling_)

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        """Scaled float32 features (a table's layout, see `TableMixin`)."""
        if self._schema() is not None:
            return self._table_input(X)
        return scale_rows(X, self.input_shift_, self.input_scale_)

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Scaled features back in input units (a table's encoding)."""
        if self._schema() is not None:
            return self._table_output(out, dtype)
        return (out * self.input_scale_ + self.input_shift_).astype(dtype)

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.n_features_in_,), (self.n_features_in_,)

    @chunkwise
    def reconstruct(self, X: Any) -> Any:
        """Encode then decode ``X``: its reconstruction in input units (for a
        model fitted on a DataFrame with categorical columns or missing cells, a
        DataFrame with the training columns' names and dtypes)."""
        check_is_fitted(self)
        Xv = self._validate(X, reset=False)
        recon = self._apply(lambda x: self.module_(x)["recon"], self._model_input(Xv))
        return self._as_table(self._model_output(recon, Xv.dtype), X)

    def inverse_transform(self, X: Any) -> Any:
        """Decode latent codes ``X`` (n_samples, latent_dim) back to input units
        (a DataFrame for a model fitted on a mixed-type DataFrame)."""
        return self._as_table(super().inverse_transform(X), None)

    @chunkwise
    def reconstruction_error(self, X: Any, *, scaled: bool = False) -> np.ndarray:
        """Per-sample mean squared reconstruction error, shape (n_samples,).

        In the units of ``X`` by default; with ``scaled=True`` in the scaled space
        the model was trained in (every feature weighs the same there). For a
        mixed-type table, always the training loss per row: the weighted mean
        over its observed cells of the squared error (scaled numeric columns)
        and cross-entropy (categorical columns); 0 for a row with no observed
        cell.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        Xs = self._model_input(X)
        if self._schema() is not None:
            errors = self._apply(lambda x: self.module_.errors(x, self.module_(x)), Xs)
            return errors.astype(np.float64)
        recon = self._apply(lambda x: self.module_(x)["recon"], Xs)
        if scaled:
            return np.asarray(np.mean((recon - Xs) ** 2, axis=1, dtype=np.float64))
        original = self._model_output(recon, np.float64)
        return reconstruction_mse(X, original)

    def inference_graph(self, dtype: torch.dtype = torch.float32) -> nn.Module:
        """As `AutoencoderTransformer.inference_graph`, for numeric tables only."""
        if self._schema() is not None:
            raise NotImplementedError(
                "a model fitted on a table with categorical columns or missing "
                "cells has no inference graph (ONNX export) yet; fit on numeric "
                "columns to export."
            )
        return super().inference_graph(dtype)

    @chunkwise
    def errors_and_codes(
        self, X: Any, *, dtype: torch.dtype = torch.float64
    ) -> tuple[np.ndarray, np.ndarray]:
        """As `AutoencoderTransformer.errors_and_codes`; for a model fitted on a
        mixed-type table the errors are the training loss per row (see
        `reconstruction_error`)."""
        if self._schema() is None:
            return super().errors_and_codes(X, dtype=dtype)
        check_is_fitted(self)
        x = torch.from_numpy(self._model_input(self._validate(X, reset=False)))
        net = self._cpu_module(dtype)
        with torch.inference_mode():
            codes = net.encode(x.to(dtype))
            errors = net.errors(x.to(dtype), {"raw": net._raw(codes)})
        return errors.numpy(), codes.numpy()

    @chunkwise
    def column_errors(self, X: Any) -> np.ndarray:
        """Each cell's share of its row's `reconstruction_error` (scaled), shape
        (n_samples, n_features): squared errors, or for a mixed-type table the
        weighted squared error or cross-entropy over the row's observed cells
        (0 on missing cells), in the table's column order."""
        check_is_fitted(self)
        Xv = self._validate(X, reset=False)
        Xs = self._model_input(Xv)
        if self._schema() is None:
            recon = self._apply_precise(lambda m, x: m(x)["recon"], Xs)
            return np.asarray((recon - Xs) ** 2 / Xs.shape[1], np.float64)

        def cells(net: Any, x: torch.Tensor) -> torch.Tensor:
            share = net.weights.to(x.dtype) / net.observed(x).sum(1, keepdim=True)
            return net.cell_errors(x, net(x)) * share.nan_to_num(0.0, 0.0, 0.0)

        return np.asarray(self._apply_precise(cells, Xs), np.float64)[
            :, self._column_order()
        ]
