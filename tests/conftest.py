"""Shared fixtures: small data and one quick instance of every registered model."""

import numpy as np
import pytest
import torch

import aekit
from aekit.registry import input_kind

# Tiny models gain nothing from a second thread, and two threads slow down badly
# when the cores are shared (e.g. pytest beside another job).
torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption(
        "--slow", action="store_true", help="also run tests marked slow (CI does)"
    )


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (end-to-end runs of several seconds) run only with
    ``--slow``, so ``make test`` stays quick; CI runs them (``make test-slow``)."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


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
def small_images(n: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` flat 8x8 grey images in [0, 1]: smooth blobs plus a little noise."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1, 1, 8)
    centres = rng.uniform(-0.5, 0.5, size=(n, 2, 1, 1))
    d2 = (grid[None, None, :] - centres[:, 0]) ** 2
    d2 = d2 + (grid[None, :, None] - centres[:, 1]) ** 2
    images = np.exp(-d2 / 0.2) + 0.05 * rng.random((n, 8, 8))
    return (images / images.max()).reshape(n, 64)


MODEL_CASES = {
    "conv": (
        aekit.ConvAutoencoder(channels=(4, 8), latent_dim=3, noise=0.1, **FAST),
        small_images(),
    ),
    "convvae": (
        aekit.ConvVAE(channels=(4, 8), latent_dim=2, **FAST),
        small_images(),
    ),
    "vae": (aekit.VAE(hidden_dims=(8,), latent_dim=2, **FAST), small_tabular()),
    "autoencoder": (
        aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, **FAST),
        small_tabular(),
    ),
}


def small_ratings(n_users: int = 24, n_items: int = 12, seed: int = 0):
    """(user, item, rating) rows of a rank-2 matrix of ratings in [1, 5], about 60%
    observed. Numeric ids (users 10, 20, ...: not contiguous) so that the shared
    NaN check can edit the table as an array."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    full = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items))
    full = np.clip(np.round(3 + full), 1, 5)
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.6)
    return pd.DataFrame(
        {"user": 10 * (users + 1), "item": items, "rating": full[users, items]}
    )


def _top_items(estimator, X):
    """Top-5 items and their scores for the training users (recommenders)."""
    rec = estimator.recommend(np.unique(np.asarray(X)[:, 0]), k=5)
    return np.hstack([rec.items.astype(float), rec.scores])


# Recommenders are fitted on ratings tables and have no transform: their case
# carries a third element, the output compared across save/load (test_registry).
MODEL_CASES.update(
    {
        "autorec": (
            aekit.AutoRec(8, **FAST),
            small_ratings(),
            lambda est, X: est.predict(X),
        ),
        "multvae": (aekit.MultVAE((8,), 2, **FAST), small_ratings(), _top_items),
        "multdae": (aekit.MultDAE((8,), 2, **FAST), small_ratings(), _top_items),
        "ease": (aekit.EASE(l2=1.0, device="cpu"), small_ratings(), _top_items),
        "recvae": (aekit.RecVAE((8, 8), 2, **FAST), small_ratings(), _top_items),
    }
)

# The anomaly detector has no transform: its scores are compared across save/load.
MODEL_CASES["detector"] = (
    aekit.AnomalyDetector(
        aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, **FAST), contamination=0.1
    ),
    small_tabular(),
    lambda est, X: est.decision_function(X),
)

# The imputer is compared on data with holes: what it fills must survive save/load.
_holes = small_tabular()
_holes[np.random.default_rng(0).random(_holes.shape) < 0.1] = np.nan
MODEL_CASES["imputer"] = (
    aekit.AutoencoderImputer(aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, **FAST)),
    _holes,
    lambda est, X: est.transform(X),
)


def small_series(n: int = 160, seed: int = 0) -> np.ndarray:
    """Two channels of a period-16 wave with a little noise, (n, 2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    waves = np.column_stack([np.sin(2 * np.pi * t / 16), np.cos(2 * np.pi * t / 16)])
    return waves + 0.05 * rng.normal(size=(n, 2))


# The 1-D convolutional window model: each row a window of one channel.
MODEL_CASES["conv-window"] = (
    aekit.WindowConvAutoencoder((4,), 2, **FAST),
    small_tabular(),
    lambda est, X: est.transform(X),
)

# The LSTM window model: each row a window of one channel.
MODEL_CASES["lstm-window"] = (
    aekit.WindowLSTMAutoencoder((4,), 2, **FAST),
    small_tabular(),
    lambda est, X: est.transform(X),
)

# The series detector scores points: its scores are compared across save/load.
MODEL_CASES["series"] = (
    aekit.SeriesDetector(window=8, max_epochs=3, random_state=0, device="cpu"),
    small_series(),
    lambda est, X: est.decision_function(X),
)


# scikit-learn's check_estimator feeds 2-D feature matrices and expects fit/
# transform/predict on them; recommenders take (user, item, rating) tables, so
# its checks do not apply to them (the shared suite in test_registry does).
class LabelFreeDetector(aekit.AnomalyDetector):
    """`AnomalyDetector` for scikit-learn's checks, which pass class labels
    (0, 1, 2...) as ``y`` to every ``fit``: the detector reads ``y`` as partial
    anomaly labels and refuses them (tests/test_labels.py covers that path), so
    here ``fit`` drops ``y`` and every other check still runs."""

    def fit(self, X, y=None):
        return super().fit(X)


def _for_checks(estimator):
    if type(estimator) is aekit.AnomalyDetector:
        return LabelFreeDetector(**estimator.get_params(deep=False))
    return estimator


CHECK_INSTANCES = [
    case[0] for case in MODEL_CASES.values() if input_kind(type(case[0])) != "ratings"
] + [
    # scikit-learn's checks that once failed, kept so they cannot come back: a
    # detector whose inner model has no random_state (check_fit_idempotent) and
    # a VAE's ELBO scores in any batch (check_methods_subset_invariance)
    aekit.AnomalyDetector(
        aekit.Autoencoder((8,), 2, max_epochs=3, batch_size=32, device="cpu"),
        random_state=0,
    ),
    aekit.VAE(max_epochs=2, latent_dim=2, device="cpu"),
]
CHECK_INSTANCES = [_for_checks(e) for e in CHECK_INSTANCES]


def expected_failures(estimator) -> dict[str, str]:
    """scikit-learn checks an estimator is known to fail, each with its reason."""
    failures: dict[str, str] = {}
    if isinstance(estimator, aekit.ConvAutoencoder | aekit.ConvVAE):
        failures["check_methods_sample_order_invariance"] = (
            "CPU (oneDNN) convolutions vectorise across the batch, so a float32 "
            "result can change by ~1e-8 with the sample's position in the batch; "
            "the check allows 1e-9 (subset invariance, at 1e-7, passes)."
        )
    if isinstance(estimator, aekit.AnomalyDetector):
        reason = (
            "PyOD's contract: predict/fit_predict return 1 = anomaly, 0 = normal; "
            "scikit-learn's outlier checks expect -1 = outlier, +1 = inlier."
        )
        failures["check_outliers_fit_predict"] = reason
        failures["check_outliers_train"] = reason
    if isinstance(estimator, aekit.SeriesDetector):
        failures.update(SERIES_FAILURES)
    return failures


# A series detector's rows are time points in order: a point's score depends on
# the points before it, and a series needs more points than its window.
_order = "rows are time points: a point's score depends on the points before it"
_short = "a series needs more points than its window (window=8 here)"
SERIES_FAILURES = {
    "check_outliers_fit_predict": "PyOD's 0/1 labels (see AnomalyDetector)",
    "check_outliers_train": _short + "; PyOD's 0/1 labels",
    "check_methods_sample_order_invariance": _order,
    "check_methods_subset_invariance": _order + "; " + _short,
    "check_fit1d": "a 1-D array is a univariate series, not an error",
    "check_fit2d_predict1d": "a 1-D array is a univariate series; its channel "
    "count is checked against the fit (the message names both)",
}


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


def assert_picture(path, min_pixels: int = 100) -> np.ndarray:
    """``path`` is a PNG that draws something: readable, at least ``min_pixels`` on
    each side, and not one flat colour. Returns its pixels."""
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) >= min_pixels
    assert pixels[..., :3].std() > 0.02, "the picture is (almost) one flat colour"
    return pixels
