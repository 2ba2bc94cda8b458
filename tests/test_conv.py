"""ConvAutoencoder: image layouts, odd sizes, noise types, denoising."""

import numpy as np
import pytest
import torch

import aekit
from aekit.metrics import psnr
from aekit.nn.conv import ConvAutoencoder as ConvModule
from aekit.nn.conv import ConvConfig
from tests.conftest import FAST, small_images

QUICK = dict(channels=(4, 8), latent_dim=4, **FAST)


@pytest.fixture(scope="module")
def images():
    return small_images(96).reshape(96, 8, 8)


@pytest.mark.parametrize("shape", [(8, 8), (1, 12, 12), (3, 13, 11), (2, 1, 7)])
def test_module_keeps_any_image_size(shape):
    image_shape = (1, *shape) if len(shape) == 2 else shape
    module = ConvModule(ConvConfig(image_shape, (4, 8, 8), 3))
    x = torch.rand(5, *image_shape)
    out = module(x)
    assert out["recon"].shape == x.shape and out["z"].shape == (5, 3)


@pytest.mark.parametrize("noise_type", ["gaussian", "salt_pepper", "mask"])
def test_noise_types_corrupt_in_training_only(noise_type):
    module = ConvModule(
        ConvConfig((1, 8, 8), (4,), 2, noise=0.3, noise_type=noise_type)
    )
    x = torch.full((4, 1, 8, 8), 0.5)
    corrupted = module.corrupt(x)
    assert not torch.equal(corrupted, x)
    if noise_type == "salt_pepper":
        changed = corrupted[corrupted != 0.5]
        assert set(changed.unique().tolist()) <= {0.0, 1.0}
    module.eval()
    out_a, out_b = module(x)["recon"], module(x)["recon"]
    assert torch.equal(out_a, out_b)


def test_grey_layouts_give_outputs_in_input_shape(images):
    ae = aekit.ConvAutoencoder(**QUICK).fit(images)
    assert ae.image_shape_ == (1, 8, 8) and ae.sample_shape_ == (8, 8)
    assert ae.denoise(images[:3]).shape == (3, 8, 8)
    assert ae.reconstruct(images[:3].reshape(3, 64)).shape == (3, 64)
    assert ae.reconstruct(images[:3, None]).shape == (3, 1, 8, 8)
    assert ae.inverse_transform(ae.transform(images[:2])).shape == (2, 8, 8)
    assert ae.reconstruction_error(images).shape == (96,)


def test_colour_images_and_uint8(images):
    rgb = (np.stack([images, images[::-1], images.T.T], axis=1) * 255).astype(np.uint8)
    ae = aekit.ConvAutoencoder(**QUICK).fit(rgb)
    assert ae.image_shape_ == (3, 8, 8)
    assert ae.input_scale_ == pytest.approx(float(rgb.max() - rgb.min()))
    assert ae.reconstruct(rgb[:2]).shape == (2, 3, 8, 8)


def test_flat_input_with_image_shape():
    X = np.random.default_rng(0).random((40, 2 * 5 * 6))
    ae = aekit.ConvAutoencoder(image_shape=(2, 5, 6), **QUICK).fit(X)
    assert ae.image_shape_ == (2, 5, 6)
    assert ae.reconstruct(X[:2]).shape == (2, 60)


def test_clear_errors(images):
    with pytest.raises(ValueError, match="image_shape"):
        aekit.ConvAutoencoder(image_shape=(5, 5), **QUICK).fit(images.reshape(96, 64))
    with pytest.raises(ValueError, match="channel-last"):
        aekit.ConvAutoencoder(**QUICK).fit(np.zeros((10, 8, 8, 3)))
    with pytest.raises(ValueError, match="noise_type"):
        aekit.ConvAutoencoder(noise_type="speckle", **QUICK).fit(images)
    with pytest.raises(ValueError, match="noise"):
        aekit.ConvAutoencoder(noise=1.5, noise_type="mask", **QUICK).fit(images)
    ae = aekit.ConvAutoencoder(**QUICK).fit(images)
    with pytest.raises(ValueError, match="trained on images of shape"):
        ae.transform(np.zeros((2, 9, 9)))


@pytest.mark.slow
def test_denoising_beats_the_noisy_input():
    """A model trained with Gaussian noise cleans noisy images of smooth blobs."""
    train, test = small_images(600).reshape(-1, 8, 8), small_images(200, seed=1)
    test = test.reshape(-1, 8, 8)
    dae = aekit.ConvAutoencoder(
        channels=(8, 16),
        latent_dim=16,
        noise=0.3,
        max_epochs=30,
        batch_size=64,
        learning_rate=3e-3,
        early_stopping=False,
        random_state=0,
        device="cpu",
    ).fit(train)
    rng = np.random.default_rng(0)
    noisy = np.clip(test + 0.3 * rng.standard_normal(test.shape), 0, 1)
    noisy_psnr = psnr(test, noisy).mean()
    clean_psnr = psnr(test, np.clip(dae.denoise(noisy), 0, 1)).mean()
    assert clean_psnr > noisy_psnr + 1.5
