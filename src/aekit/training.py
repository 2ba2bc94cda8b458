"""The one training loop. Model-agnostic: it only calls ``module(x)`` and
``module.loss(x, out)["loss"]``, so sparse, denoising, contractive and variational
models differ in their modules, never here.

Data stays on the training device as one tensor; each epoch permutes it once and the
batches are contiguous slices (no per-sample DataLoader). The loss is accumulated on
the device and read once per epoch, so the batch loop never waits for the host.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from aekit.exceptions import TrainingError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LR_SCHEDULES = (None, "none", "cosine", "step", "plateau")


class BatchSource(Protocol):
    """Data that is not one dense tensor (e.g. a sparse matrix): hands out batches."""

    def __len__(self) -> int: ...

    def take(self, indices: torch.Tensor) -> torch.Tensor: ...


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


class FlatParameters:
    """A module's trainable parameters as views into one buffer, and their gradients
    as views into another, so that the optimiser, gradient clipping and zeroing each
    touch a single tensor per step instead of one per parameter (on a CPU at small
    batch sizes that per-tensor overhead is a large share of the step).

    Backward accumulates into the gradient views in place. `release` detaches the
    gradient views when training is done; the weights stay views, which is harmless.
    """

    def __init__(self, module: nn.Module) -> None:
        self.params = [p for p in module.parameters() if p.requires_grad]
        flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        self.flat = nn.Parameter(flat)
        self.flat.grad = torch.zeros_like(flat)
        offset = 0
        for p in self.params:
            size = p.numel()
            p.data = self.flat.data[offset : offset + size].view_as(p)
            p.grad = self.flat.grad[offset : offset + size].view_as(p)
            offset += size

    @staticmethod
    def applicable(module: nn.Module) -> bool:
        params = [p for p in module.parameters() if p.requires_grad]
        return bool(params) and len({(p.device, p.dtype) for p in params}) == 1

    def zero_grad(self) -> None:
        assert self.flat.grad is not None  # set in __init__
        self.flat.grad.zero_()

    def release(self) -> None:
        for p in self.params:
            p.grad = None


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


def split_indices(
    n: int, fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (train, validation) index tensors with ``ceil(fraction * n)`` held out."""
    n_val = math.ceil(fraction * n)
    perm = torch.randperm(n, generator=generator)
    return perm[n_val:], perm[:n_val]


def _take(data: torch.Tensor | BatchSource, idx: torch.Tensor) -> torch.Tensor:
    return data[idx] if isinstance(data, torch.Tensor) else data.take(idx)


def _batches(
    data: torch.Tensor | BatchSource, idx: torch.Tensor, batch_size: int
) -> Iterator[torch.Tensor]:
    """Batches of ``data[idx]`` in order. A last batch of one sample is dropped (it
    would break batch norm); it is seen again in a later, reshuffled epoch."""
    n = len(idx)
    if isinstance(data, torch.Tensor):
        data = data[idx.to(data.device)]  # one gather per epoch, then views
        for start in range(0, n, batch_size):
            if n - start > 1 or start == 0:
                yield data[start : start + batch_size]
        return
    for start in range(0, n, batch_size):
        if n - start > 1 or start == 0:
            yield data.take(idx[start : start + batch_size])


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
        xb = _take(data, idx[start : start + batch_size])
        terms = module.loss(xb, module(xb))
        for key, value in terms.items():
            sums[key] = sums.get(key, 0) + value.detach().float() * len(xb)
    module.train(was_training)
    return {key: (value / n).item() for key, value in sums.items()}


class _EarlyStopping:
    """Tracks the best validation loss and a copy of the weights that reached it."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def update(self, module: nn.Module, value: float, epoch: int) -> bool:
        """Record ``value``; True when patience has run out."""
        if (
            value < self.best - self.min_delta * abs(self.best)
            or self.best_state is None
        ):
            self.best, self.best_epoch = value, epoch
            self.best_state = {
                k: v.detach().clone() for k, v in module.state_dict().items()
            }
        return epoch - self.best_epoch >= self.patience


def _check_finite(value: float, epoch: int, what: str, config: TrainConfig) -> None:
    if not math.isfinite(value):
        hint = "" if config.gradient_clip else " or set gradient_clip (e.g. 1.0)"
        raise TrainingError(
            f"the {what} became {value} at epoch {epoch}: training diverged. "
            f"Try a lower learning_rate (now {config.learning_rate}){hint}."
        )


def _manual_step(module: Any, config: TrainConfig) -> Any:
    """The module's hand-written loss-and-gradient step when it offers one (plain
    dense stacks, see `aekit.nn.manual`), else None for autograd. Not under
    autocast, which the hand-written step does not model."""
    if config.autocast or not config.manual_backward:
        return None
    if not hasattr(module, "manual_step"):
        return None
    return module.manual_step()


# Below this many floating-point operations per training step (about 6 per weight
# per sample for a dense stack) a CPU step is bound by per-operation overhead, and
# a second OpenMP thread only adds synchronisation: measured on 2 cores, a
# 100-64-32-64-100 model trains 35% faster at batch 32 and 11% faster at batch 256
# on one thread, and 17% slower at batch 1024.
ONE_THREAD_FLOPS = 50e6


@contextlib.contextmanager
def _cpu_threads(
    module: nn.Module, config: TrainConfig, manual: Any, device: torch.device
) -> Iterator[None]:
    """Run the block on one CPU thread when the hand-written dense step is in use
    and a step is small (see ONE_THREAD_FLOPS); the caller's setting is restored."""
    n_weights = sum(p.numel() for p in module.parameters())
    threads = torch.get_num_threads()
    small = 6 * n_weights * config.batch_size < ONE_THREAD_FLOPS
    if device.type != "cpu" or manual is None or threads == 1 or not small:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _step_function(
    optimizer: torch.optim.Optimizer, flat: FlatParameters | None
) -> Callable[[], Any]:
    """``optimizer.step``, or, for fused Adam/AdamW over the one flat tensor, a call
    of the same fused kernel with the optimiser's own state and hyperparameters.

    The update is the same (a test compares it with torch.optim); what is skipped is
    about 60 us of per-step bookkeeping in `torch.optim` (grouping tensors by device,
    hooks), a fifth of a small-batch CPU step. The learning rate is read from the
    parameter group at every step, so schedules still apply. The first step goes
    through ``optimizer.step`` to create the state."""
    group = optimizer.param_groups[0]
    kernel = {torch.optim.Adam: "_fused_adam_", torch.optim.AdamW: "_fused_adamw_"}
    name = kernel.get(type(optimizer))
    if flat is None or not group.get("fused") or not hasattr(torch, str(name)):
        return optimizer.step
    if group["amsgrad"] or group["maximize"] or group["capturable"]:
        return optimizer.step
    fused = getattr(torch, str(name))
    param = flat.flat

    def step() -> None:
        state = optimizer.state[param]
        if not state:
            optimizer.step()
            return
        state["step"].add_(1)
        fused(
            [param.data],
            [param.grad],
            [state["exp_avg"]],
            [state["exp_avg_sq"]],
            [],
            [state["step"]],
            lr=group["lr"],
            beta1=group["betas"][0],
            beta2=group["betas"][1],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            amsgrad=False,
            maximize=False,
        )

    return step


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
    for xb in _batches(data, idx, config.batch_size):
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
    train_idx, val_data = _split(data, config, generator, device)
    flat = FlatParameters(module) if FlatParameters.applicable(module) else None
    optimizer = make_optimizer(
        [flat.flat] if flat else list(module.parameters()), config, device
    )
    scheduler = make_scheduler(optimizer, config)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer_step = _step_function(optimizer, flat)
    manual = _manual_step(module, config)
    gradients = manual or _autograd_step(module, config, flat, params)
    stopper = _EarlyStopping(config.patience, config.min_delta)
    history: list[dict[str, float]] = []
    for cb in callbacks:
        cb.on_train_begin(module, config)
    bar = _progress(range(1, config.max_epochs + 1), config.verbose)
    with contextlib.ExitStack() as cleanup:
        if flat is not None:
            cleanup.callback(flat.release)
        cleanup.enter_context(_cpu_threads(module, config, manual, device))
        for epoch in bar:
            start = time.perf_counter()
            for cb in callbacks:
                cb.on_epoch_begin(module, epoch)
            perm = train_idx[torch.randperm(len(train_idx), generator=generator)]
            total = _train_epoch(
                module, data, perm, gradients, optimizer_step, config, params
            )
            record = {"epoch": float(epoch), "loss": total.item() / len(train_idx)}
            _check_finite(record["loss"], epoch, "training loss", config)
            record.update(_validate(module, val_data, epoch, config))
            record["lr"] = optimizer.param_groups[0]["lr"]
            monitored = record.get("val_loss", record["loss"])
            _schedule(scheduler, monitored)
            out_of_patience = config.early_stopping and stopper.update(
                module, monitored, epoch
            )
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            for cb in callbacks:
                cb.on_epoch_end(module, record)
            if hasattr(bar, "set_postfix"):
                shown = [k for k in ("loss", "val_loss") if k in record]
                bar.set_postfix({k: f"{record[k]:.4g}" for k in shown})
            if out_of_patience or any(cb.stop_training for cb in callbacks):
                break
    best_epoch = len(history)
    if config.early_stopping and stopper.best_state is not None:
        module.load_state_dict(stopper.best_state)
        best_epoch = stopper.best_epoch
    module.eval()
    for cb in callbacks:
        cb.on_train_end(module, history)
    return TrainResult(history=history, best_epoch=best_epoch)


def _split(
    data: torch.Tensor | BatchSource,
    config: TrainConfig,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor | BatchSource | None]:
    """Training indices and the held-out validation data (None without early
    stopping)."""
    n = len(data)
    if not config.early_stopping:
        return torch.arange(n), None
    train_idx, val_idx = split_indices(n, config.validation_fraction, generator)
    if isinstance(data, torch.Tensor):
        return train_idx, data[val_idx.to(device)]
    return train_idx, _Subset(data, val_idx)


class _Subset:
    """The rows ``indices`` of a BatchSource, itself a BatchSource."""

    def __init__(self, source: BatchSource, indices: torch.Tensor) -> None:
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def take(self, indices: torch.Tensor) -> torch.Tensor:
        return self.source.take(self.indices[indices])


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
