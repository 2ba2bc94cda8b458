"""The two halves of a training step, and what makes a small one fast: the
gradient step (a module's hand-written backward, else autograd), the optimiser
step (the fused Adam/AdamW kernel called directly on the parameters as one flat
tensor), and one CPU thread for small dense steps. Each is measured, see the
comments."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from aekit.training.config import TrainConfig


class FlatParameters:
    """A module's trainable parameters as views into one buffer, and their gradients
    as views into another, so that the optimiser, gradient clipping and zeroing each
    touch a single tensor per step instead of one per parameter (on a CPU at small
    batch sizes that per-tensor overhead is a large share of the step).

    Backward accumulates into the gradient views in place. `release` detaches the
    gradient views when training is done; the weights stay views, which is harmless.
    Each parameter keeps its memory layout (a weight stored transposed, such as
    Mult-VAE's item-major first layer, stays so), and its gradient has the same.
    """

    def __init__(self, module: nn.Module) -> None:
        self.params = [p for p in module.parameters() if p.requires_grad]
        flat = torch.cat([_flattened(p.detach()) for p in self.params])
        self.flat = nn.Parameter(flat)
        self.flat.grad = torch.zeros_like(flat)
        offset = 0
        for p in self.params:
            size = p.numel()
            p.data = _laid_out_as(self.flat.data[offset : offset + size], p)
            p.grad = _laid_out_as(self.flat.grad[offset : offset + size], p)
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


def _memory_order(p: torch.Tensor) -> list[int] | None:
    """The order of ``p``'s dimensions, largest stride first, in which ``p`` is
    contiguous (the identity for a contiguous tensor, (1, 0) for a transposed
    matrix), or None when no order is (then ``p`` is flattened row-major)."""
    strides = p.stride()
    order = sorted(range(p.dim()), key=lambda d: -strides[d])
    return order if p.permute(order).is_contiguous() else None


def _flattened(p: torch.Tensor) -> torch.Tensor:
    """``p``'s values in its memory order (see `_memory_order`)."""
    order = _memory_order(p)
    return (p if order is None else p.permute(order)).reshape(-1)


def _laid_out_as(block: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The 1-D ``block`` (filled by `_flattened`) as a view with ``p``'s shape and
    memory layout."""
    order = _memory_order(p)
    if order is None:
        return block.view_as(p)
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return block.view([p.shape[d] for d in order]).permute(inverse)


def manual_step(module: Any, config: TrainConfig) -> Any:
    """The module's hand-written loss-and-gradient step when it offers one (plain
    dense stacks, see `aekit.nn.manual`), else None for autograd. Not under
    autocast, which the hand-written step does not model."""
    if config.autocast or not config.manual_backward:
        return None
    if not hasattr(module, "manual_step"):
        return None
    return module.manual_step()


def gradient_step(
    module: Any, config: TrainConfig, flat: FlatParameters | None, params: list
) -> tuple[Callable[[torch.Tensor], torch.Tensor], bool]:
    """The loss-and-gradient step of a batch (it returns the loss and leaves every
    gradient set), and whether it is the module's hand-written one."""
    manual = manual_step(module, config)
    if manual is not None:
        return manual, True
    return _autograd_step(module, config, flat, params), False


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


# Below this many floating-point operations per training step (about 6 per weight
# per sample for a dense stack) a CPU step is bound by per-operation overhead, and
# a second OpenMP thread only adds synchronisation: measured on 2 cores, a
# 100-64-32-64-100 model trains 35% faster at batch 32 and 11% faster at batch 256
# on one thread, and 17% slower at batch 1024. Rechecked on 2026-12-07 (idle,
# the default 100-64-32-64-100 with its PCA path, batch 256): two threads gave
# 0.028 s an epoch against 0.040 in one run and 0.039 against 0.033 in a later
# one; on a 2-vCPU machine a second thread's worth varies with the host, one
# thread does not.
ONE_THREAD_FLOPS = 50e6


@contextlib.contextmanager
def cpu_threads(
    module: nn.Module, config: TrainConfig, hand_written: bool, device: torch.device
) -> Iterator[None]:
    """Run the block on one CPU thread when a dense stack trains (the hand-written
    step, or a module that says ``dense_step_cost = True``) and a step is small
    (see ONE_THREAD_FLOPS); the caller's setting is restored."""
    n_weights = sum(p.numel() for p in module.parameters())
    threads = torch.get_num_threads()
    small = 6 * n_weights * config.batch_size < ONE_THREAD_FLOPS
    dense = hand_written or getattr(module, "dense_step_cost", False)
    if device.type != "cpu" or not dense or threads == 1 or not small:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def flushing_denormals() -> bool:
    """Whether this thread flushes denormal floats to zero (torch has a setter
    but no getter: a denormal times one reads as zero when it does)."""
    return torch.tensor([1e-39], dtype=torch.float32).mul(1.0).item() == 0.0


_FLUSH = [True]  # whether `flush_denormals` flushes (see `keep_denormals`)


@contextlib.contextmanager
def keep_denormals() -> Iterator[None]:
    """Let training and inference inside the block keep denormal floats (IEEE
    gradual underflow), as torch does by default: for measuring what flushing
    gains, or where values below 1.2e-38 matter. It does not stop a caller's own
    ``torch.set_flush_denormal(True)``."""
    before = _FLUSH[0]
    _FLUSH[0] = False
    try:
        yield
    finally:
        _FLUSH[0] = before


@contextlib.contextmanager
def flush_denormals(device: torch.device | str = "cpu") -> Iterator[None]:
    """Treat denormal floats as zero inside the block on a CPU, then restore the
    caller's setting. Weights and activations that decay towards zero become
    denormal and make every multiply-add that touches them up to 100x slower: a
    ConvAutoencoder epoch on 18k MNIST images took 35 s with them and 18 s
    without (2-core Xeon, torch 2.13). Values below 1.2e-38 do not matter to
    these models."""
    kept = not _FLUSH[0]
    if torch.device(device).type != "cpu" or kept or flushing_denormals():
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


_FUSED_KERNELS = {
    torch.optim.Adam: "_fused_adam_",
    torch.optim.AdamW: "_fused_adamw_",
}


def optimizer_step(
    optimizer: torch.optim.Optimizer, flat: FlatParameters | None
) -> Callable[[], Any]:
    """``optimizer.step``, or a `FusedAdamStep` for fused Adam/AdamW over the one
    flat tensor when torch has the kernel and no option it does not model is on."""
    group = optimizer.param_groups[0]
    name = str(_FUSED_KERNELS.get(type(optimizer)))
    if flat is None or not group.get("fused") or not hasattr(torch, name):
        return optimizer.step
    if group["amsgrad"] or group["maximize"] or group["capturable"]:
        return optimizer.step
    return FusedAdamStep(optimizer, flat.flat, getattr(torch, name))


class FusedAdamStep:
    """A call of the fused Adam/AdamW kernel ``kernel`` on ``param`` with the
    optimiser's own state and hyperparameters.

    The update is the same (a test compares it with torch.optim); what is skipped is
    about 60 us of per-step bookkeeping in `torch.optim` (grouping tensors by device,
    hooks), a fifth of a small-batch CPU step. The learning rate is read from the
    parameter group at every step, so schedules still apply. The first step goes
    through ``optimizer.step`` to create the state.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        param: nn.Parameter,
        kernel: Callable[..., Any],
    ) -> None:
        self.optimizer, self.param, self.kernel = optimizer, param, kernel
        self.group = optimizer.param_groups[0]

    def __call__(self) -> None:
        state = self.optimizer.state[self.param]
        if not state:
            self.optimizer.step()
            return
        state["step"].add_(1)
        group = self.group
        beta1, beta2 = group["betas"]
        self.kernel(
            [self.param.data],
            [self.param.grad],
            [state["exp_avg"]],
            [state["exp_avg_sq"]],
            [],
            [state["step"]],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            amsgrad=False,
            maximize=False,
        )
