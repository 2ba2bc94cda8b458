"""Autoencoders for windows of a multichannel series: 1-D convolutional
(`ConvWindowAutoencoder`) and LSTM (`LSTMWindowAutoencoder`).

A window of ``window`` time steps and ``n_channels`` channels arrives flattened
time-major (``window * n_channels`` features, row ``t * n_channels + c``), as
`aekit.data.series.sliding_windows` cuts it; the module sees it as
``(n_channels, window)``. Each encoder stage is a stride-2 convolution over time
that halves the length (rounding up), a linear layer maps the last feature map
to the code; the decoder mirrors it with stride-2 transposed convolutions whose
output padding brings every length back exactly, the last one to
``n_channels`` outputs. Filters share weights over time, so a pattern learned
at one position of the window is recognised at another, which a dense layer on
the flattened window must learn position by position.

With ``linear_path`` a linear encoder and decoder run beside the convolutions
(their last layers start at zero), and the estimator sets the linear pair to
the PCA solution of the training windows: training starts at subsequence PCA,
as the dense window model does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from aekit import losses
from aekit.nn.blocks import activation as make_activation
from aekit.nn.blocks import set_pca_pair


@dataclass(frozen=True)
class ConvWindowConfig:
    """Shape and layers of a `ConvWindowAutoencoder`."""

    window: int  # time steps per window
    n_channels: int  # channels per time step
    channels: Sequence[int] = (16, 16)  # feature maps of each stride-2 stage
    latent_dim: int = 8
    kernel_size: int = 5  # odd: 'same' padding before the stride
    activation: str = "relu"
    linear_path: bool = False  # a linear encoder/decoder beside (PCA start)

    def __post_init__(self) -> None:
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")

    @property
    def n_features(self) -> int:
        return self.window * self.n_channels


def lengths(window: int, n_stages: int) -> list[int]:
    """Lengths after each stride-2 stage: ``[window, ceil(window / 2), ...]``."""
    out = [window]
    for _ in range(n_stages):
        out.append(math.ceil(out[-1] / 2))
    return out


class ConvWindowAutoencoder(nn.Module):
    """Flattened windows (n, window * n_channels) -> codes (n, latent_dim) ->
    reconstructed windows, through 1-D convolutions over time."""

    def __init__(self, config: ConvWindowConfig) -> None:
        super().__init__()
        self.config = config
        chans, k = list(config.channels), config.kernel_size
        sizes = lengths(config.window, len(chans))
        encoder: list[nn.Module] = []
        for c_in, c_out in zip([config.n_channels, *chans[:-1]], chans, strict=True):
            encoder += [nn.Conv1d(c_in, c_out, k, stride=2, padding=k // 2)]
            encoder += [make_activation(config.activation)]
        self.encoder = nn.Sequential(*encoder)
        self.shape = (chans[-1], sizes[-1])
        self.to_code = nn.Linear(chans[-1] * sizes[-1], config.latent_dim)
        self.from_code = nn.Linear(config.latent_dim, chans[-1] * sizes[-1])
        decoder: list[nn.Module] = [make_activation(config.activation)]
        last = nn.ConvTranspose1d(1, 1, 1)  # replaced by the last stage
        outs = [*reversed(chans[:-1]), config.n_channels]
        for i, (c_in, c_out) in enumerate(zip(reversed(chans), outs, strict=True)):
            target, source = sizes[-2 - i], sizes[-1 - i]
            pad = target - 2 * source + 1  # 0 or 1: the exact length back
            last = nn.ConvTranspose1d(c_in, c_out, k, 2, k // 2, output_padding=pad)
            decoder.append(last)
            if i < len(chans) - 1:
                decoder.append(make_activation(config.activation))
        self.decoder = nn.Sequential(*decoder)
        self.linear_encoder: nn.Linear | None = None
        self.linear_decoder: nn.Linear | None = None
        if config.linear_path:
            self.linear_encoder = nn.Linear(config.n_features, config.latent_dim)
            self.linear_decoder = nn.Linear(config.latent_dim, config.n_features)
            for layer in (self.to_code, last):
                nn.init.zeros_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    @torch.no_grad()
    def init_linear_path(
        self, mean: torch.Tensor, components: torch.Tensor, scales: torch.Tensor
    ) -> None:
        """Set the linear pair to PCA (as `aekit.nn.dense.DenseAutoencoder`'s):
        codes ``components @ (x - mean) / scales`` and back."""
        set_pca_pair(self.linear_encoder, self.linear_decoder, mean, components, scales)

    def _as_maps(self, x: torch.Tensor) -> torch.Tensor:
        """(n, window * n_channels) time-major -> (n, n_channels, window)."""
        cfg = self.config
        return x.reshape(-1, cfg.window, cfg.n_channels).transpose(1, 2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.to_code(self.encoder(self._as_maps(x)).flatten(1))
        return z if self.linear_encoder is None else z + self.linear_encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        maps = self.from_code(z).reshape(-1, *self.shape)
        out = self.decoder(maps).transpose(1, 2).flatten(1)
        return out if self.linear_decoder is None else out + self.linear_decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        return {"recon": self.decode(z), "z": z}

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        recon = losses.mse(out["recon"], x)
        return {"loss": recon, "recon": recon}


@dataclass(frozen=True)
class LSTMWindowConfig:
    """Shape and layers of an `LSTMWindowAutoencoder`."""

    window: int  # time steps per window
    n_channels: int  # channels per time step
    hidden_size: int = 32  # state size of both LSTMs
    latent_dim: int = 8
    linear_path: bool = False  # a linear encoder/decoder beside (PCA start)

    @property
    def n_features(self) -> int:
        return self.window * self.n_channels


class LSTMWindowAutoencoder(nn.Module):
    """Flattened windows (n, window * n_channels) -> codes (n, latent_dim) ->
    reconstructed windows, through LSTMs over time (an LSTM encoder-decoder as
    Malhotra et al. 2016, https://arxiv.org/abs/1607.00148, use for anomaly
    detection).

    The encoder LSTM reads the window step by step; a linear layer maps its last
    hidden state to the code. The decoder maps the code to a state, feeds it to
    a second LSTM at every step and a linear layer turns each step's output
    into the channels. With ``linear_path`` a linear pair beside it starts at
    PCA, as in `ConvWindowAutoencoder` (the layers into the code and out to the
    channels start at zero).
    """

    def __init__(self, config: LSTMWindowConfig) -> None:
        super().__init__()
        self.config = config
        c, h = config.n_channels, config.hidden_size
        self.encoder = nn.LSTM(c, h, batch_first=True)
        self.to_code = nn.Linear(h, config.latent_dim)
        self.from_code = nn.Linear(config.latent_dim, h)
        self.decoder = nn.LSTM(h, h, batch_first=True)
        self.to_output = nn.Linear(h, c)
        self.linear_encoder: nn.Linear | None = None
        self.linear_decoder: nn.Linear | None = None
        if config.linear_path:
            self.linear_encoder = nn.Linear(config.n_features, config.latent_dim)
            self.linear_decoder = nn.Linear(config.latent_dim, config.n_features)
            for layer in (self.to_code, self.to_output):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    @torch.no_grad()
    def init_linear_path(
        self, mean: torch.Tensor, components: torch.Tensor, scales: torch.Tensor
    ) -> None:
        """Set the linear pair to PCA (see `ConvWindowAutoencoder`)."""
        set_pca_pair(self.linear_encoder, self.linear_decoder, mean, components, scales)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        _, (state, _) = self.encoder(x.reshape(-1, cfg.window, cfg.n_channels))
        z = self.to_code(state[-1])
        return z if self.linear_encoder is None else z + self.linear_encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        start = torch.tanh(self.from_code(z))
        steps, _ = self.decoder(start.unsqueeze(1).expand(-1, self.config.window, -1))
        out = self.to_output(steps).flatten(1)
        return out if self.linear_decoder is None else out + self.linear_decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        return {"recon": self.decode(z), "z": z}

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        recon = losses.mse(out["recon"], x)
        return {"loss": recon, "recon": recon}
