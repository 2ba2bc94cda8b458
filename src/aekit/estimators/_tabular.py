"""The shared behaviour of autoencoders on feature vectors: scaling, and
``transform`` / ``inverse_transform`` / ``reconstruct`` / ``reconstruction_error``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_array, check_is_fitted

from aekit import _validation as v
from aekit.estimators._base import AutoencoderTransformer, fit_or_nothing
from aekit.metrics import reconstruction_mse

SCALINGS = ("standard", "minmax", None)
OUTPUT_ACTIVATIONS = ("auto", "linear", "sigmoid")


def fit_scaler(X: np.ndarray, scaling: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) such that ``(X - shift) / scale`` is standardised, in [0, 1]
    (``"minmax"``) or unchanged (``None``). Constant features get scale 1."""
    d = X.shape[1]
    if scaling == "standard":
        shift, scale = X.mean(axis=0), X.std(axis=0)
    elif scaling == "minmax":
        shift, scale = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
    else:
        shift, scale = np.zeros(d), np.ones(d)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(shift)), scale, 1.0)
    return shift.astype(np.float64), scale.astype(np.float64)


class BaseAutoencoder(AutoencoderTransformer):
    """Autoencoders on 2-D data ``(n_samples, n_features)``."""

    def fit(self, X: Any, y: Any = None) -> BaseAutoencoder:
        """Train on ``X`` (array-like of shape (n_samples, n_features)); ``y`` is
        ignored. Returns the fitted estimator."""
        with fit_or_nothing(self):
            self._check_params()
            warm = self._warm()
            X = self._validate(X, reset=not warm)
            self._check_split(len(X))
            if not warm:
                self.input_shift_, self.input_scale_ = fit_scaler(X, self.scaling)
            Xs = self._scale(X)
            if not warm:
                self.output_activation_ = self._resolve_output_activation(Xs)
            self._train(Xs, lambda data, dev: torch.from_numpy(data).to(dev))
        return self

    def _check_params(self) -> None:
        v.check_choice("scaling", self.scaling, SCALINGS)
        v.check_choice("output_activation", self.output_activation, OUTPUT_ACTIVATIONS)
        self._check_training_params()

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        """Linear output for unbounded data, sigmoid for data in [0, 1]."""
        in_unit_range = bool(Xs.min() >= 0.0 and Xs.max() <= 1.0)
        if self.output_activation == "auto":
            return "sigmoid" if in_unit_range else "linear"
        if self.output_activation == "sigmoid" and not in_unit_range:
            raise ValueError(
                "output_activation='sigmoid' needs (scaled) data in [0, 1], but it "
                f"spans [{Xs.min():.3g}, {Xs.max():.3g}] with scaling="
                f"{self.scaling!r}. Use scaling='minmax' or output_activation="
                "'linear' (or 'auto')."
            )
        return self.output_activation

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.input_shift_) / self.input_scale_).astype(np.float32)

    def _unscale(self, Xs: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return (Xs * self.input_scale_ + self.input_shift_).astype(dtype)

    def transform(self, X: Any) -> np.ndarray:
        """The latent codes of ``X``, shape (n_samples, latent_dim)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        codes = self._apply(self.module_.encode, self._scale(X))
        return codes.astype(X.dtype)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent codes ``X`` (n_samples, latent_dim) back to input space."""
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"inverse_transform expects codes with latent_dim={self.latent_dim} "
                f"columns, got {Z.shape[1]}."
            )
        return self._unscale(self._apply(self.module_.decode, Z), Z.dtype)

    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode then decode ``X``: its reconstruction in input units."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        recon = self._apply(lambda x: self.module_(x)["recon"], self._scale(X))
        return self._unscale(recon, X.dtype)

    def reconstruction_error(self, X: Any, *, scaled: bool = False) -> np.ndarray:
        """Per-sample mean squared reconstruction error, shape (n_samples,).

        In the units of ``X`` by default; with ``scaled=True`` in the scaled space
        the model was trained in (every feature weighs the same there).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        Xs = self._scale(X)
        recon = self._apply(lambda x: self.module_(x)["recon"], Xs)
        if scaled:
            return np.asarray(np.mean((recon - Xs) ** 2, axis=1, dtype=np.float64))
        original = self._unscale(recon, np.dtype(np.float64))
        return reconstruction_mse(X, original)
