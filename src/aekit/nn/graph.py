"""Inference graphs: a fitted model as one torch module from raw features to its
outputs, with the input scaling folded in.

`AutoencoderGraph` takes rows as the estimator's ``transform`` takes them (raw
features, or images in the training samples' shape) and returns three tensors:
the codes, the reconstruction in input units, and the per-row mean squared
reconstruction error in the scaled space. `LatentDistanceScore` (the default)
and `NeighbourDistanceScore` turn errors, codes and (with `FeatureTails`, ECOD's
per-feature tail probabilities) the raw rows into `aekit.AnomalyDetector`'s
score, and `ScoredGraph` puts the two together. The estimators compute their
precise scores with these modules and `aekit.export` hands the same modules to
torch's ONNX exporter, so the exported arithmetic is the arithmetic the
estimators run.
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


def _nearest(rows: torch.Tensor, reference: torch.Tensor, n: int) -> torch.Tensor:
    """The ``n`` smallest distances from each row to ``reference``, ascending,
    the differences taken directly."""
    distances = torch.cdist(
        rows, reference, compute_mode="donot_use_mm_for_euclid_dist"
    )
    return torch.topk(distances, n, dim=1, largest=False).values


class FeatureTails(nn.Module):
    """Raw rows -> ECOD's outlier score from per-feature empirical tail
    probabilities (Li et al., "ECOD: Unsupervised Outlier Detection Using
    Empirical Cumulative Distribution Functions", IEEE TKDE 2022,
    https://arxiv.org/abs/2201.00382), computed as PyOD's ``ECOD`` does.

    For feature j, the left and right tail probabilities of a value x are
    ``(#{r <= x} + 1) / (m + 1)`` and ``(#{r >= x} + 1) / (m + 1)`` over the m
    ``reference`` values of that feature (the +1 counts the row itself, so a
    value beyond every reference value has a finite tail); with ``U_l``,
    ``U_r`` their negative logs, the feature's part is ``max(U_l, U_r)``, or
    ``U_l + U_r`` for a feature with no skew (PyOD's
    ``max(U_skew, max(U_l, U_r))``: its skewness-corrected ``U_skew`` matters
    only there); the score is the sum over features.

    Parameters
    ----------
    reference : Tensor of shape (m, n_features)
        Each column sorted ascending: a feature's training values (or evenly
        spaced order statistics of them).
    skew_sign : Tensor of shape (n_features,)
        The sign (-1, 0 or 1) of each feature's skewness over the training rows.
    """

    reference: torch.Tensor
    skew_sign: torch.Tensor

    def __init__(self, reference: torch.Tensor, skew_sign: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("reference", reference)
        self.register_buffer("skew_sign", skew_sign)

    def counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row and feature, how many reference values are <= and >= x.
        Eagerly by binary search; under `torch.export` (ONNX has no
        searchsorted) by comparing with every reference value (the same
        counts)."""
        m = self.reference.shape[0]
        if torch.compiler.is_exporting():
            below = (self.reference.unsqueeze(0) <= x.unsqueeze(1)).sum(dim=1)
            above = (self.reference.unsqueeze(0) >= x.unsqueeze(1)).sum(dim=1)
            return below.to(x.dtype), above.to(x.dtype)
        columns, values = self.reference.T.contiguous(), x.T.contiguous()
        below = torch.searchsorted(columns, values, right=True).T
        above = m - torch.searchsorted(columns, values, right=False).T
        return below.to(x.dtype), above.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        below, above = self.counts(x)
        total = self.reference.shape[0] + 1.0
        left = -((below + 1.0) / total).log()
        right = -((above + 1.0) / total).log()
        sign = self.skew_sign
        skewed = left * (sign <= 0).to(x.dtype) + right * (sign >= 0).to(x.dtype)
        return torch.maximum(skewed, torch.maximum(left, right)).sum(dim=1)


class PartsScore(nn.Module):
    """Base of `aekit.AnomalyDetector`'s score heads: ``parts(errors, codes)``
    (subclasses: the log reconstruction error and a log code distance), with
    ``tails`` a third part ``log(1 + FeatureTails(x))``, become the score
    ``max((parts - center) / scale)``, the largest of their robust z-scores
    (see `aekit.AnomalyDetector`)."""

    center: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        center: torch.Tensor,
        scale: torch.Tensor,
        tails: FeatureTails | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("center", center)
        self.register_buffer("scale", scale)
        self.tails = tails

    def parts(self, errors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def tail_part(self, x: torch.Tensor) -> torch.Tensor:
        """log(1 + the ECOD score) of raw rows, (n, 1)."""
        if self.tails is None:
            raise RuntimeError("this score head has no feature tails")
        return self.tails(x).log1p().unsqueeze(1)

    def combine(self, parts: torch.Tensor) -> torch.Tensor:
        """The score of rows whose parts are known."""
        return ((parts - self.center) / self.scale).amax(dim=1)

    def forward(
        self, errors: torch.Tensor, codes: torch.Tensor, x: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = self.parts(errors, codes)
        if self.tails is not None and x is not None:
            parts = torch.cat([parts, self.tail_part(x)], dim=1)
        return self.combine(parts)


def _log_errors(errors: torch.Tensor) -> torch.Tensor:
    return errors.clamp(min=torch.finfo(errors.dtype).tiny).log()


class LatentDistanceScore(PartsScore):
    """(errors, codes) -> `aekit.AnomalyDetector`'s score with
    ``latent_distance`` (the default code distance): the parts are the log
    reconstruction error and log(1 + the code's squared Mahalanobis distance)."""

    code_mean: torch.Tensor
    code_precision: torch.Tensor

    def __init__(
        self,
        code_mean: torch.Tensor,
        code_precision: torch.Tensor,
        center: torch.Tensor,
        scale: torch.Tensor,
        tails: FeatureTails | None = None,
    ) -> None:
        super().__init__(center, scale, tails)
        self.register_buffer("code_mean", code_mean)
        self.register_buffer("code_precision", code_precision)

    def parts(self, errors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Log reconstruction error and log(1 + squared code distance), (n, 2).
        The 1 keeps codes near the mean (tiny distances) from dominating
        through their rounding."""
        z = codes - self.code_mean
        distance = ((z @ self.code_precision) * z).sum(dim=1)
        return torch.stack([_log_errors(errors), distance.log1p()], dim=1)


def neighbour_distances(
    queries: torch.Tensor, reference: torch.Tensor, k: int, own: float
) -> torch.Tensor:
    """Mean Euclidean distance from each query row to its ``k`` nearest rows of
    ``reference`` other than itself: a reference row within ``own`` of the
    query is the query (a training row among the reference rows) and is left
    out; otherwise the k nearest count. With at most k reference rows, all but
    one: the query's own, or else the farthest.

    Eagerly the distances are differences taken directly (``torch.cdist``
    without the expanded square, whose rounding would make a row's distance
    depend on the rows scored beside it), a block of rows at a time; under
    `torch.export` (ONNX has no cdist) the expanded square
    ``|q|^2 - 2 q.r + |r|^2``, equal to rounding (~1e-15 in float64)."""
    n_nearest = min(k + 1, reference.shape[0])
    if torch.compiler.is_exporting():
        squared = (
            (queries * queries).sum(dim=1, keepdim=True)
            - 2.0 * queries @ reference.T
            + (reference * reference).sum(dim=1)
        )
        nearest = torch.topk(squared.clamp(min=0.0), n_nearest, dim=1, largest=False)
        distances = nearest.values.sqrt()
    else:
        block = max(1, 2**20 // reference.shape[0])
        distances = torch.cat(
            [_nearest(rows, reference, n_nearest) for rows in queries.split(block)]
        )
    if n_nearest == 1:
        return distances[:, 0]
    left_out = torch.where(distances[:, 0] <= own, distances[:, 0], distances[:, -1])
    return (distances.sum(dim=1) - left_out) / (n_nearest - 1)


class NeighbourDistanceScore(PartsScore):
    """(errors, codes) -> `aekit.AnomalyDetector`'s score with
    ``code_distance="knn"``: the parts are the log reconstruction error and
    ``log(1 + log(d / low))`` (0 below ``low``), where d is the mean distance
    from the code (divided by ``code_scale``) to its ``k`` nearest
    ``reference`` codes other than its own (`neighbour_distances`) and ``low``
    the smallest such distance of a training row. For normal codes from a
    Gaussian cluster in m dimensions, ``log(d / low)`` grows like r^2 / 2m (r
    the Mahalanobis radius: the neighbours thin out as the density falls), so
    the part behaves like ``log(1 + r^2)`` of the Mahalanobis head: log d alone
    has the long right tail of r^2 and puts more normal rows above a
    threshold."""

    reference: torch.Tensor
    code_scale: torch.Tensor
    low: torch.Tensor

    def __init__(
        self,
        reference: torch.Tensor,
        code_scale: torch.Tensor,
        center: torch.Tensor,
        scale: torch.Tensor,
        low: torch.Tensor,
        k: int,
        own: float,
        tails: FeatureTails | None = None,
    ) -> None:
        super().__init__(center, scale, tails)
        self.register_buffer("reference", reference)
        self.register_buffer("code_scale", code_scale)
        self.register_buffer("low", low)  # a tensor: ONNX keeps its dtype
        self.k, self.own = k, own

    def distances(self, codes: torch.Tensor) -> torch.Tensor:
        return neighbour_distances(
            codes / self.code_scale, self.reference, self.k, self.own
        )

    def parts(
        self,
        errors: torch.Tensor,
        codes: torch.Tensor,
        distances: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Log reconstruction error and log(1 + log(distance / low)), (n, 2);
        ``distances`` when the codes' are known already."""
        if distances is None:
            distances = self.distances(codes)
        excess = (distances / self.low).log().clamp(min=0.0)
        return torch.stack([_log_errors(errors), excess.log1p()], dim=1)


class ScoredGraph(nn.Module):
    """An `AutoencoderGraph` whose third output is ``head(errors, codes, x)``."""

    def __init__(self, graph: AutoencoderGraph, head: nn.Module) -> None:
        super().__init__()
        self.autoencoder = graph  # (not "graph": torch.fx's name for its graphs)
        self.head = head
        self.sample_shape = graph.sample_shape

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        codes, recon, errors = self.autoencoder(x)
        return codes, recon, self.head(errors, codes, x)
