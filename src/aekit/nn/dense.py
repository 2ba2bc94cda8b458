"""Dense (fully connected) autoencoder: encoder MLP to a latent code, decoder back.

With ``noise`` > 0 it is a denoising autoencoder (Vincent et al. 2008,
https://doi.org/10.1145/1390156.1390294): the input is corrupted during training
only. With ``sparsity`` > 0 an L1 penalty on the codes makes it a sparse autoencoder.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit import losses
from aekit.nn.blocks import mlp


class DenseAutoencoder(nn.Module):
    def __init__(
        self,
        n_features: int,
        hidden_dims: Sequence[int],
        latent_dim: int,
        *,
        activation: str = "relu",
        output_activation: str = "identity",
        batch_norm: bool = False,
        dropout: float = 0.0,
        noise: float = 0.0,
        noise_type: str = "gaussian",
        sparsity: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = list(hidden_dims)
        self.encoder = mlp(
            [n_features, *hidden, latent_dim],
            activation,
            batch_norm=batch_norm,
            dropout=dropout,
        )
        self.decoder = mlp(
            [latent_dim, *reversed(hidden), n_features],
            activation,
            batch_norm=batch_norm,
            dropout=dropout,
            output_activation=output_activation,
        )
        self.noise = noise
        self.noise_type = noise_type
        self.sparsity = sparsity

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The training-time corruption of a denoising autoencoder."""
        return losses.corrupt(x, self.noise_type, self.noise)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_in = self.corrupt(x) if self.training and self.noise > 0 else x
        z = self.encode(x_in)
        return {"recon": self.decode(z), "z": z}

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        recon = losses.mse(out["recon"], x)
        if self.sparsity > 0:
            reg = self.sparsity * losses.l1_activity(out["z"])
            return {"loss": recon + reg, "recon": recon, "reg": reg}
        return {"loss": recon, "recon": recon}
