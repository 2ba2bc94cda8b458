"""`ConvVAE`: the convolutional variational autoencoder for images."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from torch import nn

from aekit import _validation as v
from aekit.estimators._image_base import BaseImageAutoencoder
from aekit.estimators._variational import VariationalMixin
from aekit.nn import ACTIVATIONS, VAEConfig, VariationalAutoencoder
from aekit.registry import register


@register("convvae", input_kind="images")
class ConvVAE(VariationalMixin, BaseImageAutoencoder):
    """Convolutional variational autoencoder for images.

    The encoder and decoder of `aekit.ConvAutoencoder` around the Gaussian latent
    of `aekit.VAE`; images are given as in `aekit.ConvAutoencoder` and `sample`
    returns images shaped like the training samples.

    Parameters
    ----------
    channels : sequence of int, default=(32, 64)
    latent_dim : int, default=16
    beta : float, default=1.0
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
    kl_warmup : int, default=10
        As in `aekit.VAE`.
    binarize : bool or "auto", default="auto"
        As in `aekit.VAE`: "auto" binarises grey levels dynamically for the
        Bernoulli likelihood.
    image_shape : tuple of int or None, default=None
    activation : str, default="relu"
    scaling : {"minmax", "standard", None}, default="minmax"
        One shift and scale for all pixels, as in `aekit.ConvAutoencoder`.
    l2, optimizer, learning_rate, lr_schedule, batch_size, max_epochs, \
early_stopping, validation_fraction, patience, gradient_clip, device, \
random_state, verbose
        As in `aekit.VAE` and `aekit.Autoencoder`.

    Attributes
    ----------
    module_, image_shape_, sample_shape_, history_, best_epoch_, n_features_in_, \
device_
        As in `aekit.ConvAutoencoder`.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().images[:300] / 16.0
    >>> vae = aekit.ConvVAE(channels=(8, 16), latent_dim=2, max_epochs=3,
    ...                     random_state=0).fit(X)
    >>> vae.sample(5, random_state=0).shape
    (5, 8, 8)
    >>> vae.score_samples(X[:2], n_importance=10).shape
    (2,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "channels": v.Sizes(),
        "latent_dim": v.Int(),
        "activation": v.Choice(ACTIVATIONS),
    }

    def __init__(
        self,
        channels: Sequence[int] = (32, 64),
        latent_dim: int = 16,
        *,
        beta: float = 1.0,
        likelihood: str = "bernoulli",
        kl_warmup: int = 10,
        binarize: bool | str = "auto",
        image_shape: Sequence[int] | None = None,
        activation: str = "relu",
        scaling: str | None = "minmax",
        l2: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str | None = None,
        batch_size: int | str = "auto",
        max_epochs: int | str = "auto",
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int | str = "auto",
        gradient_clip: float | None = None,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
    ) -> None:
        self.channels = channels
        self.latent_dim = latent_dim
        self.beta = beta
        self.likelihood = likelihood
        self.kl_warmup = kl_warmup
        self.binarize = binarize
        self.image_shape = image_shape
        self.activation = activation
        self.scaling = scaling
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.gradient_clip = gradient_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    _resolved_names = ("binarize", *BaseImageAutoencoder._resolved_names)

    def _check_data_range(self, images: np.ndarray) -> None:
        self._check_unit_range(images, self.scaling)

    def _log_scale_jacobian(self) -> float:
        return self.n_features_in_ * math.log(self.input_scale_)

    def _build_module(self) -> nn.Module:
        config = VAEConfig(
            data_shape=tuple(self.image_shape_),
            latent_dim=self.latent_dim,
            channels=v.check_sizes("channels", self.channels),
            activation=self.activation,
            likelihood=self.likelihood,
            beta=self.beta,
        )
        return VariationalAutoencoder(config)
