"""RecVAE (Shenbin et al. 2020, https://arxiv.org/abs/1912.11160): Mult-VAE with

- a deeper encoder: dense skip connections (each layer adds the outputs of all
  the layers before it, as the authors' code does), swish and layer norm; with
  no hidden layer (``n_layers=0``) the encoder is one linear map to the code's
  mean and log-variance, as Mult-VAE's linear encoder;
- a composite prior: a per-dimension mixture of N(0, I), the posterior of the
  encoder as it was at the end of the previous training cycle (a frozen copy),
  and a wide normal N(0, e^10);
- a KL weight per user, ``gamma`` times the user's number of clicks;
- alternating updates: in the encoder phase the decoder is held fixed and the
  input is dropped out; in the decoder phase the encoder is held fixed, there
  is no dropout and the loss is the likelihood alone. `RecVAENet.start_phase`
  switches; a callback calls it.

The authors give each part its own optimiser; aekit's one training loop has one
Adam over all the parameters, whose momentum keeps moving the part held fixed
for some steps after a switch. So the held part is read from a copy taken when
its phase began (the decoder's weights; for the encoder, the prior's copy), and
`RecVAENet.restore_held` puts the copy back at the end of each epoch: the held
part does not move, as in the authors' code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from aekit.nn.recsys import csr_parts, multinomial_nll

MIXTURE_WEIGHTS = (3 / 20, 3 / 4, 1 / 10)  # standard, previous posterior, wide
WIDE_LOGVAR = 10.0


@dataclass(frozen=True)
class RecVAEConfig:
    """Everything that defines a `RecVAENet`."""

    n_items: int  # length of a click vector
    hidden_dim: int = 600  # width of every encoder layer (unused without layers)
    n_layers: int = 5  # encoder layers (densely connected); 0: a linear encoder
    latent_dim: int = 200  # size of the code
    dropout: float = 0.5  # input dropout in the encoder phase
    gamma: float = 0.005  # KL weight per click of the user
    norm_eps: float = 0.1  # layer norm's epsilon (the authors' code uses 0.1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log-density of N(mu, exp(logvar)) at ``z``."""
    return -0.5 * (logvar + math.log(2 * math.pi) + (z - mu).pow(2) / logvar.exp())


class DenseEncoder(nn.Module):
    """Click rows -> (mu, logvar). Layer i computes ``norm_i(swish(fc_i(h_{i-1})
    + h_1 + ... + h_{i-1}))``; the first layer's weight is item-major so a
    sparse CSR batch meets it as a weighted sum of item rows. Without hidden
    layers the first (only) layer gives mu and logvar side by side."""

    def __init__(self, config: RecVAEConfig) -> None:
        super().__init__()
        width, code = config.hidden_dim, config.latent_dim
        dims = [config.n_items] + [width] * config.n_layers
        if not config.n_layers:  # linear: one map to (mu, logvar)
            dims.append(2 * code)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        first = cast(nn.Linear, self.layers[0])
        first.weight = nn.Parameter(first.weight.detach().t().contiguous().t())
        self.norms = nn.ModuleList(
            nn.LayerNorm(width, eps=config.norm_eps) for _ in range(config.n_layers)
        )
        if config.n_layers:
            self.mu = nn.Linear(width, code)
            self.logvar = nn.Linear(width, code)

    def first_layer(self, x: torch.Tensor, dropout: float) -> torch.Tensor:
        """The first linear layer on the L2-normalised, dropped-out rows."""
        first = cast(nn.Linear, self.layers[0])
        if x.layout != torch.sparse_csr:
            x = F.dropout(F.normalize(x, dim=1), dropout, self.training)
            return first(x)
        rows, cols, values = csr_parts(x)
        norms = torch.zeros(x.shape[0], device=x.device, dtype=values.dtype)
        norms = norms.index_add_(0, rows, values * values).sqrt().clamp_min(1e-12)
        weights = F.dropout(values / norms[rows], dropout, self.training)
        offsets = x.crow_indices()[:-1].to(cols.dtype)
        h = F.embedding_bag(
            cols, first.weight.t(), offsets, mode="sum", per_sample_weights=weights
        )
        return h + first.bias

    def forward(
        self, x: torch.Tensor, dropout: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.norms:
            mu, logvar = self.first_layer(x, dropout).chunk(2, dim=1)
            return mu, logvar
        h = self.norms[0](F.silu(self.first_layer(x, dropout)))
        total = h
        for layer, norm in zip(self.layers[1:], self.norms[1:], strict=True):
            h = norm(F.silu(layer(h) + total))
            total = total + h
        return self.mu(h), self.logvar(h)


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """The clicks of each row of a dense or sparse CSR batch."""
    if x.layout != torch.sparse_csr:
        return x.sum(dim=1)
    rows, _, values = csr_parts(x)
    return torch.zeros(x.shape[0], device=x.device).index_add_(0, rows, values)


class RecVAENet(nn.Module):
    """RecVAE on click vectors (dense, or sparse CSR as `SparseRows` gives).

    ``phase`` is "encoder" (the default) or "decoder"; `update_prior` copies the
    encoder into the prior (kept outside the module's parameters and state, so
    neither the optimiser nor a saved model sees it). In eval mode the code is
    the posterior mean and ``recon`` the logits over the items.
    """

    def __init__(self, config: RecVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = DenseEncoder(config)
        self.decoder = nn.Linear(config.latent_dim, config.n_items)
        self.phase = "encoder"
        self._prior: list[DenseEncoder] = []  # a list: not a submodule
        self._held_decoder: tuple[torch.Tensor, torch.Tensor] | None = None

    def start_phase(self, phase: str) -> None:
        """Begin an encoder or decoder phase: copy the part it holds fixed (the
        decoder's weights; the encoder, into the prior, as the authors update
        the prior after the encoder's epochs)."""
        if phase == "decoder":
            self.update_prior()
        else:
            weight, bias = self.decoder.weight, self.decoder.bias
            self._held_decoder = (weight.detach().clone(), bias.detach().clone())
        self.phase = phase

    @torch.no_grad()
    def restore_held(self) -> None:
        """Put the part held fixed back to its copy (the optimiser's momentum
        may have moved it during the epoch)."""
        if self.phase == "decoder" and self._prior:
            self.encoder.load_state_dict(self._prior[0].state_dict())
        elif self.phase == "encoder" and self._held_decoder is not None:
            self.decoder.weight.copy_(self._held_decoder[0])
            self.decoder.bias.copy_(self._held_decoder[1])

    def update_prior(self) -> None:
        """The prior's posterior part becomes the encoder as it is now."""
        if not self._prior:
            device = self.decoder.weight.device
            self._prior.append(DenseEncoder(self.config).to(device).eval())
            self._prior[0].requires_grad_(False)
        self._prior[0].load_state_dict(self.encoder.state_dict())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean."""
        return self.encoder(x, 0.0)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits over the items."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.training:
            mu, logvar = self.encoder(x, 0.0)
            return {"z": mu, "mu": mu, "logvar": logvar, "recon": self.decode(mu)}
        if self.phase == "decoder":
            held = self._prior[0] if self._prior else self.encoder
            with torch.no_grad():
                mu, logvar = held(x, 0.0)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return {"z": z, "mu": mu, "logvar": logvar, "recon": self.decode(z)}
        mu, logvar = self.encoder(x, self.config.dropout)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        weight, bias = self._held_decoder or (self.decoder.weight, self.decoder.bias)
        recon = F.linear(z, weight.detach(), bias.detach())
        return {"z": z, "mu": mu, "logvar": logvar, "recon": recon}

    def log_prior(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Elementwise log-density of the composite prior at ``z`` (user rows
        ``x`` give the previous posterior)."""
        if not self._prior:
            self.update_prior()
        prior = self._prior[0].to(z.device)
        with torch.no_grad():
            mu_old, logvar_old = prior(x, 0.0)
        zero = torch.zeros_like(z)
        parts = [
            log_normal(z, zero, zero),
            log_normal(z, mu_old, logvar_old),
            log_normal(z, zero, torch.full_like(z, WIDE_LOGVAR)),
        ]
        logs = [p + math.log(w) for p, w in zip(parts, MIXTURE_WEIGHTS, strict=True)]
        return torch.logsumexp(torch.stack(logs, dim=-1), dim=-1)

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        """Multinomial negative log-likelihood, plus (encoder phase, and in
        eval mode) ``gamma * clicks`` times the KL estimate to the composite
        prior for each user."""
        nll = multinomial_nll(x, out["recon"])
        if self.training and self.phase == "decoder":
            return {"loss": nll, "recon": nll}
        z, mu, logvar = out["z"], out["mu"], out["logvar"]
        kl = (log_normal(z, mu, logvar) - self.log_prior(x, z)).sum(dim=1)
        beta = self.config.gamma * row_sums(x)
        weighted = (beta * kl).mean()
        return {"loss": nll + weighted, "recon": nll, "kl": kl.mean()}
