"""Starting a model at the training mean, and telling when a fit collapsed.

A model with a bounded output (a sigmoid) starts near the training mean
(`training_mean` gives it), not where the sigmoid is flat. After a fit, the
explained variance of its reconstructions on up to 2,048 training rows says
whether it does better than predicting their mean; `TorchEstimator._train`
restarts a collapsed fit once and then warns (`warn_collapsed`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from aekit.training import BinarizedSource


def training_mean(data: Any) -> torch.Tensor:
    """The mean training sample in the module's units: of an array of scaled
    samples (images), or of a ``ScaledData``'s rows from its column statistics
    (no pass over the data)."""
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data.mean(axis=0, dtype=np.float64))
    mean = (data.stats.mean - data.shift) / data.scale
    return torch.from_numpy(np.asarray(mean, dtype=np.float64))


# A fit whose reconstructions explain at most this share of the training rows'
# variance does no better than predicting their mean: it collapsed.
COLLAPSED = 1e-3
_CHECKED_ROWS = 2048


@torch.no_grad()
def explained_variance(module: Any, source: Any) -> float | None:
    """1 - (squared error of ``module``'s reconstructions) / (squared error of
    the rows' mean) on up to `_CHECKED_ROWS` evenly spaced rows of ``source``
    (of the intensities, for a dynamically binarised source). None where it is
    not measured: streams and sparse ratings, reconstructions of another shape
    (mixed-type tables) or missing values."""
    if isinstance(source, BinarizedSource):
        source = source.data
    rows = isinstance(source, torch.Tensor) or callable(getattr(source, "take", None))
    if not rows or len(source) < 2:  # (a stream has no `take`)
        return None
    idx = torch.linspace(0, len(source) - 1, min(len(source), _CHECKED_ROWS)).long()
    if isinstance(source, torch.Tensor):
        x = source[idx.to(source.device)]
    else:
        x = source.take(idx)
    if x.layout != torch.strided:
        return None
    x = x.float()
    was_training = module.training
    module.eval()
    try:
        recon = module(x).get("recon")
    finally:
        module.train(was_training)
    if recon is None or recon.shape != x.shape or not torch.isfinite(x).all():
        return None
    spread = (x - x.mean(dim=0)).pow(2).sum()
    if spread <= 0:
        return None
    return float(1 - (recon.float() - x).pow(2).sum() / spread)


def collapsed(explained: float | None) -> bool:
    return explained is not None and explained <= COLLAPSED


def warn_collapsed(name: str, explained: float | None, restarted: bool) -> None:
    how = (
        "early stopping ended it, also after a restart from a fresh initialisation"
        if restarted
        else "it ran out of epochs"
    )
    warnings.warn(
        f"{name} reconstructs its training data no better than their mean "
        f"(explained variance {explained:.3g}; {how}): its outputs carry no "
        "information about its inputs. Try more epochs (max_epochs), a lower "
        "learning_rate (e.g. 1e-4), less noise or batch_norm=True.",
        UserWarning,
        stacklevel=4,
    )
