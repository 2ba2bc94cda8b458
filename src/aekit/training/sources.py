"""Where the training loop's batches come from.

In-memory data stays on the training device as one tensor: each epoch gathers it
once in a shuffled order and the batches are contiguous slices of that (no
per-sample DataLoader). Data that is not one dense tensor is a `BatchSource`:
`SparseRows` (recommenders' user-by-item matrices) or `BinarizedSource` (a VAE's
dynamic binarisation); `reconstruct_at` reads single entries of a reconstruction of
sparse rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

SCORE_CELLS = 1 << 22  # rows x columns densified at once at inference
# In-memory data up to this size is gathered in each epoch's order at once (then
# sliced); bigger data batch by batch, so an epoch does not copy it.
GATHER_BYTES = 1 << 26


class BatchSource(Protocol):
    """Data that is not one dense tensor (e.g. a sparse matrix): hands out batches.

    ``shard(rank, world_size)`` is the part of the rows that process ``rank`` of
    ``world_size`` reads in distributed training (`aekit.training.distributed`):
    the shards of all ranks are disjoint and cover the rows. The in-memory
    sources here return the contiguous block `shard_bounds` picks.
    """

    def __len__(self) -> int: ...

    def take(self, indices: torch.Tensor) -> torch.Tensor: ...

    def shard(self, rank: int, world_size: int) -> BatchSource: ...


class RowStream(Protocol):
    """Data read in order rather than by index (e.g. a table on disk,
    `aekit.training.streaming.StreamSource`): it splits itself into training and
    validation rows, hands out (shuffled) batches of one size or of given sizes,
    and shards itself for distributed training."""

    def __len__(self) -> int: ...

    def split_rows(
        self, fraction: float, generator: torch.Generator
    ) -> tuple[RowStream, RowStream]: ...

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[torch.Tensor]: ...

    def sized_batches(
        self, sizes: Iterable[int], generator: torch.Generator | None = None
    ) -> Iterator[torch.Tensor]: ...

    def shard(self, rank: int, world_size: int) -> RowStream: ...


Data = torch.Tensor | BatchSource | RowStream


def is_stream(data: object) -> bool:
    """Whether ``data`` is a `RowStream` (read in order, not by index)."""
    return hasattr(data, "split_rows")


def take(data: torch.Tensor | BatchSource, idx: torch.Tensor) -> torch.Tensor:
    """The rows ``idx`` of a tensor or a `BatchSource`. (``index_select``: on a
    CPU it gathers rows 4-5x faster than ``data[idx]``.)"""
    if isinstance(data, torch.Tensor):
        return data.index_select(0, idx.to(data.device))
    return data.take(idx)


def batch_sizes(n: int, batch_size: int, min_last: int = 2) -> list[int]:
    """The sizes of the batches of ``n`` rows: ``batch_size`` each, the rest in a
    last batch that is dropped when it has fewer than ``min_last`` rows (one row
    would break batch norm; the dropped rows are seen again in a later,
    reshuffled epoch). A first batch is always kept."""
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    if len(sizes) > 1 and sizes[-1] < min_last:
        sizes.pop()
    return sizes


def batches(
    data: torch.Tensor | BatchSource, idx: torch.Tensor, sizes: Sequence[int]
) -> Iterator[torch.Tensor]:
    """Consecutive batches of ``data[idx]`` of the given ``sizes`` (see
    `batch_sizes`). A tensor of up to `GATHER_BYTES` is gathered in ``idx``'s
    order at once (then sliced); bigger data batch by batch, so an epoch does not
    copy it."""
    gathered = None
    if isinstance(data, torch.Tensor) and data.numel() * 4 <= GATHER_BYTES:
        gathered = take(data, idx[: sum(sizes)])
    start = 0
    for size in sizes:
        if gathered is not None:
            yield gathered[start : start + size]
        else:
            yield take(data, idx[start : start + size])
        start += size


def ordered_batches(data: Data, batch_size: int) -> Iterator[torch.Tensor]:
    """Every row of ``data`` in order, in batches (the last may have one row)."""
    if is_stream(data):
        yield from data.batches(batch_size)  # type: ignore[union-attr]
        return
    idx = torch.arange(len(data))
    for start in range(0, len(data), batch_size):
        yield take(data, idx[start : start + batch_size])  # type: ignore[arg-type]


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """``(start, stop)`` of the rows of ``n`` that ``rank`` of ``world_size``
    reads: contiguous blocks in rank order, their sizes differing by at most one."""
    return n * rank // world_size, n * (rank + 1) // world_size


def shard(
    data: torch.Tensor | BatchSource, rank: int, world_size: int
) -> torch.Tensor | BatchSource:
    """``rank``'s shard of a tensor (a view of its block of rows, see
    `shard_bounds`) or of a BatchSource (its ``shard``)."""
    if isinstance(data, torch.Tensor):
        return data[slice(*shard_bounds(len(data), rank, world_size))]
    return data.shard(rank, world_size)


def split_indices(
    n: int, fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (train, validation) index tensors with ``ceil(fraction * n)`` held out."""
    n_val = math.ceil(fraction * n)
    perm = torch.randperm(n, generator=generator)
    return perm[n_val:], perm[:n_val]


def split_data(
    data: Data,
    fraction: float | None,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[torch.Tensor | RowStream, Data | None]:
    """Training indices and the held-out validation data: a random ``fraction`` of
    the rows, or None (and every row to train on) when ``fraction`` is None. A
    `RowStream` splits itself (its training rows replace the indices)."""
    n = len(data)
    if is_stream(data):
        if fraction is None:
            return data, None  # type: ignore[return-value]
        return data.split_rows(fraction, generator)  # type: ignore[union-attr]
    if fraction is None:
        return torch.arange(n), None
    train_idx, val_idx = split_indices(n, fraction, generator)
    if isinstance(data, torch.Tensor):
        return train_idx, data[val_idx.to(device)]
    return train_idx, _Subset(data, val_idx)  # type: ignore[arg-type]


class _Rows:
    """Base of the in-memory BatchSources: ``shard`` is a contiguous block."""

    def __len__(self) -> int:
        raise NotImplementedError

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def shard(self, rank: int, world_size: int) -> BatchSource:
        return _Subset(self, torch.arange(*shard_bounds(len(self), rank, world_size)))


class _Subset(_Rows):
    """The rows ``indices`` of a BatchSource, itself a BatchSource."""

    def __init__(self, source: BatchSource, indices: torch.Tensor) -> None:
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        return self.source.take(self.indices[indices])


class SparseRows(_Rows):
    """A `BatchSource` over a CSR matrix: only the rows of a batch are made dense,
    with ``fill`` (0 or NaN) where the matrix has no entry; with ``sparse=True``
    a batch is a torch sparse CSR tensor instead (for modules that take one,
    such as `aekit.nn.MultVAENet`), never dense."""

    def __init__(
        self,
        matrix: sp.csr_matrix,
        device: torch.device,
        fill: float = 0.0,
        sparse: bool = False,
    ) -> None:
        self.matrix, self.device, self.fill = matrix, device, fill
        self.sparse = sparse

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def take(self, indices: torch.Tensor | np.ndarray) -> torch.Tensor:
        idx = np.asarray(indices.cpu() if torch.is_tensor(indices) else indices)
        if self.sparse:
            part = self.matrix[idx]
            with warnings.catch_warnings():  # (torch calls sparse CSR "beta")
                warnings.filterwarnings("ignore", "Sparse CSR tensor support")
                batch = torch.sparse_csr_tensor(
                    torch.from_numpy(part.indptr.astype(np.int64)),
                    torch.from_numpy(part.indices.astype(np.int64)),
                    torch.from_numpy(part.data.astype(np.float32)),
                    part.shape,
                    check_invariants=False,  # (scipy's CSR is valid)
                )
            return batch.to(self.device)
        rows = self.matrix[idx].tocoo()
        dense = torch.full((len(idx), self.matrix.shape[1]), self.fill)
        r, c = (
            torch.from_numpy(rows.row.astype(np.int64)),
            torch.from_numpy(rows.col.astype(np.int64)),
        )
        dense[r, c] = torch.from_numpy(rows.data.astype(np.float32))
        return dense.to(self.device, non_blocking=True)


class ScaledRows(_Rows):
    """A `BatchSource` over an in-memory array that scales each batch as it is
    taken, ``(X[idx] - shift) / scale`` in float64 then float32: the same values
    as scaling the whole array first, without a scaled copy of it."""

    def __init__(self, X: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> None:
        self.X, self.shift, self.scale = X, shift, scale

    def __len__(self) -> int:
        return len(self.X)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        rows = self.X[indices.numpy()]
        return torch.from_numpy(((rows - self.shift) / self.scale).astype(np.float32))


class BinarizedSource(_Rows):
    """Training data that draws x ~ Bernoulli(x) each time a batch is taken
    (dynamic binarisation of intensities in [0, 1])."""

    def __init__(self, data: torch.Tensor | BatchSource) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        if isinstance(self.data, torch.Tensor):
            indices = indices.to(self.data.device)
        return torch.bernoulli(take(self.data, indices))


@torch.inference_mode()
def reconstruct_at(
    module: nn.Module, source: SparseRows, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Entries (rows, cols) of the module's reconstruction of ``source``'s rows,
    computed one chunk of distinct rows at a time."""
    was_training = module.training
    module.eval()
    unique, inverse = np.unique(rows, return_inverse=True)
    out = np.empty(len(rows), np.float64)
    step = max(1, SCORE_CELLS // max(1, source.matrix.shape[1]))
    for start in range(0, len(unique), step):
        chunk = unique[start : start + step]
        recon = module(source.take(chunk))["recon"].float().cpu().numpy()
        hit = (inverse >= start) & (inverse < start + len(chunk))
        out[hit] = recon[inverse[hit] - start, cols[hit]]
    module.train(was_training)
    return out
