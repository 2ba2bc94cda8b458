"""Data-parallel training with `torch.distributed`: the same `fit`, run by every
process ("rank") of a process group, trains one model.

Who starts and ends the process group: when one is already initialised (by the
caller's own ``torch.distributed.init_process_group``), aekit uses it and leaves it
alone; the caller destroys it. Otherwise, when torchrun's environment variables say
there are several processes (``WORLD_SIZE`` > 1, with ``RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``), the first fit initialises one, with gloo on a CPU and
``"cpu:gloo,cuda:nccl"`` (NCCL for CUDA tensors) when CUDA is available, and it is
destroyed when the process exits, so several fits in one script share it.

How a fit is shared (`DataParallel`, called by `aekit.training.loop`):

- every rank builds the same model from the same seed (`same_seed`: rank 0's draw)
  and rank 0's weights are broadcast before the first step;
- ``batch_size`` is the global batch: every rank draws the same permutation of the
  training rows each epoch and takes its contiguous part of each global batch
  (`rank_batches`), so the ranks' rows in an epoch are disjoint and cover the
  training rows; a last global batch with fewer than 2 rows per rank is dropped;
- after each batch's backward, each rank's gradient is weighted by its share of the
  global batch and summed over the ranks, on the one flat gradient buffer of
  `FlatParameters` (so the hand-written step and the fused Adam step keep
  working), then every rank takes the same optimiser step: with a loss that is a
  mean over the batch, N ranks with batch B compute what one process does;
- the training loss, the validation loss (each rank scores its `shard` of the
  validation rows) and the stopping decision are all-reduced, so every rank keeps
  the same best epoch and stops at the same epoch; float buffers (batch norm's
  running statistics) are averaged at the end of each epoch;
- random noise (dropout, a VAE's samples) is drawn from a per-rank seed.

Only rank 0 writes: `aekit.save` and the progress bar do nothing on other ranks.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from aekit.training.sources import (
    BatchSource,
    batch_sizes,
    batches,
    shard,
    shard_bounds,
)


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group."""

    rank: int
    world_size: int


def ranks() -> Ranks | None:
    """The process group this process trains in, or None when it trains alone
    (no group and no torchrun environment, or a group of one). Initialises the
    group from torchrun's environment variables when none is initialised yet."""
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        if _launched_world_size() <= 1:
            return None
        _initialise()
    world_size = dist.get_world_size()
    return Ranks(dist.get_rank(), world_size) if world_size > 1 else None


def is_main_process() -> bool:
    """Whether this process writes files: rank 0, or a process on its own."""
    group = ranks()
    return group is None or group.rank == 0


def _launched_world_size() -> int:
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"the environment variable WORLD_SIZE must be an integer, got {value!r}"
        ) from None


def local_cuda_index() -> int | None:
    """The CUDA device of this process under a multi-process launch
    (``LOCAL_RANK``), or None when not launched so."""
    if _launched_world_size() <= 1 or "LOCAL_RANK" not in os.environ:
        return None
    return int(os.environ["LOCAL_RANK"])


def _initialise() -> None:
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ValueError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} asks for distributed training but "
            f"{', '.join(missing)} is not set: launch with torchrun (or "
            "`aekit train --nproc N`), or initialise torch.distributed yourself"
        )
    backend = "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(local_cuda_index() or 0)
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend)
    atexit.register(_destroy)


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _host_device() -> torch.device:
    """Where small tensors go for a collective: the CPU, unless the group has
    only NCCL (initialised by the caller)."""
    backend = str(dist.get_backend())
    if backend == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def same_seed(seed: int) -> int:
    """Rank 0's ``seed`` on every rank (``seed`` itself when training alone), so
    that ``random_state=None`` still builds the same model everywhere."""
    if ranks() is None:
        return seed
    value = torch.tensor([seed], dtype=torch.int64, device=_host_device())
    dist.broadcast(value, 0)
    return int(value.item())


def rank_batches(
    order: torch.Tensor, batch_size: int, group: Ranks
) -> tuple[torch.Tensor, list[int], list[float]]:
    """This rank's rows of an epoch whose global order is ``order``: each global
    batch is cut into ``world_size`` contiguous parts of nearly equal size and
    the rank takes part ``rank``. Returns the rows, the size of each of its
    batches and each one's share of its global batch."""
    world = group.world_size
    parts, sizes, shares = [], [], []
    start = 0
    for size in batch_sizes(len(order), batch_size, min_last=2 * world):
        lo, hi = shard_bounds(size, group.rank, world)
        parts.append(order[start + lo : start + hi])
        sizes.append(hi - lo)
        shares.append((hi - lo) / size)
        start += size
    return torch.cat(parts), sizes, shares


def check_same_rows(n_rows: int) -> None:
    """Every rank must fit on the same ``n_rows`` rows (the whole data, from
    which each takes its part); raises ValueError on every rank otherwise."""
    bounds = torch.tensor([n_rows, -n_rows], device=_host_device())
    dist.all_reduce(bounds, op=dist.ReduceOp.MAX)
    most, fewest = int(bounds[0]), -int(bounds[1])
    if most != fewest:
        raise ValueError(
            f"every process must pass the same data to fit (each trains on its "
            f"part of it), but they passed between {fewest} and {most} rows"
        )


def check_rows(group: Ranks, n_train: int, n_val: int | None) -> None:
    """Every rank needs training rows, and validation rows when there are any."""
    world = group.world_size
    if n_train < world or (n_val is not None and n_val < world):
        raise ValueError(
            f"too few rows for {world} processes: {n_train} training and "
            f"{n_val or 0} validation rows, while each process needs at least one "
            "of each; use fewer processes or more data"
        )


class DataParallel:
    """What the training loop does differently when it is one of several ranks.

    Parameters
    ----------
    group : Ranks
    module : nn.Module
        Its parameters and buffers are set to rank 0's.
    params : sequence of Tensor
        The tensors the optimiser updates (the one flat tensor of
        `FlatParameters`, or the module's parameters); their ``.grad`` is what
        `reduce_gradients` sums.
    """

    def __init__(
        self, group: Ranks, module: nn.Module, params: Sequence[torch.Tensor]
    ) -> None:
        self.group, self.module, self.params = group, module, list(params)
        self.main = group.rank == 0
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, 0)
        noise = np.random.SeedSequence([torch.initial_seed(), group.rank])
        torch.manual_seed(int(noise.generate_state(1)[0]))

    def batches(
        self, data: torch.Tensor | BatchSource, order: torch.Tensor, batch_size: int
    ) -> Iterator[tuple[torch.Tensor, float]]:
        """This rank's batches of the epoch ordered by ``order`` (see
        `rank_batches`), each with its share of the global batch."""
        rows, sizes, shares = rank_batches(order, batch_size, self.group)
        yield from zip(batches(data, rows, sizes), shares, strict=True)

    def reduce_gradients(self, share: float) -> None:
        """The global batch's gradient on every rank: each rank's gradient (the
        mean over its rows) weighted by its ``share`` and summed over the ranks."""
        for param in self.params:
            if param.grad is not None:
                dist.all_reduce(param.grad.mul_(share))

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` summed over the ranks (in place)."""
        dist.all_reduce(values)
        return values

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on some rank."""
        value = torch.tensor([float(flag)], device=_host_device())
        return bool(self.sum(value).item() > 0)

    def shard(self, data: torch.Tensor | BatchSource) -> torch.Tensor | BatchSource:
        """This rank's rows of ``data`` (see `aekit.training.sources.shard`)."""
        return shard(data, self.group.rank, self.group.world_size)

    def average_buffers(self) -> None:
        """Float buffers (e.g. batch norm's running statistics, which each rank
        updates from its own rows) averaged over the ranks."""
        for buffer in self.module.buffers():
            if buffer.is_floating_point():
                self.sum(buffer.data).div_(self.group.world_size)


def data_parallel(
    module: nn.Module, params: Sequence[torch.Tensor]
) -> DataParallel | None:
    """A `DataParallel` for ``module`` when this process is one of several ranks,
    else None."""
    group = ranks()
    return None if group is None else DataParallel(group, module, params)
