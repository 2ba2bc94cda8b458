"""The shared behaviour of autoencoders on images: accepting (n, H, W),
(n, C, H, W) or flat (n, H*W) input, one global scaling of the pixel values, and
``transform`` / ``inverse_transform`` / ``reconstruct`` / ``denoise`` /
``reconstruction_error`` with outputs in the shape of the input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._base import AutoencoderTransformer, fit_or_nothing
from aekit.metrics import reconstruction_mse

IMAGE_SCALINGS = ("minmax", "standard", None)


def resolve_image_shape(
    sample_shape: tuple[int, ...], image_shape: Any
) -> tuple[int, int, int]:
    """(channels, height, width) of one sample given as ``sample_shape``.

    Flat samples use ``image_shape`` ((H, W) or (C, H, W)); without it a square
    grey image when the length is a perfect square, else a one-row image.
    """
    if len(sample_shape) == 3:
        c, h, w = sample_shape
        if c > 4 and w <= 4:
            raise ValueError(
                f"images of shape {sample_shape} look channel-last; aekit expects "
                "(n, channels, height, width): pass X.transpose(0, 3, 1, 2)."
            )
        return c, h, w
    if len(sample_shape) == 2:
        return 1, sample_shape[0], sample_shape[1]
    (d,) = sample_shape
    if image_shape is None:
        side = math.isqrt(d)
        return (1, side, side) if side * side == d else (1, 1, d)
    shape = v.check_sizes("image_shape", image_shape)
    if len(shape) not in (2, 3) or math.prod(shape) != d:
        raise ValueError(
            f"image_shape={tuple(image_shape)} must be (height, width) or (channels, "
            f"height, width) with {d} values in all, to match X's {d} columns."
        )
    return (1, *shape) if len(shape) == 2 else shape  # type: ignore[return-value]


def image_ndim(X: Any) -> int:
    """Dimensions of an array or nested list; 2 for anything else (DataFrames,
    sparse matrices), which goes through scikit-learn's validation as a table."""
    if isinstance(X, np.ndarray):
        return X.ndim
    if isinstance(X, list | tuple):
        return int(np.ndim(X))
    return 2


class BaseImageAutoencoder(AutoencoderTransformer):
    """Autoencoders whose module takes (n, C, H, W) float tensors."""

    _target_steps = defaults.CONV_TARGET_STEPS

    _parameter_constraints: dict[str, v.Constraint] = {
        "scaling": v.Choice(IMAGE_SCALINGS),
        "image_shape": v.Optional(v.Sizes()),
    }

    def fit(self, X: Any, y: Any = None) -> BaseImageAutoencoder:
        """Train on images ``X`` of shape (n, H, W), (n, C, H, W) or (n, H*W)
        (see ``image_shape``); ``y`` is ignored. Returns the fitted estimator."""
        with fit_or_nothing(self):
            v.check_params(self)
            sample_shape = np.shape(X)[1:] if image_ndim(X) in (3, 4) else None
            flat = self._validate(X, reset=True)
            self.sample_shape_ = sample_shape or (flat.shape[1],)
            self.image_shape_ = resolve_image_shape(
                self.sample_shape_, self.image_shape
            )
            self._check_split(len(flat))
            self.input_shift_, self.input_scale_ = self._fit_scaler(flat)
            images = self._model_input(flat)
            self._check_data_range(images)
            self._train(images, self._training_data, self._callbacks())
        return self

    # -- hooks for subclasses ---------------------------------------------------
    def _check_data_range(self, images: np.ndarray) -> None:
        pass

    def _callbacks(self) -> list:
        return []

    def _training_data(self, images: np.ndarray, device: torch.device) -> Any:
        return torch.from_numpy(images).to(device)

    # -- input and output layout ------------------------------------------------
    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        """Images (n, H, W), (n, C, H, W) or flat as a validated 2-D float array
        (n, C*H*W)."""
        if image_ndim(X) in (3, 4):
            X = np.asarray(X)
            if not reset and X.shape[1:] != tuple(self.sample_shape_):
                if math.prod(X.shape[1:]) == self.n_features_in_:
                    X = X.reshape(len(X), -1)
                else:
                    name = type(self).__name__
                    raise ValueError(
                        f"X has images of shape {X.shape[1:]}, but {name} was "
                        f"trained on images of shape {tuple(self.sample_shape_)}."
                    )
            X = X.reshape(len(X), -1)
        return super()._validate(X, reset=reset)

    def _fit_scaler(self, flat: np.ndarray) -> tuple[float, float]:
        """One (shift, scale) for all pixels: [0, 1] for "minmax", unit variance for
        "standard", unchanged for None."""
        if self.scaling == "minmax":
            shift, scale = float(flat.min()), float(flat.max() - flat.min())
        elif self.scaling == "standard":
            shift, scale = float(flat.mean()), float(flat.std())
        else:
            shift, scale = 0.0, 1.0
        return shift, scale if scale > 1e-12 * max(1.0, abs(shift)) else 1.0

    def _model_input(self, flat: np.ndarray) -> np.ndarray:
        """Scaled float32 images of shape (n, C, H, W) for the module."""
        scaled = (flat - self.input_shift_) / self.input_scale_
        return scaled.astype(np.float32).reshape(len(flat), *self.image_shape_)

    def _from_model(self, images: np.ndarray, shape: tuple, dtype: Any) -> np.ndarray:
        """Module output back to input units, reshaped to ``shape``."""
        out = images.reshape(len(images), -1) * self.input_scale_ + self.input_shift_
        return out.astype(dtype).reshape(shape)

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Module output in input units, shaped like the training samples."""
        return self._from_model(out, (len(out), *self.sample_shape_), dtype)

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return tuple(self.sample_shape_), tuple(self.image_shape_)

    def _out_shape(self, X: Any, n: int) -> tuple:
        return (n, *np.shape(X)[1:]) if image_ndim(X) in (3, 4) else (n, -1)

    # -- the transformer API (transform, inverse_transform: the base's) --------
    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode then decode the images ``X``; same shape as ``X``."""
        check_is_fitted(self)
        flat = self._validate(X, reset=False)
        images = self._model_input(flat)
        recon = self._apply(lambda x: self.module_(x)["recon"], images)
        return self._from_model(recon, self._out_shape(X, len(flat)), flat.dtype)

    def denoise(self, X: Any) -> np.ndarray:
        """Clean versions of the noisy images ``X`` (the reconstruction), same shape
        as ``X``. Best with a model trained with ``noise`` > 0."""
        return self.reconstruct(X)

    def reconstruction_error(self, X: Any, *, scaled: bool = False) -> np.ndarray:
        """Per-image mean squared reconstruction error, shape (n_samples,), in the
        units of ``X`` (or of the scaled pixels with ``scaled=True``)."""
        check_is_fitted(self)
        flat = self._validate(X, reset=False)
        recon = self.reconstruct(flat).astype(np.float64)
        err = reconstruction_mse(flat, recon)
        return err / self.input_scale_**2 if scaled else err
