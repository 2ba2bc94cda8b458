"""Recommender metrics against values computed by hand, and the Liang et al.
strong-generalisation split."""

import math

import numpy as np
import pandas as pd
import pytest

from aekit.metrics import (
    mae,
    ndcg_at_k,
    recall_at_k,
    rmse,
    strong_generalization_split,
)


def test_rmse_and_mae_by_hand():
    # errors 0.5, 0, 1: squared mean 1.25 / 3, absolute mean 0.5
    assert rmse([4, 3, 5], [3.5, 3, 4]) == pytest.approx(math.sqrt(1.25 / 3))
    assert mae([4, 3, 5], [3.5, 3, 4]) == pytest.approx(0.5)
    assert rmse([2.0], [2.0]) == 0.0


def test_rating_errors_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="one length"):
        rmse([1, 2], [1])


def test_ndcg_by_hand():
    # hits at ranks 2 and 4 of 4; 3 relevant items, so the ideal has 3 hits
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    got = ndcg_at_k([["a", "b", "c", "d"]], [{"b", "d", "e"}], k=4)
    assert got[0] == pytest.approx(dcg / idcg)  # 0.4982
    # at k=2 only the hit at rank 2 counts; the ideal has min(2, 3) = 2 hits
    got = ndcg_at_k([["a", "b", "c", "d"]], [{"b", "d", "e"}], k=2)
    assert got[0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_ndcg_perfect_empty_and_short_lists():
    assert ndcg_at_k([[1, 2, 3]], [[2, 1]], k=3)[0] == pytest.approx(1.0)
    assert ndcg_at_k([[7, 8]], [{1}], k=2)[0] == 0.0
    assert np.isnan(ndcg_at_k([[1, 2]], [set()], k=2)[0])
    # a list shorter than k is scored as if padded with misses
    assert ndcg_at_k([[5]], [{5}], k=10)[0] == pytest.approx(1.0)


def test_recall_is_normalised_by_min_k_and_relevant():
    recs = [[1, 2, 3, 4], [9, 8, 7, 6]]
    relevant = [{2, 4, 10}, {6}]
    # user 0: 1 hit in top 2, min(2, 3) = 2 -> 0.5; user 1: no hit in top 2
    np.testing.assert_allclose(recall_at_k(recs, relevant, k=2), [0.5, 0.0])
    # user 0: 2 hits in top 4 / min(4, 3); user 1: 1 hit / min(4, 1)
    np.testing.assert_allclose(recall_at_k(recs, relevant, k=4), [2 / 3, 1.0])


def test_ranking_metrics_check_their_arguments():
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k([[1]], [{1}], k=0)
    with pytest.raises(ValueError, match="users"):
        ndcg_at_k([[1], [2]], [{1}], k=1)


def _interactions(n_users=10, n_items=10):
    return pd.DataFrame(
        {
            "user": np.repeat(np.arange(n_users), n_items),
            "item": np.tile(np.arange(n_items), n_users),
        }
    )


def test_strong_generalization_split_by_hand():
    df = _interactions()
    train, fold, target = strong_generalization_split(df, test_users=0.2)
    held = set(fold["user"]) | set(target["user"])
    assert len(held) == 2 and not held & set(train["user"])
    assert len(train) == 80
    # each held-out user: floor(0.8 * 10) = 8 rows to fold in, 2 to predict
    assert (fold.groupby("user").size() == 8).all()
    assert (target.groupby("user").size() == 2).all()
    both = pd.concat([fold, target])
    assert not both.duplicated().any() and len(both) == 20
    again = strong_generalization_split(df, test_users=0.2)
    pd.testing.assert_frame_equal(again[2], target)  # seeded


def test_split_keeps_one_item_each_side_and_drops_unseen_items():
    df = pd.DataFrame({"u": ["a", "a", "b", "b", "b", "c"], "i": [1, 2, 1, 2, 99, 1]})
    # with one user in three held out (rounded), users a, b or c may be chosen
    for seed in range(6):
        train, fold, target = strong_generalization_split(
            df, test_users=0.3, random_state=seed
        )
        assert set(fold["i"]) | set(target["i"]) <= set(train["i"])
        for _, rows in pd.concat([fold, target]).groupby("u"):
            if len(rows) >= 2:
                assert rows.index.isin(fold.index).sum() >= 1
                assert rows.index.isin(target.index).sum() >= 1


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="test_users"):
        strong_generalization_split(_interactions(), test_users=1.5)
