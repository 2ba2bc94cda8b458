"""The shared behaviour of autoencoders on feature vectors: per-feature scaling
(the ``_model_input`` / ``_model_output`` hooks of `AutoencoderTransformer`),
``reconstruct`` and ``reconstruction_error``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._base import AutoencoderTransformer, fit_or_nothing
from aekit.estimators._checks import resolve_output_activation
from aekit.metrics import reconstruction_mse

SCALINGS = ("standard", "minmax", "global", None)
OUTPUT_ACTIVATIONS = ("auto", "linear", "sigmoid")


def fit_scaler(X: np.ndarray, scaling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) such that ``(X - shift) / scale`` is standardised, in [0, 1]
    per feature (``"minmax"``), in [0, 1] with one shift and scale for every
    feature (``"global"``: the overall min and range) or unchanged (``None``).
    Constant features get scale 1 (except under "global")."""
    d = X.shape[1]
    if scaling == "standard":
        shift, scale = X.mean(axis=0), X.std(axis=0)
    elif scaling == "minmax":
        shift, scale = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
    elif scaling == "global":
        shift, scale = np.full(d, X.min()), np.full(d, X.max() - X.min())
    else:
        shift, scale = np.zeros(d), np.ones(d)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(shift)), scale, 1.0)
    return shift.astype(np.float64), scale.astype(np.float64)


class BaseAutoencoder(AutoencoderTransformer):
    """Autoencoders on 2-D data ``(n_samples, n_features)``."""

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
                self.scaling_ = self._resolve_scaling(X)
                self.input_shift_, self.input_scale_ = fit_scaler(X, self.scaling_)
            Xs = self._model_input(X)
            if not warm:
                self._resolve_data_params(Xs)
            self._train(Xs, lambda data, dev: torch.from_numpy(data).to(dev))
        return self

    def _resolve_scaling(self, X: np.ndarray) -> str | None:
        """``scaling_``: the explicit value, or `aekit.defaults.scaling_rule`."""
        if self.scaling == "auto":
            return defaults.scaling_rule(X)
        return self.scaling

    def _resolve_data_params(self, Xs: np.ndarray) -> None:
        """Fitted settings that depend on the scaled training data ``Xs``."""
        self.output_activation_ = self._resolve_output_activation(Xs)

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        return resolve_output_activation(self.output_activation, Xs, self.scaling_)

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        """Scaled float32 features."""
        return ((X - self.input_shift_) / self.input_scale_).astype(np.float32)

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Scaled features back in input units."""
        return (out * self.input_scale_ + self.input_shift_).astype(dtype)

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.n_features_in_,), (self.n_features_in_,)

    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode then decode ``X``: its reconstruction in input units."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        recon = self._apply(lambda x: self.module_(x)["recon"], self._model_input(X))
        return self._model_output(recon, X.dtype)

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
