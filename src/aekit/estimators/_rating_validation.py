"""Validation for rating prediction: hold out observed ratings (not whole rows)
and stop training when their RMSE stops improving."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from aekit.estimators._recommender import SCORE_CELLS, SparseRows
from aekit.training.callbacks import EarlyStopping


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


@torch.inference_mode()
def reconstruct_at(
    module: nn.Module, source: SparseRows, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Entries (rows, cols) of the module's reconstruction of ``source``'s rows,
    computed one chunk of distinct rows at a time."""
    was_training = module.training
    module.eval()
    unique, inverse = np.unique(rows, return_inverse=True)
    out = np.empty(len(rows), np.float64)
    step = max(1, SCORE_CELLS // max(1, source.matrix.shape[1]))
    for start in range(0, len(unique), step):
        chunk = unique[start : start + step]
        recon = module(source.take(chunk))["recon"].float().cpu().numpy()
        hit = (inverse >= start) & (inverse < start + len(chunk))
        out[hit] = recon[inverse[hit] - start, cols[hit]]
    module.train(was_training)
    return out


class HeldOutRatings(EarlyStopping):
    """Each epoch, the RMSE of held-out ratings (``val_rmse`` in the history);
    stops after ``patience`` epochs without a ``min_delta`` relative improvement
    and puts back the best weights at the end."""

    def __init__(
        self,
        source: SparseRows,
        held_out: tuple[np.ndarray, np.ndarray, np.ndarray],
        clip: tuple[float, float],
        patience: int,
        min_delta: float = 1e-4,
    ) -> None:
        super().__init__(patience, min_delta, monitor="val_rmse")
        self.source, self.held_out, self.clip = source, held_out, clip

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        rows, cols, values = self.held_out
        pred = np.clip(reconstruct_at(module, self.source, rows, cols), *self.clip)
        record["val_rmse"] = float(np.sqrt(np.mean((pred - values) ** 2)))
        super().on_epoch_end(module, record)


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


class HeldOutUsers(EarlyStopping):
    """Each epoch, NDCG@``k`` of held-out users' target items given their fold-in
    items (``val_ndcg`` in the history); stops after ``patience`` epochs without
    improvement and puts back the best weights at the end."""

    def __init__(
        self, fold_in: SparseRows, targets: sp.csr_matrix, patience: int, k: int = 100
    ) -> None:
        super().__init__(patience, monitor="val_ndcg", higher_is_better=True)
        self.fold_in, self.targets, self.k = fold_in, targets, k

    @torch.inference_mode()
    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        was_training = module.training
        module.eval()
        x = self.fold_in.take(np.arange(len(self.fold_in)))
        scores = module(x)["recon"].float().masked_fill(x > 0, -torch.inf)
        module.train(was_training)
        record["val_ndcg"] = ndcg_of_scores(scores, self.targets, self.k)
        super().on_epoch_end(module, record)
