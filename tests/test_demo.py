"""The embedded demo runs end to end and beats PCA."""

import pytest

from aekit.cli import main


@pytest.mark.slow
def test_demo(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "PCA" in out and "autoencoder" in out
    for name in ("loss_curve.png", "reconstructions.png", "latent_scatter.png"):
        assert (tmp_path / name).stat().st_size > 5000
    assert (tmp_path / "model" / "model.safetensors").is_file()
    ratio = float(out.split("ratio PCA / autoencoder: ")[1].split("x")[0])
    assert ratio > 1.3
