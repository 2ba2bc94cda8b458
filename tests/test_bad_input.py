"""Bad input: a clear ValueError or TypeError naming the problem, and never a
half-fitted estimator left behind."""

import math
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import aekit
from aekit import _validation as v
from aekit.exceptions import TrainingError
from tests.conftest import MODEL_CASES

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
        (np.array([[np.nan, np.nan], [2.0, 3.0], [4.0, 5.0]]), "every cell missing"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 5.0]]), "infinity"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
        (np.array([[1 + 2j, 1], [2, 3j]]), "[Cc]omplex"),
        (np.ones((1, 4)), "1 sample"),
    ],
    ids=["empty", "1-D", "all-nan-row", "inf", "strings", "complex", "one-sample"],
)
def test_bad_data(data, match):
    assert_refused(aekit.Autoencoder(max_epochs=1), data, ValueError, match)


def test_object_array_of_strings():
    data = np.array([[1.0, "x"], [2.0, "y"], [3.0, "z"]], dtype=object)
    assert_refused(aekit.Autoencoder(max_epochs=1), data, ValueError, "convert")


def test_too_few_samples_for_validation_split():
    assert_refused(
        aekit.Autoencoder(latent_dim=2, max_epochs=1, validation_fraction=0.5),
        X[:3],
        ValueError,
        "too few samples for early stopping.*validation_fraction=0.5",
    )
    # the same data trains without the split
    aekit.Autoencoder(latent_dim=2, max_epochs=1, early_stopping=False).fit(X[:3])


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
        (
            dict(batch_size=0),
            ValueError,
            "batch_size must be 'auto' or an int >= 1, got 0",
        ),
        (dict(batch_size=-5), ValueError, "batch_size must be 'auto' or an int >= 1"),
        (dict(learning_rate=0), ValueError, "learning_rate must be in"),
        (dict(max_epochs=0), ValueError, "max_epochs must be"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be"),
        (dict(patience=0), ValueError, "patience must be"),
        (dict(gradient_clip=0.0), ValueError, "gradient_clip must be"),
        (dict(scaling="robust"), ValueError, "scaling must be one of"),
        (dict(hidden_dims=(8, 0)), ValueError, r"hidden_dims\[1\] must be an int"),
        (dict(hidden_dims="64"), TypeError, "hidden_dims must be 'auto' or a sequence"),
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


# -- every declared parameter constraint of every registered estimator ------------


def bad_values(constraint: v.Constraint) -> list:
    """Values ``constraint`` refuses: one of a wrong type and, where it has
    bounds, one just outside each."""
    if isinstance(constraint, v.Optional):
        return bad_values(constraint.inner)
    if isinstance(constraint, v.Auto):
        return ["Auto", *bad_values(constraint.inner)]
    if isinstance(constraint, v.Int):
        return [2.5, constraint.low - 1]
    if isinstance(constraint, v.Real):
        values: list = ["high"]
        if math.isfinite(constraint.low):
            values.append(constraint.low - (0 if constraint.low_open else 1))
        if math.isfinite(constraint.high):
            values.append(constraint.high + (0 if constraint.high_open else 1))
        return values
    if isinstance(constraint, v.Choice):
        return ["no-such-choice"]
    if isinstance(constraint, v.Bool):
        return ["yes", 2]
    if isinstance(constraint, v.Sizes):
        return ["64", (8, 0)]
    if isinstance(constraint, v.InstancesOf):
        return [constraint.cls(), ["not an instance"]]
    if isinstance(constraint, v.ColumnName):
        return [1.5]
    raise TypeError(f"add the bad values of {constraint!r} to this test")


def _constraints(name):
    return v.parameter_constraints(type(MODEL_CASES[name][0]))


BAD_PARAMETERS = [
    (name, param, value)
    for name in sorted(MODEL_CASES)
    for param, constraint in _constraints(name).items()
    for value in bad_values(constraint)
]


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_constraints_name_real_parameters(name):
    params = MODEL_CASES[name][0].get_params(deep=False)
    assert set(_constraints(name)) <= set(params)


@pytest.mark.parametrize(
    "name,param,value",
    BAD_PARAMETERS,
    ids=[f"{n}-{p}={value!r}" for n, p, value in BAD_PARAMETERS],
)
def test_every_declared_constraint_refuses_a_bad_value(name, param, value):
    estimator, data = MODEL_CASES[name][:2]
    bad = clone(estimator).set_params(**{param: value})
    match = rf"^{re.escape(param)}(\[\d+\])? must "
    assert_refused(bad, data, (ValueError, TypeError), match)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in sorted(MODEL_CASES)
        if "device" in MODEL_CASES[n][0].get_params(deep=False)
    ],
)
def test_every_estimator_refuses_an_unknown_device(name):
    # a rule of the base class (`_check_param_rules`), not a table entry
    estimator, data = MODEL_CASES[name][:2]
    bad = clone(estimator).set_params(device="tpu")
    assert_refused(bad, data, ValueError, "^device must be 'auto'")
