"""Dense (fully connected) autoencoder: encoder MLP to a latent code, decoder back.

With ``noise`` > 0 it is a denoising autoencoder (Vincent et al. 2008,
https://doi.org/10.1145/1390156.1390294): the input is corrupted during training
only. With ``sparsity`` > 0 an L1 penalty on the codes makes it a sparse autoencoder;
with ``contractive`` > 0 a penalty on the encoder's Jacobian makes it a contractive
one (Rifai et al. 2011): codes that change little when the input moves slightly.

With ``linear_path`` a linear encoder and decoder run beside the two MLPs, whose
outputs are added: ``z = L_e(x) + f(x)`` and ``x_hat = L_d(z) + g(z)``. The
estimator sets the linear pair to the PCA solution (`init_linear_path`) and the
MLPs' last layers start at zero, so training starts from PCA's reconstruction
and the nonlinear layers learn what PCA misses (the zero-initialised residual
branch of Fixup/ReZero-style networks, here around PCA).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from aekit import losses
from aekit.nn import manual
from aekit.nn.blocks import mlp, raw_output_for, set_pca_pair


@dataclass(frozen=True)
class DenseConfig:
    """Everything that defines a `DenseAutoencoder`: its layers and its loss."""

    n_features: int  # width of the input and of the reconstruction
    hidden_dims: tuple[int, ...] = (128, 64)  # encoder widths; the decoder reverses
    latent_dim: int = 8  # size of the code
    activation: str = "relu"  # hidden activation, a name in `ACTIVATIONS`
    output_activation: str = "identity"  # or "sigmoid" for data in [0, 1]
    loss: str = "mse"  # or "bce": binary cross-entropy, needs the sigmoid output
    batch_norm: bool = False  # batch normalisation after each hidden layer
    dropout: float = 0.0  # dropout rate after each hidden activation
    noise: float = 0.0  # training-time corruption level (0: none), see `corrupt`
    noise_type: str = "gaussian"  # a name in `losses.NOISE_TYPES`
    sparsity: float = 0.0  # weight of the L1 penalty on the codes
    contractive: float = 0.0  # weight of the encoder-Jacobian penalty
    linear_path: bool = False  # a linear encoder/decoder beside the MLPs (PCA start)
    n_outputs: int | None = None  # width of the decoder's output, if not n_features

    def __post_init__(self) -> None:
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError("loss='bce' needs output_activation='sigmoid'")
        if self.linear_path and self.n_outputs not in (None, self.n_features):
            raise ValueError("linear_path needs n_outputs == n_features")


class DenseAutoencoder(nn.Module):
    """Encoder MLP ``n_features -> *hidden_dims -> latent_dim`` and its mirror
    image as decoder, as described by a `DenseConfig`."""

    def __init__(self, config: DenseConfig) -> None:
        super().__init__()
        self.config = config
        hidden = list(config.hidden_dims)
        self.encoder = mlp(
            [config.n_features, *hidden, config.latent_dim],
            config.activation,
            batch_norm=config.batch_norm,
            dropout=config.dropout,
        )
        self.decoder = mlp(  # the output activation is applied in `decode`
            [
                config.latent_dim,
                *reversed(hidden),
                config.n_outputs or config.n_features,
            ],
            config.activation,
            batch_norm=config.batch_norm,
            dropout=config.dropout,
        )
        self.sigmoid_output = config.output_activation == "sigmoid"
        self.linear_encoder: nn.Linear | None = None
        self.linear_decoder: nn.Linear | None = None
        if config.linear_path:
            self.linear_encoder = nn.Linear(config.n_features, config.latent_dim)
            self.linear_decoder = nn.Linear(config.latent_dim, config.n_features)
            for mlp_ in (self.encoder, self.decoder):
                last = [m for m in mlp_ if isinstance(m, nn.Linear)][-1]
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    @torch.no_grad()
    def init_linear_path(
        self, mean: torch.Tensor, components: torch.Tensor, scales: torch.Tensor
    ) -> None:
        """Set the linear pair to PCA: codes ``components @ (x - mean) / scales``
        (whitened when ``scales`` are the components' standard deviations) and
        back. ``components`` (k, n_features) may have fewer rows than the code;
        the remaining code units start at zero."""
        set_pca_pair(self.linear_encoder, self.linear_decoder, mean, components, scales)

    @torch.no_grad()
    def start_output_at(self, mean: torch.Tensor) -> None:
        """Start the output near ``mean`` (one value per feature) through the
        decoder's last bias: its logit for a sigmoid output."""
        last = [m for m in self.decoder if isinstance(m, nn.Linear)][-1]
        last.bias.copy_(raw_output_for(mean, self.sigmoid_output))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return z if self.linear_encoder is None else z + self.linear_encoder(x)

    def _raw(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output before the output activation."""
        raw = self.decoder(z)
        return raw if self.linear_decoder is None else raw + self.linear_decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._output(self._raw(z))

    def _output(self, raw: torch.Tensor) -> torch.Tensor:
        """The reconstruction from the decoder's last linear layer."""
        return torch.sigmoid(raw) if self.sigmoid_output else raw

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The training-time corruption of a denoising autoencoder."""
        return losses.corrupt(x, self.config.noise_type, self.config.noise)

    def _corrupting(self) -> bool:
        """Whether `forward` corrupts its input now (in training, with noise)."""
        return self.training and self.config.noise > 0

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_in = self.corrupt(x) if self._corrupting() else x
        penalise = self.config.contractive > 0 and torch.is_grad_enabled()
        if penalise:
            x_in = x_in.detach().requires_grad_(True)
        z = self.encode(x_in)
        raw = self._raw(z)
        out = {"recon": self._output(raw), "raw": raw, "z": z}
        if penalise:
            out["jacobian"] = losses.jacobian_frobenius(z, x_in)
        return out

    def reconstruction_loss(
        self, x: torch.Tensor, out: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """The reconstruction term of `loss` (a scalar)."""
        if self.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out["raw"], x)
        return losses.mse(out["recon"], x)

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        cfg = self.config
        recon = self.reconstruction_loss(x, out)
        penalties = []
        if cfg.sparsity > 0:
            penalties.append(cfg.sparsity * losses.l1_activity(out["z"]))
        if "jacobian" in out:
            penalties.append(cfg.contractive * out["jacobian"])
        if not penalties:
            return {"loss": recon, "recon": recon}
        reg = sum(penalties[1:], penalties[0])
        return {"loss": recon + reg, "recon": recon, "reg": reg}

    def manual_step(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """A function that computes the training loss of a batch and writes every
        parameter's gradient without autograd (see `aekit.nn.manual`), or None when
        the hand-written pass does not cover the layers. The linear path is two
        more matrix products each way: ``z = f(x) + L_e(x)``, ``raw = g(z) +
        L_d(z)``, so the code's gradient is the decoder MLP's plus ``L_d``'s."""
        cfg = self.config
        layers = manual.dense_layers([self.encoder, self.decoder])
        if layers is None or cfg.contractive > 0:
            return None  # (the Jacobian penalty needs autograd)
        n_encoder = sum(isinstance(m, nn.Linear) for m in self.encoder)
        encoder, decoder = layers[:n_encoder], layers[n_encoder:]
        lin_enc, lin_dec = self.linear_encoder, self.linear_decoder

        @torch.no_grad()
        def step(x: torch.Tensor) -> torch.Tensor:
            x_in = self.corrupt(x) if cfg.noise > 0 else x
            saved_enc = manual.forward(encoder, x_in)
            z = saved_enc[-1].output
            if lin_enc is not None:
                z = torch.addmm(lin_enc.bias, x_in, lin_enc.weight.t()).add_(z)
            saved_dec = manual.forward(decoder, z)
            raw = saved_dec[-1].output
            if lin_dec is not None:
                raw = torch.addmm(lin_dec.bias, z, lin_dec.weight.t()).add_(raw)
            loss, grad = self._output_gradient(raw, x)
            grad_z_lin = None
            if lin_dec is not None:
                grad_z_lin = manual.linear_backward(lin_dec, z, grad)
            grad_z = manual.backward(decoder, saved_dec, grad, input_grad=True)
            grad_z = cast(torch.Tensor, grad_z)  # (returned with input_grad)
            if grad_z_lin is not None:
                grad_z.add_(grad_z_lin)
            if cfg.sparsity > 0:
                loss = loss + cfg.sparsity * z.abs().mean()
                grad_z.add_(z.sign().mul_(cfg.sparsity / z.numel()))
            if lin_enc is not None:
                manual.linear_backward(lin_enc, x_in, grad_z, input_grad=False)
            manual.backward(encoder, saved_enc, grad_z)
            return loss

        return step

    def _output_gradient(
        self, raw: torch.Tensor, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reconstruction loss of the decoder's output ``raw`` and its
        gradient with respect to ``raw``."""
        if self.config.loss == "bce":  # d/d(raw) of the mean BCE: sigmoid(raw) - x
            loss = F.binary_cross_entropy_with_logits(raw, x)
            return loss, torch.sigmoid(raw).sub_(x).mul_(1 / raw.numel())
        recon = self._output(raw)
        grad = recon - x
        loss = grad.pow(2).mean()
        if self.sigmoid_output:
            grad.mul_(recon * (1 - recon))
        return loss, grad.mul_(2 / raw.numel())
