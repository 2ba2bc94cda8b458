"""The hand-written backward pass for dense stacks agrees with autograd."""

import numpy as np
import pytest
import torch
from torch import nn

import aekit
from aekit import training
from aekit.nn import DenseAutoencoder, DenseConfig, manual
from aekit.nn.manual import dense_layers
from aekit.training import fast_step, loop

CONFIGS = [
    {},
    {"sparsity": 0.1},
    {"activation": "tanh", "output_activation": "sigmoid"},
    {"output_activation": "sigmoid", "loss": "bce", "sparsity": 0.05},
    {"activation": "sigmoid", "noise": 0.2},
    {"activation": "identity", "noise": 0.3, "noise_type": "mask"},
    {"batch_norm": True},
    {"dropout": 0.2},
    {"batch_norm": True, "dropout": 0.2, "noise": 0.1, "sparsity": 0.05},
    {"batch_norm": True, "dropout": 0.5, "activation": "tanh", "loss": "bce",
     "output_activation": "sigmoid"},
    {"linear_path": True},
    {"linear_path": True, "sparsity": 0.1, "noise": 0.2},
    {"linear_path": True, "batch_norm": True, "dropout": 0.2},
    {"linear_path": True, "output_activation": "sigmoid", "loss": "bce"},
    {"linear_path": True, "output_activation": "sigmoid", "batch_norm": True},
]  # fmt: skip


def _both_steps(module, x, monkeypatch):
    """The hand-written step's loss, gradients and batch-norm buffers, then
    autograd's, from the same weights, buffers, corruption noise and dropout masks
    (the hand-written step's masks replace nn.Dropout's outputs)."""
    buffers = [b.clone() for b in module.buffers()]
    passes = []
    real_forward = manual.forward
    monkeypatch.setattr(
        manual, "forward", lambda *a: passes.append(real_forward(*a)) or passes[-1]
    )
    step = module.manual_step()
    assert step is not None
    torch.manual_seed(1)  # the same corruption noise on both sides
    loss = step(x)
    grads = [p.grad.clone() for p in module.parameters()]
    after = [b.clone() for b in module.buffers()]
    for p in module.parameters():
        p.grad = None
    for b, start in zip(module.buffers(), buffers, strict=True):
        b.copy_(start)
    masks = iter([r.mask for p in passes for r in p if r.mask is not None])
    for m in module.modules():
        if isinstance(m, nn.Dropout):
            m.register_forward_hook(lambda m, inputs, out: inputs[0] * next(masks))
    module.train()
    torch.manual_seed(1)
    expected = module.loss(x, module(x))["loss"]
    expected.backward()
    reference = [p.grad for p in module.parameters()]
    return (loss, grads, after), (expected, reference, list(module.buffers()))


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_manual_step_matches_autograd(kwargs, monkeypatch):
    torch.manual_seed(0)
    module = DenseAutoencoder(DenseConfig(10, (7, 5), 3, **kwargs)).double()
    if kwargs.get("linear_path"):  # (its MLPs' last layers start at zero)
        with torch.no_grad():
            for p in module.parameters():
                p.normal_(0, 0.5)
    x = torch.rand(16, 10, dtype=torch.float64)
    got, expected = _both_steps(module, x, monkeypatch)
    assert got[0].item() == pytest.approx(expected[0].item(), rel=1e-12)
    for ours, theirs in zip(got[1] + got[2], expected[1] + expected[2], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    if kwargs.get("batch_norm"):  # the running statistics moved, as autograd's did
        assert expected[2][-1].item() == 1  # num_batches_tracked


def test_manual_batch_norm_dropout_step_matches_autograd_in_float32(monkeypatch):
    torch.manual_seed(0)
    config = DenseConfig(30, (64,), 8, batch_norm=True, dropout=0.2)
    module = DenseAutoencoder(config)
    got, expected = _both_steps(module, torch.randn(256, 30), monkeypatch)
    assert got[0].item() == pytest.approx(expected[0].item(), rel=1e-6)
    for ours, theirs in zip(got[1] + got[2], expected[1] + expected[2], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_mask_drops_at_the_rate_and_keeps_the_mean(rate):
    torch.manual_seed(0)
    mask = manual.dropout_mask(torch.empty(400, 500), rate)
    kept = mask > 0
    assert kept.float().mean().item() == pytest.approx(1 - rate, abs=0.005)
    torch.testing.assert_close(mask[kept], torch.full_like(mask[kept], 1 / (1 - rate)))
    assert mask.mean().item() == pytest.approx(1.0, abs=0.01)
    torch.manual_seed(0)  # drawn from torch's generator: seeded fits repeat
    torch.testing.assert_close(manual.dropout_mask(torch.empty(400, 500), rate), mask)


def test_manual_step_rejects_a_batch_of_one_with_batch_norm():
    module = DenseAutoencoder(DenseConfig(10, (7,), 3, batch_norm=True))
    with pytest.raises(ValueError, match="more than one row"):
        module.manual_step()(torch.rand(1, 10))


@pytest.mark.parametrize(
    "stack",
    [
        [nn.Linear(4, 3), nn.GELU()],
        [nn.Linear(4, 3), nn.Dropout(0.1), nn.BatchNorm1d(3)],  # another order
        [nn.Linear(4, 3), nn.BatchNorm1d(3, affine=False)],
        [nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=None)],
        [nn.Linear(4, 3), nn.LayerNorm(3)],
        [nn.ReLU(), nn.Linear(4, 3)],
    ],
)
def test_no_manual_step_for_other_layers(stack):
    assert dense_layers([nn.Sequential(*stack)]) is None


def test_no_manual_step_for_gelu():
    module = DenseAutoencoder(DenseConfig(10, (7,), 3, activation="gelu"))
    assert module.manual_step() is None


@pytest.mark.parametrize(
    "extra", [{}, {"batch_norm": True}, {"pca_path": True}, {"loss": "bce"}]
)
def test_fit_uses_manual_step_and_matches_autograd_fit(monkeypatch, extra):
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    if extra.get("loss") == "bce":  # (the default PCA path, on data in [0, 1])
        X = 1 / (1 + np.exp(-X))
    params = dict(hidden_dims=(8,), latent_dim=3, max_epochs=5, random_state=0)
    params.update({"pca_path": False, **extra})
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
    for ours, theirs in zip(fast.history_, slow.history_, strict=True):
        assert ours["loss"] == pytest.approx(theirs["loss"], 1e-4)
    if not extra.get("batch_norm"):
        np.testing.assert_allclose(fast.transform(X), slow.transform(X), atol=1e-4)
        return
    # A bias followed by batch norm has a gradient of zero up to rounding, which
    # Adam scales up to steps of the learning rate: those biases (and the running
    # means that follow them) drift apart, every weight agrees.
    theirs = dict(slow.module_.named_parameters())
    for name, ours in fast.module_.named_parameters():
        if name.endswith("weight"):
            torch.testing.assert_close(ours, theirs[name], rtol=1e-4, atol=1e-5)


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
