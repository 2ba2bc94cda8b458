"""The training loop on its own: splits, callbacks, devices."""

import io

import numpy as np
import pytest
import torch

import aekit
from aekit.nn import DenseAutoencoder, DenseConfig
from aekit.training import (
    Callback,
    Progress,
    TrainConfig,
    fit_module,
    resolve_device,
    split_indices,
)
from aekit.training.fast_step import flush_denormals, flushing_denormals


def test_split_indices_partition():
    train, val = split_indices(100, 0.15, torch.Generator().manual_seed(0))
    assert len(val) == 15 and len(train) == 85
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.events, self.stop_after = [], stop_after

    def on_train_begin(self, module, config):
        self.events.append("begin")

    def on_epoch_end(self, module, record):
        self.events.append(int(record["epoch"]))
        if self.stop_after and record["epoch"] >= self.stop_after:
            self.stop_training = True

    def on_train_end(self, module, history):
        self.events.append("end")


def test_callbacks_are_called_and_can_stop():
    data = torch.randn(64, 6)
    module = DenseAutoencoder(DenseConfig(6, (8,), 2))
    recorder = Recorder(stop_after=3)
    result = fit_module(
        module,
        data,
        TrainConfig(max_epochs=10, batch_size=16, early_stopping=False),
        generator=torch.Generator().manual_seed(0),
        callbacks=[recorder],
    )
    assert recorder.events == ["begin", 1, 2, 3, "end"]
    assert len(result.history) == 3 and not module.training


def test_last_single_sample_batch_is_skipped_with_batch_norm():
    data = torch.randn(33, 6)  # 33 = 2 * 16 + 1: a batch of one would break BN
    module = DenseAutoencoder(DenseConfig(6, (8,), 2, batch_norm=True))
    batches = []  # sizes of the training batches the module sees
    module.register_forward_pre_hook(
        lambda m, args: batches.append(len(args[0])) if m.training else None
    )
    # Autograd calls the hook; the hand-written step does not, but it raises on a
    # batch of one with batch norm, so a clean fit shows no such batch reached it.
    for manual_backward in (False, True):
        batches.clear()
        fit_module(
            module,
            data,
            TrainConfig(
                max_epochs=2,
                batch_size=16,
                early_stopping=False,
                manual_backward=manual_backward,
            ),
            generator=torch.Generator().manual_seed(0),
        )
        expected = [] if manual_backward else [16, 16] * 2
        assert batches == expected  # each epoch trains on 32 of the 33 rows


def test_history_loss_matches_a_recomputation():
    """The epoch loss read once per epoch equals the mean of the batch losses."""
    data = torch.randn(40, 5)
    module = DenseAutoencoder(DenseConfig(5, (), 2, activation="identity"))
    config = TrainConfig(
        max_epochs=1, batch_size=40, early_stopping=False, learning_rate=1e-12
    )
    with torch.no_grad():
        expected = module.loss(data, module(data))["loss"].item()
    result = fit_module(module, data, config, generator=torch.Generator())
    assert result.history[0]["loss"] == pytest.approx(expected, rel=1e-5)


def test_verbose_fit_without_a_terminal_prints_a_few_lines(capsys):
    """Not a terminal (pytest captures stderr): about ten plain lines, the last one
    for the last epoch, instead of a redrawn bar."""
    config = TrainConfig(
        max_epochs=95, batch_size=32, early_stopping=False, verbose=True
    )
    data = torch.randn(64, 6)
    fit_module(
        DenseAutoencoder(DenseConfig(6, (8,), 2)),
        data,
        config,
        generator=torch.Generator(),
    )
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 10 and "\r" not in err  # epochs 10, 20, ..., 90, 95
    assert lines[-1].startswith("training: epoch 95/95  loss ")
    fit_module(  # stopped by a callback: the last line is that epoch's
        DenseAutoencoder(DenseConfig(6, (8,), 2)),
        data,
        config,
        generator=torch.Generator(),
        callbacks=[Recorder(stop_after=25)],
    )
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[2] for line in lines] == ["10/95", "20/95", "25/95"]


def test_verbose_progress_on_a_terminal_is_a_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    with Progress(3, True, stream=terminal) as progress:
        assert progress.bar is not None
        for epoch in (1, 2, 3):
            progress.update({"epoch": float(epoch), "loss": 0.5})
    assert "training" in terminal.getvalue()
    assert not Progress(3, False).bar and not Progress(3, False).plain


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_matches_cpu_closely():
    X = np.random.default_rng(0).normal(size=(300, 10))
    params = dict(hidden_dims=(16,), latent_dim=3, max_epochs=20, random_state=0)
    gpu = aekit.Autoencoder(**params).fit(X)
    assert gpu.device_.startswith("cuda")
    cpu = aekit.Autoencoder(**params, device="cpu").fit(X)
    gap = abs(gpu.history_[-1]["loss"] - cpu.history_[-1]["loss"])
    assert gap < 0.1 * cpu.history_[-1]["loss"]


class DenormalProbe(Callback):
    """Records whether denormals were flushed while each epoch trained."""

    def __init__(self):
        self.seen = []

    def on_epoch_begin(self, module, epoch):
        self.seen.append(flushing_denormals())


def test_cpu_training_flushes_denormals_and_restores_the_setting():
    probe = DenormalProbe()
    config = TrainConfig(max_epochs=2, batch_size=32, early_stopping=False)
    module = DenseAutoencoder(DenseConfig(6, (8,), 2))
    assert not flushing_denormals()
    fit_module(
        module,
        torch.randn(64, 6),
        config,
        generator=torch.Generator(),
        callbacks=[probe],
    )
    assert probe.seen == [True, True] and not flushing_denormals()
    torch.set_flush_denormal(True)  # a caller who flushes keeps flushing
    try:
        with flush_denormals("cpu"):
            assert flushing_denormals()
        assert flushing_denormals()
    finally:
        torch.set_flush_denormal(False)


def test_keep_denormals_turns_flushing_off_for_the_block():
    from aekit.training import keep_denormals

    probe = DenormalProbe()
    config = TrainConfig(max_epochs=1, batch_size=32, early_stopping=False)
    module = DenseAutoencoder(DenseConfig(6, (8,), 2))
    with keep_denormals():
        fit_module(
            module, torch.randn(64, 6), config, generator=torch.Generator(),
            callbacks=[probe],
        )  # fmt: skip
        with flush_denormals("cpu"):
            assert not flushing_denormals()
    assert probe.seen == [False]
    with flush_denormals("cpu"):  # flushing is back after the block
        assert flushing_denormals()
