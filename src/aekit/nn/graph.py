"""Inference graphs: a fitted model as one torch module from raw features to its
outputs, with the input scaling folded in.

`AutoencoderGraph` takes rows as the estimator's ``transform`` takes them (raw
features, or images in the training samples' shape) and returns three tensors:
the codes, the reconstruction in input units, and the per-row mean squared
reconstruction error in the scaled space. `LatentDistanceScore` turns errors
and codes into `aekit.AnomalyDetector`'s score, and `ScoredGraph` puts the two
together. The estimators compute their precise scores with these modules and
`aekit.export` hands the same modules to torch's ONNX exporter, so the exported
arithmetic is the arithmetic the estimators run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from aekit import losses

OUTPUT_NAMES = ("codes", "reconstruction", "score")


class AutoencoderGraph(nn.Module):
    """Raw rows -> (codes, reconstruction, scaled squared error) of an autoencoder
    module with ``encode`` and ``decode``.

    Parameters
    ----------
    module : nn.Module
        The autoencoder (evaluated as it is: put it in eval mode first).
    shift, scale : Tensor
        The fitted input scaling ``(x - shift) / scale``, broadcastable to one
        input row (per feature, or one number for every pixel).
    sample_shape : sequence of int
        Shape of one input row as the estimator takes it, e.g. (n_features,) or
        (height, width); the reconstruction comes back in this shape.
    module_shape : sequence of int
        Shape of one row as the module takes it, e.g. (channels, height, width).
    """

    module: Any  # an autoencoder module: encode, decode
    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        module: nn.Module,
        shift: torch.Tensor,
        scale: torch.Tensor,
        sample_shape: Sequence[int],
        module_shape: Sequence[int],
    ) -> None:
        super().__init__()
        self.module = module
        self.register_buffer("shift", shift)
        self.register_buffer("scale", scale)
        self.sample_shape = tuple(sample_shape)
        self.module_shape = tuple(module_shape)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n = x.shape[0]
        scaled = ((x - self.shift) / self.scale).reshape(n, *self.module_shape)
        codes = self.module.encode(scaled)
        recon = self.module.decode(codes)
        errors = losses.squared_error(recon, scaled)
        recon = recon.reshape(n, *self.sample_shape) * self.scale + self.shift
        return codes, recon, errors


class LatentDistanceScore(nn.Module):
    """(errors, codes) -> `aekit.AnomalyDetector`'s score with
    ``latent_distance``: the larger of the robust z-scores of the log
    reconstruction error and of log(1 + the code's squared Mahalanobis distance),
    ``max((parts - center) / scale)`` (see the detector's module docstring)."""

    code_mean: torch.Tensor
    code_precision: torch.Tensor
    center: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        code_mean: torch.Tensor,
        code_precision: torch.Tensor,
        center: torch.Tensor,
        scale: torch.Tensor,
    ) -> None:
        super().__init__()
        self.register_buffer("code_mean", code_mean)
        self.register_buffer("code_precision", code_precision)
        self.register_buffer("center", center)
        self.register_buffer("scale", scale)

    def parts(self, errors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Log reconstruction error and log(1 + squared code distance), (n, 2).
        The 1 keeps codes near the mean (tiny distances) from dominating
        through their rounding."""
        z = codes - self.code_mean
        distance = ((z @ self.code_precision) * z).sum(dim=1)
        tiny = torch.finfo(errors.dtype).tiny
        return torch.stack([errors.clamp(min=tiny).log(), distance.log1p()], dim=1)

    def forward(self, errors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return ((self.parts(errors, codes) - self.center) / self.scale).amax(dim=1)


class ScoredGraph(nn.Module):
    """An `AutoencoderGraph` whose third output is ``head(errors, codes)``."""

    def __init__(self, graph: AutoencoderGraph, head: nn.Module) -> None:
        super().__init__()
        self.autoencoder = graph  # (not "graph": torch.fx's name for its graphs)
        self.head = head
        self.sample_shape = graph.sample_shape

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        codes, recon, errors = self.autoencoder(x)
        return codes, recon, self.head(errors, codes)
