"""A float64 NumPy copy of a dense window autoencoder's inference graph, for
scoring one window at a time: a stream scores one window per new point, and a
torch call costs more than the arithmetic of a small network on one row.

`numpy_window_error` reads the weights of an `aekit.nn.graph.AutoencoderGraph`
around an `aekit.nn.dense.DenseAutoencoder` (Linear layers, element-wise
activations, the PCA-initialised linear pair) and returns a function of one
flattened window giving the graph's third output, the mean squared error in the
scaled space; for any other graph (batch norm, another module) it returns None
and the caller keeps the torch graph. In float64 the two agree to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import erf
from torch import nn

from aekit.nn.dense import DenseAutoencoder
from aekit.nn.graph import AutoencoderGraph

Layer = Callable[[np.ndarray], np.ndarray]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _activation(module: nn.Module) -> Layer | None:
    """The NumPy function of an element-wise activation module (None: not one
    this copy knows)."""
    if isinstance(module, nn.Identity | nn.Dropout):
        return lambda x: x
    if isinstance(module, nn.ReLU):
        return lambda x: np.maximum(x, 0.0)
    if isinstance(module, nn.Tanh):
        return np.tanh
    if isinstance(module, nn.Sigmoid):
        return lambda x: 1.0 / (1.0 + np.exp(-x))
    if isinstance(module, nn.LeakyReLU):
        slope = float(module.negative_slope)
        return lambda x: np.where(x > 0, x, slope * x)
    if isinstance(module, nn.ELU):
        alpha = float(module.alpha)
        return lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if isinstance(module, nn.SELU):
        return lambda x: (
            SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
        )
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    return None


def _weights(linear: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    weight = linear.weight.detach().to("cpu").double().numpy().T.copy()
    return weight, linear.bias.detach().to("cpu").double().numpy().copy()


def _linear(linear: nn.Linear | None) -> Layer:
    """``x @ W.T + b`` (0 for a missing layer)."""
    if linear is None:
        return lambda x: np.zeros(1)
    weight, bias = _weights(linear)
    return lambda x: x @ weight + bias


def _sequence(sequential: nn.Sequential) -> Layer | None:
    """The NumPy function of an MLP (None where a layer is unknown)."""
    steps: list[Layer] = []
    for module in sequential:
        if isinstance(module, nn.Linear):
            steps.append(_linear(module))
            continue
        step = _activation(module)
        if step is None:
            return None
        steps.append(step)

    def run(x: np.ndarray) -> np.ndarray:
        for step in steps:
            x = step(x)
        return x

    return run


def numpy_window_error(graph: Any) -> Callable[[np.ndarray], float] | None:
    """One flattened window (1-D) -> the graph's mean squared reconstruction
    error in the scaled space, in NumPy float64; None for a graph this copy does
    not cover."""
    if not isinstance(graph, AutoencoderGraph):
        return None
    module = graph.module
    if not isinstance(module, DenseAutoencoder) or module.training:
        return None
    encoder, decoder = _sequence(module.encoder), _sequence(module.decoder)
    if encoder is None or decoder is None:
        return None
    linear_in, linear_out = (
        _linear(module.linear_encoder),
        _linear(module.linear_decoder),
    )
    sigmoid = _activation(nn.Sigmoid()) if module.sigmoid_output else None
    shift = graph.shift.detach().double().numpy().reshape(-1)
    scale = graph.scale.detach().double().numpy().reshape(-1)

    identity = not np.any(shift) and np.all(scale == 1.0)

    def error(window: np.ndarray) -> float:
        scaled = window if identity else (window - shift) / scale
        codes = encoder(scaled) + linear_in(scaled)
        recon = decoder(codes) + linear_out(codes)
        if sigmoid is not None:
            recon = sigmoid(recon)
        diff = recon - scaled
        return float(diff @ diff) / diff.size

    return error
