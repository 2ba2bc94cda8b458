"""The shared behaviour of autoencoders on feature vectors: per-feature scaling
(the ``_model_input`` / ``_model_output`` hooks of `AutoencoderTransformer`),
``reconstruct`` and ``reconstruction_error``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._base import AutoencoderTransformer, fit_or_nothing
from aekit.estimators._checks import resolve_output_activation
from aekit.estimators._mixed import TableMixin
from aekit.metrics import reconstruction_mse

SCALINGS = ("standard", "minmax", "global", None)
OUTPUT_ACTIVATIONS = ("auto", "linear", "sigmoid")


def fit_scaler(X: np.ndarray, scaling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) such that ``(X - shift) / scale`` is standardised, in [0, 1]
    per feature (``"minmax"``), in [0, 1] with one shift and scale for every
    feature (``"global"``: the overall min and range) or unchanged (``None``).
    Constant features get scale 1 (except under "global"). Missing cells (NaN)
    are left out."""
    d = X.shape[1]
    holes = np.isnan(X).any()
    mean, std = (np.nanmean, np.nanstd) if holes else (np.mean, np.std)
    low, high = (np.nanmin, np.nanmax) if holes else (np.min, np.max)
    if scaling == "standard":
        shift, scale = mean(X, axis=0), std(X, axis=0)
    elif scaling == "minmax":
        shift, scale = low(X, axis=0), high(X, axis=0) - low(X, axis=0)
    elif scaling == "global":
        shift, scale = np.full(d, low(X)), np.full(d, high(X) - low(X))
    else:
        shift, scale = np.zeros(d), np.ones(d)
    shift = np.nan_to_num(shift)  # (a column with no observed cell)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(shift)), scale, 1.0)
    return shift.astype(np.float64), scale.astype(np.float64)


class BaseAutoencoder(TableMixin, AutoencoderTransformer):
    """Autoencoders on 2-D data ``(n_samples, n_features)``; those that set
    ``_accepts_tables`` also on mixed-type tables with missing cells (see
    `aekit.estimators._mixed`)."""

    _parameter_constraints: dict[str, v.Constraint] = {"scaling": v.Choice(SCALINGS)}

    def fit(self, X: Any, y: Any = None) -> BaseAutoencoder:
        """Train on ``X`` (array-like of shape (n_samples, n_features)); ``y`` is
        ignored. Returns the fitted estimator."""
        with fit_or_nothing(self):
            v.check_params(self)
            warm = self._warm()
            X = self._validate(X, reset=not warm)
            self._check_split(len(X))
            if not warm:
                self._fit_scaling(X)
            Xs = self._model_input(X)
            if not warm:
                self._resolve_data_params(Xs)
            self._train(Xs, lambda data, dev: torch.from_numpy(data).to(dev))
        return self

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        if not self._accepts_tables:
            return super()._validate(X, reset=reset)
        return self._table_or_array(X, reset=reset, validate=super()._validate)

    def _fit_scaling(self, X: np.ndarray) -> None:
        """``scaling_``, ``input_shift_`` and ``input_scale_`` from the training
        rows (a table's numeric columns only)."""
        self.scaling_ = self._resolve_scaling(X)
        if self._schema() is None:
            self.input_shift_, self.input_scale_ = fit_scaler(X, self.scaling_)
        else:
            fit = lambda numbers: fit_scaler(numbers, self.scaling_)  # noqa: E731
            self.input_shift_, self.input_scale_ = self._table_scaler(X, fit)

    def _resolve_scaling(self, X: np.ndarray) -> str | None:
        """``scaling_``: the explicit value, or `aekit.defaults.scaling_rule`
        ("standard" for a table's numeric columns)."""
        if self.scaling == "auto":
            if self._schema() is not None:
                return "standard"
            return defaults.scaling_rule(X)
        return self.scaling

    def _resolve_data_params(self, Xs: np.ndarray) -> None:
        """Fitted settings that depend on the scaled training data ``Xs``."""
        self.output_activation_ = self._resolve_output_activation(Xs)

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        return resolve_output_activation(self.output_activation, Xs, self.scaling_)

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        """Scaled float32 features (a table's layout, see `TableMixin`)."""
        if self._schema() is not None:
            return self._table_input(X)
        return ((X - self.input_shift_) / self.input_scale_).astype(np.float32)

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Scaled features back in input units (a table's encoding)."""
        if self._schema() is not None:
            return self._table_output(out, dtype)
        return (out * self.input_scale_ + self.input_shift_).astype(dtype)

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.n_features_in_,), (self.n_features_in_,)

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
