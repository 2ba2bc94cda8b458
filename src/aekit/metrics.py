"""Evaluation metrics: plain functions of arrays, tested against hand-computed
values. Reconstruction errors and PSNR; for recommenders, rating errors and top-k
ranking quality as in Liang et al. 2018 (https://arxiv.org/abs/1802.05814)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from aekit.data.splits import (
    strong_generalization_split as strong_generalization_split,
)


def reconstruction_mse(X: np.ndarray, X_hat: np.ndarray) -> np.ndarray:
    """Per-sample mean squared error between ``X`` and its reconstruction, shape
    (n,)."""
    X, X_hat = np.asarray(X, dtype=np.float64), np.asarray(X_hat, dtype=np.float64)
    if X.shape != X_hat.shape:
        raise ValueError(f"shapes differ: X {X.shape} vs X_hat {X_hat.shape}")
    return ((X - X_hat) ** 2).reshape(len(X), -1).mean(axis=1)


def psnr(X: np.ndarray, X_hat: np.ndarray, *, peak: float = 1.0) -> np.ndarray:
    """Per-image peak signal-to-noise ratio in dB, shape (n,)."""
    mse = reconstruction_mse(X, X_hat)
    return 10.0 * np.log10(peak**2 / np.maximum(mse, 1e-20))


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


def _ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user NDCG@k, shape (n_users,): the one computation of discounts and
    ideal DCG behind `ndcg_at_k` and `ndcg_of_scores`.

    ``hits[u, r - 1]`` says whether user u's item at rank r is relevant (at most
    k columns); ``n_relevant[u]`` counts u's relevant items. NaN for users with
    none.
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    n_rel = np.minimum(n_relevant, k)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[n_rel]
    dcg = hits @ discounts[: hits.shape[1]]
    out = np.full(len(n_rel), np.nan)
    has = n_rel > 0
    out[has] = dcg[has] / ideal[has]
    return out


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
    hits = np.zeros((len(recs), max(map(len, recs), default=0)), dtype=bool)
    for u, (items, rel) in enumerate(zip(recs, sets, strict=True)):
        hits[u, : len(items)] = [item in rel for item in items]
    return _ndcg(hits, np.array([len(rel) for rel in sets], dtype=np.int64), k)


def ndcg_of_scores(scores: torch.Tensor, targets: sp.csr_matrix, k: int) -> float:
    """Mean NDCG@k of the items ranked by each row of ``scores`` against the binary
    target rows of ``targets``, over the users with targets (as `ndcg_at_k`; for
    early stopping on held-out users)."""
    k = min(k, scores.shape[1])
    top = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    n_items = targets.shape[1]
    coo = targets.tocoo()
    keys = coo.row.astype(np.int64) * n_items + coo.col
    hits = np.isin(np.arange(len(top))[:, None] * n_items + top, keys)
    n_relevant = np.diff(targets.indptr)
    return float(np.mean(_ndcg(hits, n_relevant, k)[n_relevant > 0]))


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


def usable_scale(scale: Any, magnitude: Any, rtol: float) -> np.ndarray:
    """``scale`` where it exceeds ``rtol * max(1, |magnitude|)``, else 1: the
    spread of a constant column, or of copies of one row, is rounding error
    (~1e-17 of the values), and dividing by it would blow last-bit differences
    up to large numbers.

    Examples
    --------
    >>> usable_scale(np.array([2.0, 1e-17]), np.array([5.0, 5.0]), 1e-9).tolist()
    [2.0, 1.0]
    """
    floor = rtol * np.maximum(1.0, np.abs(magnitude))
    return np.where(scale > floor, scale, 1.0)


def median_mad(values: np.ndarray) -> tuple[Any, Any]:
    """Median and median absolute deviation along the first axis."""
    median = np.median(values, axis=0)
    return median, np.median(np.abs(values - median), axis=0)
