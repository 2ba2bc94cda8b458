"""Hand-written forward and backward passes for dense stacks.

On a CPU at small batch sizes a training step of a small dense autoencoder is bound
by per-operation overhead, not arithmetic: autograd records a graph, allocates a
gradient tensor per node and calls a Python-free but still general engine. For a
stack of layers Linear -> [BatchNorm1d] -> [activation] -> [Dropout] the backward
pass is three matrix products per Linear plus one native kernel for each of the
others, so this module writes it out directly, storing each weight gradient
straight into the parameter's ``.grad`` (no accumulation and no zeroing needed).
`DenseAutoencoder` uses it when it applies (an activation listed in
``ACTIVATIONS``, batch norm with running statistics and a momentum) and the
training loop falls back to autograd otherwise. The tests check the gradients and
the running statistics against autograd (with the same dropout masks), and the
masks' distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

# Each activation as an in-place function of the pre-activation, and its backward
# as the native ATen kernel written in terms of the activation's *output* h and the
# incoming gradient g (so the pre-activation values need not be kept). The fused
# kernels matter: ``g * (h > 0)`` builds a mask and promotes types, and is 5x slower
# than ``threshold_backward`` at a batch of 256.
_aten = torch.ops.aten
ACTIVATIONS: dict[type[nn.Module], tuple[Callable[..., torch.Tensor], ...]] = {
    nn.ReLU: (torch.relu_, lambda g, h: _aten.threshold_backward(g, h, 0)),
    nn.Tanh: (torch.tanh_, lambda g, h: _aten.tanh_backward(g, h)),
    nn.Sigmoid: (torch.sigmoid_, lambda g, h: _aten.sigmoid_backward(g, h)),
}


@dataclass
class Layer:
    """A Linear and what follows it before the next Linear."""

    linear: nn.Linear
    norm: nn.BatchNorm1d | None = None
    act: nn.Module | None = None
    dropout: float = 0.0  # the rate of an nn.Dropout after the activation


@dataclass
class Saved:
    """What one layer's backward pass reads from its forward pass."""

    input: torch.Tensor
    output: torch.Tensor  # after the activation and dropout
    linear_out: torch.Tensor | None = None  # batch norm's input
    mean: torch.Tensor | None = None  # batch norm's batch statistics
    invstd: torch.Tensor | None = None
    activated: torch.Tensor | None = None  # the activation's output
    mask: torch.Tensor | None = None  # dropout's kept entries, scaled by 1/(1-p)


def _attach(layer: Layer, module: nn.Module) -> bool:
    """Add ``module`` to ``layer`` when it may follow what the layer has; False
    when the hand-written pass does not cover it there."""
    if isinstance(module, nn.BatchNorm1d):
        # (not modelled: a cumulative average, momentum=None, or no running stats)
        covered = module.affine and module.track_running_stats
        first = layer.norm is None and layer.act is None and not layer.dropout
        if not (covered and first and module.momentum is not None):
            return False
        layer.norm = module
    elif type(module) in ACTIVATIONS:
        if layer.act is not None or layer.dropout:
            return False
        layer.act = module
    elif type(module) is nn.Dropout:  # (not AlphaDropout and the like)
        if layer.dropout or not 0 <= module.p < 1:
            return False
        layer.dropout = module.p
    else:
        return isinstance(module, nn.Identity)
    return True


def dense_layers(stacks: Sequence[nn.Sequential]) -> list[Layer] | None:
    """The layers of ``stacks`` run one after another, or None when some module is
    not a Linear, a BatchNorm1d, an activation with a known derivative, a Dropout
    or an Identity, or they come in another order (GELU, LayerNorm, ...)."""
    layers: list[Layer] = []
    for module in (m for stack in stacks for m in stack):
        if isinstance(module, nn.Linear):
            layers.append(Layer(module))
        elif not layers or not _attach(layers[-1], module):
            return None
    return layers


@torch.no_grad()
def forward(layers: Sequence[Layer], x: torch.Tensor) -> list[Saved]:
    """The training-mode forward pass: batch norm on batch statistics (updating
    its running statistics as ``nn.BatchNorm1d`` does), dropout by `dropout_mask`.
    Each layer's input, output and what its backward pass needs."""
    saved: list[Saved] = []
    for layer in layers:
        linear, norm = layer.linear, layer.norm
        h = torch.addmm(linear.bias, x, linear.weight.t())
        record = Saved(x, h)
        if norm is not None:
            if len(h) < 2:
                raise ValueError("batch norm needs more than one row per batch")
            record.linear_out = h
            h, record.mean, record.invstd = _aten.native_batch_norm(
                h, norm.weight, norm.bias, norm.running_mean, norm.running_var,
                True, norm.momentum, norm.eps,
            )  # fmt: skip
            if norm.num_batches_tracked is not None:
                norm.num_batches_tracked.add_(1)
        if layer.act is not None:
            h = record.activated = ACTIVATIONS[type(layer.act)][0](h)
        if layer.dropout > 0:
            record.mask = dropout_mask(h, layer.dropout)
            h = h * record.mask
        x = record.output = h
        saved.append(record)
    return saved


def dropout_mask(h: torch.Tensor, rate: float) -> torch.Tensor:
    """Dropout's multiplier for ``h``: each entry 0 with probability ``rate``, else
    ``1 / (1 - rate)``, from torch's default generator. A uniform draw compared
    with the rate: on a CPU it is several times faster than the Bernoulli draw
    ``nn.Dropout`` makes (the larger part of a small dropout layer's time), so
    the masks differ from ``nn.Dropout``'s, not their distribution."""
    return torch.rand_like(h).ge_(rate).div_(1 - rate)


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, made when there is none (outside the flat buffer)."""
    if p.grad is None:
        p.grad = torch.empty_like(p)
    return p.grad


@torch.no_grad()
def backward(
    layers: Sequence[Layer],
    saved: Sequence[Saved],
    grad: torch.Tensor,
    extra: dict[int, torch.Tensor] | None = None,
    *,
    input_grad: bool = False,
) -> torch.Tensor | None:
    """Write d(loss)/d(parameter) into every ``.grad`` given ``grad`` =
    d(loss)/d(last output). ``extra[i]`` is added to the gradient of layer i's
    output, counted from 1 (e.g. a penalty on the codes). ``grad`` is overwritten.
    With ``input_grad``, returns d(loss)/d(first input) (to chain stacks), else
    None."""
    extra = extra or {}
    for i in range(len(layers), 0, -1):
        layer, record = layers[i - 1], saved[i - 1]
        if i in extra:
            grad.add_(extra[i])
        if record.mask is not None:
            grad.mul_(record.mask)
        if layer.act is not None:
            grad = ACTIVATIONS[type(layer.act)][1](grad, record.activated)
        if layer.norm is not None:
            norm = layer.norm
            grad, d_weight, d_bias = _aten.native_batch_norm_backward(
                grad, record.linear_out, norm.weight, norm.running_mean,
                norm.running_var, record.mean, record.invstd, True, norm.eps,
                [True, True, True],
            )  # fmt: skip
            _grad(norm.weight).copy_(d_weight)
            _grad(norm.bias).copy_(d_bias)
        linear = layer.linear
        torch.mm(grad.t(), record.input, out=_grad(linear.weight))
        torch.sum(grad, dim=0, out=_grad(linear.bias))
        if i > 1 or input_grad:
            grad = grad.mm(linear.weight)
    return grad if input_grad else None


@torch.no_grad()
def linear_backward(
    linear: nn.Linear, x: torch.Tensor, grad: torch.Tensor, input_grad: bool = True
) -> torch.Tensor | None:
    """Write the gradients of ``y = linear(x)`` given ``grad`` = d(loss)/d(y) into
    the layer's ``.grad``; returns d(loss)/d(x) with ``input_grad``, else None."""
    torch.mm(grad.t(), x, out=_grad(linear.weight))
    torch.sum(grad, dim=0, out=_grad(linear.bias))
    return grad.mm(linear.weight) if input_grad else None
