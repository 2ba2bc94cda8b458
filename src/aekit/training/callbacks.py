"""Hooks into `fit_module`: the `Callback` base class and the callbacks aekit's
estimators use."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from aekit.training.loop import TrainConfig


class Callback:
    """Hooks called by `fit_module`; subclass and override what you need.

    Set ``self.stop_training = True`` in a hook to end training after this epoch.
    """

    stop_training = False

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        pass

    def on_epoch_begin(self, module: nn.Module, epoch: int) -> None:
        pass

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        pass

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        pass


class EarlyStopping(Callback):
    """Early stopping on the history entry ``monitor``: keeps a copy of the weights
    of the best epoch, stops after ``patience`` epochs without an improvement of at
    least ``min_delta`` (relative), and puts the best weights back at the end.

    `fit_module` adds one on ``"val_loss"`` when ``config.early_stopping``;
    subclasses that compute their own metric write it into the record in
    ``on_epoch_end`` before calling this one's.
    """

    def __init__(
        self,
        patience: int,
        min_delta: float = 1e-4,
        monitor: str = "val_loss",
        higher_is_better: bool = False,
    ) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.monitor, self.higher_is_better = monitor, higher_is_better
        self.best, self.best_epoch = math.inf, 0  # best is "lower is better"
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        value = record[self.monitor]
        epoch = int(record["epoch"])
        self.update(module, -value if self.higher_is_better else value, epoch)

    def update(self, module: nn.Module, value: float, epoch: int) -> None:
        """Record ``value`` (lower is better) for ``epoch``."""
        if (
            value < self.best - self.min_delta * abs(self.best)
            or self.best_state is None
        ):
            self.best, self.best_epoch = value, epoch
            self.best_state = {
                k: v.detach().clone() for k, v in module.state_dict().items()
            }
        if epoch - self.best_epoch >= self.patience:
            self.stop_training = True

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        if self.best_state is not None:
            module.load_state_dict(self.best_state)
