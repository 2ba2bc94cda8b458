"""`WindowConvAutoencoder`: `aekit.Autoencoder` with a 1-D convolutional
module (`aekit.nn.series.ConvWindowAutoencoder`) for flattened windows of a
multichannel series; `aekit.SeriesDetector`'s ``model="conv"``. `WindowModel`
holds what the window models share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from aekit import _validation as v
from aekit.estimators._autoencoder import Autoencoder
from aekit.nn.series import ConvWindowAutoencoder, ConvWindowConfig
from aekit.registry import register


class WindowModel(Autoencoder):
    """What the window autoencoders of `aekit.SeriesDetector` share: rows are
    windows of ``n_features / n_channels`` time steps flattened time-major,
    squared error on a linear output, the PCA path, and none of
    `aekit.Autoencoder`'s regularisers (`UNUSED`). Subclasses build the module
    (`_build_module`) and list their own parameters."""

    _parameter_constraints: dict[str, v.Constraint] = {
        **Autoencoder._parameter_constraints,
        "n_channels": v.Int(),
    }
    # settings of aekit.Autoencoder these modules have no use for: only these values
    UNUSED = {
        "output_activation": ("auto", "linear"),
        "loss": ("auto", "mse"),
        "batch_norm": (False,),
        "dropout": (0.0,),
        "noise": (0.0,),
        "sparsity": (0.0,),
        "contractive": (0.0,),
    }
    n_channels: int

    _accepts_tables = False  # windows of numbers only

    def _check_param_rules(self) -> None:
        for name, allowed in self.UNUSED.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} does not apply to "
                    f"{type(self).__name__} (allowed: {allowed}); use aekit."
                    "Autoencoder for it"
                )
        super()._check_param_rules()

    def _resolve_data_params(
        self, Xs: np.ndarray, n_samples: int, unit_spread: float
    ) -> None:
        if Xs.shape[1] % self.n_channels:
            raise ValueError(
                f"n_channels={self.n_channels} does not divide the "
                f"{Xs.shape[1]} features: each row must be a window of "
                "n_features / n_channels time steps"
            )
        super()._resolve_data_params(Xs, n_samples, unit_spread)
        self.hidden_dims_ = v.check_sizes("hidden_dims", self.hidden_dims)
        self.loss_, self.output_activation_ = "mse", "linear"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # no masked cells: windows of numbers
        return tags

    def _initialise_module(self, module: nn.Module, data: Any) -> None:
        """With ``pca_path``: the linear pair at the PCA solution of the
        scaled training rows (as `aekit.Autoencoder` does)."""
        if self.pca_path:
            self._start_at_pca(module, data)


@register("conv-window")
class WindowConvAutoencoder(WindowModel):
    """1-D convolutional autoencoder on flattened windows of a series.

    Each row is one window of ``n_features / n_channels`` time steps,
    flattened time-major (as `aekit.data.series.sliding_windows` cuts them);
    stride-2 convolutions over time encode it to ``latent_dim`` numbers and
    transposed convolutions decode it. With ``pca_path`` a linear pair starts
    at the PCA solution, so training starts at subsequence PCA. The other
    `aekit.Autoencoder` settings (regularisers, optimiser, schedule) keep
    their defaults. Read more in docs/series.md.

    Parameters
    ----------
    hidden_dims : sequence of int, default=(16, 16)
        Feature maps of each stride-2 convolution stage.
    latent_dim : int, default=8
    n_channels : int, default=1
        Channels per time step; must divide the number of features.
    kernel_size : int (odd), default=5
    activation, pca_path, l2, optimizer, learning_rate, lr_schedule,
    batch_size, max_epochs, early_stopping, validation_fraction, patience,
    gradient_clip, scaling, device, random_state, verbose, callbacks,
    warm_start, noise_type
        As in `aekit.Autoencoder`.
    output_activation, loss, batch_norm, dropout, noise, sparsity, contractive
        Kept for `aekit.Autoencoder`'s interface; only their defaults (a
        linear output, squared error, no regulariser) are accepted.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from aekit.data.series import sliding_windows
    >>> t = np.arange(600)
    >>> x = np.column_stack([np.sin(t / 5), np.cos(t / 5)])
    >>> windows = sliding_windows(x, 16)
    >>> ae = aekit.WindowConvAutoencoder(n_channels=2, max_epochs=2,
    ...                                  random_state=0).fit(windows)
    >>> ae.reconstruction_error(windows).shape
    (585,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        **WindowModel._parameter_constraints,
        "kernel_size": v.Int(),
    }

    def __init__(
        self,
        hidden_dims: Sequence[int] = (16, 16),
        latent_dim: int = 8,
        *,
        n_channels: int = 1,
        kernel_size: int = 5,
        activation: str = "relu",
        output_activation: str = "auto",
        loss: str = "auto",
        pca_path: bool = True,
        batch_norm: bool = False,
        dropout: float = 0.0,
        noise: float = 0.0,
        noise_type: str = "gaussian",
        sparsity: float = 0.0,
        contractive: float = 0.0,
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
        scaling: str | None = "auto",
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
        warm_start: bool = False,
    ) -> None:
        settings = dict(locals())
        for name in ("self", "__class__", "n_channels", "kernel_size"):
            settings.pop(name, None)
        super().__init__(**settings)
        self.n_channels = n_channels
        self.kernel_size = kernel_size

    def _check_param_rules(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd (same padding), got {self.kernel_size}"
            )
        super()._check_param_rules()

    def _build_module(self) -> nn.Module:
        config = ConvWindowConfig(
            window=self.n_features_in_ // self.n_channels,
            n_channels=self.n_channels,
            channels=tuple(self.hidden_dims_),
            latent_dim=self.latent_dim,
            kernel_size=self.kernel_size,
            activation=self.activation,
            linear_path=bool(self.pca_path),
        )
        return ConvWindowAutoencoder(config)
