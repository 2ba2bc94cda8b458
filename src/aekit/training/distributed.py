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

A table read from disk in chunks (a `RowStream`) is not held by every rank: each
rank reads its block of consecutive rows (`aekit.data.chunks.ChunkedTable.shard`),
gathers its column statistics, and the ranks' statistics are merged in rank
order (`merged_stats`), so the scaling is the same on every rank. The
validation rows are the same hash of the row index as alone, each rank
training on and scoring those in its block. As the blocks' training rows differ
in number, every rank takes the same number of steps, ``ceil(rows /
batch_size)``, cutting its own rows into that many nearly equal batches, and
weights each batch's gradient by its share of that step's rows
(`stream_plan`): no row is skipped or repeated, no rank waits for another.

Only rank 0 writes: `aekit.save` and the progress bar do nothing on other ranks.
"""

from __future__ import annotations

import atexit
import functools
import logging
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from aekit.data.chunks import ChunkedTable
from aekit.data.moments import ColumnStats
from aekit.training.sources import (
    BatchSource,
    RowStream,
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


_started_here = False  # whether `_initialise` started this process's group


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
    global _started_here
    dist.init_process_group(backend)
    _started_here = True
    atexit.register(_destroy)


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def end_launched_process() -> None:
    """End a successful run of a process that torchrun launched (the CLI under
    ``aekit train --nproc N``): wait for every rank, destroy the group, flush, and
    leave with status 0 without the interpreter's teardown. Gloo's threads can
    abort a process that is being torn down ("terminate called without an active
    exception", after the work is done and saved), which torchrun would report
    as a failed run. Does nothing when aekit did not start a group."""
    if not (_started_here and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


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


def table_shard(table: ChunkedTable) -> ChunkedTable:
    """This rank's block of rows of ``table`` (the whole table when training
    alone), after checking that every rank opened a table of the same length
    with a row for each rank (a ValueError on every rank otherwise)."""
    group = ranks()
    if group is None:
        return table
    check_same_rows(len(table))
    if len(table) < group.world_size:
        raise ValueError(
            f"too few rows for {group.world_size} processes: the table has "
            f"{len(table)}; use fewer processes or more data"
        )
    return table.shard(group.rank, group.world_size)


def merged_stats(stats: ColumnStats) -> ColumnStats:
    """The column statistics of every rank's rows, merged in rank order (so
    every rank gets the same numbers); ``stats`` itself when training alone."""
    if ranks() is None:
        return stats
    flags = np.array([stats.n, stats.whole, stats.binary], np.float64)
    parts = [flags, stats.mean, stats.m2.ravel(), stats.low, stats.high]
    mine = torch.from_numpy(np.concatenate(parts).astype(np.float64))
    gathered = _all_gather(mine.to(_host_device()))
    return functools.reduce(
        ColumnStats.merge, [_unpack(g.cpu().numpy(), stats) for g in gathered]
    )


def _unpack(values: np.ndarray, like: ColumnStats) -> ColumnStats:
    """The `ColumnStats` that `merged_stats` packed into ``values`` (shaped as
    ``like``)."""
    d, cells = len(like.mean), like.m2.size
    return ColumnStats(
        n=int(values[0]),
        mean=values[3 : 3 + d],
        m2=values[3 + d : 3 + d + cells].reshape(like.m2.shape),
        low=values[3 + d + cells : 3 + 2 * d + cells],
        high=values[3 + 2 * d + cells :],
        whole=bool(values[1]),
        binary=bool(values[2]),
    )


def _all_gather(tensor: torch.Tensor) -> list[torch.Tensor]:
    """``tensor`` of every rank (same shape and dtype everywhere), in rank order."""
    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(out, tensor)
    return out


def stream_plan(
    counts: Sequence[int], batch_size: int, rank: int
) -> tuple[list[int], list[float]]:
    """Rank ``rank``'s batch sizes for an epoch over shards of ``counts``
    training rows, and each batch's share of its step's rows. Every rank takes
    ``ceil(sum(counts) / batch_size)`` steps (fewer when a shard would have
    under 2 rows a step) and cuts its rows into that many batches whose sizes
    differ by at most one, so every row is used once."""
    steps = max(1, min(math.ceil(sum(counts) / batch_size), min(counts) // 2))
    sizes = [[_size(n, step, steps) for step in range(steps)] for n in counts]
    totals = [sum(column) for column in zip(*sizes, strict=True)]
    mine = sizes[rank]
    return mine, [size / total for size, total in zip(mine, totals, strict=True)]


def _size(n: int, part: int, parts: int) -> int:
    """The size of part ``part`` of ``n`` rows cut into ``parts`` (`shard_bounds`)."""
    lo, hi = shard_bounds(n, part, parts)
    return hi - lo


@dataclass(frozen=True, eq=False)
class StreamShard:
    """This rank's part of a streamed fit's training rows: its shard of the
    stream and its batch sizes and shares (`stream_plan`). Its length is the
    training rows of all ranks (the per-epoch loss is their mean)."""

    stream: RowStream
    sizes: list[int]
    shares: list[float]
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows

    def batches(
        self, generator: torch.Generator
    ) -> Iterator[tuple[torch.Tensor, float]]:
        """This epoch's batches (shuffled by ``generator``), each with its share."""
        rows = self.stream.sized_batches(self.sizes, generator)
        return zip(rows, self.shares, strict=True)


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

    def shard_stream(
        self, train: RowStream, validation: RowStream | None, batch_size: int
    ) -> StreamShard:
        """This rank's shard of the training stream and its batches (see
        `stream_plan`); a ValueError on every rank when a rank's block of rows
        has fewer than 2 training rows or no validation row."""
        rank, world = self.group.rank, self.group.world_size
        mine = train.shard(rank, world)
        n_val = -1 if validation is None else len(validation.shard(rank, world))
        counts = torch.tensor([len(mine), n_val], device=_host_device())
        table = torch.stack(_all_gather(counts)).cpu()
        n_train, n_vals = table[:, 0].tolist(), table[:, 1].tolist()
        if min(n_train) < 2 or (validation is not None and min(n_vals) < 1):
            raise ValueError(
                f"too few rows for {world} processes: their blocks of the table "
                f"hold {n_train} training and {[max(0, n) for n in n_vals]} "
                "validation rows, while each needs at least 2 and 1; use fewer "
                "processes or more data"
            )
        sizes, shares = stream_plan(n_train, batch_size, rank)
        return StreamShard(mine, sizes, shares, sum(n_train))

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
