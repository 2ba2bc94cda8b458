"""Random splits of interactions for validation: held-out ratings (rating
prediction) and held-out users (top-k recommendation, Liang et al. 2018)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aekit.data.ratings import ratings_columns


def split_ratings(
    M: sp.csr_matrix, fraction: float, seed: int
) -> tuple[sp.csr_matrix, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(M without a random ceil(fraction * nnz) entries, (rows, cols, values) of
    those entries)``."""
    coo = M.tocoo()
    perm = np.random.default_rng(seed).permutation(coo.nnz)
    held, kept = (
        perm[: math.ceil(fraction * coo.nnz)],
        perm[math.ceil(fraction * coo.nnz) :],
    )
    train = sp.csr_matrix(
        (coo.data[kept], (coo.row[kept], coo.col[kept])), shape=M.shape
    )
    return train, (coo.row[held], coo.col[held], coo.data[held])


def split_users(
    M: sp.csr_matrix, fraction: float, seed: int, fold_in: float = 0.8
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """``(training rows, fold-in rows, target rows)``: a random ``fraction`` of the
    users is held out, each with a random ``fold_in`` share of their items as
    history (at least one) and the rest as targets (Liang et al. 2018)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(M.shape[0])
    n_held = math.ceil(fraction * M.shape[0])
    held = M[np.sort(perm[:n_held])].tocoo()
    order = rng.permutation(held.nnz)
    rows, cols = held.row[order], held.col[order]
    rank = np.empty(held.nnz, np.int64)
    for r in np.unique(rows):  # rank of each entry within its user, 0-based
        at = np.flatnonzero(rows == r)
        rank[at] = np.arange(len(at))
    counts = np.bincount(rows, minlength=n_held)[rows]
    to_fold = rank < np.maximum(1, np.floor(fold_in * counts))
    shape = (n_held, M.shape[1])
    ones = np.ones(held.nnz, np.float32)

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((ones[mask], (rows[mask], cols[mask])), shape=shape)

    return M[np.sort(perm[n_held:])], part(to_fold), part(~to_fold)


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
