"""`errors_and_codes`: the tabular autoencoders' public float64 scoring, which the
anomaly detector uses instead of reaching into the model."""

import numpy as np
import pytest
import torch

import aekit
from tests.conftest import FAST, small_tabular

X = small_tabular(80, 6)


@pytest.fixture(
    scope="module",
    params=[
        aekit.Autoencoder((8,), 2, batch_norm=True, **FAST),
        aekit.VAE((8,), 2, **FAST),
    ],
    ids=["autoencoder", "vae"],
)
def model(request):
    return request.param.fit(X)


def test_matches_the_float32_methods(model):
    errors, codes = model.errors_and_codes(X)
    assert errors.dtype == codes.dtype == np.float64
    assert errors.shape == (len(X),) and codes.shape == (len(X), model.latent_dim)
    # float32 results differ only by float32 rounding
    np.testing.assert_allclose(
        errors, model.reconstruction_error(X, scaled=True), rtol=1e-4, atol=1e-7
    )
    np.testing.assert_allclose(codes, model.transform(X), rtol=1e-4, atol=1e-6)


def test_float64_rows_do_not_depend_on_their_batch(model):
    errors, codes = model.errors_and_codes(X)
    for i in (0, 17, 79):
        e, c = model.errors_and_codes(X[i : i + 1])
        np.testing.assert_allclose(e, errors[i : i + 1], rtol=1e-12, atol=0)
        np.testing.assert_allclose(c, codes[i : i + 1], rtol=1e-12, atol=1e-15)


def test_other_dtypes_and_the_fitted_module_is_untouched(model):
    errors, codes = model.errors_and_codes(X, dtype=torch.float32)
    assert errors.dtype == codes.dtype == np.float32
    assert next(model.module_.parameters()).dtype == torch.float32
    np.testing.assert_allclose(
        errors, model.reconstruction_error(X, scaled=True), rtol=1e-5
    )


def test_detector_scores_through_the_public_method(monkeypatch):
    calls = []
    original = aekit.Autoencoder.errors_and_codes

    def spy(self, data, **kwargs):
        calls.append((len(data), kwargs))
        return original(self, data, **kwargs)

    monkeypatch.setattr(aekit.Autoencoder, "errors_and_codes", spy)
    det = aekit.AnomalyDetector(aekit.Autoencoder((8,), 2, **FAST)).fit(X)
    det.decision_function(X[:5])
    assert calls == [(len(X), {"dtype": torch.float64}), (5, {"dtype": torch.float64})]
