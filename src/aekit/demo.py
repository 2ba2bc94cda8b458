"""The embedded demo: an autoencoder on scikit-learn's bundled digits, next to PCA."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from aekit import plotting
from aekit.estimators import Autoencoder


def run_demo(
    out: str | Path = "aekit-demo", *, latent_dim: int = 8, seed: int = 0
) -> dict:
    """Train `Autoencoder(latent_dim=8)` at its library defaults on 80% of the
    digits, compare test reconstruction error with PCA of the same size, write
    plots and the model into ``out``; returns the figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    X_train, X_test, _, y_test = train_test_split(
        digits.data, digits.target, test_size=0.2, random_state=seed
    )
    print(
        f"digits: {len(digits.data)} images of 8x8 pixels (values 0-16), "
        f"{len(X_train)} train / {len(X_test)} test"
    )
    ae = Autoencoder(latent_dim=latent_dim, random_state=seed, verbose=True)
    start = time.perf_counter()
    ae.fit(X_train)
    seconds = time.perf_counter() - start
    pca = PCA(n_components=latent_dim, random_state=seed).fit(X_train)
    ae_error = float(np.mean(ae.reconstruction_error(X_test)))
    pca_error = float(
        np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    )
    widths = "-".join(str(w) for w in (64, *ae.hidden_dims_, latent_dim))
    print(
        f"autoencoder {widths} at its defaults: {ae.n_iter_} epochs "
        f"(best {ae.best_epoch_}) in {seconds:.1f} s on {ae.device_}"
    )
    print(f"  chosen from the data: {ae.resolved_params_}")
    print(f"test reconstruction MSE per pixel, latent size {latent_dim}:")
    print(f"  autoencoder  {ae_error:8.3f}")
    print(f"  PCA          {pca_error:8.3f}")
    print(f"  ratio PCA / autoencoder: {pca_error / ae_error:.2f}x")
    figures = {
        "loss_curve.png": plotting.loss_curve(ae.history_, best_epoch=ae.best_epoch_),
        "reconstructions.png": plotting.image_grid(
            [
                X_test,
                ae.reconstruct(X_test),
                pca.inverse_transform(pca.transform(X_test)),
            ],
            (8, 8),
            row_titles=["original", "autoencoder", "PCA"],
        ),
        "latent_scatter.png": plotting.latent_scatter(
            ae.transform(X_test), y_test, title="test digits in the latent space"
        ),
    }
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=100)
    ae.save(out / "model")
    print(f"wrote {', '.join(figures)} and model/ to {out}/")
    return {"autoencoder_mse": ae_error, "pca_mse": pca_error, "model": ae}
