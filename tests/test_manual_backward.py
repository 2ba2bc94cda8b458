"""The hand-written backward pass for plain dense stacks agrees with autograd."""

import numpy as np
import pytest
import torch

import aekit
from aekit import training
from aekit.nn import DenseAutoencoder, DenseConfig
from aekit.nn.manual import plain_layers
from aekit.training import fast_step, loop

CONFIGS = [
    {},
    {"sparsity": 0.1},
    {"activation": "tanh", "output_activation": "sigmoid"},
    {"output_activation": "sigmoid", "loss": "bce", "sparsity": 0.05},
    {"activation": "sigmoid", "noise": 0.2},
    {"activation": "identity", "noise": 0.3, "noise_type": "mask"},
]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_manual_step_matches_autograd(kwargs):
    torch.manual_seed(0)
    module = DenseAutoencoder(DenseConfig(10, (7, 5), 3, **kwargs)).double()
    x = torch.rand(16, 10, dtype=torch.float64)
    step = module.manual_step()
    assert step is not None
    torch.manual_seed(1)  # the same corruption noise on both sides
    loss = step(x)
    manual = [p.grad.clone() for p in module.parameters()]
    for p in module.parameters():
        p.grad = None
    module.train()
    torch.manual_seed(1)
    expected = module.loss(x, module(x))["loss"]
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for got, p in zip(manual, module.parameters(), strict=True):
        assert p.grad is not None
        torch.testing.assert_close(got, p.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs", [{"batch_norm": True}, {"dropout": 0.1}, {"activation": "gelu"}]
)
def test_no_manual_step_for_other_layers(kwargs):
    module = DenseAutoencoder(DenseConfig(10, (7,), 3, **kwargs))
    assert plain_layers([module.encoder, module.decoder]) is None
    assert module.manual_step() is None


def test_fit_uses_manual_step_and_matches_autograd_fit(monkeypatch):
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    params = dict(hidden_dims=(8,), latent_dim=3, max_epochs=5, random_state=0)
    calls = []
    original = DenseAutoencoder.manual_step

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DenseAutoencoder, "manual_step", counting)
    fast = aekit.Autoencoder(**params).fit(X)
    assert len(calls) == 1  # asked once per fit
    monkeypatch.setattr(fast_step, "manual_step", lambda module, config: None)
    slow = aekit.Autoencoder(**params).fit(X)
    assert fast.history_[-1]["loss"] == pytest.approx(slow.history_[-1]["loss"], 1e-4)
    np.testing.assert_allclose(fast.transform(X), slow.transform(X), atol=1e-4)


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_direct_fused_step_matches_optimizer_step(optimizer):
    torch.manual_seed(0)
    module = DenseAutoencoder(DenseConfig(6, (5,), 2))
    flat = training.FlatParameters(module)
    config = training.TrainConfig(optimizer=optimizer, weight_decay=0.01)
    reference = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    opt = training.make_optimizer([flat.flat], config, flat.flat.device)
    twin = torch.nn.Parameter(flat.flat.detach().clone())
    opt_twin = reference([twin], lr=1e-3, weight_decay=0.01, foreach=False)
    step = fast_step.optimizer_step(opt, flat)
    assert step != opt.step  # the direct path is taken on this CPU
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    scheduler_twin = torch.optim.lr_scheduler.StepLR(opt_twin, step_size=2, gamma=0.5)
    for _ in range(5):
        grad = torch.randn_like(twin)
        flat.flat.grad.copy_(grad)
        twin.grad = grad.clone()
        step()
        opt_twin.step()
        scheduler.step()
        scheduler_twin.step()
    torch.testing.assert_close(flat.flat.detach(), twin.detach(), rtol=1e-6, atol=1e-7)


def test_small_dense_fit_runs_on_one_thread_and_restores_setting(monkeypatch):
    seen = []
    real = loop._train_epoch

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_epoch", spy)
    X = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        aekit.Autoencoder((8,), 2, max_epochs=2, pca_path=False, device="cpu").fit(X)
        assert seen == [1, 1] and torch.get_num_threads() == 2
        seen.clear()  # a large step (many weights) keeps the caller's threads
        aekit.Autoencoder(
            (4096,), 2, max_epochs=1, batch_size=4096, pca_path=False, device="cpu"
        ).fit(X)
        assert seen == [2]
    finally:
        torch.set_num_threads(before)
