"""What a labelled `aekit.AnomalyDetector` reads from its unsupervised head: the
parts' robust z-scores, features of its supervised part (a tree ensemble scored
in NumPy, `aekit.estimators._trees`, so a labelled detector has no torch head
and does not export to ONNX)."""

from __future__ import annotations

import torch

from aekit.nn.graph import PartsScore


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
