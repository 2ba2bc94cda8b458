"""Pure loss functions on tensors: reconstruction errors and regularisers."""

from __future__ import annotations

import torch


def squared_error(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error over all non-batch dimensions, shape (n,)."""
    return (recon - x).pow(2).flatten(1).mean(dim=1)


def mse(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element (a scalar)."""
    return torch.nn.functional.mse_loss(recon, x)


def l1_activity(z: torch.Tensor) -> torch.Tensor:
    """Mean absolute code value: the sparse-autoencoder penalty on the codes."""
    return z.abs().mean()


def gaussian_noise(x: torch.Tensor, std: float) -> torch.Tensor:
    """``x`` plus isotropic Gaussian noise of standard deviation ``std``."""
    return x + std * torch.randn_like(x)


def mask_noise(x: torch.Tensor, rate: float) -> torch.Tensor:
    """``x`` with a random fraction ``rate`` of its entries set to zero."""
    keep = torch.rand_like(x) >= rate
    return x * keep
