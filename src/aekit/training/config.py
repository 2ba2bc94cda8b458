"""`TrainConfig`: how the one training loop trains. A leaf module: the loop, its
fast step, the callbacks and the loggers import it, and it imports none of them."""

from __future__ import annotations

from dataclasses import dataclass

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LR_SCHEDULES = (None, "none", "cosine", "step", "plateau")


@dataclass
class TrainConfig:
    """How `fit_module` trains; the estimators fill it from their parameters."""

    optimizer: str = "adam"  # one of OPTIMIZERS
    learning_rate: float = 1e-3
    weight_decay: float = 0.0  # L2 penalty, decoupled for adamw
    lr_schedule: str | None = None  # one of LR_SCHEDULES
    batch_size: int = 256
    max_epochs: int = 200
    early_stopping: bool = True  # hold out validation_fraction, keep the best weights
    validation_fraction: float = 0.1
    patience: int = 10  # epochs without validation improvement before stopping
    min_delta: float = 1e-4  # relative improvement that counts
    # Early stopping also weighs the starting weights ("epoch 0"): a model that
    # starts at a known solution (PCA) then never ends worse than it on the
    # validation rows.
    score_initial: bool = False
    gradient_clip: float | None = None  # max global gradient norm
    autocast: bool = False  # bf16 autocast (CUDA only)
    manual_backward: bool = True  # use a module's hand-written backward if it has one
    verbose: bool = False
