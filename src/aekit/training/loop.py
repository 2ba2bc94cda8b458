"""The one training loop. Model-agnostic: it only calls ``module(x)`` and
``module.loss(x, out)["loss"]``, so sparse, denoising, contractive and variational
models differ in their modules, never here.

The loss is accumulated on the device and read once per epoch, so the batch loop
never waits for the host (batching: `aekit.training.sources`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aekit.exceptions import TrainingError
from aekit.training.callbacks import Callback, EarlyStopping
from aekit.training.fast_step import (
    FlatParameters,
    cpu_threads,
    manual_step,
    optimizer_step,
)
from aekit.training.sources import BatchSource, batches, split_data, take

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LR_SCHEDULES = (None, "none", "cosine", "step", "plateau")


@dataclass
class TrainConfig:
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
    gradient_clip: float | None = None  # max global gradient norm
    autocast: bool = False  # bf16 autocast (CUDA only)
    manual_backward: bool = True  # use a module's hand-written backward if it has one
    verbose: bool = False


@dataclass
class TrainResult:
    history: list[dict[str, float]]
    best_epoch: int  # 1-based epoch whose weights the module holds


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; other values pass to torch."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's RNGs inside the block and restore the caller's state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def make_optimizer(
    params: Sequence[nn.Parameter], config: TrainConfig, device: torch.device
) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd, foreach=True)
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    try:  # one fused kernel per step where the device supports it
        return cls(params, lr=lr, weight_decay=wd, fused=True)
    except (RuntimeError, ValueError):
        return cls(params, lr=lr, weight_decay=wd, foreach=True)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Any:
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.max_epochs)
    if config.lr_schedule == "step":
        step = max(1, config.max_epochs // 3)
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=0.1)
    if config.lr_schedule == "plateau":
        patience = max(1, config.patience // 3)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=patience)
    return None


@torch.no_grad()
def evaluate(
    module: Any, data: torch.Tensor | BatchSource, batch_size: int = 4096
) -> dict[str, float]:
    """Sample-weighted mean of every loss term over ``data``, in eval mode."""
    was_training = module.training
    module.eval()
    sums: dict[str, torch.Tensor] = {}
    n = len(data)
    idx = torch.arange(n)
    for start in range(0, n, batch_size):
        xb = take(data, idx[start : start + batch_size])
        terms = module.loss(xb, module(xb))
        for key, value in terms.items():
            sums[key] = sums.get(key, 0) + value.detach().float() * len(xb)
    module.train(was_training)
    return {key: (value / n).item() for key, value in sums.items()}


def _check_finite(value: float, epoch: int, what: str, config: TrainConfig) -> None:
    if not math.isfinite(value):
        hint = "" if config.gradient_clip else " or set gradient_clip (e.g. 1.0)"
        raise TrainingError(
            f"the {what} became {value} at epoch {epoch}: training diverged. "
            f"Try a lower learning_rate (now {config.learning_rate}){hint}."
        )


def _autograd_step(
    module: Any, config: TrainConfig, flat: FlatParameters | None, params: list
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The generic loss-and-gradient step: forward, the module's loss, backward
    (under bf16 autocast when ``config.autocast``)."""
    device_type = params[0].device.type

    def step(xb: torch.Tensor) -> torch.Tensor:
        if config.autocast:  # (an idle autocast context costs ~4 us per batch)
            with torch.autocast(device_type, dtype=torch.bfloat16):
                loss = module.loss(xb, module(xb))["loss"]
        else:
            loss = module.loss(xb, module(xb))["loss"]
        if flat is None:
            for p in params:
                p.grad = None
        else:
            flat.zero_grad()
        loss.backward()
        return loss

    return step


def _train_epoch(
    module: Any,
    data: torch.Tensor | BatchSource,
    idx: torch.Tensor,
    gradients: Callable[[torch.Tensor], torch.Tensor],
    optimizer_step: Callable[[], Any],
    config: TrainConfig,
    params: list[torch.Tensor],
) -> torch.Tensor:
    """One pass over ``data[idx]``; returns the summed loss as a device tensor.
    ``gradients(batch)`` returns the batch loss and leaves every gradient set
    (hand-written or by autograd); ``optimizer_step`` then applies them."""
    module.train()
    total = torch.zeros((), device=params[0].device)
    for xb in batches(data, idx, config.batch_size):
        loss = gradients(xb)
        if config.gradient_clip:
            nn.utils.clip_grad_norm_(params, config.gradient_clip, foreach=True)
        optimizer_step()
        total.add_(loss.detach(), alpha=len(xb))  # no host sync in the loop
    return total


def fit_module(
    module: Any,
    data: torch.Tensor | BatchSource,
    config: TrainConfig,
    *,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``module`` on ``data`` (already on the module's device) in place.

    With ``config.early_stopping`` a random ``validation_fraction`` is held out, the
    weights with the lowest validation loss are restored at the end, and training
    stops after ``patience`` epochs without improvement.
    """
    device = next(module.parameters()).device
    fraction = config.validation_fraction if config.early_stopping else None
    train_idx, val_data = split_data(data, fraction, generator, device)
    flat = FlatParameters(module) if FlatParameters.applicable(module) else None
    optimizer = make_optimizer(
        [flat.flat] if flat else list(module.parameters()), config, device
    )
    scheduler = make_scheduler(optimizer, config)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    step = optimizer_step(optimizer, flat)
    manual = manual_step(module, config)
    gradients = manual or _autograd_step(module, config, flat, params)
    stopper = EarlyStopping(config.patience, config.min_delta)
    if config.early_stopping:  # first, as when the loop itself did this
        callbacks = [stopper, *callbacks]
    history: list[dict[str, float]] = []
    for cb in callbacks:
        cb.on_train_begin(module, config)
    bar = _progress(range(1, config.max_epochs + 1), config.verbose)
    with contextlib.ExitStack() as cleanup:
        if flat is not None:
            cleanup.callback(flat.release)
        cleanup.enter_context(cpu_threads(module, config, manual, device))
        for epoch in bar:
            start = time.perf_counter()
            for cb in callbacks:
                cb.on_epoch_begin(module, epoch)
            perm = train_idx[torch.randperm(len(train_idx), generator=generator)]
            total = _train_epoch(module, data, perm, gradients, step, config, params)
            record = {"epoch": float(epoch), "loss": total.item() / len(train_idx)}
            _check_finite(record["loss"], epoch, "training loss", config)
            record.update(_validate(module, val_data, epoch, config))
            record["lr"] = optimizer.param_groups[0]["lr"]
            monitored = record.get("val_loss", record["loss"])
            _schedule(scheduler, monitored)
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            for cb in callbacks:
                cb.on_epoch_end(module, record)
            if hasattr(bar, "set_postfix"):
                shown = [k for k in ("loss", "val_loss") if k in record]
                bar.set_postfix({k: f"{record[k]:.4g}" for k in shown})
            if any(cb.stop_training for cb in callbacks):
                break
    module.eval()
    for cb in callbacks:  # the early stopper puts the best weights back
        cb.on_train_end(module, history)
    best_epoch = len(history)
    if config.early_stopping and stopper.best_state is not None:
        best_epoch = stopper.best_epoch
    return TrainResult(history=history, best_epoch=best_epoch)


def _validate(
    module: Any,
    val_data: torch.Tensor | BatchSource | None,
    epoch: int,
    config: TrainConfig,
) -> dict[str, float]:
    if val_data is None:
        return {}
    val = evaluate(module, val_data)
    record = {"val_loss": val.pop("loss")}
    record.update({f"val_{k}": v for k, v in val.items()})
    _check_finite(record["val_loss"], epoch, "validation loss", config)
    return record


def _schedule(scheduler: Any, monitored: float) -> None:
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(monitored)
    elif scheduler is not None:
        scheduler.step()


def _progress(epochs: range, verbose: bool) -> Any:
    if not verbose:
        return epochs
    from tqdm.auto import tqdm

    return tqdm(epochs, desc="training", unit="epoch", leave=False, mininterval=0.5)
