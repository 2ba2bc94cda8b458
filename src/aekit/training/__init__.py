"""Training: the one loop (`loop`), its fast paths (`fast_step`), callbacks
(`callbacks`) and data sources (`sources`). The names other modules use are
importable from here."""

from aekit.training.callbacks import Callback, EarlyStopping
from aekit.training.fast_step import ONE_THREAD_FLOPS, FlatParameters
from aekit.training.loop import (
    LR_SCHEDULES,
    OPTIMIZERS,
    TrainConfig,
    TrainResult,
    evaluate,
    fit_module,
    make_optimizer,
    make_scheduler,
    resolve_device,
    seeded,
)
from aekit.training.sources import BatchSource, split_indices

__all__ = [
    "LR_SCHEDULES",
    "ONE_THREAD_FLOPS",
    "OPTIMIZERS",
    "BatchSource",
    "Callback",
    "EarlyStopping",
    "FlatParameters",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "fit_module",
    "make_optimizer",
    "make_scheduler",
    "resolve_device",
    "seeded",
    "split_indices",
]
