"""`ConvAutoencoder`: the convolutional (denoising) autoencoder for images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from torch import nn

from aekit import _validation as v
from aekit.estimators._checks import check_noise_level, resolve_output_activation
from aekit.estimators._collapse import training_mean
from aekit.estimators._image_base import BaseImageAutoencoder
from aekit.estimators._tabular import OUTPUT_ACTIVATIONS
from aekit.losses import NOISE_TYPES
from aekit.nn import ACTIVATIONS, ConvConfig
from aekit.nn.blocks import raw_output_for
from aekit.nn.conv import ConvAutoencoder as ConvModule
from aekit.registry import register
from aekit.training import TrainConfig


@register("conv", input_kind="images")
class ConvAutoencoder(BaseImageAutoencoder):
    """Convolutional autoencoder for images, with optional denoising training.

    Images are arrays of shape (n, height, width), (n, channels, height, width) or
    flat (n, height * width * channels) with ``image_shape``; outputs keep the
    input's shape. Each encoder stage halves the height and width.

    Parameters
    ----------
    channels : sequence of int, default=(32, 64)
        Feature maps of each stride-2 convolution stage (the decoder mirrors them).
    latent_dim : int, default=32
        Size of the code.
    image_shape : tuple of int or None, default=None
        (height, width) or (channels, height, width) of flat input. None: a square
        grey image when n_features is a perfect square, else a one-row image.
    activation : str, default="relu"
    output_activation : {"auto", "linear", "sigmoid"}, default="auto"
        "auto" is sigmoid when the scaled pixels lie in [0, 1], else linear.
    batch_norm : bool, default=False
    noise : float, default=0.0
        Training-time corruption: the Gaussian standard deviation (in scaled
        pixel units), or the fraction of pixels set to 0 or 1 ("salt_pepper") or
        zeroed ("mask").
    noise_type : {"gaussian", "salt_pepper", "mask"}, default="gaussian"
    scaling : {"minmax", "standard", None}, default="minmax"
        One shift and scale for all pixels ("minmax" maps 0..255 to [0, 1]).
    l2, optimizer, learning_rate, lr_schedule, batch_size, max_epochs, \
early_stopping, validation_fraction, patience, gradient_clip, device, \
random_state, verbose
        As in `aekit.Autoencoder`.

    Attributes
    ----------
    module_ : torch.nn.Module
    image_shape_ : tuple of int
        (channels, height, width) the module works on.
    sample_shape_ : tuple of int
        Shape of one training sample as given (outputs of `inverse_transform`).
    history_, best_epoch_, n_features_in_, device_
        As in `aekit.Autoencoder`.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().images[:300]  # (300, 8, 8), pixels 0..16
    >>> dae = aekit.ConvAutoencoder(channels=(8, 16), latent_dim=8, noise=0.2,
    ...                             max_epochs=3, random_state=0).fit(X)
    >>> dae.denoise(X[:5]).shape
    (5, 8, 8)
    >>> dae.transform(X).shape
    (300, 8)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "channels": v.Sizes(),
        "latent_dim": v.Int(),
        "activation": v.Choice(ACTIVATIONS),
        "output_activation": v.Choice(OUTPUT_ACTIVATIONS),
        "batch_norm": v.Bool(),
        "noise_type": v.Choice(NOISE_TYPES),
        "noise": v.Real(),
    }

    def __init__(
        self,
        channels: Sequence[int] = (32, 64),
        latent_dim: int = 32,
        *,
        image_shape: Sequence[int] | None = None,
        activation: str = "relu",
        output_activation: str = "auto",
        batch_norm: bool = False,
        noise: float = 0.0,
        noise_type: str = "gaussian",
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
        self.image_shape = image_shape
        self.activation = activation
        self.output_activation = output_activation
        self.batch_norm = batch_norm
        self.noise = noise
        self.noise_type = noise_type
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

    def _check_param_rules(self) -> None:
        check_noise_level(self.noise, self.noise_type)
        super()._check_param_rules()

    def _check_data_range(self, images: np.ndarray) -> None:
        """Sigmoid output for pixels in [0, 1], linear otherwise (or as asked)."""
        self.output_activation_ = resolve_output_activation(
            self.output_activation, images, self.scaling
        )

    def _initialise_module(self, module: nn.Module, data: np.ndarray) -> None:
        """The untrained model outputs the training mean image, whatever its
        input (see `ConvDecoder.start_at`): training starts from the mean
        predictor, not from a random output that a sigmoid may saturate."""
        sigmoid = self.output_activation_ == "sigmoid"
        raw = raw_output_for(training_mean(data).float(), sigmoid)
        module.decoder.start_at(raw)  # type: ignore[union-attr, operator]

    def _train_config(self) -> TrainConfig:
        """Early stopping also weighs the start (the mean image): a fit never
        ends worse than it on the validation images."""
        return replace(super()._train_config(), score_initial=True)

    def _build_module(self) -> nn.Module:
        output = "sigmoid" if self.output_activation_ == "sigmoid" else "identity"
        config = ConvConfig(
            image_shape=tuple(self.image_shape_),
            channels=v.check_sizes("channels", self.channels),
            latent_dim=self.latent_dim,
            activation=self.activation,
            batch_norm=bool(self.batch_norm),
            output_activation=output,
            noise=self.noise,
            noise_type=self.noise_type,
        )
        return ConvModule(config)
