"""What recommenders share: ratings tables in, id maps kept, the training matrix
stored with the model, per-batch densification of sparse rows, and ``recommend``."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import defaults
from aekit.data.ratings import (
    frame_to_matrix,
    id_array,
    lookup,
    ratings_columns,
    to_frame,
)
from aekit.estimators._base import TorchEstimator
from aekit.training.sources import SCORE_CELLS


class Recommendations(NamedTuple):
    """Top-k lists: ``users`` (n,), ``items`` (n, k) best first, ``scores`` (n, k)."""

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per (user, rank) with columns user, rank, item,
        score."""
        n, k = self.items.shape
        return pd.DataFrame(
            {
                "user": np.repeat(self.users, k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "item": self.items.ravel(),
                "score": self.scores.ravel(),
            }
        )


class Recommender(BaseEstimator):
    """Recommenders fitted on (user, item[, rating]) tables or user-by-item matrices.

    Fitted attributes shared by all: ``user_ids_`` and ``item_ids_`` (the labels of
    the rows and columns of the training matrix) and that matrix itself in CSR form
    (``train_indptr_``, ``train_indices_``, ``train_values_``), kept so a saved
    model can score its training users.
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "user_col": v.Optional(v.ColumnName()),
        "item_col": v.Optional(v.ColumnName()),
        "rating_col": v.Optional(v.ColumnName()),
    }

    _min_patience = defaults.RECSYS_MIN_PATIENCE

    def _n_train(self, n_samples: int) -> int:
        """Rows trained on: all that `_train` gets (a recommender's early stopping
        holds out ratings or users before that)."""
        return n_samples

    def _read_interactions(self, X: Any) -> sp.csr_matrix:
        """The user-by-item matrix of ``X``; sets ``user_ids_``, ``item_ids_`` and
        ``n_features_in_`` (the columns of ``X``, as scikit-learn counts them)."""
        self.n_features_in_ = int(X.shape[1]) if hasattr(X, "shape") else 0
        if sp.issparse(X):
            M = sp.csr_matrix(X, dtype=np.float32)
            if M.ndim != 2 or min(M.shape) < 1 or not np.isfinite(M.data).all():
                raise ValueError(
                    f"a sparse ratings matrix must be 2-D, non-empty and without "
                    f"NaN or infinite values; got shape {M.shape}"
                )
            M.sum_duplicates()
            self.user_ids_ = np.arange(M.shape[0], dtype=np.int64)
            self.item_ids_ = np.arange(M.shape[1], dtype=np.int64)
            return M
        frame = to_frame(X)
        self.n_features_in_ = frame.shape[1]
        frame = self._select_rows(frame)
        M, self.user_ids_, self.item_ids_ = frame_to_matrix(
            frame, self.user_col, self.item_col, self.rating_col
        )
        return M

    def _select_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Hook: the rows of a ratings table the model learns from (all here)."""
        return frame

    def _store_matrix(self, M: sp.csr_matrix) -> None:
        self.train_indptr_ = M.indptr.astype(np.int64)
        self.train_indices_ = M.indices.astype(np.int64)
        self.train_values_ = M.data.astype(np.float32)

    def _train_matrix(self) -> sp.csr_matrix:
        shape = (len(self.user_ids_), len(self.item_ids_))
        return sp.csr_matrix(
            (self.train_values_, self.train_indices_, self.train_indptr_), shape=shape
        )

    def _history(self, history: Any) -> tuple[sp.csr_matrix, np.ndarray, Any]:
        """``(matrix over the training items, user labels, training rows or None)``
        from any form of history that `recommend` accepts."""
        if sp.issparse(history):
            M = sp.csr_matrix(history, dtype=np.float32)
            if M.shape[1] != len(self.item_ids_):
                raise ValueError(
                    f"a history matrix needs one column per training item "
                    f"({len(self.item_ids_)}), got shape {M.shape}"
                )
            return M, np.arange(M.shape[0]), None
        if isinstance(history, dict):
            pairs = [(u, i) for u, items in history.items() for i in items]
            history = pd.DataFrame(pairs, columns=["user", "item"])
            return self._history_frame(history, "user", "item", None)
        if isinstance(history, pd.DataFrame):
            return self._history_frame(
                history, self.user_col, self.item_col, self.rating_col
            )
        return self._known_users(np.atleast_1d(np.asarray(history, dtype=object)))

    def _known_users(self, labels: np.ndarray) -> tuple[sp.csr_matrix, Any, Any]:
        rows = lookup(self.user_ids_, labels)
        if (rows < 0).any():
            missing = labels[rows < 0][:5].tolist()
            raise ValueError(
                f"unknown user(s) {missing}: pass their history (a DataFrame, a "
                "dict user -> items or a sparse matrix; on the command line "
                "--history FILE) to fold them in instead"
            )
        return self._train_matrix()[rows], self.user_ids_[rows], rows

    def _history_frame(
        self, frame: pd.DataFrame, user_col: Any, item_col: Any, rating_col: Any
    ) -> tuple[sp.csr_matrix, np.ndarray, Any]:
        """Items not seen in training are left out: the model has no column for
        them. Users keep their order of first appearance. A history with no
        rating column (a dict, or user and item columns only) is all clicks,
        whatever ``min_rating`` says of rated rows."""
        if ratings_columns(frame, user_col, item_col, rating_col)[2] is not None:
            frame = self._select_rows(frame)
        M, users, items = frame_to_matrix(frame, user_col, item_col, rating_col)
        cols = lookup(self.item_ids_, items)
        keep = cols >= 0
        M = M[:, np.flatnonzero(keep)].tocoo()
        M = sp.csr_matrix(
            (M.data, (M.row, cols[keep][M.col])),
            shape=(len(users), len(self.item_ids_)),
        )
        u_col = ratings_columns(frame, user_col, item_col, rating_col)[0]
        order = lookup(users, pd.unique(id_array(frame[u_col].to_numpy())))
        return M[order], users[order], None

    def _score(self, M: sp.csr_matrix, rows: Any) -> torch.Tensor:
        """Scores of every training item for the users whose history is ``M`` (and
        who are training rows ``rows``, or None for new users)."""
        raise NotImplementedError

    @torch.inference_mode()
    def recommend(
        self, history: Any, k: int = 10, *, exclude_seen: bool = True
    ) -> Recommendations:
        """The top-``k`` items for each user, best first.

        Parameters
        ----------
        history : DataFrame, dict, sparse matrix or sequence of user ids
            A table of (user, item[, rating]) rows (columns as in ``fit``) or a
            dict ``{user: [items]}``: these histories are folded in, so users need
            not have been seen in training (items that were not are ignored). A
            sparse matrix with one column per item of ``item_ids_`` works alike,
            its users numbered 0..n-1. A list or array of training user ids
            uses their training histories.
        k : int, default=10
            Length of each list (at most the number of items).
        exclude_seen : bool, default=True
            Leave the items of each history out of its list.

        Returns
        -------
        Recommendations
            ``(users, items, scores)``: users (n,), item ids (n, k), scores (n, k).
        """
        check_is_fitted(self)
        v.check_int("k", k)
        k = min(k, len(self.item_ids_))
        M, users, rows = self._history(history)
        codes, scores = self._top_k(M, rows, k, bool(exclude_seen))
        return Recommendations(np.asarray(users), self.item_ids_[codes], scores)

    def _top_k(
        self, M: sp.csr_matrix, rows: Any, k: int, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """(item positions, scores) of the best ``k`` items for each row of ``M``,
        scored a chunk of rows at a time. Each chunk's top ``k`` is copied into
        arrays made up front: keeping the chunks' own small buffers alive between
        their large freed score buffers fragmented the heap (11 GiB resident after
        recommending to 138k users over 26,744 items; for 20,000 of them 1.8 GiB
        against 0.8 GiB with the copies)."""
        n_rows = max(1, SCORE_CELLS // max(1, M.shape[1]))
        items = np.empty((M.shape[0], k), np.int64)
        scores = np.empty((M.shape[0], k), np.float32)
        for start in range(0, M.shape[0], n_rows):
            part = M[start : start + n_rows]
            part_rows = None if rows is None else rows[start : start + n_rows]
            s = self._score(part, part_rows).float().cpu()
            if exclude_seen:
                coo = part.tocoo()
                seen = (
                    torch.from_numpy(coo.row).long(),
                    torch.from_numpy(coo.col).long(),
                )
                s[seen] = -torch.inf
            top = torch.topk(s, k, dim=1)
            items[start : start + n_rows] = top.indices.numpy()
            scores[start : start + n_rows] = top.values.numpy()
        return items, scores


class BaseRecommender(Recommender, TorchEstimator):
    """A `Recommender` that trains a torch module through the training loop
    (`aekit.EASE`, solved in closed form, is a `Recommender` only)."""
