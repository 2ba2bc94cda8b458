"""Dense (fully connected) autoencoder: encoder MLP to a latent code, decoder back.

With ``noise`` > 0 it is a denoising autoencoder (Vincent et al. 2008,
https://doi.org/10.1145/1390156.1390294): the input is corrupted during training
only. With ``sparsity`` > 0 an L1 penalty on the codes makes it a sparse autoencoder;
with ``contractive`` > 0 a penalty on the encoder's Jacobian makes it a contractive
one (Rifai et al. 2011): codes that change little when the input moves slightly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aekit import losses
from aekit.nn import manual
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
        loss: str = "mse",
        batch_norm: bool = False,
        dropout: float = 0.0,
        noise: float = 0.0,
        noise_type: str = "gaussian",
        sparsity: float = 0.0,
        contractive: float = 0.0,
    ) -> None:
        super().__init__()
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError("loss='bce' needs output_activation='sigmoid'")
        hidden = list(hidden_dims)
        self.encoder = mlp(
            [n_features, *hidden, latent_dim],
            activation,
            batch_norm=batch_norm,
            dropout=dropout,
        )
        self.decoder = mlp(  # the output activation is applied in `decode`
            [latent_dim, *reversed(hidden), n_features],
            activation,
            batch_norm=batch_norm,
            dropout=dropout,
        )
        self.sigmoid_output = output_activation == "sigmoid"
        self.loss_name = loss
        self.noise = noise
        self.noise_type = noise_type
        self.sparsity = sparsity
        self.contractive = contractive

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._output(self.decoder(z))

    def _output(self, raw: torch.Tensor) -> torch.Tensor:
        """The reconstruction from the decoder's last linear layer."""
        return torch.sigmoid(raw) if self.sigmoid_output else raw

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The training-time corruption of a denoising autoencoder."""
        return losses.corrupt(x, self.noise_type, self.noise)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_in = self.corrupt(x) if self.training and self.noise > 0 else x
        penalise = self.contractive > 0 and torch.is_grad_enabled()
        if penalise:
            x_in = x_in.detach().requires_grad_(True)
        z = self.encode(x_in)
        raw = self.decoder(z)
        out = {"recon": self._output(raw), "raw": raw, "z": z}
        if penalise:
            out["jacobian"] = losses.jacobian_frobenius(z, x_in)
        return out

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        if self.loss_name == "bce":
            recon = F.binary_cross_entropy_with_logits(out["raw"], x)
        else:
            recon = losses.mse(out["recon"], x)
        penalties = []
        if self.sparsity > 0:
            penalties.append(self.sparsity * losses.l1_activity(out["z"]))
        if "jacobian" in out:
            penalties.append(self.contractive * out["jacobian"])
        if not penalties:
            return {"loss": recon, "recon": recon}
        reg = sum(penalties[1:], penalties[0])
        return {"loss": recon + reg, "recon": recon, "reg": reg}

    def manual_step(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """A function that computes the training loss of a batch and writes every
        parameter's gradient without autograd (see `aekit.nn.manual`), or None when
        the layers are not a plain Linear/activation stack."""
        layers = manual.plain_layers([self.encoder, self.decoder])
        if layers is None or self.contractive > 0:  # the penalty needs autograd
            return None
        n_encoder = sum(isinstance(m, nn.Linear) for m in self.encoder)

        @torch.no_grad()
        def step(x: torch.Tensor) -> torch.Tensor:
            x_in = self.corrupt(x) if self.noise > 0 else x
            outputs = manual.forward(layers, x_in)
            raw = outputs[-1]
            if self.loss_name == "bce":  # d/d(raw) of the mean BCE: sigmoid(raw) - x
                loss = F.binary_cross_entropy_with_logits(raw, x)
                grad = torch.sigmoid(raw).sub_(x).mul_(1 / raw.numel())
            else:
                recon = self._output(raw)
                grad = recon - x
                loss = grad.pow(2).mean()
                if self.sigmoid_output:
                    grad.mul_(recon * (1 - recon))
                grad.mul_(2 / raw.numel())
            extra = None
            if self.sparsity > 0:
                z = outputs[n_encoder]
                loss = loss + self.sparsity * z.abs().mean()
                extra = {n_encoder: z.sign().mul_(self.sparsity / z.numel())}
            manual.backward(layers, outputs, grad, extra)
            return loss

        return step
