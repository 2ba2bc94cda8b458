"""Random splits of a user-by-item matrix for validation: held-out ratings
(rating prediction) and held-out users (top-k recommendation)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


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
