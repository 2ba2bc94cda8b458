"""The shared suite: every registered estimator fits, transforms, round-trips
through save/load and refuses bad input the same way."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import aekit
from tests.conftest import MODEL_CASES


def test_every_registered_model_has_a_case():
    assert sorted(MODEL_CASES) == aekit.registered_names()


def _output(name):
    """What a case compares across save/load: its third element (a function of
    (estimator, X)) when it has one, else ``transform``."""
    case = MODEL_CASES[name]
    return case[2] if len(case) > 2 else (lambda est, X: est.transform(X))


def _params(estimator):
    """Deep parameters, nested estimators compared through their own parameters
    (estimator objects have no value equality)."""
    params = estimator.get_params(deep=True)
    return {k: v for k, v in params.items() if not isinstance(v, BaseEstimator)}


@pytest.fixture(scope="module", params=sorted(MODEL_CASES))
def fitted(request):
    estimator, X = MODEL_CASES[request.param][:2]
    return clone(estimator).fit(X), X, _output(request.param)


def test_fitted_attributes(fitted):
    estimator, X, _ = fitted
    check_is_fitted(estimator)
    assert estimator.n_features_in_ == np.asarray(X).shape[1]
    # best_epoch_ 0: the starting weights won (an Autoencoder's PCA start)
    assert 0 <= estimator.best_epoch_ <= estimator.n_iter_ == len(estimator.history_)
    assert {"epoch", "loss", "lr", "seconds"} <= set(estimator.history_[0])


def test_save_load_round_trip(fitted, tmp_path):
    estimator, X, output = fitted
    estimator.save(tmp_path / "model")
    loaded = aekit.load(tmp_path / "model")
    assert type(loaded) is type(estimator)
    assert _params(loaded) == _params(estimator)
    np.testing.assert_array_equal(output(loaded, X), output(estimator, X))
    assert loaded.history_ == estimator.history_
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_unfitted_use_raises(name):
    estimator, X = MODEL_CASES[name][:2]
    with pytest.raises(NotFittedError):
        _output(name)(clone(estimator), X)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_nan_input_leaves_estimator_unfitted(name):
    """A NaN is refused, or for estimators that mask missing cells (tag
    allow_nan) a row with every cell missing is; an imputer
    (``_fills_empty_rows``) fills such a row instead."""
    estimator, X = MODEL_CASES[name][:2]
    X = np.array(X, dtype=float)
    fresh = clone(estimator)
    masks = fresh.__sklearn_tags__().input_tags.allow_nan
    if masks:
        X[0, :] = np.nan
    else:
        X[0, 0] = np.nan
    if getattr(fresh, "_fills_empty_rows", False):
        assert np.isfinite(_output(name)(fresh.fit(X), X)[0]).all()
        return
    with pytest.raises(ValueError, match="every cell missing" if masks else "NaN"):
        fresh.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
