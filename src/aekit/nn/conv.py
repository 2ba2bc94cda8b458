"""Convolutional encoder, decoder and autoencoder for images of shape (C, H, W).

Each encoder stage is a stride-2 3x3 convolution that halves the height and width
(rounding up); each decoder stage a stride-2 transposed convolution whose output
padding is chosen so that every size, odd ones included, comes back exactly.
A linear layer maps the last feature map to the code and back.

With ``noise`` > 0 the autoencoder is a denoising autoencoder (Vincent et al. 2010,
https://jmlr.org/papers/v11/vincent10a.html): Gaussian, salt-and-pepper or masking
corruption of the input during training only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from aekit import losses
from aekit.nn.blocks import activation as make_activation


def stage_sizes(size: int, n_stages: int) -> list[int]:
    """Spatial sizes after each stride-2 stage: ``[size, ceil(size/2), ...]``."""
    sizes = [size]
    for _ in range(n_stages):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _stage(c_in: int, c_out: int, act: str, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    return [*layers, make_activation(act)]


class ConvEncoder(nn.Module):
    """(n, C, H, W) images -> (n, out_features) through strided convolutions."""

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        out_features: int,
        *,
        activation: str = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        for c_in, c_out in zip([c, *channels[:-1]], channels, strict=True):
            layers += _stage(c_in, c_out, activation, batch_norm)
        self.features = nn.Sequential(*layers)
        n_flat = channels[-1] * stage_sizes(h, len(channels))[-1]
        n_flat *= stage_sizes(w, len(channels))[-1]
        self.head = nn.Linear(n_flat, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """(n, latent_dim) codes -> (n, C, H, W) images, mirroring `ConvEncoder`."""

    def __init__(
        self,
        latent_dim: int,
        image_shape: Sequence[int],
        channels: Sequence[int],
        *,
        activation: str = "relu",
        batch_norm: bool = False,
        output_activation: str = "identity",
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        hs, ws = stage_sizes(h, len(channels)), stage_sizes(w, len(channels))
        self.start = (channels[-1], hs[-1], ws[-1])
        self.head = nn.Sequential(
            nn.Linear(latent_dim, math.prod(self.start)), make_activation(activation)
        )
        layers: list[nn.Module] = []
        ups = list(reversed(channels))
        for i, (c_in, c_out) in enumerate(zip(ups, [*ups[1:], ups[-1]], strict=True)):
            k = len(channels) - i  # from stage k to stage k - 1
            pad = (hs[k - 1] - 2 * hs[k] + 1, ws[k - 1] - 2 * ws[k] + 1)
            layers.append(
                nn.ConvTranspose2d(c_in, c_out, 3, 2, padding=1, output_padding=pad)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(make_activation(activation))
        layers.append(nn.Conv2d(ups[-1], c, 3, padding=1))
        self.body = nn.Sequential(*layers)
        # One bias per output pixel, added before the output activation: with it
        # the decoder can start at the training mean image (`start_at`).
        self.pixel_bias = nn.Parameter(torch.zeros(c, h, w))
        self.output = make_activation(output_activation)
        self._register_load_state_dict_pre_hook(
            _zero_pixel_bias_if_missing, with_module=True
        )

    def raw(self, z: torch.Tensor) -> torch.Tensor:
        """The output before the output activation."""
        return self.body(self.head(z).unflatten(1, self.start)) + self.pixel_bias

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.raw(z))

    @torch.no_grad()
    def start_at(self, raw: torch.Tensor, *, zero_last: bool = True) -> None:
        """Start with output ``raw`` (before the output activation; (C, H, W)):
        the per-pixel bias is set to it and, with ``zero_last``, the last
        convolution to zero, so the untrained decoder outputs exactly ``raw``
        whatever the code (its gradient still reaches the last convolution,
        which then brings in the features: the zero-initialised residual branch
        of Fixup/ReZero)."""
        self.pixel_bias.copy_(raw)
        if zero_last:
            last = self.body[-1]
            assert isinstance(last, nn.Conv2d)  # (built in __init__)
            last.weight.zero_()
            if last.bias is not None:
                last.bias.zero_()


def _zero_pixel_bias_if_missing(
    module: nn.Module, state: dict, prefix: str, *args: object
) -> None:
    """Models saved before the per-pixel bias existed load with it at zero (the
    output they were trained with)."""
    key = prefix + "pixel_bias"
    if key not in state and isinstance(module, ConvDecoder):
        state[key] = torch.zeros_like(module.pixel_bias)


@dataclass(frozen=True)
class ConvConfig:
    """Everything that defines a `ConvAutoencoder`."""

    image_shape: tuple[int, ...]  # (channels, height, width) of one image
    channels: tuple[int, ...] = (32, 64)  # feature maps of each stride-2 stage
    latent_dim: int = 32  # size of the code
    activation: str = "relu"  # hidden activation, a name in `ACTIVATIONS`
    batch_norm: bool = False  # batch normalisation after each convolution
    output_activation: str = "identity"  # or "sigmoid" for pixels in [0, 1]
    noise: float = 0.0  # training-time corruption level (0: none), see `corrupt`
    noise_type: str = "gaussian"  # a name in `losses.NOISE_TYPES`


class ConvAutoencoder(nn.Module):
    """Convolutional (denoising) autoencoder; ``forward`` returns recon and z."""

    def __init__(self, config: ConvConfig) -> None:
        super().__init__()
        self.config = config
        image, channels, k = config.image_shape, config.channels, config.latent_dim
        act, norm = config.activation, config.batch_norm
        self.encoder = ConvEncoder(image, channels, k, activation=act, batch_norm=norm)
        self.decoder = ConvDecoder(
            k,
            image,
            channels,
            activation=act,
            batch_norm=norm,
            output_activation=config.output_activation,
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Training-time corruption (pixels in scaled units, salt = 1, pepper = 0)."""
        return losses.corrupt(x, self.config.noise_type, self.config.noise)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        noisy = self.training and self.config.noise > 0
        x_in = self.corrupt(x) if noisy else x
        z = self.encode(x_in)
        return {"recon": self.decode(z), "z": z}

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        recon = losses.mse(out["recon"], x)
        return {"loss": recon, "recon": recon}
