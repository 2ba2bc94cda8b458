"""Checks of the (scaled) training data against the parameters that need a
certain range: sigmoid outputs, binary cross-entropy, Bernoulli likelihoods,
corruption levels. Called from ``fit``."""

from __future__ import annotations

from typing import Any

import numpy as np

from aekit import _validation as v
from aekit.defaults import in_unit_range


def check_noise_level(noise: float, noise_type: str) -> None:
    """Every corruption but Gaussian noise changes a fraction of the entries:
    its ``noise`` level must be below 1 (the parameter table checks >= 0)."""
    if noise_type != "gaussian":
        v.check_float("noise", noise, high=1.0)


def require_unit_range(data: np.ndarray, needs: str, scaling: Any, fix: str) -> None:
    """A ValueError unless the (scaled) ``data`` lies in [0, 1]: ``needs`` names
    the setting that requires it, ``fix`` says what to change instead."""
    if not in_unit_range(data):
        raise ValueError(
            f"{needs} needs (scaled) data in [0, 1], but it spans "
            f"[{data.min():.3g}, {data.max():.3g}] with scaling={scaling!r}. {fix}"
        )


def resolve_output_activation(requested: str, data: np.ndarray, scaling: Any) -> str:
    """``output_activation`` for the scaled training ``data``: "auto" is sigmoid
    for data in [0, 1], else linear; "sigmoid" needs data in [0, 1]."""
    if requested == "auto":
        return "sigmoid" if in_unit_range(data) else "linear"
    if requested == "sigmoid":
        fix = "Use scaling='minmax' or output_activation='linear' (or 'auto')."
        require_unit_range(data, "output_activation='sigmoid'", scaling, fix)
    return requested
