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


def held_out_users(
    users: np.ndarray,
    n_users: int,
    n_held: int,
    fold_in: float,
    rng: np.random.Generator,
    items: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out-user split of Liang et al. 2018, on interaction arrays: the one
    implementation behind `strong_generalization_split` and `split_users`.

    Parameters
    ----------
    users : int array, shape (n_interactions,)
        The user, 0 .. n_users - 1, of each interaction.
    n_users, n_held : int
        ``n_held`` random users of ``n_users`` are held out (the first draw of
        ``rng``).
    fold_in : float in (0, 1)
    rng : numpy Generator
        Its second draw shuffles the held-out users' interactions.
    items : int array, shape (n_interactions,), optional
        When given, held-out interactions with items that no other user has are
        dropped: no model could recommend them.

    Returns
    -------
    held : bool array, shape (n_users,)
    fold, target : int arrays
        Positions of held-out interactions, shuffled. Of each user's ``n``, the
        first ``floor(fold_in * n)`` (at least 1, at most n - 1 when n >= 2) are
        in ``fold`` (the history a model sees), the rest in ``target``.
    """
    held = np.zeros(n_users, dtype=bool)
    held[rng.permutation(n_users)[:n_held]] = True
    candidates = np.flatnonzero(held[users])
    if items is not None:
        seen = items[~held[users]]
        candidates = candidates[np.isin(items[candidates], seen)]
    order = candidates[rng.permutation(len(candidates))]
    groups = users[order]
    by_user = np.argsort(groups, kind="stable")
    rank = np.empty(len(order), np.int64)  # of each entry within its user
    ranked = groups[by_user]
    rank[by_user] = np.arange(len(order)) - np.searchsorted(ranked, ranked)
    n = np.bincount(groups, minlength=n_users)[groups]
    to_fold = rank < np.clip(np.floor(fold_in * n), 1, np.maximum(n - 1, 1))
    return held, order[to_fold], order[~to_fold]


def split_users(
    M: sp.csr_matrix, fraction: float, seed: int, fold_in: float = 0.8
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """``(training rows, fold-in rows, target rows)`` of a user-by-item matrix: a
    random ``ceil(fraction * n_users)`` users are held out (see `held_out_users`),
    their fold-in and target entries set to 1."""
    n_held = math.ceil(fraction * M.shape[0])
    coo = M.tocoo()
    rng = np.random.default_rng(seed)
    held, fold, target = held_out_users(coo.row, M.shape[0], n_held, fold_in, rng)
    held_rows = np.flatnonzero(held)

    def part(entries: np.ndarray) -> sp.csr_matrix:
        rows = np.searchsorted(held_rows, coo.row[entries])
        ones = np.ones(len(entries), np.float32)
        return sp.csr_matrix(
            (ones, (rows, coo.col[entries])), shape=(n_held, M.shape[1])
        )

    return M[np.flatnonzero(~held)], part(fold), part(target)


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
    users, labels = pd.factorize(ratings[u_col], use_na_sentinel=False)
    items = pd.factorize(ratings[i_col], use_na_sentinel=False)[0]
    n_test = min(len(labels) - 1, max(1, round(test_users * len(labels))))
    rng = np.random.default_rng(random_state)
    held, fold, target = held_out_users(users, len(labels), n_test, fold_in, rng, items)
    train = ratings[~held[users]]
    return train, ratings.iloc[fold].sort_index(), ratings.iloc[target].sort_index()
