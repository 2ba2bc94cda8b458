"""Hand-written forward and backward passes for plain MLP stacks.

On a CPU at small batch sizes a training step of a small dense autoencoder is bound
by per-operation overhead, not arithmetic: autograd records a graph, allocates a
gradient tensor per node and calls a Python-free but still general engine. For a
stack of Linear layers with elementwise activations the backward pass is three
matrix products per layer, so this module writes it out directly, storing each
weight gradient straight into the parameter's ``.grad`` with ``out=`` (no
accumulation and no zeroing needed). `DenseAutoencoder` uses it when it applies
(no batch norm or dropout, an activation listed in ``ACTIVATIONS``) and the
training loop falls back to autograd otherwise. The tests check the gradients
against autograd.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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

Layer = tuple[nn.Linear, nn.Module | None]  # a Linear and its activation (or none)


def plain_layers(stacks: Sequence[nn.Sequential]) -> list[Layer] | None:
    """The (Linear, activation) pairs of ``stacks`` run one after another, or None
    when some module is not a Linear, an Identity or an activation with a known
    derivative (batch norm, dropout, GELU, ...)."""
    layers: list[Layer] = []
    for module in (m for stack in stacks for m in stack):
        if isinstance(module, nn.Linear):
            layers.append((module, None))
        elif isinstance(module, nn.Identity):
            continue
        elif type(module) in ACTIVATIONS and layers and layers[-1][1] is None:
            layers[-1] = (layers[-1][0], module)
        else:
            return None
    return layers


@torch.no_grad()
def forward(layers: Sequence[Layer], x: torch.Tensor) -> list[torch.Tensor]:
    """The input and every layer's output (after its activation)."""
    outputs = [x]
    for linear, act in layers:
        h = torch.addmm(linear.bias, outputs[-1], linear.weight.t())
        outputs.append(h if act is None else ACTIVATIONS[type(act)][0](h))
    return outputs


@torch.no_grad()
def backward(
    layers: Sequence[Layer],
    outputs: Sequence[torch.Tensor],
    grad: torch.Tensor,
    extra: dict[int, torch.Tensor] | None = None,
) -> None:
    """Write d(loss)/d(parameter) into every ``.grad`` given ``grad`` =
    d(loss)/d(last output). ``extra[i]`` is added to the gradient of ``outputs[i]``
    (e.g. a penalty on the codes). ``grad`` is overwritten."""
    extra = extra or {}
    for i in range(len(layers), 0, -1):
        linear, act = layers[i - 1]
        if i in extra:
            grad.add_(extra[i])
        if act is not None:
            grad = ACTIVATIONS[type(act)][1](grad, outputs[i])
        if linear.weight.grad is None or linear.bias.grad is None:
            linear.weight.grad = torch.empty_like(linear.weight)
            linear.bias.grad = torch.empty_like(linear.bias)
        torch.mm(grad.t(), outputs[i - 1], out=linear.weight.grad)
        torch.sum(grad, dim=0, out=linear.bias.grad)
        if i > 1:
            grad = grad.mm(linear.weight)
