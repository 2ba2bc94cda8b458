"""A scikit-learn forest as arrays (aekit.estimators._trees): the NumPy scoring
reproduces predict_proba, and the arrays survive safetensors."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from aekit.estimators._trees import ForestArrays, forest_arrays


def few_positives(seed=0, n=600, d=5, k=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, int)
    y[:k] = 1
    X[:k] += 2.0
    return X, y


FORESTS = {
    "extra_leaf20": lambda: ExtraTreesClassifier(
        50, min_samples_leaf=20, class_weight="balanced_subsample", random_state=0
    ),
    "extra_full": lambda: ExtraTreesClassifier(30, random_state=0),
    "random_forest": lambda: RandomForestClassifier(
        30, max_depth=6, class_weight="balanced_subsample", random_state=0
    ),
}


@pytest.mark.parametrize("name", sorted(FORESTS))
def test_arrays_reproduce_predict_proba(name):
    X, y = few_positives()
    forest = FORESTS[name]().fit(X, y)
    arrays = forest_arrays(forest)
    rng = np.random.default_rng(1)
    # new rows, far rows, and rows exactly on thresholds (the float32 compare)
    X_new = np.vstack([rng.normal(size=(300, 5)), 5 * rng.normal(size=(50, 5))])
    on_split = np.tile(X_new[:1], (len(arrays.threshold), 1))
    inner = arrays.left != -1
    on_split[np.flatnonzero(inner), arrays.feature[inner]] = arrays.threshold[inner]
    for rows in (X, X_new, on_split):
        expected = forest.predict_proba(rows)[:, 1]
        np.testing.assert_allclose(arrays.predict_proba(rows), expected, atol=1e-9)
    assert arrays.roots.shape == (len(forest.estimators_),)


def test_arrays_round_trip_through_safetensors(tmp_path):
    X, y = few_positives()
    arrays = forest_arrays(FORESTS["extra_leaf20"]().fit(X, y))
    names = ("left", "right", "feature", "threshold", "value", "roots")
    save_file({k: getattr(arrays, k) for k in names}, tmp_path / "f.safetensors")
    loaded = load_file(tmp_path / "f.safetensors")
    again = ForestArrays(*(loaded[k] for k in names))
    np.testing.assert_array_equal(again.predict_proba(X), arrays.predict_proba(X))


def test_a_forest_of_other_classes_is_refused():
    X, y = few_positives()
    forest = ExtraTreesClassifier(5, random_state=0).fit(X, y + 1)
    with pytest.raises(ValueError, match=r"classes \[0, 1\], got \[1, 2\]"):
        forest_arrays(forest)


def test_rows_must_be_a_table():
    X, y = few_positives()
    arrays = forest_arrays(FORESTS["extra_full"]().fit(X, y))
    with pytest.raises(ValueError, match="X must be 2-D"):
        arrays.predict_proba(X[0])
