"""Image readers and the image commands of the CLI."""

import numpy as np
import pytest
from PIL import Image

import aekit
from aekit.cli import main
from aekit.data import read_image_array, read_image_folder, read_images
from tests.conftest import assert_picture, small_images


def _write_pngs(folder, images, mode="L"):
    folder.mkdir(exist_ok=True)
    for i, image in enumerate(images):
        data = (image * 255).astype(np.uint8)
        Image.fromarray(data, mode=None).convert(mode).save(folder / f"im{i:03d}.png")


def test_folder_reader_grey_and_colour(tmp_path):
    images = small_images(5).reshape(5, 8, 8)
    _write_pngs(tmp_path / "grey", images)
    grey, names = read_image_folder(tmp_path / "grey")
    assert grey.shape == (5, 8, 8) and grey.dtype == np.float32
    assert names[0] == "im000.png"
    np.testing.assert_allclose(grey, np.floor(images * 255) / 255, atol=1e-6)
    _write_pngs(tmp_path / "rgb", images, mode="RGB")
    assert read_images(tmp_path / "rgb", mode="RGB").shape == (5, 3, 8, 8)
    assert read_images(tmp_path / "grey", size=(4, 6)).shape == (5, 4, 6)


def test_folder_reader_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .png"):
        read_image_folder(tmp_path / "empty")
    _write_pngs(tmp_path / "mixed", [np.zeros((8, 8)), np.zeros((9, 8))])
    with pytest.raises(ValueError, match="different sizes.*size="):
        read_image_folder(tmp_path / "mixed")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="could not read image"):
        read_image_folder(bad)


def test_array_reader(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 8, 8, 3), dtype=np.uint8) + 255)
    images = read_image_array(tmp_path / "a.npy")
    assert images.shape == (4, 3, 8, 8) and images.max() == 1.0
    np.savez(tmp_path / "b.npz", images=np.zeros((2, 5, 5)), labels=np.zeros(2))
    assert read_images(tmp_path / "b.npz").shape == (2, 5, 5)
    np.save(tmp_path / "c.npy", np.array(["a", "b"]))
    with pytest.raises(ValueError, match="numeric"):
        read_image_array(tmp_path / "c.npy")


def test_cli_train_denoise_generate(tmp_path, capsys):
    images = small_images(60).reshape(60, 8, 8)
    _write_pngs(tmp_path / "train", images)
    fast = ["--max-epochs", "2", "--device", "cpu", "--random-state", "0"]
    for model in ("conv", "convvae", "vae"):
        args = ["train", str(tmp_path / "train"), "--model", model, "--latent-dim", "2"]
        out = str(tmp_path / model)
        assert main([*args, "-o", out, *fast]) == 0
    assert (
        main(
            [
                "denoise",
                str(tmp_path / "conv"),
                str(tmp_path / "train"),
                "-o",
                str(tmp_path / "clean"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "clean").iterdir())[0] == "im000.png"
    assert (
        main(
            [
                "denoise",
                str(tmp_path / "conv"),
                str(tmp_path / "train"),
                "-o",
                str(tmp_path / "clean.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "clean.npy").shape == (60, 8, 8)
    for model in ("convvae", "vae"):
        path = tmp_path / f"{model}.npy"
        assert (
            main(["generate", str(tmp_path / model), "-n", "5", "-o", str(path)]) == 0
        )
        assert np.load(path).shape[0] == 5
        png = tmp_path / f"{model}.png"
        assert (
            main(["generate", str(tmp_path / model), "-n", "16", "-o", str(png)]) == 0
        )
        assert_picture(png)
    capsys.readouterr()
    assert (
        main(["generate", str(tmp_path / "conv"), "-o", str(tmp_path / "x.png")]) == 1
    )
    assert "no sample()" in capsys.readouterr().err


def test_plots():
    from aekit import plotting

    images = small_images(80).reshape(80, 8, 8)
    vae = aekit.ConvVAE((4,), 2, max_epochs=2, random_state=0, device="cpu")
    vae.fit(images)
    assert len(plotting.manifold_grid(vae, n=5).axes) == 25
    assert len(plotting.latent_traversal(vae, n_steps=4).axes) == 8
    assert len(plotting.sample_grid(vae.sample(10), n_columns=5).axes) == 10
