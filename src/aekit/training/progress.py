"""What ``verbose=True`` shows while `fit_module` runs: a tqdm bar on a terminal,
a few plain lines anywhere else (a file, a CI log), where hundreds of bar redraws
would only bury the output."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any

import numpy as np

PLAIN_LINES = 10  # lines over a full run without a terminal, plus the last epoch


class Progress:
    """Progress of a run of at most ``max_epochs`` epochs; silent unless
    ``verbose``. A context manager: the bar goes away at the end, and without a
    terminal the last epoch's line is written then (unless already shown).

    Parameters
    ----------
    max_epochs : int
    verbose : bool
    stream : text stream, default=sys.stderr
    """

    def __init__(self, max_epochs: int, verbose: bool, stream: IO[str] | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.max_epochs = max_epochs
        self.every = max(1, math.ceil(max_epochs / PLAIN_LINES))
        self.bar: Any = None
        self.plain = verbose and not _is_terminal(self.stream)
        self.last: dict[str, float] | None = None  # latest record not yet written
        self.start = time.perf_counter()
        if verbose and not self.plain:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=max_epochs,
                desc="training",
                unit="epoch",
                leave=False,
                mininterval=0.5,
                file=self.stream,
            )

    def update(self, record: dict[str, float]) -> None:
        """Show the end of an epoch whose history entry is ``record``."""
        if self.bar is not None:
            shown = {k: f"{v:.4g}" for k, v in _losses(record)}
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        elif self.plain:
            self.last = record
            if int(record["epoch"]) % self.every == 0:
                self._write(record)

    def _write(self, record: dict[str, float]) -> None:
        losses = "  ".join(f"{k} {v:.4g}" for k, v in _losses(record))
        seconds = time.perf_counter() - self.start
        epoch = f"{int(record['epoch'])}/{self.max_epochs}"
        print(f"training: epoch {epoch}  {losses}  ({seconds:.1f} s)", file=self.stream)
        self.last = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.last is not None and exc_type is None:
            self._write(self.last)


def _losses(record: dict[str, float]) -> list[tuple[str, float]]:
    return [(k, record[k]) for k in ("loss", "val_loss") if k in record]


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def row_progress(
    blocks: Iterable[np.ndarray], n_rows: int, what: str, verbose: bool = True
) -> Iterator[np.ndarray]:
    """``blocks`` (arrays of rows) passed through, with a progress bar over the
    ``n_rows`` rows when ``verbose`` (on a terminal; silent elsewhere)."""
    if not verbose:
        yield from blocks
        return
    from tqdm.auto import tqdm

    with tqdm(total=n_rows, unit="row", desc=what, disable=None) as bar:
        for block in blocks:
            yield block
            bar.update(len(block))
