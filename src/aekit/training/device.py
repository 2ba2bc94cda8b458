"""Where a fit runs and with which seed: the device, and torch's RNGs seeded for
the fit alone (the caller's random state is left as it was)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from sklearn.utils import check_random_state


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; other values pass to torch."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_from(random_state: Any) -> int:
    """The int seed of a fit: one draw below 2**31 - 1 from ``random_state`` (None,
    an int or a RandomState, as scikit-learn takes it)."""
    return int(check_random_state(random_state).randint(2**31 - 1))


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's RNGs inside the block and restore the caller's state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
