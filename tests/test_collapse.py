"""No silent collapse: models with a bounded output start at the training mean,
a fit that ends no better than the mean is restarted once and then warns, and
every reconstructing model at its defaults beats the mean predictor whatever
the seed."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import aekit
from aekit.training import Callback

from .conftest import small_images, small_tabular


def _untrained(est, X):
    """``est``'s module as `fit` builds and initialises it, before training."""
    with warnings.catch_warnings():  # (one epoch: no better than the mean)
        warnings.simplefilter("ignore", UserWarning)
        est.set_params(max_epochs=1).fit(X)  # (resolves shapes and scaling)
    module = est._build_module()
    data = est._model_input(est._validate(X, reset=False))
    est._initialise_module(module, data)
    return module.eval(), torch.from_numpy(data)


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_untrained_conv_autoencoder_predicts_the_mean_image(output):
    X = small_images(64)
    est = aekit.ConvAutoencoder(channels=(4, 8), output_activation=output)
    module, x = _untrained(est, X)
    with torch.no_grad():
        recon = module(x)["recon"]
    mean = x.mean(dim=0)
    expected = mean.clamp(1e-3, 1 - 1e-3) if output == "sigmoid" else mean
    torch.testing.assert_close(recon, expected.expand_as(recon), atol=1e-5, rtol=0)


@pytest.mark.parametrize("estimator", ["vae", "convvae", "dense_sigmoid"])
def test_bounded_outputs_start_near_the_mean(estimator):
    X = small_images(64)
    est = {
        "vae": aekit.VAE(likelihood="bernoulli", binarize=False, latent_dim=2),
        "convvae": aekit.ConvVAE(channels=(4, 8), latent_dim=2),
        "dense_sigmoid": aekit.Autoencoder(
            latent_dim=2, pca_path=False, output_activation="sigmoid"
        ),
    }[estimator]
    with warnings.catch_warnings():  # (one epoch: no better than the mean)
        warnings.simplefilter("ignore", UserWarning)
        est.set_params(max_epochs=1).fit(X)
    module = est._build_module()
    data = X.astype(np.float32) if estimator != "convvae" else X.reshape(-1, 1, 8, 8)
    if estimator == "dense_sigmoid":
        data = est._fit_input(X, reset=False)
    est._initialise_module(module, data)
    last_bias = (
        module.decoder.pixel_bias.flatten()
        if estimator == "convvae"
        else [m for m in module.decoder.modules() if isinstance(m, torch.nn.Linear)][
            -1
        ].bias
    )
    mean = torch.from_numpy(X.mean(axis=0)).float().clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(
        torch.sigmoid(last_bias.detach()), mean, atol=1e-5, rtol=0
    )


class _Collapse(Callback):
    """Zero every weight at the start of each epoch: only the output bias can
    then learn, and the outputs become the mean."""

    def on_epoch_begin(self, module, epoch):
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.endswith("weight"):
                    p.zero_()


def test_a_collapsed_fit_is_restarted_once_then_warns():
    X = small_tabular(200, 8)
    est = aekit.Autoencoder(
        latent_dim=2, pca_path=False, max_epochs=100, patience=3, random_state=0,
        device="cpu", callbacks=[_Collapse()],
    )  # fmt: skip
    with pytest.warns(UserWarning, match="no better than their mean.*restart"):
        est.fit(X)
    assert est.restarted_
    assert est.explained_variance_ <= 1e-3


def test_a_healthy_fit_records_its_explained_variance_without_warning():
    X = small_tabular(200, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = aekit.Autoencoder(latent_dim=3, max_epochs=20, random_state=0).fit(X)
    assert est.explained_variance_ > 0.9
    assert not est.restarted_


def _digits_images(n=400):
    return load_digits().images[:n]


# Every model that reconstructs its input, at its defaults (only the code size set,
# the digits being small): none ends worse than the mean predictor, on tables and
# on images, for seeds 0-9. (The recommenders reconstruct sparse rating rows, and
# are judged against popularity and EASE in bench/.)
SWEEP = {
    "autoencoder": (lambda s: aekit.Autoencoder(latent_dim=4, random_state=s), "table"),
    "vae": (lambda s: aekit.VAE(latent_dim=4, random_state=s), "table"),
    "detector": (lambda s: aekit.AnomalyDetector(random_state=s), "table"),
    "conv": (lambda s: aekit.ConvAutoencoder(latent_dim=8, random_state=s), "images"),
    "convvae": (lambda s: aekit.ConvVAE(latent_dim=8, random_state=s), "images"),
}


def _explained(est):
    return getattr(est, "model_", est).explained_variance_


@pytest.mark.parametrize("name", ["autoencoder", "vae", "detector"])
def test_seed_sweep_tables_never_worse_than_the_mean(name):
    make, _ = SWEEP[name]
    X = load_digits().data[:300]
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            est = make(seed).fit(X)
        assert _explained(est) > 0.05, (name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv", "convvae"])
def test_seed_sweep_images_never_worse_than_the_mean(name):
    make, _ = SWEEP[name]
    X = _digits_images()
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            est = make(seed).fit(X)
        assert _explained(est) > 0.05, (name, seed)
