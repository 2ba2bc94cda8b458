"""Bad input: a clear ValueError or TypeError naming the problem, and never a
half-fitted estimator left behind."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import aekit
from aekit.exceptions import TrainingError

X = np.random.default_rng(0).normal(size=(50, 4))


def assert_refused(estimator, data, error, match):
    with pytest.raises(error, match=match):
        estimator.fit(data)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    assert not [k for k in vars(estimator) if k.endswith("_")], vars(estimator)


@pytest.mark.parametrize(
    "data,match",
    [
        (np.empty((0, 4)), "0 sample"),
        (np.arange(10.0), "Expected 2D array"),
        (np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]]), "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 5.0]]), "infinity"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
        (np.array([[1 + 2j, 1], [2, 3j]]), "[Cc]omplex"),
        (np.ones((1, 4)), "1 sample"),
    ],
    ids=["empty", "1-D", "nan", "inf", "strings", "complex", "one-sample"],
)
def test_bad_data(data, match):
    assert_refused(aekit.Autoencoder(max_epochs=1), data, ValueError, match)


def test_object_array_of_strings():
    data = np.array([[1.0, "x"], [2.0, "y"], [3.0, "z"]], dtype=object)
    assert_refused(aekit.Autoencoder(max_epochs=1), data, ValueError, "convert")


def test_too_few_samples_for_validation_split():
    assert_refused(
        aekit.Autoencoder(max_epochs=1, validation_fraction=0.5),
        X[:3],
        ValueError,
        "too few samples for early stopping.*validation_fraction=0.5",
    )
    # the same data trains without the split
    aekit.Autoencoder(max_epochs=1, early_stopping=False).fit(X[:3])


@pytest.mark.parametrize(
    "params,error,match",
    [
        (dict(latent_dim=0), ValueError, "latent_dim must be an int >= 1, got 0"),
        (dict(latent_dim=-3), ValueError, "latent_dim must be an int >= 1, got -3"),
        (dict(latent_dim=2.5), TypeError, "latent_dim must be an int"),
        (dict(latent_dim=True), TypeError, "latent_dim must be an int"),
        (dict(dropout=-0.1), ValueError, r"dropout must be in \[0.0, 1.0\), got -0.1"),
        (dict(dropout=1.0), ValueError, "dropout must be in"),
        (dict(noise=-1.0), ValueError, "noise must be in"),
        (dict(noise=1.5, noise_type="mask"), ValueError, "noise must be in"),
        (dict(sparsity=-0.5), ValueError, "sparsity must be in"),
        (dict(contractive=-1.0), ValueError, "contractive must be in"),
        (dict(l2=-1e-3), ValueError, "l2 must be in"),
        (dict(activation="swish"), ValueError, "activation must be one of.*'relu'"),
        (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of.*'adam'"),
        (dict(lr_schedule="cyclic"), ValueError, "lr_schedule must be one of"),
        (dict(batch_size=0), ValueError, "batch_size must be an int >= 1, got 0"),
        (dict(batch_size=-5), ValueError, "batch_size must be an int >= 1"),
        (dict(learning_rate=0), ValueError, "learning_rate must be in"),
        (dict(max_epochs=0), ValueError, "max_epochs must be"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be"),
        (dict(patience=0), ValueError, "patience must be"),
        (dict(gradient_clip=0.0), ValueError, "gradient_clip must be"),
        (dict(scaling="robust"), ValueError, "scaling must be one of"),
        (dict(hidden_dims=(8, 0)), ValueError, r"hidden_dims\[1\] must be an int"),
        (dict(hidden_dims="64"), TypeError, "hidden_dims must be a sequence"),
        (dict(device="tpu"), ValueError, "device must be"),
        (dict(output_activation="softmax"), ValueError, "output_activation must be"),
    ],
)
def test_bad_parameters(params, error, match):
    params = {"max_epochs": 1, **params}
    assert_refused(aekit.Autoencoder(**params), X, error, match)


def test_feature_count_at_transform():
    ae = aekit.Autoencoder((8,), 2, max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="X has 3 features.*expecting 4"):
        ae.transform(X[:, :3])
    with pytest.raises(ValueError, match="latent_dim=2"):
        ae.inverse_transform(np.zeros((2, 5)))


def test_failed_refit_keeps_the_previous_model():
    ae = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0).fit(X)
    codes = ae.transform(X)
    ae.set_params(latent_dim=-1)
    with pytest.raises(ValueError, match="latent_dim"):
        ae.fit(X)
    np.testing.assert_array_equal(ae.transform(X), codes)


def test_divergence_is_a_clear_error():
    data = np.random.default_rng(0).normal(size=(64, 4)) * 1e4
    ae = aekit.Autoencoder(
        (8,), 2, scaling=None, optimizer="sgd", learning_rate=10.0, max_epochs=20
    )
    with pytest.raises(TrainingError, match=r"epoch \d+.*lower learning_rate"):
        ae.fit(data)
    with pytest.raises(NotFittedError):
        check_is_fitted(ae)
