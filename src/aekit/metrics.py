"""Evaluation metrics: plain functions of arrays, tested against hand-computed
values."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from aekit._recsys_metrics import mae as mae
from aekit._recsys_metrics import ndcg_at_k as ndcg_at_k
from aekit._recsys_metrics import recall_at_k as recall_at_k
from aekit._recsys_metrics import rmse as rmse
from aekit._recsys_metrics import (
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


def ndcg_of_scores(scores: torch.Tensor, targets: sp.csr_matrix, k: int) -> float:
    """Mean NDCG@k of score rows against binary target rows (users with targets)."""
    k = min(k, scores.shape[1])
    top = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    n_items = targets.shape[1]
    coo = targets.tocoo()
    keys = coo.row.astype(np.int64) * n_items + coo.col
    hits = np.isin(np.arange(len(top))[:, None] * n_items + top, keys)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    n_rel = np.minimum(np.diff(targets.indptr), k)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[n_rel]
    has = n_rel > 0
    return float(np.mean((hits @ discounts)[has] / ideal[has]))
