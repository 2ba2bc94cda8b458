"""`MultVAE` and `MultDAE`: top-k recommendation from implicit feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.data.ratings import ratings_columns
from aekit.data.splits import split_users
from aekit.estimators._base import fit_or_nothing
from aekit.estimators._recommender import BaseRecommender
from aekit.nn.recsys import MultVAEConfig, MultVAENet
from aekit.registry import register
from aekit.training import (
    EarlyStopping,
    HeldOutUsers,
    SparseRows,
    TrainConfig,
    resolve_device,
    seed_from,
)

_SHARED_DOC = """
    Fit on implicit feedback: a table of (user, item[, rating]) rows or a
    scipy.sparse user-by-item matrix, binarised (every stored entry, or with
    ``min_rating`` only ratings >= it, is a positive). Sparse data is made dense
    one batch of users at a time. `recommend` folds in any user's history.

    Parameters
    ----------
    hidden_dims : sequence of int or "auto", default="auto"
        Hidden layers of the encoder (the decoder mirrors them); () gives linear
        maps to and from the code. "auto" (`defaults.mult_shape_rule`): () below
        5,000 training users, Liang et al.'s (600,) from then on.
    latent_dim : int or "auto", default="auto"
        "auto": min(600, n_items // 2) below 5,000 training users, else
        Liang et al.'s 200.
    dropout : float or "auto", default="auto"
        Input dropout during training. "auto" (`defaults.mult_dropout_rule`):
        0.3 below 5,000 training users, else Liang et al.'s 0.5.
    min_rating : float or None, default=None
        Ratings below it are not positives (None: every row is one).
    l2 : float
        Weight decay.
    user_col, item_col, rating_col : str or None, default=None
        Columns of a ratings table; None takes the first, second, third column.
    optimizer, learning_rate, lr_schedule, batch_size, max_epochs, early_stopping,
    validation_fraction, patience, gradient_clip, device, random_state, verbose
        As in `aekit.Autoencoder` (``batch_size="auto"``: 256, or for fewer
        than 12,800 training users about 50 batches an epoch, at least 32;
        ``max_epochs="auto"``: 40,000 optimiser steps, at least 10 epochs;
        ``patience="auto"``: epochs worth 500 optimiser steps, at least 20).
        Early stopping holds out
        ``validation_fraction`` of the users, folds in 80% of each one's items
        and monitors the NDCG@100 of the other 20% (``val_ndcg`` in
        ``history_``), as Liang et al. select their models.

    Attributes
    ----------
    user_ids_, item_ids_ : ndarray
        Labels of the training users and items (int64, or str objects).
    hidden_dims_, latent_dim_, dropout_, batch_size_ : the values used
        (explicit, or resolved from the data); all in ``resolved_params_``.
"""


class _MultBase(BaseRecommender):
    _variational = True
    _min_patience = defaults.MULT_MIN_PATIENCE
    _parameter_constraints: dict[str, v.Constraint] = {
        "hidden_dims": v.Auto(v.Sizes()),
        "latent_dim": v.Auto(v.Int()),
        "dropout": v.Auto(v.Real(high=1.0)),
        "min_rating": v.Optional(v.Real(low=-float("inf"))),
    }
    _resolved_names: tuple[str, ...] = (
        "hidden_dims",
        "latent_dim",
        "dropout",
        *BaseRecommender._resolved_names,
    )

    def fit(self, X: Any, y: Any = None) -> _MultBase:
        """Learn from interactions ``X`` (see the class docstring); ``y`` is
        ignored."""
        with fit_or_nothing(self):
            v.check_params(self)
            M = self._binary(self._read_interactions(X))
            if M.nnz == 0:
                raise ValueError("no positive interactions to learn from")
            self._check_split(M.shape[0])
            self._store_matrix(M)
            stoppers: list[EarlyStopping] = []
            train = M
            if self.early_stopping:
                seed = seed_from(self.random_state)
                train, fold_in, targets = split_users(M, self.validation_fraction, seed)
            self._resolve_shape(train.shape[0], M.shape[1])
            self._resolve_budget(train.shape[0])
            if self.early_stopping:
                source = self._training_rows(fold_in, resolve_device(self.device))
                stoppers.append(HeldOutUsers(source, targets, self.patience_))
            self._train(train, self._training_rows, [*stoppers])
            if stoppers:
                self.best_epoch_ = max(1, stoppers[0].best_epoch)
        return self

    @staticmethod
    def _training_rows(M: sp.csr_matrix, device: torch.device) -> SparseRows:
        """Batches of users stay sparse (training, validation and scoring):
        `MultVAENet` takes them as they are."""
        return SparseRows(M, device, sparse=True)

    def _resolve_shape(self, n_users: int, n_items: int) -> None:
        """``hidden_dims_``, ``latent_dim_`` and ``dropout_``: explicit values, or
        the rules of `aekit.defaults` for ``n_users`` training users."""
        hidden, latent = defaults.mult_shape_rule(n_users, n_items)
        self.hidden_dims_ = (
            hidden
            if isinstance(self.hidden_dims, str)
            else v.check_sizes("hidden_dims", self.hidden_dims)
        )
        self.latent_dim_ = latent if self.latent_dim == "auto" else self.latent_dim
        self.dropout_ = (
            defaults.mult_dropout_rule(n_users)
            if self.dropout == "auto"
            else float(self.dropout)
        )

    def _train_config(self) -> TrainConfig:
        config = super()._train_config()
        config.early_stopping = False  # done by HeldOutUsers instead
        return config

    def _select_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.min_rating is None:
            return frame
        r_col = ratings_columns(frame, self.user_col, self.item_col, self.rating_col)
        if r_col[2] is None:
            raise ValueError("min_rating is set but the table has no rating column")
        ratings = pd.to_numeric(frame[r_col[2]], errors="coerce")
        return frame[(ratings >= self.min_rating).to_numpy()]

    def _binary(self, M: sp.csr_matrix) -> sp.csr_matrix:
        """Positives as 1.0: stored entries (>= ``min_rating`` when it is set)."""
        keep = M.data != 0
        if self.min_rating is not None:
            keep &= M.data >= self.min_rating
        M = sp.csr_matrix((keep.astype(np.float32), M.indices, M.indptr), M.shape)
        M.eliminate_zeros()
        return M

    def _build_module(self) -> nn.Module:
        config = MultVAEConfig(
            n_items=len(self.item_ids_),
            hidden_dims=self.hidden_dims_,
            latent_dim=self.latent_dim_,
            dropout=self.dropout_,
            variational=self._variational,
            anneal_cap=getattr(self, "anneal_cap", 0.0),
            anneal_steps=getattr(self, "anneal_steps_", 1),
        )
        return MultVAENet(config)

    @torch.inference_mode()
    def _score(self, M: sp.csr_matrix, rows: Any) -> torch.Tensor:
        """Logits over the items, from the binarised history (no dropout)."""
        M = sp.csr_matrix((np.ones_like(M.data), M.indices, M.indptr), M.shape)
        x = self._training_rows(M, torch.device(self.device_)).take(
            np.arange(M.shape[0])
        )
        return self.module_.eval()(x)["recon"]


@register("multvae", input_kind="ratings")
class MultVAE(_MultBase):
    __doc__ = (
        """Mult-VAE (Liang et al. 2018, https://arxiv.org/abs/1802.05814): a VAE
    with a multinomial likelihood over items; the KL weight ``beta`` rises linearly
    from 0 by ``1 / anneal_steps`` per update until ``anneal_cap``.
    """
        + _SHARED_DOC
        + """
    anneal_cap : float, default=0.2
    anneal_steps : int or "auto", default="auto"
        Updates over which beta would reach 1 (it stops at anneal_cap). "auto"
        (`defaults.anneal_steps_rule`): the updates of 150 epochs, so beta
        reaches the cap of 0.2 after 30 epochs.

    Examples
    --------
    >>> import pandas as pd, aekit
    >>> df = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["a", "b", "b", "c",
    ...                    "a"]})
    >>> vae = aekit.MultVAE((8,), 4, max_epochs=3, early_stopping=False,
    ...                     random_state=0).fit(df)
    >>> users, items, scores = vae.recommend({"new": ["a"]}, k=2)
    >>> items.shape
    (1, 2)
    """
    )

    _parameter_constraints: dict[str, v.Constraint] = {
        "anneal_cap": v.Real(),
        "anneal_steps": v.Auto(v.Int()),
    }
    _resolved_names = ("anneal_steps", *_MultBase._resolved_names)

    def _resolve_budget(self, n_samples: int) -> None:
        """The training budget, then ``anneal_steps_`` (which counts batches)."""
        super()._resolve_budget(n_samples)
        self.anneal_steps_ = (
            defaults.anneal_steps_rule(self._n_train(n_samples), self.batch_size_)
            if self.anneal_steps == "auto"
            else int(self.anneal_steps)
        )

    def __init__(
        self,
        hidden_dims: Sequence[int] | str = "auto",
        latent_dim: int | str = "auto",
        *,
        dropout: float | str = "auto",
        anneal_cap: float = 0.2,
        anneal_steps: int | str = "auto",
        min_rating: float | None = None,
        l2: float = 0.0,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str | None = None,
        batch_size: int | str = "auto",
        max_epochs: int | str = "auto",
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int | str = "auto",
        gradient_clip: float | None = None,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.anneal_steps = anneal_steps
        self.min_rating = min_rating
        self.l2 = l2
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.gradient_clip = gradient_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks


@register("multdae", input_kind="ratings")
class MultDAE(_MultBase):
    __doc__ = (
        """Mult-DAE (Liang et al. 2018, https://arxiv.org/abs/1802.05814): a
    denoising autoencoder (input dropout) with a multinomial likelihood over items.
    """
        + _SHARED_DOC
        + """
    Examples
    --------
    >>> import pandas as pd, aekit
    >>> df = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["a", "b", "b", "c",
    ...                    "a"]})
    >>> dae = aekit.MultDAE((8,), 4, max_epochs=3, early_stopping=False,
    ...                     random_state=0).fit(df)
    >>> dae.recommend([1, 2], k=1).items.shape  # training users by id
    (2, 1)
    """
    )

    _variational = False

    def __init__(
        self,
        hidden_dims: Sequence[int] | str = "auto",
        latent_dim: int | str = "auto",
        *,
        dropout: float | str = "auto",
        min_rating: float | None = None,
        l2: float = 1e-5,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str | None = None,
        batch_size: int | str = "auto",
        max_epochs: int | str = "auto",
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int | str = "auto",
        gradient_clip: float | None = None,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.min_rating = min_rating
        self.l2 = l2
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.gradient_clip = gradient_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
