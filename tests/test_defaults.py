"""The "auto" defaults: each rule resolves as documented, the resolved values are
kept, saved and shown, explicit values win, and the PCA path starts at PCA."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

import aekit
from aekit import defaults
from aekit.cli import main


def unit_data(n=300, d=16, seed=0):
    """Rank-3 data squashed into (0, 1), like pixel intensities."""
    rng = np.random.default_rng(seed)
    return 1 / (1 + np.exp(-rng.normal(size=(n, 3)) @ rng.normal(size=(3, d))))


def test_scaling_rule():
    assert defaults.scaling_rule(unit_data()) is None
    # 8-bit pixels, most columns saturating somewhere: one shared range
    pixels = np.round(np.clip(1.5 * unit_data() - 0.25, 0, 1) * 255)
    assert defaults.scaling_rule(pixels) == "global"
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 4)) * [1, 10, 100, 1000]
    assert defaults.scaling_rule(table) == "standard"
    counts = rng.poisson([1, 5, 50, 500], size=(50, 4)).astype(float)
    assert defaults.scaling_rule(counts) == "standard"  # whole numbers, own ranges


def test_size_rules():
    assert defaults.hidden_dims_rule(30, 8) == (128, 64)
    assert defaults.hidden_dims_rule(64, 8) == (256, 128)
    assert defaults.hidden_dims_rule(784, 30) == (512, 256, 128)
    assert defaults.hidden_dims_rule(4, 200) == (200, 200)  # never below the code
    assert [defaults.batch_size_rule(n) for n in (100, 1000, 5000, 60000)] == [
        32,
        32,
        64,
        256,
    ]
    # small data: many epochs so that training gets its steps, and patience to
    # match; large data: few epochs
    assert defaults.max_epochs_rule(300, 32) == 40_000 // 10
    assert defaults.patience_rule(300, 32) == 50
    assert defaults.max_epochs_rule(54_000, 256) == 190
    assert defaults.patience_rule(54_000, 256) == 10


def spread(X):
    return float(np.mean(X * (1 - X)))


def test_loss_rule_cross_entropy_only_for_near_binary_data():
    rng = np.random.default_rng(0)
    ink = (rng.random((400, 16)) < 0.2) * rng.uniform(0.9, 1.0, (400, 16))
    grey = rng.beta(2, 2, (400, 16))  # grey levels, like photograph patches
    assert spread(ink) < defaults.BCE_MAX_SPREAD < spread(grey)
    assert defaults.loss_rule(ink, 10_000, spread(ink)) == "bce"
    assert defaults.loss_rule(ink, 1_000, spread(ink)) == "mse"  # few rows
    assert defaults.loss_rule(grey, 10_000, spread(grey)) == "mse"
    assert defaults.loss_rule(ink * 2, 10_000, 0.0) == "mse"  # not in [0, 1]


@pytest.mark.parametrize("kind", ["ink", "grey"])
def test_fit_measures_the_spread_of_unit_data(kind):
    rng = np.random.default_rng(1)
    X = rng.beta(2, 2, (5_600, 6))
    if kind == "ink":
        X = (X > 0.85).astype(float)
    ae = aekit.Autoencoder(latent_dim=2, max_epochs=1, random_state=0).fit(X)
    assert ae.loss_ == ("bce" if kind == "ink" else "mse")
    assert ae.output_activation_ == ("sigmoid" if kind == "ink" else "linear")


@pytest.fixture(scope="module")
def fitted():
    return aekit.Autoencoder(latent_dim=3, max_epochs=30, random_state=0).fit(
        unit_data()
    )


def test_fit_resolves_every_auto_parameter(fitted):
    assert fitted.resolved_params_ == {
        "scaling": None,
        "hidden_dims": (128, 64),
        "loss": "mse",
        "output_activation": "linear",
        "batch_size": 32,
        "max_epochs": 30,  # explicit
        "patience": 56,  # 500 steps at ceil(270 / 32) = 9 steps an epoch
    }
    assert fitted.scaling_ is None and fitted.batch_size_ == 32
    assert fitted.module_.config.hidden_dims == (128, 64)


def test_explicit_values_win():
    ae = aekit.Autoencoder(
        (8,),
        2,
        scaling="standard",
        loss="mse",
        batch_size=64,
        max_epochs=3,
        patience=2,
        random_state=0,
    ).fit(unit_data())
    assert ae.resolved_params_ == {
        "scaling": "standard",
        "hidden_dims": (8,),
        "loss": "mse",
        "output_activation": "linear",
        "batch_size": 64,
        "max_epochs": 3,
        "patience": 2,
    }
    assert ae.input_scale_.std() > 0  # standardised per feature


def test_resolved_values_are_saved_and_shown(fitted, tmp_path, capsys):
    fitted.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert loaded.resolved_params_ == fitted.resolved_params_
    X = unit_data(seed=1)
    np.testing.assert_allclose(loaded.reconstruct(X), fitted.reconstruct(X))
    assert main(["info", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "resolved from the data:" in out and "batch_size_ = 32" in out


def test_pca_path_starts_exactly_at_pca():
    """With a learning rate too small to move a float32 weight, the fitted model
    is the starting one: its codes and reconstructions are PCA's (whitened)."""
    X = np.random.default_rng(0).normal(size=(200, 10)) @ np.diag(np.arange(1, 11))
    ae = aekit.Autoencoder(
        latent_dim=3, max_epochs=1, learning_rate=1e-30, random_state=0
    ).fit(X)
    Xs = (X - ae.input_shift_) / ae.input_scale_
    pca = PCA(3).fit(Xs)
    recon = pca.inverse_transform(pca.transform(Xs)) * ae.input_scale_ + ae.input_shift_
    np.testing.assert_allclose(ae.reconstruct(X), recon, atol=1e-4)
    codes = pca.transform(Xs) / np.sqrt(pca.explained_variance_)
    np.testing.assert_allclose(np.abs(ae.transform(X)), np.abs(codes), atol=1e-4)


def test_training_that_only_hurts_ends_at_the_pca_start():
    """Early stopping weighs the starting weights too: when every epoch is worse
    on the validation rows (here a far too large learning rate), the model goes
    back to PCA (best_epoch_ 0)."""
    X = np.random.default_rng(0).normal(size=(200, 8)) @ np.diag(np.arange(1, 9))
    ae = aekit.Autoencoder(
        latent_dim=2, learning_rate=0.5, max_epochs=5, random_state=0
    ).fit(X)
    assert ae.best_epoch_ == 0
    Xs = (X - ae.input_shift_) / ae.input_scale_
    pca = PCA(2).fit(Xs)
    recon = pca.inverse_transform(pca.transform(Xs)) * ae.input_scale_ + ae.input_shift_
    np.testing.assert_allclose(ae.reconstruct(X), recon, atol=1e-4)


def test_defaults_beat_pca_on_a_curved_manifold():
    """Data on a curve in 12-d: the default model (PCA start plus a nonlinear
    residual) must beat PCA with the same number of components."""
    rng = np.random.default_rng(0)
    t = rng.uniform(-2, 2, size=(600, 1))
    basis = rng.normal(size=(3, 12))
    X = np.hstack([t, t**2, np.sin(2 * t)]) @ basis + 0.02 * rng.normal(size=(600, 12))
    train, test = X[:400], X[400:]
    ae = aekit.Autoencoder(latent_dim=1, random_state=0).fit(train)
    pca = PCA(1).fit(train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2)
    assert ae.reconstruction_error(test).mean() < 0.5 * pca_error


def test_vae_rules():
    assert defaults.hidden_dims_rule(784, 32, max_depth=2) == (512, 256)
    grey = unit_data(n=120)
    binary = (grey > 0.5).astype(float)
    fit = dict(latent_dim=2, max_epochs=1, random_state=0)
    vae = aekit.VAE(likelihood="bernoulli", **fit).fit(grey)
    assert vae.binarize_ and vae.resolved_params_["hidden_dims"] == (128, 64)
    assert defaults.patience_rule(54_000, 256, min_patience=30) == 30
    assert (
        defaults.training_budget(54_000, "auto", "auto", "auto", min_patience=30)[2]
        == 30
    )
    assert vae.kl_warmup == 10
    assert not aekit.VAE(likelihood="bernoulli", **fit).fit(binary).binarize_
    assert not aekit.VAE(**fit).fit(grey).binarize_  # Gaussian likelihood
    assert (
        not aekit.VAE(likelihood="bernoulli", binarize=False, **fit).fit(grey).binarize_
    )
    with pytest.raises(ValueError, match="binarize=True .*bernoulli"):
        aekit.VAE(binarize=True, **fit).fit(grey)


def test_an_explicit_cross_entropy_on_grey_levels():
    grey = unit_data(400)
    ae = aekit.Autoencoder(latent_dim=2, loss="bce", max_epochs=2, random_state=0)
    ae.fit(grey)
    assert ae.scaling_ is None and ae.output_activation_ == "sigmoid"
