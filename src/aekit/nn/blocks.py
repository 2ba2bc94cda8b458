"""Small building blocks shared by every torch module: activations and MLPs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "identity": nn.Identity,
}


# An output that starts at a mean of 0 or 1 would start where a sigmoid is flat:
# means are kept this far inside (0, 1) before taking their logit.
MEAN_MARGIN = 1e-3


def raw_output_for(mean: torch.Tensor, sigmoid: bool) -> torch.Tensor:
    """The raw output (before the output activation) whose activation is
    ``mean``: its logit for a sigmoid output (``mean`` kept within
    `MEAN_MARGIN` of 0 and 1), else ``mean`` itself."""
    if not sigmoid:
        return mean
    return torch.logit(mean.clamp(MEAN_MARGIN, 1 - MEAN_MARGIN))


@torch.no_grad()
def set_pca_pair(
    encoder: nn.Linear | None,
    decoder: nn.Linear | None,
    mean: torch.Tensor,
    components: torch.Tensor,
    scales: torch.Tensor,
) -> None:
    """Set a linear encoder/decoder pair to PCA: codes ``components @ (x - mean)
    / scales`` (whitened when ``scales`` are the components' standard
    deviations) and back. ``components`` (k, n_features) may have fewer rows
    than the code; the remaining code units start at zero."""
    if encoder is None or decoder is None:
        raise ValueError("init_linear_path needs a module with linear_path=True")
    k = len(components)
    mean, components, scales = (
        t.to(encoder.weight.dtype) for t in (mean, components, scales)
    )
    encoder.weight.zero_()
    decoder.weight.zero_()
    encoder.weight[:k] = components / scales[:, None]
    encoder.bias.copy_(-(encoder.weight @ mean))
    decoder.weight[:, :k] = (components * scales[:, None]).T
    decoder.bias.copy_(mean)


def activation(name: str) -> nn.Module:
    """A fresh activation module by name (see ``ACTIVATIONS``)."""
    return ACTIVATIONS[name]()


def mlp(
    sizes: Sequence[int],
    activation_name: str = "relu",
    *,
    batch_norm: bool = False,
    dropout: float = 0.0,
    output_activation: str = "identity",
) -> nn.Sequential:
    """A multi-layer perceptron ``sizes[0] -> ... -> sizes[-1]``.

    Hidden layers are Linear -> [BatchNorm] -> activation -> [Dropout]; the last
    layer is Linear followed by ``output_activation`` only.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i == len(sizes) - 2:
            break
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(activation(activation_name))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    if output_activation != "identity":
        layers.append(activation(output_activation))
    return nn.Sequential(*layers)
