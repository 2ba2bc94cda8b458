"""Training: the one loop (`loop`), its fast paths (`fast_step`), callbacks
(`callbacks`) and data sources (`sources`). The names other modules use are
importable from here."""

from aekit.training.callbacks import (
    Callback,
    EarlyStopping,
    HeldOutRatings,
    HeldOutUsers,
    KLWarmup,
)
from aekit.training.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from aekit.training.device import resolve_device, seed_from, seeded
from aekit.training.fast_step import (
    ONE_THREAD_FLOPS,
    FlatParameters,
    flush_denormals,
    keep_denormals,
)
from aekit.training.loop import (
    TrainResult,
    evaluate,
    fit_module,
    make_optimizer,
    make_scheduler,
)
from aekit.training.progress import Progress
from aekit.training.sources import (
    BatchSource,
    BinarizedSource,
    SparseRows,
    reconstruct_at,
    split_indices,
)

__all__ = [
    "LR_SCHEDULES",
    "ONE_THREAD_FLOPS",
    "OPTIMIZERS",
    "BatchSource",
    "BinarizedSource",
    "Callback",
    "EarlyStopping",
    "FlatParameters",
    "flush_denormals",
    "keep_denormals",
    "HeldOutRatings",
    "HeldOutUsers",
    "KLWarmup",
    "Progress",
    "SparseRows",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "fit_module",
    "make_optimizer",
    "make_scheduler",
    "reconstruct_at",
    "resolve_device",
    "seed_from",
    "seeded",
    "split_indices",
]
