"""Hooks into `fit_module`: the `Callback` base class and the callbacks aekit's
estimators use."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
