"""Autoencoders for recommendation.

- `AutoRecNet`: AutoRec (Sedhain et al. 2015, https://doi.org/10.1145/2740908.2742726),
  a one-hidden-layer autoencoder of partially observed rating vectors, trained on
  the observed entries only. Missing ratings are NaN in its input.
- `MultVAENet`: Mult-VAE and Mult-DAE (Liang et al. 2018,
  https://arxiv.org/abs/1802.05814): a user's click vector, L2-normalised and
  dropped out, is encoded and decoded to logits of a multinomial over items; the
  VAE adds a KL term whose weight ``beta`` grows linearly to ``anneal_cap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from aekit import losses
from aekit.nn.blocks import activation, mlp


@dataclass(frozen=True)
class AutoRecConfig:
    """Everything that defines an `AutoRecNet` but its fixed ``offsets``."""

    n_inputs: int  # length of a rating vector (users for I-AutoRec, else items)
    hidden_dim: int = 500  # width of the one hidden layer
    activation: str = "sigmoid"  # hidden activation, a name in `ACTIVATIONS`
    damping: float | None = 10.0  # of the row bias; None leaves the bias out
    input_dropout: float = 0.0  # fraction of observed inputs hidden in training


class AutoRecNet(nn.Module):
    """AutoRec on baseline residuals of a rating vector ``r`` (NaN = missing).

    ``base = offsets + row_bias``, where ``offsets`` holds one fixed value per
    input (say the global mean plus that user's bias) and ``row_bias`` is the mean
    observed residual ``r - offsets`` of the row, damped as ``sum / (count +
    damping)``; ``damping=None`` leaves it out. The network sees ``r - base`` with
    missing entries as 0 and ``recon = base + V f(W (r - base) + b) + c``. Zero
    offsets and ``damping=None`` give the paper's plain AutoRec.
    """

    offsets: torch.Tensor

    def __init__(
        self, config: AutoRecConfig, offsets: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.config = config
        n, hidden = config.n_inputs, config.hidden_dim
        if offsets is None:
            offsets = torch.zeros(n)
        self.register_buffer("offsets", offsets.float().reshape(n))
        self.damping, self.input_dropout = config.damping, config.input_dropout
        self.encoder = nn.Sequential(
            nn.Linear(n, hidden), activation(config.activation)
        )
        self.decoder = nn.Linear(hidden, n)
        nn.init.zeros_(self.decoder.weight)  # start from the baseline's predictions
        nn.init.zeros_(self.decoder.bias)

    def baseline(self, x: torch.Tensor) -> torch.Tensor:
        """The rating each entry of ``x`` is predicted before the network."""
        if self.damping is None:
            return self.offsets.expand_as(x)
        resid = x - self.offsets
        count = (~torch.isnan(resid)).sum(dim=1, keepdim=True)
        bias = resid.nansum(dim=1, keepdim=True) / (count + self.damping).clamp(1e-6)
        return self.offsets + bias

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(torch.nan_to_num(x - self.baseline(x), nan=0.0))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The residual over the baseline."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.training and self.input_dropout > 0:  # hide some observed ratings
            x = x.masked_fill(torch.rand_like(x) < self.input_dropout, float("nan"))
        base = self.baseline(x)
        z = self.encoder(torch.nan_to_num(x - base, nan=0.0))
        return {"recon": base + self.decode(z), "z": z}

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        """Mean squared error over the observed (non-NaN) entries of the batch."""
        observed = ~torch.isnan(x)
        err = torch.where(observed, out["recon"] - torch.nan_to_num(x), 0.0)
        recon = err.pow(2).sum() / observed.sum().clamp(min=1)
        return {"loss": recon, "recon": recon}


@dataclass(frozen=True)
class MultVAEConfig:
    """Everything that defines a `MultVAENet`."""

    n_items: int  # length of a click vector
    hidden_dims: tuple[int, ...] = (600,)  # encoder widths; the decoder reverses
    latent_dim: int = 200  # size of the code
    dropout: float = 0.5  # input dropout in training
    variational: bool = True  # Mult-VAE; False: Mult-DAE
    anneal_cap: float = 0.2  # the KL weight rises to this and stops (VAE only)
    anneal_steps: int = 200_000  # updates over which it would reach 1


def csr_parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row, column, value) of each stored entry of a sparse CSR batch."""
    crow = x.crow_indices()
    rows = torch.repeat_interleave(
        torch.arange(x.shape[0], device=x.device), crow.diff()
    )
    return rows, x.col_indices(), x.values()


class MultVAENet(nn.Module):
    """Mult-VAE (``variational=True``) or Mult-DAE on click vectors.

    A batch is a dense (users x items) tensor or a sparse CSR one (what
    `aekit.training.SparseRows` gives with ``sparse=True``). A sparse batch is
    normalised and dropped out on its stored entries only and meets the first
    layer as a weighted sum of that layer's item rows (``embedding_bag``), so
    its cost grows with the interactions, not with users x items; the first
    layer's weight is stored item-major for that (its shape is nn.Linear's).
    Both give the same outputs and gradients; dropout draws differ (one
    uniform per stored entry instead of one per cell, the same distribution).
    """

    steps: torch.Tensor

    def __init__(self, config: MultVAEConfig) -> None:
        super().__init__()
        self.config = config
        hidden, k = list(config.hidden_dims), config.latent_dim
        out = 2 * k if config.variational else k
        self.encoder = mlp([config.n_items, *hidden, out], "tanh")
        first = self._first_layer()  # item-major: a sparse batch gathers its rows
        first.weight = nn.Parameter(first.weight.detach().t().contiguous().t())
        self.decoder = mlp([k, *reversed(hidden), config.n_items], "tanh")
        if not config.variational:  # Mult-DAE: tanh on the code as well (Liang)
            self.encoder.append(nn.Tanh())
        self.input_dropout = nn.Dropout(config.dropout)
        self.variational = config.variational
        self.latent_dim = k
        self.anneal_cap, self.anneal_steps = config.anneal_cap, config.anneal_steps
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if x.layout == torch.sparse_csr:
            h = self.encoder[1:](self._sparse_first_layer(x))
        else:
            h = self.encoder(self.input_dropout(F.normalize(x, dim=1)))
        if not self.variational:
            return h, None
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def _first_layer(self) -> nn.Linear:
        return cast(nn.Linear, self.encoder[0])

    def _sparse_first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The first layer of the encoder on the L2-normalised, dropped-out rows
        of the sparse CSR batch ``x``."""
        rows, cols, values = csr_parts(x)
        norms = torch.zeros(x.shape[0], device=x.device, dtype=values.dtype)
        norms = norms.index_add_(0, rows, values * values).sqrt().clamp_min(1e-12)
        weights = self.input_dropout(values / norms[rows])
        first = self._first_layer()
        offsets = x.crow_indices()[:-1].to(cols.dtype)
        h = F.embedding_bag(
            cols, first.weight.t(), offsets, mode="sum", per_sample_weights=weights
        )
        return h + first.bias

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code (the posterior mean for the VAE)."""
        return self._encode(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-probabilities (logits) over the items."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, logvar = self._encode(x)
        out = {"z": mu}
        if logvar is not None:
            out["mu"], out["logvar"] = mu, logvar
            if self.training:
                out["z"] = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out["recon"] = self.decode(out["z"])
        return out

    def beta(self) -> torch.Tensor | float:
        """The KL weight now: ``anneal_cap`` in eval mode (so validation losses of
        different epochs compare), else rising linearly with the update count (a
        device tensor: no host sync per batch)."""
        if not self.training:
            return self.anneal_cap
        ramp = self.steps.float() / max(1, self.anneal_steps)
        return ramp.clamp(max=self.anneal_cap)

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        """Multinomial negative log-likelihood (+ beta * KL for the VAE)."""
        nll = multinomial_nll(x, out["recon"])
        if not self.variational:
            return {"loss": nll, "recon": nll}
        kl = losses.kl_normal(out["mu"], out["logvar"]).mean()
        beta = self.beta()
        if self.training:
            self.steps += 1
        return {"loss": nll + beta * kl, "recon": nll, "kl": kl}


def ease_weights(gram: torch.Tensor, l2: float) -> torch.Tensor:
    """EASE's item-to-item matrix (Steck 2019, https://arxiv.org/abs/1905.03375):
    ``B = I - P diag(1 / diag(P))`` with ``P = (G + l2 I)^-1``, i.e. ``B_ij =
    -P_ij / P_jj`` off the diagonal and 0 on it, the least-squares solution of
    ``min ||X - X B||^2 + l2 ||B||^2`` under ``diag(B) = 0`` for the Gram matrix
    ``G = X^T X``. ``gram`` is overwritten (its memory is reused); the result
    has its dtype and device."""
    gram.diagonal().add_(l2)
    factor = torch.linalg.cholesky(gram)
    del gram  # the caller's reference is all that is left of it
    precision = torch.cholesky_inverse(factor)
    del factor
    if not precision.is_contiguous():  # LAPACK's column-major result is
        precision = precision.t()  # symmetric: the same matrix, row-major
    weights = precision.div_(-precision.diagonal().clone())
    weights.diagonal().zero_()
    return weights


class EASENet(nn.Module):
    """EASE's scores ``x @ weight`` over a subset of the items.

    ``weight`` (m x m) is the item-to-item matrix of the ``m`` modelled items at
    positions ``items`` of an ``n_items``-long click vector; the other items
    score ``-inf`` (they are ranked after every modelled item). Nothing is
    trained: the weights come from `ease_weights`.
    """

    weight: torch.Tensor
    items: torch.Tensor

    def __init__(self, n_items: int, n_modelled: int) -> None:
        super().__init__()
        self.n_items = n_items
        self.register_buffer("weight", torch.zeros(n_modelled, n_modelled))
        self.register_buffer("items", torch.arange(n_modelled, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``recon``: the scores of every item for the dense click rows ``x``."""
        part = x[:, self.items].to(self.weight.dtype) @ self.weight
        if len(self.items) == self.n_items:
            return {"recon": part}
        recon = part.new_full((x.shape[0], self.n_items), -torch.inf)
        recon[:, self.items] = part
        return {"recon": recon}


def multinomial_nll(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The multinomial negative log-likelihood of the click rows ``x`` (dense or
    sparse CSR) under ``softmax(logits)``, summed over items, averaged over rows."""
    log_p = F.log_softmax(logits, dim=1)
    if x.layout == torch.sparse_csr:
        rows, cols, values = csr_parts(x)
        return -(log_p[rows, cols] * values).sum() / x.shape[0]
    return -(log_p * x).sum(dim=1).mean()
