"""A stack of Linear + activation layers run as ONE autograd node.

Why: on a CPU, a small-batch training step of a dense autoencoder is dominated by
per-operation overhead (dispatch, autograd bookkeeping), not arithmetic: the eager
graph of a 4-layer autoencoder records a dozen nodes whose backward costs more than
their matrix products. Here the forward pass runs the layers without recording them
and the backward pass is written out by hand (the derivatives of the supported
activations are all functions of their outputs), so autograd sees one node.

Only plain stacks are fused (Linear layers with relu, leaky_relu(0.01), tanh, sigmoid
or identity between them); batch norm, dropout and other activations use the
ordinary eager modules. Gradients equal those of the eager path (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.autograd.function import once_differentiable

_NAMES = {
    nn.ReLU: "relu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.Identity: "identity",
}


def fusion_plan(
    *stacks: nn.Sequential,
) -> tuple[list[nn.Linear], tuple[str, ...]] | None:
    """The Linear layers of ``stacks`` (run one after another) and the activation
    after each, or None when a layer cannot be fused."""
    linears: list[nn.Linear] = []
    activations: list[str] = []
    for module in (m for stack in stacks for m in stack):
        if isinstance(module, nn.Linear):
            linears.append(module)
            activations.append("identity")
        elif isinstance(module, nn.LeakyReLU) and module.negative_slope == 0.01:
            activations[-1] = "leaky_relu"
        elif type(module) in _NAMES and activations and activations[-1] == "identity":
            activations[-1] = _NAMES[type(module)]
        else:
            return None
    return linears, tuple(activations)


def _activate(name: str, h: torch.Tensor) -> torch.Tensor:
    if name == "relu":
        return h.relu_()
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu_(h, 0.01)
    if name == "tanh":
        return h.tanh_()
    if name == "sigmoid":
        return h.sigmoid_()
    return h


def _activation_backward(
    name: str, grad: torch.Tensor, out: torch.Tensor
) -> torch.Tensor:
    """Gradient through the activation, from its output ``out``."""
    if name == "relu":
        return torch.ops.aten.threshold_backward(grad, out, 0.0)
    if name == "leaky_relu":
        return torch.ops.aten.leaky_relu_backward(grad, out, 0.01, True)
    if name == "tanh":
        return torch.ops.aten.tanh_backward(grad, out)
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward(grad, out)
    return grad


class _Stack(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, activations, tap, *params):  # type: ignore[override]
        outputs = [x]
        h = x
        for i, name in enumerate(activations):
            h = _activate(name, torch.addmm(params[2 * i + 1], h, params[2 * i].t()))
            outputs.append(h)
        ctx.activations, ctx.tap = activations, tap
        ctx.save_for_backward(*outputs, *params[0::2])
        return h, outputs[tap]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, grad_tap):  # type: ignore[override]
        n = len(ctx.activations)
        outputs, weights = ctx.saved_tensors[: n + 1], ctx.saved_tensors[n + 1 :]
        grads: list[torch.Tensor | None] = [None] * (2 * n)
        for i in reversed(range(n)):
            if i + 1 == ctx.tap and grad_tap is not None:
                grad = grad + grad_tap
            grad = _activation_backward(ctx.activations[i], grad, outputs[i + 1])
            grads[2 * i] = grad.t().mm(outputs[i])
            grads[2 * i + 1] = grad.sum(0)
            if i > 0 or ctx.needs_input_grad[0]:
                grad = grad.mm(weights[i])
        return (grad if ctx.needs_input_grad[0] else None, None, None, *grads)


def fused_stack(
    x: torch.Tensor,
    linears: Sequence[nn.Linear],
    activations: tuple[str, ...],
    tap: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the layers on ``x``; returns the final output and the output of layer
    ``tap`` (e.g. the code between an encoder and a decoder), both differentiable."""
    params = [t for layer in linears for t in (layer.weight, layer.bias)]
    return _Stack.apply(x, activations, tap, *params)
