"""Pure loss functions on tensors: reconstruction errors and regularisers."""

from __future__ import annotations

import torch

# Denoising corruptions by name (see `corrupt`).
NOISE_TYPES = ("gaussian", "mask", "salt_pepper")


def squared_error(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error over all non-batch dimensions, shape (n,)."""
    return (recon - x).pow(2).flatten(1).mean(dim=1)


def mse(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element (a scalar)."""
    return torch.nn.functional.mse_loss(recon, x)


def l1_activity(z: torch.Tensor) -> torch.Tensor:
    """Mean absolute code value: the sparse-autoencoder penalty on the codes."""
    return z.abs().mean()


def jacobian_frobenius(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the squared Frobenius norm of the code's Jacobian
    ``dz/dx``: the contractive-autoencoder penalty (Rifai et al. 2011,
    https://icml.cc/2011/papers/455_icmlpaper.pdf), kept differentiable.

    ``x`` must require grad and ``z`` be computed from it row by row. Exact: one
    vector-Jacobian product per code dimension, batched with vmap. (With batch
    norm in training mode, rows share the batch statistics, so the products also
    carry the small cross-row terms.)
    """
    k = z.shape[1]
    basis = torch.eye(k, dtype=z.dtype, device=z.device)[:, None, :].expand(k, *z.shape)
    (grads,) = torch.autograd.grad(
        z, x, basis, create_graph=True, is_grads_batched=True
    )
    return grads.pow(2).sum() / z.shape[0]


def gaussian_noise(x: torch.Tensor, std: float) -> torch.Tensor:
    """``x`` plus isotropic Gaussian noise of standard deviation ``std``."""
    return x + std * torch.randn_like(x)


def mask_noise(x: torch.Tensor, rate: float) -> torch.Tensor:
    """``x`` with a random fraction ``rate`` of its entries set to zero."""
    keep = torch.rand_like(x) >= rate
    return x * keep


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-sample KL divergence KL(N(mu, exp(logvar)) || N(0, I)), shape (n,).

    Analytic form (Kingma & Welling 2014, appendix B), summed over the latent
    dimensions: ``-0.5 * sum(1 + logvar - mu**2 - exp(logvar))``.
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(dim=1)


def salt_pepper_noise(
    x: torch.Tensor, rate: float, low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    """``x`` with a random fraction ``rate`` of its entries set to ``low`` or
    ``high`` (each with probability 1/2): salt-and-pepper corruption of images."""
    u = torch.rand_like(x)
    out = torch.where(u < rate / 2, torch.full_like(x, low), x)
    return torch.where((u >= rate / 2) & (u < rate), torch.full_like(x, high), out)


def corrupt(x: torch.Tensor, noise_type: str, level: float) -> torch.Tensor:
    """Denoising-autoencoder input corruption by name: ``"gaussian"`` (``level`` is
    the standard deviation), ``"mask"`` or ``"salt_pepper"`` (``level`` is the
    fraction of entries changed)."""
    if noise_type == "gaussian":
        return gaussian_noise(x, level)
    if noise_type == "mask":
        return mask_noise(x, level)
    if noise_type == "salt_pepper":
        return salt_pepper_noise(x, level)
    allowed = ", ".join(repr(name) for name in NOISE_TYPES)
    raise ValueError(f"noise_type must be one of {allowed}; got {noise_type!r}.")


def masked_cell_errors(
    recon: torch.Tensor,
    logits: list[torch.Tensor],
    numbers: torch.Tensor,
    observed: torch.Tensor,
    onehots: list[torch.Tensor],
) -> torch.Tensor:
    """Per-cell losses of a mixed-type table, shape (n, n_numeric + n_categorical),
    zero on missing cells: squared error ``(recon - numbers)**2`` where
    ``observed`` (0/1, like ``numbers``) is 1, then for each categorical column the
    cross-entropy of its ``logits`` against its one-hot target (all zeros when
    the cell is missing, which gives 0). A missing cell's placeholder in
    ``numbers`` never reaches the value or the gradients."""
    squared = torch.where(observed > 0, recon - numbers, 0.0).pow(2)
    entropies = [
        -(onehot * torch.log_softmax(block, dim=1)).sum(dim=1, keepdim=True)
        for block, onehot in zip(logits, onehots, strict=True)
    ]
    return torch.cat([squared, *entropies], dim=1)


def weighted_cell_mean(
    cells: torch.Tensor, observed: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Per-sample weighted mean of ``cells`` over the observed ones, shape (n,):
    ``sum_j w_j c_ij / n_observed_i`` (0 for a row with nothing observed)."""
    total = (cells * weights).sum(dim=1)
    return total / observed.sum(dim=1).clamp_min(1.0)
