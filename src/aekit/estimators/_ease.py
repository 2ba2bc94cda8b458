"""`EASE`: the closed-form linear item-to-item autoencoder for implicit feedback."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit.estimators._base import fit_or_nothing
from aekit.estimators._multvae import _MultBase
from aekit.estimators._recommender import Recommender
from aekit.nn.recsys import EASENet, ease_weights
from aekit.registry import register
from aekit.training import resolve_device

# l2="auto" is L2_PER_CLICK times the mean number of clicks per item (the mean
# diagonal of the Gram matrix); chosen on tuning data (docs/recommenders.md).
L2_PER_CLICK = 12.0
L2_MIN = 1.0
FLOAT64_MAX_ITEMS = 5_000  # dtype="auto": float64 up to this many items
GRAM_BLOCK_CELLS = 1 << 24  # items x items cells of the Gram matrix built at once
_LOSS_USERS = 2048  # users whose squared error the history reports


def ease_l2_rule(item_clicks: np.ndarray) -> float:
    """``l2="auto"``: `L2_PER_CLICK` x the mean clicks per item, at least
    `L2_MIN`. The ridge penalty grows with the scale of the Gram matrix it is
    added to, so one constant fits data of different sizes."""
    return max(L2_MIN, L2_PER_CLICK * float(np.mean(item_clicks)))


def fit_memory(n_items: int, dtype: torch.dtype) -> int:
    """Bytes `EASE.fit` holds at its peak for ``n_items`` modelled items: the
    Cholesky factor and the inverse in ``dtype`` (and the float32 model beside a
    float64 inverse)."""
    size = torch.finfo(dtype).bits // 8
    return n_items * n_items * (2 * size + (4 if size == 8 else 0))


def _gigabytes(n_bytes: float) -> str:
    if n_bytes < 1e8:
        return f"{n_bytes / 1e6:.2f} MB"
    return f"{n_bytes / 1e9:.2f} GB"


@register("ease", input_kind="ratings")
class EASE(Recommender):
    """EASE (Steck 2019, https://arxiv.org/abs/1905.03375): a linear autoencoder
    ``X -> X B`` of the user-by-item click matrix whose item-to-item matrix
    ``B`` has a zero diagonal (an item cannot recommend itself), solved in
    closed form: ``B = I - P diag(1 / diag(P))``, ``P = (X^T X + l2 I)^-1``.

    Fits in seconds where ``B`` fits in memory and is the strongest model of
    aekit on small and medium data (docs/recommenders.md). `recommend` scores
    any user's history, seen in training or not.

    The model is an items x items float32 matrix: 4 n^2 bytes (1.6 GB for
    20,000 items); fitting holds about 8 n^2 bytes in float32 (3.2 GB for
    20,000 items) and 20 n^2 in float64 (`fit_memory`). A fit over more than
    ``max_items`` items is refused with the memory it would need;
    ``top_items`` keeps only the most clicked items.

    Parameters
    ----------
    l2 : float or "auto", default="auto"
        Ridge weight. "auto" (`ease_l2_rule`): 12 x the mean number of clicks
        per modelled item.
    min_rating : float or None, default=None
        Ratings below it are not positives (None: every row is one).
    top_items : int or None, default=None
        Model only this many of the most clicked items (the others are never
        recommended, their scores are ``-inf``); bounds the fit's memory to
        about 8 ``top_items``^2 bytes. None models every item.
    max_items : int, default=20000
        Refuse to model more items than this (20,000 items take 3.2 GB in
        float32 during the fit); raise it if the memory is there.
    dtype : {"auto", "float64", "float32"}, default="auto"
        Precision of the solve; "auto": float64 up to 5,000 items, else float32.
    user_col, item_col, rating_col : str or None, default=None
        Columns of a ratings table; None takes the first, second, third column.
    device : str, default="auto"
        Where to solve and score ("auto": CUDA when available).

    Attributes
    ----------
    l2_, dtype_ : the values used (explicit, or resolved); in ``resolved_params_``.
    modelled_items_ : ndarray of int64
        Positions (in ``item_ids_``) of the modelled items.
    user_ids_, item_ids_ : ndarray
        Labels of the training users and items.
    history_ : list of dict
        One entry: the mean squared error of up to 2,048 training users' rows
        (``loss``) and the seconds of the solve.

    Examples
    --------
    >>> import pandas as pd, aekit
    >>> df = pd.DataFrame({"user": [1, 1, 2, 2, 3, 3], "item": ["a", "b", "b",
    ...                    "c", "a", "c"]})
    >>> ease = aekit.EASE(l2=1.0).fit(df)
    >>> ease.recommend({"new": ["a"]}, k=2).items.shape
    (1, 2)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "l2": v.Auto(v.Real(low_open=True)),
        "min_rating": v.Optional(v.Real(low=-float("inf"))),
        "top_items": v.Optional(v.Int()),
        "max_items": v.Int(),
        "dtype": v.Choice(("auto", "float64", "float32")),
    }
    _resolved_names = ("l2", "dtype")

    def __init__(
        self,
        l2: float | str = "auto",
        *,
        min_rating: float | None = None,
        top_items: int | None = None,
        max_items: int = 20_000,
        dtype: str = "auto",
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        device: str = "auto",
    ) -> None:
        self.l2 = l2
        self.min_rating = min_rating
        self.top_items = top_items
        self.max_items = max_items
        self.dtype = dtype
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col
        self.device = device

    def _check_param_rules(self) -> None:
        try:
            resolve_device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', "
                f"got {self.device!r} ({exc})."
            ) from None

    @property
    def resolved_params_(self) -> dict[str, Any]:
        """What ``fit`` used for ``l2`` and ``dtype`` (explicit or resolved)."""
        check_is_fitted(self)
        return {name: getattr(self, f"{name}_") for name in self._resolved_names}

    def fit(self, X: Any, y: Any = None) -> EASE:
        """Solve for ``B`` from interactions ``X`` (a ratings table or a sparse
        user-by-item matrix, binarised); ``y`` is ignored."""
        with fit_or_nothing(self):
            v.check_params(self)
            M = self._binary(self._read_interactions(X))
            if M.nnz == 0:
                raise ValueError("no positive interactions to learn from")
            self._store_matrix(M)
            start = time.perf_counter()
            clicks = np.asarray(M.sum(axis=0)).ravel()
            self.modelled_items_ = self._choose_items(clicks)
            self._resolve(clicks[self.modelled_items_])
            device = resolve_device(self.device)
            X_m = M[:, self.modelled_items_].tocsc()
            weights = ease_weights(self._gram(X_m, device), self.l2_)
            self.module_ = self._build_module().to(device)
            self.module_.weight = weights.float()  # replaces the empty buffer
            del weights
            self.module_.items.copy_(torch.from_numpy(self.modelled_items_))
            seconds = time.perf_counter() - start
            loss = self._training_error(M)
            self.history_ = [{"epoch": 1, "loss": loss, "lr": 0.0, "seconds": seconds}]
            self.best_epoch_ = self.n_iter_ = 1
            self.device_ = str(device)
        return self

    def _choose_items(self, clicks: np.ndarray) -> np.ndarray:
        """Positions of the modelled items (the ``top_items`` most clicked, in
        their training order); refuses more than ``max_items``."""
        n = len(clicks)
        if self.top_items is not None and self.top_items < n:
            top = np.argsort(-clicks, kind="stable")[: self.top_items]
            n = len(top)
        else:
            top = np.arange(n)
        if n > self.max_items:
            dtype = self._solve_dtype(n)
            raise ValueError(
                f"EASE over {n:,} items needs {_gigabytes(4 * n * n)} for its "
                f"items x items model and {_gigabytes(fit_memory(n, dtype))} while "
                f"fitting ({str(dtype).removeprefix('torch.')}), above "
                f"max_items={self.max_items:,}. Pass top_items=N to model only the "
                "N most clicked items (about 8 N^2 bytes), or raise max_items if "
                "the memory is there."
            )
        return np.sort(top).astype(np.int64)

    def _solve_dtype(self, n_items: int) -> torch.dtype:
        if self.dtype == "auto":
            return torch.float64 if n_items <= FLOAT64_MAX_ITEMS else torch.float32
        return getattr(torch, self.dtype)

    def _resolve(self, item_clicks: np.ndarray) -> None:
        self.l2_ = ease_l2_rule(item_clicks) if self.l2 == "auto" else float(self.l2)
        self.dtype_ = str(self._solve_dtype(len(item_clicks))).removeprefix("torch.")

    def _gram(self, X: sp.csc_matrix, device: torch.device) -> torch.Tensor:
        """``X^T X`` as a dense tensor on ``device``, built a block of columns at
        a time (a sparse product of all of them can hold as many entries as the
        dense result, with indices on top)."""
        n = X.shape[1]
        gram = torch.empty((n, n), dtype=getattr(torch, self.dtype_), device=device)
        Xt = X.T.tocsr()
        width = max(1, GRAM_BLOCK_CELLS // max(1, n))
        for start in range(0, n, width):
            block = (Xt @ X[:, start : start + width]).toarray()
            gram[:, start : start + width] = torch.from_numpy(block).to(gram)
        return gram

    def _training_error(self, M: sp.csr_matrix) -> float:
        """Mean over up to `_LOSS_USERS` evenly spaced training users of the
        squared error ``||x - x B||^2`` over the modelled items."""
        rows = np.unique(np.linspace(0, M.shape[0] - 1, _LOSS_USERS).astype(int))
        x = torch.from_numpy(M[rows][:, self.modelled_items_].toarray())
        x = x.to(self.module_.weight)
        return float((x - x @ self.module_.weight).pow(2).sum(dim=1).mean())

    # Positives and rating filters exactly as Mult-VAE's.
    _binary = _MultBase._binary
    _select_rows = _MultBase._select_rows

    def _build_module(self) -> EASENet:
        return EASENet(len(self.item_ids_), len(self.modelled_items_))

    @torch.inference_mode()
    def _score(self, M: sp.csr_matrix, rows: Any) -> torch.Tensor:
        """Scores of every item from the binarised history ``M``."""
        M = sp.csr_matrix((np.ones_like(M.data), M.indices, M.indptr), M.shape)
        x = torch.from_numpy(M.toarray()).to(self.module_.weight.device)
        return self.module_(x)["recon"]

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def save(self, path: Any) -> None:
        """Save the fitted estimator to the folder ``path`` (see `aekit.save`)."""
        from aekit.persistence import save

        save(self, path)
