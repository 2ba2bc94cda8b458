"""`AutoRec`: rating prediction with an autoencoder of rating vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.data.ratings import lookup, to_frame
from aekit.data.splits import split_ratings
from aekit.estimators._base import fit_or_nothing
from aekit.estimators._recommender import BaseRecommender
from aekit.nn import ACTIVATIONS
from aekit.nn.recsys import AutoRecConfig, AutoRecNet
from aekit.registry import register
from aekit.training import (
    EarlyStopping,
    HeldOutRatings,
    SparseRows,
    TrainConfig,
    reconstruct_at,
    resolve_device,
    seed_from,
)

KINDS = ("item", "user")


@register("autorec", input_kind="ratings")
class AutoRec(BaseRecommender):
    """AutoRec (Sedhain et al. 2015): an autoencoder of partially observed rating
    vectors, trained on the observed ratings only.

    With ``kind="item"`` (I-AutoRec, the paper's better variant) each item is a
    sample, its vector the ratings of all users; with ``kind="user"`` each user is.
    The predicted rating of (user, item) is the matching entry of the
    reconstruction, clipped to the range of the training ratings. The training
    matrix is kept with the model: it is the input at prediction time.

    Two departures from the paper (each lowered the held-out RMSE on tuning data:
    docs/recommenders.md): ratings are centred by a damped baseline ``mu + b_user +
    b_item`` that the decoder's output is added to (its weights start at zero, so
    training starts from the baseline's predictions), and ``input_dropout`` hides a
    fraction of the observed inputs during training so the network learns to predict
    ratings it does not see. ``bias_damping=None, input_dropout=0`` is the plain
    paper model (centred at the global mean). Early stopping holds out
    ``validation_fraction`` of the *ratings* and monitors their RMSE (``val_rmse``
    in ``history_``).

    Unknown ids never raise in `predict`; they get the baseline's fallback: an
    unknown user gets ``mu + b_item``, an unknown item ``mu + b_user``, and when
    both are unknown the global mean ``mu``.

    Parameters
    ----------
    hidden_dim : int or "auto", default="auto"
        Width of the hidden layer. "auto": one unit per 12 entries of a rating
        vector (users for ``kind="item"``, items for ``kind="user"``), between
        16 and 500 (`defaults.autorec_hidden_rule`): 51 for MovieLens
        latest-small's 610 users, the paper's 500 from 6,000 users on.
    kind : {"item", "user"}, default="item"
    activation : str, default="sigmoid"
        Hidden activation (the paper's); see ``aekit.nn.ACTIVATIONS``.
    input_dropout : float, default=0.5
        Fraction of observed input ratings hidden during training.
    bias_damping : float or None, default=10.0
        Damping of the user and item biases, ``sum / (count + bias_damping)``;
        None centres at the global mean only.
    l2 : float, default=0.0
        Weight decay (the paper's lambda, up to the loss's scale). Off by
        default: input dropout and early stopping regularise the network
        (docs/recommenders.md, "How the rules were chosen").
    user_col, item_col, rating_col : str or None, default=None
        Columns of a ratings table; None takes the first, second, third column.
    optimizer, learning_rate, lr_schedule, batch_size, max_epochs, early_stopping,
    validation_fraction, patience, gradient_clip, device, random_state, verbose
        As in `aekit.Autoencoder`, except that ``patience="auto"`` is at least 5
        epochs (epochs worth 500 optimiser steps).

    Attributes
    ----------
    user_ids_, item_ids_ : ndarray
        Labels of the training users and items (int64, or str objects).
    global_mean_ : float
    user_bias_, item_bias_ : ndarray of float
    rating_min_, rating_max_ : float
        Predictions are clipped to this range.
    hidden_dim_, batch_size_, max_epochs_, patience_ : int
        The values used (explicit, or resolved from the data); all in
        ``resolved_params_``.

    Examples
    --------
    >>> import pandas as pd, aekit
    >>> df = pd.DataFrame({"user": ["a", "a", "b", "b", "c", "c"],
    ...                    "item": [1, 2, 1, 3, 2, 3],
    ...                    "rating": [5.0, 3.0, 4.0, 1.0, 2.0, 2.0]})
    >>> model = aekit.AutoRec(8, max_epochs=5, early_stopping=False,
    ...                       random_state=0).fit(df)
    >>> model.predict(["a", "zoe"], [3, 1]).shape  # "zoe" gets item 1's mean
    (2,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "hidden_dim": v.Auto(v.Int()),
        "kind": v.Choice(KINDS),
        "activation": v.Choice(ACTIVATIONS),
        "input_dropout": v.Real(high=1.0),
        "bias_damping": v.Optional(v.Real()),
    }
    _resolved_names = ("hidden_dim", *BaseRecommender._resolved_names)

    def __init__(
        self,
        hidden_dim: int | str = "auto",
        *,
        kind: str = "item",
        activation: str = "sigmoid",
        input_dropout: float = 0.5,
        bias_damping: float | None = 10.0,
        l2: float = 0.0,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str | None = None,
        batch_size: int = 64,
        max_epochs: int = 200,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int | str = "auto",
        gradient_clip: float | None = None,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
    ) -> None:
        self.hidden_dim = hidden_dim
        self.kind = kind
        self.activation = activation
        self.input_dropout = input_dropout
        self.bias_damping = bias_damping
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

    def fit(self, X: Any, y: Any = None) -> AutoRec:
        """Learn from ratings ``X``: a DataFrame (or 2-D array) of (user, item,
        rating) rows, or a scipy.sparse user-by-item matrix whose stored entries
        are the observed ratings. ``y`` is ignored."""
        with fit_or_nothing(self):
            v.check_params(self)
            M = self._read_interactions(X)
            stoppers: list[EarlyStopping] = []
            train = M
            if self.early_stopping:
                seed = seed_from(self.random_state)
                self._check_split(M.nnz)
                train, held_out = split_ratings(M, self.validation_fraction, seed)
            self._fit_statistics(train)
            self._resolve_shape(M)
            self._resolve_budget(self._samples(train).shape[0])
            if self.early_stopping:
                stoppers.append(self._validation(train, held_out))
            self._store_matrix(M)
            self._train(
                self._samples(train),
                lambda m, dev: SparseRows(m, dev, fill=np.nan),
                [*stoppers],
            )
            if stoppers:
                self.best_epoch_ = max(1, stoppers[0].best_epoch)
        return self

    def _resolve_shape(self, M: sp.csr_matrix) -> None:
        """``hidden_dim_``: the explicit width, or `defaults.autorec_hidden_rule`
        of the length of a rating vector."""
        n_inputs = M.shape[0] if self.kind == "item" else M.shape[1]
        self.hidden_dim_ = (
            defaults.autorec_hidden_rule(n_inputs)
            if self.hidden_dim == "auto"
            else int(self.hidden_dim)
        )

    def _validation(self, train: sp.csr_matrix, held_out: Any) -> HeldOutRatings:
        """Early stopping on the RMSE of held-out ratings: the training loop's own
        split would hold out whole rows, whose reconstruction is no test of
        predicting unseen ratings."""
        rows, cols, values = held_out
        if self.kind == "item":
            rows, cols = cols, rows
        source = SparseRows(
            self._samples(train), resolve_device(self.device), fill=np.nan
        )
        clip = (self.rating_min_, self.rating_max_)
        return HeldOutRatings(source, (rows, cols, values), clip, self.patience_)

    def _train_config(self) -> TrainConfig:
        config = super()._train_config()
        config.early_stopping = False  # done by HeldOutRatings instead
        return config

    def _fit_statistics(self, M: sp.csr_matrix) -> None:
        """Global mean, rating range and damped user and item biases."""
        if M.nnz == 0:
            raise ValueError("the ratings matrix has no stored ratings")
        self.global_mean_ = float(M.data.mean())
        self.rating_min_, self.rating_max_ = float(M.data.min()), float(M.data.max())
        damping = 1e12 if self.bias_damping is None else self.bias_damping
        samples = self._samples(M)  # rows: the autoencoder's samples
        resid = samples.copy()
        resid.data = resid.data - self.global_mean_
        col_bias = _damped_means(resid.T.tocsr(), damping)
        resid.data = resid.data - col_bias[resid.indices]
        row_bias = _damped_means(resid, damping)
        if self.kind == "item":
            self.item_bias_, self.user_bias_ = row_bias, col_bias
        else:
            self.user_bias_, self.item_bias_ = row_bias, col_bias

    def _samples(self, M: sp.csr_matrix) -> sp.csr_matrix:
        """Rows are the autoencoder's samples: items for I-AutoRec, else users."""
        return M.T.tocsr() if self.kind == "item" else M

    def _build_module(self) -> nn.Module:
        bias = self.user_bias_ if self.kind == "item" else self.item_bias_
        config = AutoRecConfig(
            n_inputs=len(bias),
            hidden_dim=self.hidden_dim_,
            activation=self.activation,
            damping=self.bias_damping,
            input_dropout=self.input_dropout,
        )
        return AutoRecNet(config, offsets=torch.from_numpy(self.global_mean_ + bias))

    def predict(self, users: Any, items: Any = None) -> np.ndarray:
        """Predicted ratings of (user, item) pairs, clipped to the training range.

        ``predict(users, items)`` takes two sequences of ids of equal length;
        ``predict(table)`` a DataFrame or 2-D array whose first two columns (or
        ``user_col`` and ``item_col``) hold them. Unknown ids get the fallbacks
        described in the class docstring.
        """
        check_is_fitted(self)
        if items is None:
            frame = to_frame(users)
            u_col = self.user_col if self.user_col is not None else frame.columns[0]
            i_col = self.item_col if self.item_col is not None else frame.columns[1]
            users, items = frame[u_col].to_numpy(), frame[i_col].to_numpy()
        u, i = lookup(self.user_ids_, users), lookup(self.item_ids_, items)
        if len(u) != len(i):
            raise ValueError(f"got {len(u)} users but {len(i)} items")
        pred = self.global_mean_ + np.where(u >= 0, self.user_bias_[u], 0.0)
        pred += np.where(i >= 0, self.item_bias_[i], 0.0)
        known = (u >= 0) & (i >= 0)
        rows, cols = (i, u) if self.kind == "item" else (u, i)
        pred[known] = self._reconstruct_at(rows[known], cols[known])
        return np.clip(pred, self.rating_min_, self.rating_max_)

    def _reconstruct_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Entries (rows, cols) of the reconstruction of the training samples."""
        source = SparseRows(
            self._samples(self._train_matrix()), torch.device(self.device_), np.nan
        )
        return reconstruct_at(self.module_, source, rows, cols)

    def _score(self, M: sp.csr_matrix, rows: Any) -> torch.Tensor:
        """Predicted ratings of every item; I-AutoRec needs training users."""
        if rows is None and self.kind == "item":
            raise ValueError(
                "I-AutoRec (kind='item') scores only users seen in training; pass "
                "training user ids, or use kind='user' or MultVAE to fold in new users"
            )
        if rows is None:
            with torch.inference_mode():
                x = SparseRows(M, torch.device(self.device_), np.nan).take(
                    np.arange(M.shape[0])
                )
                return self.module_.eval()(x)["recon"]
        n_items = len(self.item_ids_)
        r = np.repeat(np.asarray(rows), n_items)
        c = np.tile(np.arange(n_items), len(rows))
        args = (c, r) if self.kind == "item" else (r, c)
        return torch.from_numpy(self._reconstruct_at(*args).reshape(len(rows), -1))


def _damped_means(M: sp.csr_matrix, damping: float) -> np.ndarray:
    """``sum / (count + damping)`` of the stored values of each row."""
    sums = np.asarray(M.sum(axis=1), dtype=np.float64).ravel()
    return sums / (np.diff(M.indptr) + damping)
