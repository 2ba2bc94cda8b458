"""Recommender metrics (re-exported by `aekit.metrics`): rating errors, top-k
ranking quality as in Liang et al. 2018 (https://arxiv.org/abs/1802.05814), and
their strong-generalisation split."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aekit.data.ratings import ratings_columns


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(
            f"need two non-empty arrays of one length, got {t.size}, {p.size}"
        )
    return t, p


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error of predicted ratings.

    Examples
    --------
    >>> rmse([4, 3, 5], [3.5, 3, 4])
    0.6454972243679028
    """
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error of predicted ratings.

    Examples
    --------
    >>> mae([4, 3, 5], [3.5, 3, 4])
    0.5
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def _lists(
    recommended: Any, relevant: Sequence[Iterable[Any]], k: int
) -> tuple[list[list[Any]], list[set[Any]]]:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    recs = [list(row)[:k] for row in recommended]
    sets = [set(np.asarray(list(r), dtype=object).tolist()) for r in relevant]
    if len(recs) != len(sets):
        raise ValueError(
            f"recommended has {len(recs)} users but relevant has {len(sets)}"
        )
    return recs, sets


def ndcg_at_k(
    recommended: Any, relevant: Sequence[Iterable[Any]], k: int
) -> np.ndarray:
    """Per-user NDCG@k with binary relevance, shape (n_users,).

    DCG@k = sum over ranks r = 1..k of rel_r / log2(r + 1), divided by the DCG of
    an ideal list of min(k, n_relevant) hits (Liang et al. 2018, eq. 8). Users
    with no relevant items get NaN (leave them out of the mean).

    Parameters
    ----------
    recommended : sequence of sequences
        Ranked item ids per user, best first (e.g. ``recommend(...).items``).
    relevant : sequence of iterables
        Held-out item ids per user.
    k : int

    Examples
    --------
    >>> ndcg_at_k([["a", "b", "c"]], [{"b"}], k=3)  # 1/log2(3)
    array([0.63092975])
    """
    recs, sets = _lists(recommended, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    out = np.full(len(recs), np.nan)
    for u, (items, rel) in enumerate(zip(recs, sets, strict=True)):
        if rel:
            hits = np.array([item in rel for item in items], dtype=float)
            ideal = discounts[: min(k, len(rel))].sum()
            out[u] = float(hits @ discounts[: len(hits)]) / ideal
    return out


def recall_at_k(
    recommended: Any, relevant: Sequence[Iterable[Any]], k: int
) -> np.ndarray:
    """Per-user Recall@k as Liang et al. 2018 (eq. 7): hits in the top k divided by
    min(k, n_relevant), so a perfect list scores 1. NaN for users with none.

    Examples
    --------
    >>> recall_at_k([[1, 2, 3, 4]], [{2, 4, 9}], k=2)  # 1 hit / min(2, 3)
    array([0.5])
    """
    recs, sets = _lists(recommended, relevant, k)
    out = np.full(len(recs), np.nan)
    for u, (items, rel) in enumerate(zip(recs, sets, strict=True)):
        if rel:
            out[u] = sum(item in rel for item in items) / min(k, len(rel))
    return out


def strong_generalization_split(
    ratings: pd.DataFrame,
    *,
    test_users: float = 0.2,
    fold_in: float = 0.8,
    user_col: Any = None,
    item_col: Any = None,
    random_state: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split interactions by user, as Liang et al. 2018: ``(train, fold_in,
    target)``.

    A random ``test_users`` fraction of users (rounded, at least one) is held out
    entirely; ``train`` has every row of the other users. Each held-out user's rows
    are shuffled and the first ``floor(fold_in * n)`` (at least 1 and at most
    n - 1 when n >= 2) go to ``fold_in`` (the history the model sees), the rest to
    ``target`` (what it should recommend). Items that only held-out users have are
    dropped from ``fold_in`` and ``target``: no model could recommend them.

    Examples
    --------
    >>> df = pd.DataFrame({"user": [1] * 5 + [2] * 5, "item": list(range(10))})
    >>> train, hist, target = strong_generalization_split(df, test_users=0.5)
    >>> len(train), len(hist) + len(target) <= 5
    (5, True)
    """
    if not 0 < test_users < 1 or not 0 < fold_in < 1:
        raise ValueError(
            f"test_users and fold_in must be in (0, 1), got {test_users}, {fold_in}"
        )
    u_col, i_col, _ = ratings_columns(ratings, user_col, item_col, None)
    rng = np.random.default_rng(random_state)
    users = pd.unique(ratings[u_col])
    n_test = min(len(users) - 1, max(1, round(test_users * len(users))))
    held = set(rng.permutation(users)[:n_test].tolist())
    is_held = ratings[u_col].isin(held).to_numpy()
    train, test = ratings[~is_held], ratings[is_held]
    test = test[test[i_col].isin(set(train[i_col].tolist()))]
    test = test.iloc[rng.permutation(len(test))]
    rank = test.groupby(u_col, sort=False).cumcount().to_numpy()
    n = test.groupby(u_col, sort=False)[i_col].transform("size").to_numpy()
    n_fold = np.clip(np.floor(fold_in * n), 1, np.maximum(n - 1, 1))
    to_fold = rank < n_fold
    return train, test[to_fold].sort_index(), test[~to_fold].sort_index()
