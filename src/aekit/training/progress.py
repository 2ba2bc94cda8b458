"""What ``verbose=True`` shows while `fit_module` runs."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class Progress:
    """A tqdm bar over the epochs with the latest losses; nothing when not
    ``verbose``. A context manager: the bar goes away at the end."""

    def __init__(self, max_epochs: int, verbose: bool) -> None:
        self.bar: Any = None
        if verbose:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=max_epochs,
                desc="training",
                unit="epoch",
                leave=False,
                mininterval=0.5,
            )

    def update(self, record: dict[str, float]) -> None:
        """Show the end of an epoch whose history entry is ``record``."""
        if self.bar is None:
            return
        shown = [k for k in ("loss", "val_loss") if k in record]
        self.bar.set_postfix({k: f"{record[k]:.4g}" for k in shown}, refresh=False)
        self.bar.update(1)

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
