"""Variational autoencoder with a Gaussian posterior and a standard normal prior.

Kingma & Welling, "Auto-Encoding Variational Bayes" (2014),
https://arxiv.org/abs/1312.6114: the reparameterisation trick and the analytic KL
term. ``beta`` weights the KL term (beta-VAE, Higgins et al. 2017,
https://openreview.net/forum?id=Sy2fzU9gl); ``kl_weight`` (set by a warm-up
callback) scales it further during training only. `log_likelihood` gives the
importance-weighted estimate of log p(x) (Burda et al. 2016,
https://arxiv.org/abs/1509.00519), which is the ELBO's tighter cousin.

The encoder maps x to ``2 * latent_dim`` numbers (mean and log-variance); the
decoder maps z to the likelihood's raw parameters in x's shape: logits for
"bernoulli", the mean for "gaussian" (with a learned per-feature log-scale).
Both are MLPs for flat data and the stride-2 convolutions of `aekit.nn.conv` for
images, as a `VAEConfig` describes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aekit import losses
from aekit.nn.blocks import mlp, raw_output_for
from aekit.nn.conv import ConvDecoder, ConvEncoder

LIKELIHOODS = ("gaussian", "bernoulli")
_LOG_2PI = math.log(2 * math.pi)
_MAX_CHUNK = 1 << 22  # decoded values per chunk in `log_likelihood`


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines a `VariationalAutoencoder`."""

    data_shape: tuple[int, ...]  # one sample: (n_features,) or images (C, H, W)
    latent_dim: int = 8  # size of the code z
    hidden_dims: tuple[int, ...] = (128, 64)  # flat data: the encoder MLP's widths
    channels: tuple[int, ...] = (32, 64)  # images: feature maps of the conv stages
    activation: str = "relu"  # hidden activation, a name in `ACTIVATIONS`
    likelihood: str = "gaussian"  # p(x | z): "gaussian" or "bernoulli"
    beta: float = 1.0  # weight of the KL term (beta-VAE when > 1)

    def __post_init__(self) -> None:
        if len(self.data_shape) not in (1, 3):
            raise ValueError(
                f"data_shape must be (n_features,) or (C, H, W), got {self.data_shape}"
            )


def _networks(config: VAEConfig) -> tuple[nn.Module, nn.Module]:
    """The encoder (x -> mean and log-variance) and decoder (z -> x's shape)."""
    k, act = config.latent_dim, config.activation
    if len(config.data_shape) == 3:
        image, channels = config.data_shape, config.channels
        encoder = ConvEncoder(image, channels, 2 * k, activation=act)
        return encoder, ConvDecoder(k, image, channels, activation=act)
    (d,), hidden = config.data_shape, list(config.hidden_dims)
    return mlp([d, *hidden, 2 * k], act), mlp([k, *reversed(hidden), d], act)


class VariationalAutoencoder(nn.Module):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.decoder = _networks(config)
        self.latent_dim, self.likelihood = config.latent_dim, config.likelihood
        self.beta = config.beta
        self.kl_weight = 1.0  # KL warm-up factor, used in training mode only
        if config.likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.zeros(config.data_shape))

    @torch.no_grad()
    def start_output_at(self, mean: torch.Tensor) -> None:
        """Start the decoder's mean E[x | z] at ``mean`` (the training data's,
        one value per feature or pixel) through its output bias, so that
        training does not begin where the Bernoulli sigmoid saturates."""
        raw = raw_output_for(mean, self.likelihood == "bernoulli")
        if isinstance(self.decoder, ConvDecoder):
            self.decoder.start_at(raw, zero_last=False)
        else:  # the dense decoder's last Linear
            linears = [m for m in self.decoder.modules() if isinstance(m, nn.Linear)]
            linears[-1].bias.copy_(raw)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x), each (n, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-20.0, 10.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        """E[x | z] from the decoder's raw output."""
        return torch.sigmoid(raw) if self.likelihood == "bernoulli" else raw

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean(self.decoder(z))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """A reparameterised sample z in training mode, the posterior mean in eval."""
        mu, logvar = self.posterior(x)
        z = mu
        if self.training:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        raw = self.decoder(z)
        return {"recon": self.mean(raw), "raw": raw, "z": z, "mu": mu, "logvar": logvar}

    def conditional_log_prob(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per sample, summed over the features, shape (n,)."""
        if self.likelihood == "bernoulli":
            logp = -F.binary_cross_entropy_with_logits(raw, x, reduction="none")
        else:
            log_scale = self.log_scale.clamp(min=-7.0)
            z2 = ((x - raw) * torch.exp(-log_scale)).pow(2)
            logp = -0.5 * (z2 + _LOG_2PI) - log_scale
        return logp.flatten(1).sum(dim=1)

    def loss(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> dict:
        """Negative ELBO per sample (nats, averaged over the batch)."""
        nll = -self.conditional_log_prob(x, out["raw"]).mean()
        kl = losses.kl_normal(out["mu"], out["logvar"]).mean()
        weight = self.beta * (self.kl_weight if self.training else 1.0)
        return {"loss": nll + weight * kl, "recon": nll, "kl": kl}

    def elbo(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Per-sample ELBO with the posterior sample ``mu + sigma * eps``, (n,)."""
        mu, logvar = self.posterior(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        logp = self.conditional_log_prob(x, self.decoder(z))
        return logp - losses.kl_normal(mu, logvar)

    def log_likelihood(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Importance-weighted estimate of log p(x), shape (n,), with the k posterior
        samples ``mu + sigma * eps[j]`` (``eps`` of shape (k, latent_dim))."""
        mu, logvar = self.posterior(x)
        sigma = torch.exp(0.5 * logvar)
        per_sample = x[0].numel()
        chunk = max(1, _MAX_CHUNK // max(1, len(x) * per_sample))
        parts = []
        for start in range(0, len(eps), chunk):
            e = eps[start : start + chunk]  # (kc, L)
            z = mu[:, None, :] + sigma[:, None, :] * e[None]  # (n, kc, L)
            raw = self.decoder(z.reshape(-1, self.latent_dim))
            xs = x.repeat_interleave(len(e), dim=0)
            logp = self.conditional_log_prob(xs, raw).view(len(x), len(e))
            log_prior = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
            log_q = -0.5 * (e.pow(2)[None] + _LOG_2PI + logvar[:, None, :]).sum(-1)
            parts.append(torch.logsumexp(logp + log_prior - log_q, dim=1))
        return torch.logsumexp(torch.stack(parts, dim=1), dim=1) - math.log(len(eps))
