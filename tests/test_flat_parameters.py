"""Training with all parameters as views into one flat buffer."""

import torch

from aekit.nn import DenseAutoencoder, DenseConfig
from aekit.training import FlatParameters


def test_flat_parameters_share_storage_and_release():
    module = DenseAutoencoder(DenseConfig(5, (4,), 2))
    flat = FlatParameters(module)
    total = sum(p.numel() for p in module.parameters())
    assert flat.flat.numel() == total
    with torch.no_grad():
        flat.flat.add_(1.0)  # an optimiser step on the flat tensor ...
    first = next(module.parameters())
    assert first.data_ptr() == flat.flat.data_ptr()  # ... moves the module's weights
    x = torch.randn(8, 5)
    flat.zero_grad()
    module.loss(x, module(x))["loss"].backward()
    assert flat.flat.grad.abs().sum() > 0  # gradients land in the flat buffer
    flat.release()
    assert all(p.grad is None for p in module.parameters())
