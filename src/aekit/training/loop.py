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
from typing import Any, cast

import torch
from torch import nn

from aekit.exceptions import TrainingError
from aekit.training.callbacks import Callback, EarlyStopping
from aekit.training.config import TrainConfig
from aekit.training.distributed import (
    DataParallel,
    StreamShard,
    check_rows,
    check_same_rows,
    data_parallel,
)
from aekit.training.fast_step import (
    FlatParameters,
    cpu_threads,
    flush_denormals,
    gradient_step,
    optimizer_step,
)
from aekit.training.progress import Progress
from aekit.training.sources import (
    BatchSource,
    Data,
    RowStream,
    batch_sizes,
    batches,
    ordered_batches,
    split_data,
)


@dataclass
class TrainResult:
    """What `fit_module` returns."""

    history: list[dict[str, float]]
    best_epoch: int  # 1-based epoch whose weights the module holds


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
    module: Any,
    data: Data,
    batch_size: int = 4096,
    parallel: DataParallel | None = None,
) -> dict[str, float]:
    """Sample-weighted mean of every loss term over ``data``, in eval mode; with
    ``parallel``, each rank scores its shard and the sums are all-reduced."""
    was_training = module.training
    module.eval()
    if parallel is not None:
        data = parallel.shard(data)  # type: ignore[arg-type]
    sums: dict[str, torch.Tensor] = {}
    n = 0
    for xb in ordered_batches(data, batch_size):
        n += len(xb)
        terms = module.loss(xb, module(xb))
        for key, value in terms.items():
            value = value.detach().to(torch.promote_types(value.dtype, torch.float32))
            sums[key] = sums.get(key, 0) + value * len(xb)
    module.train(was_training)
    device = next(module.parameters()).device
    totals = torch.stack([*sums.values(), torch.tensor(float(n), device=device)])
    if parallel is not None:
        parallel.sum(totals)
    means = (totals[:-1] / totals[-1]).tolist()
    return dict(zip(sums, means, strict=True))


def _check_finite(value: float, epoch: int, what: str, config: TrainConfig) -> None:
    if not math.isfinite(value):
        hint = "" if config.gradient_clip else " or set gradient_clip (e.g. 1.0)"
        raise TrainingError(
            f"the {what} became {value} at epoch {epoch}: training diverged. "
            f"Try a lower learning_rate (now {config.learning_rate}){hint}."
        )


@dataclass
class _Run:
    """What `setup` prepares for the epochs of one `fit_module` call."""

    module: Any
    data: Data
    config: TrainConfig
    generator: torch.Generator
    callbacks: list[Callback]  # the early stopper, when there is one, first
    stopper: EarlyStopping | None
    device: torch.device
    # row indices, a stream's training rows, or this rank's share of them
    train_idx: torch.Tensor | RowStream | StreamShard
    val_data: Data | None
    flat: FlatParameters | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    params: list[torch.Tensor]
    step: Callable[[], Any]  # applies the gradients
    hand_written: bool  # whether gradients is the module's own, not autograd's
    gradients: Callable[[torch.Tensor], torch.Tensor]  # sets them, returns the loss
    parallel: DataParallel | None  # one of several ranks (torch.distributed)


def fit_module(
    module: Any,
    data: Data,
    config: TrainConfig,
    *,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``module`` on ``data`` (already on the module's device) in place.

    With ``config.early_stopping`` a random ``validation_fraction`` is held out, the
    weights with the lowest validation loss are restored at the end, and training
    stops after ``patience`` epochs without improvement (an `EarlyStopping` on
    ``val_loss``, run before ``callbacks``).

    Parameters
    ----------
    module : nn.Module
        Has ``module(x)`` and ``module.loss(x, out)["loss"]``.
    data : Tensor, BatchSource or RowStream
    config : TrainConfig
    generator : torch.Generator
        Draws the validation split and each epoch's order.
    callbacks : sequence of Callback

    Returns
    -------
    TrainResult
        The history (one dict per epoch) and the epoch whose weights the module
        holds.
    """
    run = setup(module, data, config, generator, callbacks)
    for cb in run.callbacks:
        cb.stop_training = False  # a callback may be reused from an earlier fit
        cb.on_train_begin(module, config)
    history: list[dict[str, float]] = []
    if config.score_initial and run.stopper is not None:
        start = {"epoch": 0.0, **_validate(run, 0)}
        run.stopper.on_epoch_end(module, start)
    with _resources(run) as progress:
        for epoch in range(1, config.max_epochs + 1):
            history.append(run_epoch(run, epoch))
            progress.update(history[-1])
            stop = any(cb.stop_training for cb in run.callbacks)
            if run.parallel is not None:  # all ranks stop together
                stop = run.parallel.any(stop)
            if stop:
                break
    return restore_best(run, history)


def setup(
    module: Any,
    data: Data,
    config: TrainConfig,
    generator: torch.Generator,
    callbacks: Sequence[Callback],
) -> _Run:
    """Hold out the validation rows, flatten the parameters, build the optimiser,
    its schedule and the gradient step, and put an early stopper first among the
    callbacks (with ``config.early_stopping``)."""
    device = next(module.parameters()).device
    fraction = config.validation_fraction if config.early_stopping else None
    train_idx: torch.Tensor | RowStream | StreamShard
    train_idx, val_data = split_data(data, fraction, generator, device)
    flat = FlatParameters(module) if FlatParameters.applicable(module) else None
    optimizer = make_optimizer(
        [flat.flat] if flat else list(module.parameters()), config, device
    )
    scheduler = make_scheduler(optimizer, config)  # (it wraps optimizer.step)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    gradients, hand_written = gradient_step(module, config, flat, params)
    parallel = data_parallel(module, params)  # None when training alone
    if parallel is not None:
        check_same_rows(len(data))
        if isinstance(train_idx, torch.Tensor):
            n_val = None if val_data is None else len(val_data)
            check_rows(parallel.group, len(train_idx), n_val)
        else:  # a stream: each rank reads its block of rows
            val_stream = cast("RowStream | None", val_data)
            batch_size = config.batch_size
            train_idx = parallel.shard_stream(train_idx, val_stream, batch_size)
        if not parallel.main:  # loggers write on rank 0
            callbacks = [cb for cb in callbacks if not cb.main_process_only]
    es = config.early_stopping
    stopper = EarlyStopping(config.patience, config.min_delta) if es else None
    return _Run(
        module,
        data,
        config,
        generator,
        callbacks=[stopper, *callbacks] if stopper else list(callbacks),
        stopper=stopper,
        device=device,
        train_idx=train_idx,
        val_data=val_data,
        flat=flat,
        optimizer=optimizer,
        scheduler=scheduler,
        params=params,
        step=optimizer_step(optimizer, flat),
        hand_written=hand_written,
        gradients=gradients,
        parallel=parallel,
    )


@contextlib.contextmanager
def _resources(run: _Run) -> Iterator[Progress]:
    """The progress display, one CPU thread for small dense steps and denormals
    flushed to zero on a CPU; on the way out, the caller's settings are back and
    the module's gradients no longer point into the flat buffer."""
    with contextlib.ExitStack() as stack:
        if run.flat is not None:
            stack.callback(run.flat.release)
        threads = cpu_threads(run.module, run.config, run.hand_written, run.device)
        stack.enter_context(threads)
        stack.enter_context(flush_denormals(run.device))
        show = run.config.verbose and (run.parallel is None or run.parallel.main)
        yield stack.enter_context(Progress(run.config.max_epochs, show))


def run_epoch(run: _Run, epoch: int) -> dict[str, float]:
    """One epoch: a pass over the training rows in a new order, then its history
    entry (loss, validation terms, learning rate, seconds), the schedule's step and
    the callbacks' ``on_epoch_end``. Returns the entry."""
    start = time.perf_counter()
    module, config = run.module, run.config
    for cb in run.callbacks:
        cb.on_epoch_begin(module, epoch)
    total = _train_epoch(run)
    if run.parallel is not None:
        run.parallel.sum(total)
        run.parallel.average_buffers()
    record = {"epoch": float(epoch), "loss": total.item() / len(run.train_idx)}
    _check_finite(record["loss"], epoch, "training loss", config)
    record.update(_validate(run, epoch))
    record["lr"] = run.optimizer.param_groups[0]["lr"]
    _schedule(run.scheduler, record.get("val_loss", record["loss"]))
    record["seconds"] = time.perf_counter() - start
    for cb in run.callbacks:
        cb.on_epoch_end(module, record)
    return record


def _train_epoch(run: _Run) -> torch.Tensor:
    """One pass over the training rows in a new order; returns the summed loss
    as a device tensor. ``run.gradients(batch)`` returns the batch loss and
    leaves every gradient set (hand-written or by autograd); ``run.step()`` then
    applies them."""
    run.module.train()
    config, params = run.config, run.params
    total = torch.zeros((), device=params[0].device)
    for xb, share in _batches(run):
        loss = run.gradients(xb)
        if run.parallel is not None:
            run.parallel.reduce_gradients(share)
        if config.gradient_clip:
            nn.utils.clip_grad_norm_(params, config.gradient_clip, foreach=True)
        run.step()
        total.add_(loss.detach(), alpha=len(xb))  # no host sync in the loop
    return total


def _batches(run: _Run) -> Iterator[tuple[torch.Tensor, float]]:
    """One epoch's shuffled batches of the training rows this process trains
    on, each with its share of the global batch (1.0 when training alone): the
    rows ``run.train_idx`` in a new random order, or a `RowStream`'s (or this
    rank's `StreamShard`'s) own shuffled batches."""
    if isinstance(run.train_idx, StreamShard):  # a stream under several ranks
        return run.train_idx.batches(run.generator)
    if not isinstance(run.train_idx, torch.Tensor):
        stream = run.train_idx.batches(run.config.batch_size, run.generator)
        return ((xb, 1.0) for xb in stream)
    order = torch.randperm(len(run.train_idx), generator=run.generator)
    idx = run.train_idx[order]
    data = cast("torch.Tensor | BatchSource", run.data)  # (not a stream: see above)
    if run.parallel is not None:
        return run.parallel.batches(data, idx, run.config.batch_size)
    sizes = batch_sizes(len(idx), run.config.batch_size)
    return ((xb, 1.0) for xb in batches(data, idx, sizes))


def restore_best(run: _Run, history: list[dict[str, float]]) -> TrainResult:
    """End of training: eval mode and the callbacks' ``on_train_end``, where the
    early stopper puts the best weights back."""
    run.module.eval()
    for cb in run.callbacks:
        cb.on_train_end(run.module, history)
    if run.stopper is None or run.stopper.best_state is None:
        return TrainResult(history=history, best_epoch=len(history))
    return TrainResult(history=history, best_epoch=run.stopper.best_epoch)


def _validate(run: _Run, epoch: int) -> dict[str, float]:
    if run.val_data is None:
        return {}
    val = evaluate(run.module, run.val_data, parallel=run.parallel)
    record = {"val_loss": val.pop("loss")}
    record.update({f"val_{k}": v for k, v in val.items()})
    _check_finite(record["val_loss"], epoch, "validation loss", run.config)
    return record


def _schedule(scheduler: Any, monitored: float) -> None:
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(monitored)
    elif scheduler is not None:
        scheduler.step()
