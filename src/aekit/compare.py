"""An autoencoder next to PCA with the same number of components, on held-out data:
is the nonlinear model worth it for this data?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array

from aekit import _validation as v
from aekit.estimators import Autoencoder


@dataclass
class PCAComparison:
    """Held-out reconstruction errors in the units of ``X``.

    ``*_mse`` is the mean squared error per entry; ``*_sse`` the squared error
    summed over features, averaged over samples (the usual MNIST figure).
    """

    latent_dim: int
    n_train: int
    n_test: int
    autoencoder_mse: float
    pca_mse: float
    autoencoder_sse: float
    pca_sse: float
    autoencoder: Any
    pca: PCA

    @property
    def ratio(self) -> float:
        """PCA error / autoencoder error (above 1: the autoencoder is better)."""
        return self.pca_mse / max(self.autoencoder_mse, np.finfo(float).tiny)

    def summary(self) -> str:
        return (
            f"held-out reconstruction error, K = {self.latent_dim} "
            f"({self.n_train} train / {self.n_test} test rows):\n"
            f"  autoencoder  MSE {self.autoencoder_mse:.5g}  "
            f"SSE/row {self.autoencoder_sse:.5g}\n"
            f"  PCA          MSE {self.pca_mse:.5g}  SSE/row {self.pca_sse:.5g}\n"
            f"  PCA / autoencoder = {self.ratio:.3g}"
        )


def compare_with_pca(
    X: Any,
    latent_dim: int,
    *,
    model: Any = None,
    X_test: Any = None,
    test_size: float = 0.2,
    random_state: int | None = 0,
) -> PCAComparison:
    """Fit an autoencoder and a PCA with ``latent_dim`` components on the same
    training rows and report both reconstruction errors on held-out rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    latent_dim : int
        Code size of the autoencoder and number of PCA components.
    model : autoencoder estimator or None, default=None
        Cloned and fitted with ``latent_dim`` set; None is
        ``Autoencoder(latent_dim=latent_dim, random_state=random_state)``.
    X_test : array-like or None, default=None
        Held-out rows; None holds out ``test_size`` of ``X`` at random.
    test_size : float, default=0.2
    random_state : int or None, default=0

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from aekit.compare import compare_with_pca
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> model = aekit.Autoencoder((16,), max_epochs=5, random_state=0)
    >>> result = compare_with_pca(X, 2, model=model)
    >>> result.n_test, result.pca.n_components
    (60, 2)
    """
    latent_dim = v.check_int("latent_dim", latent_dim)
    X = check_array(X, dtype=[np.float64, np.float32])
    if X_test is None:
        v.check_float("test_size", test_size, low_open=True, high=1.0)
        X, X_test = train_test_split(X, test_size=test_size, random_state=random_state)
    X_test = check_array(X_test, dtype=[np.float64, np.float32])
    if latent_dim > min(X.shape):
        raise ValueError(
            f"latent_dim={latent_dim} exceeds min(n_train, n_features) = "
            f"{min(X.shape)}, the most PCA components this data allows."
        )
    base = Autoencoder(random_state=random_state) if model is None else model
    ae = clone(base).set_params(latent_dim=latent_dim).fit(X)
    pca = PCA(latent_dim, random_state=random_state).fit(X)
    ae_err = (np.asarray(ae.reconstruct(X_test), np.float64) - X_test) ** 2
    pca_err = (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2
    return PCAComparison(
        latent_dim=latent_dim,
        n_train=len(X),
        n_test=len(X_test),
        autoencoder_mse=float(ae_err.mean()),
        pca_mse=float(pca_err.mean()),
        autoencoder_sse=float(ae_err.sum(axis=1).mean()),
        pca_sse=float(pca_err.sum(axis=1).mean()),
        autoencoder=ae,
        pca=pca,
    )
