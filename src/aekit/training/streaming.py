"""`StreamSource`: training batches read from a table on disk (a
`aekit.data.chunks.ChunkedTable`), for data larger than memory. The training loop
treats it like any other source; only these rules differ from in-memory data:

- **Validation split.** A row is held out when a hash of its index (seeded by the
  fit's random state) falls below ``validation_fraction``: a fixed function of the
  row's position, so no pass over the data and no index list is needed, and every
  epoch (and every process) agrees on it. About ``validation_fraction`` of the
  rows are held out, not exactly ``ceil(fraction * n)``.
- **Shuffling.** Each epoch reads the table's pieces (Parquet row groups, blocks
  of NPY rows) in a new random order and shuffles rows within a buffer of about
  `SHUFFLE_CELLS` values (several pieces), so batches mix rows of several places
  in the file. Rows far apart in the file meet in a batch less often than in a
  full shuffle.
- **Memory.** One chunk being read plus the shuffle buffer, whatever the file's
  size; a pass in file order (validation, scoring) holds one chunk and a batch.

The per-epoch loss (the mean over training rows), validation and early stopping
are the loop's own, as for in-memory data.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import torch

from aekit.data.chunks import ChunkedTable
from aekit.training.sources import batch_sizes

SHUFFLE_CELLS = 1 << 24  # values in the shuffle buffer (64 MB in float32)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def held_out(rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Whether each row index in ``rows`` belongs to the validation split: the
    splitmix64 hash of (index, seed), as a number in [0, 1), below ``fraction``."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) * _GOLDEN + np.uint64(seed % (1 << 63))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53 < fraction


@dataclass(frozen=True, eq=False)
class StreamSource:
    """Scaled float32 batches of the rows of ``table`` on ``device``.

    ``split`` (fraction, seed, which side) restricts it to the training or
    validation rows (see the module docstring).
    """

    table: ChunkedTable
    shift: np.ndarray
    scale: np.ndarray
    device: torch.device = torch.device("cpu")
    split: tuple[float, int, bool] | None = None  # fraction, seed, validation side

    def __len__(self) -> int:
        return self.n_rows

    @cached_property
    def n_rows(self) -> int:
        """Selected rows (counted once, from the row indices alone)."""
        table = self.table
        return sum(
            int(self._selected(table.row_indices(p)).sum()) for p in table.pieces
        )

    def _selected(self, rows: np.ndarray) -> np.ndarray:
        """Which of the table's rows ``rows`` this source reads."""
        if self.split is None:
            return np.ones(len(rows), bool)
        fraction, seed, validation = self.split
        return held_out(rows, fraction, seed) == validation

    def split_rows(
        self, fraction: float, generator: torch.Generator
    ) -> tuple[StreamSource, StreamSource]:
        """(training, validation) sources, with a seed drawn from ``generator``."""
        seed = int(torch.randint(1 << 62, (1,), generator=generator))
        train = replace(self, split=(fraction, seed, False))
        validation = replace(self, split=(fraction, seed, True))
        if len(train) < 2 or len(validation) < 1:
            raise ValueError(
                f"too few rows for early stopping: the {self.n_rows} rows split into "
                f"{len(train)} to train on and {len(validation)} to validate with "
                f"validation_fraction={fraction}. Pass more rows, raise "
                "validation_fraction or set early_stopping=False."
            )
        return train, validation

    def shard(self, rank: int, world_size: int) -> StreamSource:
        """This source restricted to rank ``rank``'s block of the table's rows
        (see `ChunkedTable.shard`): disjoint across ranks, together all the
        rows; the validation split stays the same function of the row index."""
        return replace(self, table=self.table.shard(rank, world_size))

    def to(self, device: torch.device) -> StreamSource:
        return replace(self, device=torch.device(device))

    def scaled_chunks(self, order: list[int] | None = None) -> Iterator[np.ndarray]:
        """The selected rows of each chunk, scaled, as float32 arrays."""
        for index, block in self.table.chunks(order):
            mask = self._selected(index)
            rows = block if mask.all() else block[mask]
            if len(rows):
                yield ((rows - self.shift) / self.scale).astype(np.float32)

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[torch.Tensor]:
        """Batches of ``batch_size`` selected rows: every row in file order without
        ``generator`` (the last batch may be smaller), else shuffled (pieces in a
        random order, rows within the buffer) with the sizes of
        `aekit.training.sources.batch_sizes` (a last batch of one row dropped
        unless it is the only one)."""
        if generator is None:
            return self.sized_batches(itertools.repeat(batch_size), rest=True)
        return self.sized_batches(batch_sizes(len(self), batch_size), generator)

    def sized_batches(
        self,
        sizes: Iterable[int],
        generator: torch.Generator | None = None,
        rest: bool = False,
    ) -> Iterator[torch.Tensor]:
        """Batches of the selected rows with the given ``sizes`` in turn, in file
        order or (with ``generator``) shuffled; reading stops once ``sizes`` run
        out. With ``rest``, rows left when the table ends make a last batch."""
        order = None
        if generator is not None:
            order = torch.randperm(len(self.table.pieces), generator=generator).tolist()
        # rows gathered before batches are cut: a shuffle buffer, or (in file
        # order) just one batch
        width = max(1, self.table.n_features)
        limit = 0 if generator is None else SHUFFLE_CELLS // width
        wanted = iter(sizes)
        size = next(wanted, 0)  # (0: no more batches wanted)
        buffer: list[np.ndarray] = []
        held = 0
        for chunk in self.scaled_chunks(order) if size else ():
            buffer.append(chunk)
            held += len(chunk)
            if held >= max(limit, size):
                rows = self._mixed(buffer, generator)
                used, size = yield from self._cut(rows, size, wanted)
                if not size:  # (stop reading)
                    return
                # (a copy of the few rows left: a view would keep all of rows)
                buffer, held = [rows[used:].copy()], len(rows) - used
        if held and size:
            rows = self._mixed(buffer, generator)
            used, size = yield from self._cut(rows, size, wanted)
            if rest and used < len(rows):
                yield torch.from_numpy(rows[used:]).to(self.device, non_blocking=True)

    def _cut(
        self, rows: np.ndarray, size: int, wanted: Iterator[int]
    ) -> Generator[torch.Tensor, None, tuple[int, int]]:
        """Yields batches of ``rows`` of ``size`` and the sizes after it while
        they fit; returns the rows used and the size still wanted (0 when the
        sizes ran out)."""
        data, used = torch.from_numpy(rows), 0
        while size and used + size <= len(rows):
            yield data[used : used + size].to(self.device, non_blocking=True)
            used, size = used + size, next(wanted, 0)
        return used, size

    @staticmethod
    def _mixed(
        buffer: list[np.ndarray], generator: torch.Generator | None
    ) -> np.ndarray:
        rows = np.concatenate(buffer) if len(buffer) > 1 else buffer[0]
        if generator is None:
            return rows
        return rows[torch.randperm(len(rows), generator=generator).numpy()]
