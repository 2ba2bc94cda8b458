"""Where a fit runs and with which seed: the device, and torch's RNGs seeded for
the fit alone (the caller's random state is left as it was)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from sklearn.utils import check_random_state

from aekit.training.distributed import local_cuda_index, same_seed


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; other values pass to torch.
    Under a multi-process launch, ``"cuda"`` without an index is the process's
    own GPU (``cuda:LOCAL_RANK``)."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is None:
        index = local_cuda_index()
        return resolved if index is None else torch.device("cuda", index)
    return resolved


def seed_from(random_state: Any) -> int:
    """The int seed of a fit: one draw below 2**31 - 1 from ``random_state`` (None,
    an int or a RandomState, as scikit-learn takes it); in distributed training,
    rank 0's draw on every rank."""
    return same_seed(int(check_random_state(random_state).randint(2**31 - 1)))


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's RNGs inside the block and restore the caller's state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
