"""The fused dense stack computes exactly what the eager modules compute."""

import pytest
import torch

from aekit.nn import DenseAutoencoder
from aekit.nn.fused import fusion_plan
from aekit.training import FlatParameters


def eager_and_fused(activation, output, sparsity=0.0):
    torch.manual_seed(0)
    module = DenseAutoencoder(
        7, [6, 5], 3, activation=activation, output_activation=output,
        sparsity=sparsity,
    ).double()
    assert module._fused is not None
    x = torch.randn(11, 7, dtype=torch.float64)
    results = []
    for fused in (False, True):
        module.zero_grad()
        plan, module._fused = module._fused, (module._fused if fused else None)
        out = module(x)
        module._fused = plan
        module.loss(x, out)["loss"].backward()
        grads = [p.grad.clone() for p in module.parameters()]
        results.append((out["recon"].detach(), out["z"].detach(), grads))
    return results


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
def test_fused_gradients_match_eager(activation, output):
    (r0, z0, g0), (r1, z1, g1) = eager_and_fused(activation, output, sparsity=0.1)
    torch.testing.assert_close(r1, r0)
    torch.testing.assert_close(z1, z0)
    for a, b in zip(g0, g1, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs", [dict(batch_norm=True), dict(dropout=0.1), dict(activation="gelu")]
)
def test_unsupported_layers_use_eager_modules(kwargs):
    assert DenseAutoencoder(7, [6], 3, **kwargs)._fused is None
    assert fusion_plan(DenseAutoencoder(7, [6], 3).encoder) is not None


def test_flat_parameters_share_storage_and_release():
    module = DenseAutoencoder(5, [4], 2)
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
