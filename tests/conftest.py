"""Shared fixtures: small data and one quick instance of every registered model."""

import numpy as np
import pytest

import aekit

# Quick settings so the suites run in seconds on 2 cores.
FAST = dict(max_epochs=3, batch_size=32, random_state=0, device="cpu")


def small_tabular(n: int = 64, d: int = 8, seed: int = 0) -> np.ndarray:
    """Rank-3 data plus a little noise."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) @ rng.normal(size=(3, d)) + 0.05 * rng.normal(
        size=(n, d)
    )


# name -> (quick instance, training data): every registered estimator needs one,
# so the shared suite (API, save/load, bad input) covers it. See test_registry.py.
MODEL_CASES = {
    "autoencoder": (
        aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, **FAST),
        small_tabular(),
    ),
}

CHECK_INSTANCES = [case[0] for case in MODEL_CASES.values()]


def expected_failures(estimator) -> dict[str, str]:
    """scikit-learn checks an estimator is known to fail, each with its reason."""
    return {}


@pytest.fixture(scope="session")
def tabular():
    """240 x 12 rank-3 data with small noise."""
    return small_tabular(240, 12)


@pytest.fixture(scope="session")
def curve():
    """A one-dimensional nonlinear curve in 10-D: one latent unit suffices for an
    autoencoder, while PCA needs many components."""
    rng = np.random.default_rng(1)
    t = rng.uniform(-np.pi, np.pi, size=(600, 1))
    freqs = np.arange(1, 6)
    X = np.hstack([np.sin(freqs * t), np.cos(freqs * t)])
    return X + 0.01 * rng.normal(size=X.shape)
