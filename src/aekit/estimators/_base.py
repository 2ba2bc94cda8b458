"""What every aekit estimator shares: parameter checks, input validation, the call
into the training loop, batched inference, and the fit-or-nothing guarantee."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from aekit import _validation as v
from aekit.training import (
    LR_SCHEDULES,
    OPTIMIZERS,
    Callback,
    TrainConfig,
    fit_module,
    resolve_device,
    seed_from,
    seeded,
)

INFERENCE_BATCH = 8192


@contextlib.contextmanager
def fit_or_nothing(estimator: BaseEstimator) -> Iterator[None]:
    """If the block raises, put the estimator back exactly as it was before ``fit``:
    bad input or a diverged run never leaves a half-fitted estimator behind."""
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(before)
        raise


class TorchEstimator(BaseEstimator):
    """Base class of estimators that train a torch module with `fit_module`.

    Subclasses define ``_check_params()``, ``_build_module()`` (from fitted metadata
    such as ``n_features_in_``) and set ``_fitted_metadata`` (names of fitted
    attributes that describe the model and are saved in ``config.json``).
    """

    module_: Any  # the trained torch module, set by fit

    # Training parameters every subclass takes, with the same meaning.
    def _check_training_params(self) -> None:
        v.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        v.check_float("learning_rate", self.learning_rate, low_open=True)
        v.check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        v.check_int("batch_size", self.batch_size)
        v.check_int("max_epochs", self.max_epochs)
        v.check_bool("early_stopping", self.early_stopping)
        v.check_float(
            "validation_fraction", self.validation_fraction, low_open=True, high=1.0
        )
        v.check_int("patience", self.patience)
        if self.gradient_clip is not None:
            v.check_float("gradient_clip", self.gradient_clip, low_open=True)
        try:
            resolve_device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', "
                f"got {self.device!r} ({exc})."
            ) from None

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            weight_decay=getattr(self, "l2", 0.0),
            lr_schedule=self.lr_schedule,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            patience=self.patience,
            gradient_clip=self.gradient_clip,
            verbose=bool(self.verbose),
        )

    def _check_split(self, n_samples: int) -> None:
        """Enough samples for the validation split (or for training at all)."""
        if not self.early_stopping:
            return
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_samples - n_val < 2:
            raise ValueError(
                f"too few samples for early stopping: X has {n_samples} samples and "
                f"validation_fraction={self.validation_fraction} holds out {n_val}, "
                f"leaving {n_samples - n_val} to train on (at least 2 are needed). "
                "Pass more samples, lower validation_fraction or set "
                "early_stopping=False."
            )

    def _train(
        self,
        data: Any,
        to_device: Callable[[Any, torch.device], Any],
        callbacks: list[Callback] | None = None,
    ) -> None:
        """Build the module and train it on ``data``; sets the fitted attributes."""
        device = resolve_device(self.device)
        seed = seed_from(self.random_state)
        with seeded(seed, device):
            module = (self.module_ if self._warm() else self._build_module()).to(device)
            generator = torch.Generator().manual_seed(seed)
            result = fit_module(
                module,
                to_device(data, device),
                self._train_config(),
                generator=generator,
                callbacks=callbacks or [],
            )
        self.module_ = module
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_iter_ = len(result.history)
        self.device_ = str(device)

    def _build_module(self) -> nn.Module:
        raise NotImplementedError

    def _warm(self) -> bool:
        """Whether ``fit`` continues from the fitted module (``warm_start=True``
        on an estimator that has one)."""
        return bool(getattr(self, "warm_start", False)) and hasattr(self, "module_")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
        )

    @torch.inference_mode()
    def _apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray
    ) -> np.ndarray:
        """``fn`` on float32 batches of ``X`` on the model's device, back to NumPy."""
        check_is_fitted(self)
        self.module_.eval()
        device = torch.device(self.device_)
        chunks = []
        X32 = np.asarray(X, dtype=np.float32)
        for start in range(0, len(X32), INFERENCE_BATCH):
            xb = torch.from_numpy(X32[start : start + INFERENCE_BATCH]).to(device)
            chunks.append(fn(xb).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.empty((0,), np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted estimator to the folder ``path`` (see `aekit.save`)."""
        from aekit.persistence import save

        save(self, path)


class AutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, TorchEstimator
):
    """What every autoencoder transformer shares on top of `TorchEstimator`: scores
    from ``reconstruction_error`` (defined by the subclass), feature names
    ``<name>0..`` for the codes, and float32/float64 preserved."""

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus the scaled reconstruction error: higher means more typical."""
        return -self.reconstruction_error(X, scaled=True)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of `score_samples` (higher is better), for model selection."""
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self) -> int:
        check_is_fitted(self)
        return int(self.latent_dim)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
