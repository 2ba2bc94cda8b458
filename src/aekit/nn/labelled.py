"""`LabelledScore`: `aekit.AnomalyDetector`'s score when it was fitted with
labelled anomalies. A linear model on the raw features, the robust z-scores of
the unsupervised parts and the unsupervised score (the features of XGBOD, Zhao &
Hryniewicki, IJCNN 2018, https://arxiv.org/abs/1912.00290, with a linear model
in place of boosting) gives a supervised score; the output blends its robust
z-score with the unsupervised score. Plain tensor algebra, so it exports to
ONNX like the unsupervised head."""

from __future__ import annotations

import torch
from torch import nn

from aekit.nn.graph import PartsScore


class LabelledScore(nn.Module):
    """(errors, codes, x) -> ``(1 - weight) * s + weight * (logit - center) /
    scale``, where ``s`` is the ``parts`` head's (unsupervised) score and
    ``logit = features @ coef + intercept`` with ``features`` the rows' raw
    features standardised by ``feature_mean`` and ``feature_scale`` (absent
    when ``feature_mean`` is empty), the parts' robust z-scores and ``s``."""

    feature_mean: torch.Tensor
    feature_scale: torch.Tensor
    coef: torch.Tensor
    intercept: torch.Tensor
    center: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor

    def __init__(
        self,
        parts: PartsScore,
        feature_mean: torch.Tensor,
        feature_scale: torch.Tensor,
        coef: torch.Tensor,
        intercept: torch.Tensor,
        center: torch.Tensor,
        scale: torch.Tensor,
        weight: torch.Tensor,
    ) -> None:
        super().__init__()
        self.parts = parts
        for name, value in [
            ("feature_mean", feature_mean),
            ("feature_scale", feature_scale),
            ("coef", coef),
            ("intercept", intercept),
            ("center", center),
            ("scale", scale),
            ("weight", weight),
        ]:
            self.register_buffer(name, value)
        self.raw = feature_mean.numel() > 0

    def forward(
        self, errors: torch.Tensor, codes: torch.Tensor, x: torch.Tensor | None
    ) -> torch.Tensor:
        z = part_scores(self.parts, errors, codes, x)
        unsupervised = z.amax(dim=1)
        columns = [z, unsupervised.unsqueeze(1)]
        if self.raw and x is not None:
            columns.insert(0, (x - self.feature_mean) / self.feature_scale)
        logit = torch.cat(columns, dim=1) @ self.coef + self.intercept
        supervised = (logit - self.center) / self.scale
        return (1.0 - self.weight) * unsupervised + self.weight * supervised


def part_scores(
    head: PartsScore, errors: torch.Tensor, codes: torch.Tensor, x: torch.Tensor | None
) -> torch.Tensor:
    """The robust z-scores of ``head``'s parts (with its feature tails when it
    has them, which read the raw rows ``x``), (n, n_parts): the values whose
    largest is the unsupervised score."""
    parts = head.parts(errors, codes)
    if head.tails is not None and x is not None:
        parts = torch.cat([parts, head.tail_part(x)], dim=1)
    return (parts - head.center) / head.scale
