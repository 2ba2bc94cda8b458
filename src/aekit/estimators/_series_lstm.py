"""`WindowLSTMAutoencoder`: `aekit.Autoencoder` with an LSTM encoder-decoder
(`aekit.nn.series.LSTMWindowAutoencoder`) for flattened windows of a
multichannel series; `aekit.SeriesDetector`'s ``model="lstm"``."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from aekit import _validation as v
from aekit.estimators._series_conv import WindowModel
from aekit.nn.series import LSTMWindowAutoencoder, LSTMWindowConfig
from aekit.registry import register


@register("lstm-window")
class WindowLSTMAutoencoder(WindowModel):
    """LSTM autoencoder on flattened windows of a series.

    Each row is one window of ``n_features / n_channels`` time steps, flattened
    time-major (as `aekit.data.series.sliding_windows` cuts them). An LSTM reads
    the window and its last state gives the code; a second LSTM, fed the code at
    every step, writes the window back. With ``pca_path`` a linear pair starts
    at the PCA solution, so training starts at subsequence PCA. Slower than the
    dense and convolutional window models on a CPU (the steps of a window run
    one after the other). Read more in docs/series.md.

    Parameters
    ----------
    hidden_dims : sequence of one int, default=(32,)
        State size of the encoder and decoder LSTMs.
    latent_dim : int, default=8
    n_channels : int, default=1
        Channels per time step; must divide the number of features.
    pca_path, l2, optimizer, learning_rate, lr_schedule, batch_size,
    max_epochs, early_stopping, validation_fraction, patience, gradient_clip,
    scaling, device, random_state, verbose, callbacks, warm_start, noise_type,
    activation
        As in `aekit.Autoencoder` (``activation`` is not used: an LSTM has its
        own gates).
    output_activation, loss, batch_norm, dropout, noise, sparsity, contractive
        Kept for `aekit.Autoencoder`'s interface; only their defaults (a
        linear output, squared error, no regulariser) are accepted.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from aekit.data.series import sliding_windows
    >>> t = np.arange(300)
    >>> windows = sliding_windows(np.sin(t / 5)[:, None], 16)
    >>> ae = aekit.WindowLSTMAutoencoder(max_epochs=2, random_state=0).fit(windows)
    >>> ae.reconstruction_error(windows).shape
    (285,)
    """

    _parameter_constraints: dict[str, v.Constraint] = dict(
        WindowModel._parameter_constraints
    )

    def __init__(
        self,
        hidden_dims: Sequence[int] = (32,),
        latent_dim: int = 8,
        *,
        n_channels: int = 1,
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
        for name in ("self", "__class__", "n_channels"):
            settings.pop(name, None)
        super().__init__(**settings)
        self.n_channels = n_channels

    def _check_param_rules(self) -> None:
        if not isinstance(self.hidden_dims, str) and len(self.hidden_dims) != 1:
            raise ValueError(
                "hidden_dims must hold one int (the LSTMs' state size), got "
                f"{self.hidden_dims!r}"
            )
        super()._check_param_rules()

    def _build_module(self) -> nn.Module:
        config = LSTMWindowConfig(
            window=self.n_features_in_ // self.n_channels,
            n_channels=self.n_channels,
            hidden_size=self.hidden_dims_[0],
            latent_dim=self.latent_dim,
            linear_path=bool(self.pca_path),
        )
        return LSTMWindowAutoencoder(config)
