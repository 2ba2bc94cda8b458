"""Side-by-side comparisons on held-out data: an autoencoder next to PCA with the
same number of components (is the nonlinear model worth it for this data?), and
recommenders on the same held-out users (which one to use?)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array

from aekit import _validation as v
from aekit import registry
from aekit.data.ratings import ratings_columns
from aekit.data.splits import strong_generalization_split
from aekit.estimators import Autoencoder
from aekit.metrics import ndcg_at_k, recall_at_k


@dataclass
class PCAComparison:
    """Held-out reconstruction errors in the units of ``X``.

    ``*_mse`` is the mean squared error per entry; ``*_sse`` the squared error
    summed over features, averaged over samples (the usual MNIST figure).
    """

    latent_dim: int
    n_train: int
    n_test: int
    autoencoder_mse: float
    pca_mse: float
    autoencoder_sse: float
    pca_sse: float
    autoencoder: Any
    pca: PCA

    @property
    def ratio(self) -> float:
        """PCA error / autoencoder error (above 1: the autoencoder is better)."""
        return self.pca_mse / max(self.autoencoder_mse, np.finfo(float).tiny)

    def summary(self) -> str:
        return (
            f"held-out reconstruction error, K = {self.latent_dim} "
            f"({self.n_train} train / {self.n_test} test rows):\n"
            f"  autoencoder  MSE {self.autoencoder_mse:.5g}  "
            f"SSE/row {self.autoencoder_sse:.5g}\n"
            f"  PCA          MSE {self.pca_mse:.5g}  SSE/row {self.pca_sse:.5g}\n"
            f"  PCA / autoencoder = {self.ratio:.3g}"
        )


def compare_with_pca(
    X: Any,
    latent_dim: int,
    *,
    model: Any = None,
    X_test: Any = None,
    test_size: float = 0.2,
    random_state: int | None = 0,
) -> PCAComparison:
    """Fit an autoencoder and a PCA with ``latent_dim`` components on the same
    training rows and report both reconstruction errors on held-out rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    latent_dim : int
        Code size of the autoencoder and number of PCA components.
    model : autoencoder estimator or None, default=None
        Cloned and fitted with ``latent_dim`` set; None is
        ``Autoencoder(latent_dim=latent_dim, random_state=random_state)``.
    X_test : array-like or None, default=None
        Held-out rows; None holds out ``test_size`` of ``X`` at random.
    test_size : float, default=0.2
    random_state : int or None, default=0

    Examples
    --------
    >>> import numpy as np, aekit
    >>> from aekit.compare import compare_with_pca
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> model = aekit.Autoencoder((16,), max_epochs=5, random_state=0)
    >>> result = compare_with_pca(X, 2, model=model)
    >>> result.n_test, result.pca.n_components
    (60, 2)
    """
    latent_dim = v.check_int("latent_dim", latent_dim)
    X = check_array(X, dtype=[np.float64, np.float32])
    if X_test is None:
        v.check_float("test_size", test_size, low_open=True, high=1.0)
        X, X_test = train_test_split(X, test_size=test_size, random_state=random_state)
    X_test = check_array(X_test, dtype=[np.float64, np.float32])
    if latent_dim > min(X.shape):
        raise ValueError(
            f"latent_dim={latent_dim} exceeds min(n_train, n_features) = "
            f"{min(X.shape)}, the most PCA components this data allows."
        )
    base = Autoencoder(random_state=random_state) if model is None else model
    ae = clone(base).set_params(latent_dim=latent_dim).fit(X)
    pca = PCA(latent_dim, random_state=random_state).fit(X)
    ae_err = (np.asarray(ae.reconstruct(X_test), np.float64) - X_test) ** 2
    pca_err = (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2
    return PCAComparison(
        latent_dim=latent_dim,
        n_train=len(X),
        n_test=len(X_test),
        autoencoder_mse=float(ae_err.mean()),
        pca_mse=float(pca_err.mean()),
        autoencoder_sse=float(ae_err.sum(axis=1).mean()),
        pca_sse=float(pca_err.sum(axis=1).mean()),
        autoencoder=ae,
        pca=pca,
    )


TOP_K_MODELS = ("ease", "multvae", "multdae", "recvae")  # fold in new users


@dataclass
class RecommenderComparison:
    """Top-k metrics of recommenders on the same held-out users.

    ``table``: one row per model (``popularity`` first: the most clicked
    training items), the mean over the seeds of NDCG@k and Recall@k for each
    k, the seeds' standard deviation of NDCG at the largest k and the mean fit
    seconds; ``runs``: one row per model and seed.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    n_users: int
    n_items: int
    n_test_users: int

    def summary(self) -> str:
        head = (
            f"{self.n_users} users ({self.n_test_users} held out), "
            f"{self.n_items} items; mean over seeds:"
        )
        return head + "\n" + self.table.to_string(float_format=lambda x: f"{x:.4f}")


def compare_recommenders(
    ratings: pd.DataFrame,
    models: Sequence[Any] = ("ease", "multvae", "recvae"),
    *,
    k: Sequence[int] = (20, 100),
    seeds: Sequence[int] = (0,),
    min_rating: float | None = None,
    min_user_clicks: int = 5,
    test_users: float = 0.2,
    fold_in: float = 0.8,
    user_col: Any = None,
    item_col: Any = None,
    rating_col: Any = None,
    random_state: int | None = 0,
    device: str = "auto",
) -> RecommenderComparison:
    """Fit recommenders on the same training users and rank items for users
    they never saw, as Liang et al. (2018) evaluate Mult-VAE and as RecBole's
    and cornac's papers report: a ``test_users`` share of the users is held
    out; each one's ``fold_in`` share of items is the history the models see,
    and the rest is what they should recommend (NDCG@k, Recall@k). Every
    model, with ``random_state`` set to each seed, sees the same split.

    Parameters
    ----------
    ratings : DataFrame
        (user, item[, rating]) rows; columns as in the recommenders' ``fit``.
    models : str, estimator or a sequence of them, default=("ease", "multvae", "recvae")
        Names (``"ease"``, ``"multvae"``, ``"multdae"``, ``"recvae"``: at
        their defaults) or unfitted estimators (cloned for each seed).
    k : int or sequence of int, default=(20, 100)
    seeds : int or sequence of int, default=(0,)
        Each model is fitted once per seed (EASE, deterministic, once).
    min_rating : float or None, default=None
        Rows rated below it are not clicks (None: every row is one).
    min_user_clicks : int, default=5
        Users with fewer clicks are left out (as Liang et al. keep users with
        at least five).
    test_users, fold_in : float, default=0.2, 0.8
    user_col, item_col, rating_col : str or None
    random_state : int or None, default=0
        Seed of the split.
    device : str, default="auto"

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from aekit.compare import compare_recommenders
    >>> rng = np.random.default_rng(0)
    >>> clicks = pd.DataFrame({"user": rng.integers(0, 300, 6000),
    ...                        "item": rng.integers(0, 80, 6000)}).drop_duplicates()
    >>> result = compare_recommenders(clicks, ["ease"], k=[10])
    >>> list(result.table.index)
    ['popularity', 'ease']
    """
    ks = sorted({v.check_int("k", value) for value in _listed(k)})
    seeds = [v.check_int("seeds", seed, low=0) for seed in _listed(seeds)]
    if not ks or not seeds:
        raise ValueError("k and seeds must each hold at least one value")
    estimators = [_recommender(model, device) for model in _listed(models)]
    names = [name for name, _ in estimators]
    if len(set(names)) < len(names):
        raise ValueError(
            f"models names one model twice ({names}): give each once (two "
            "estimators of one class: compare them in two calls)"
        )
    clicks = _clicks(ratings, min_rating, user_col, item_col, rating_col)
    counts = clicks.groupby("user")["item"].transform("size")
    clicks = clicks[counts >= v.check_int("min_user_clicks", min_user_clicks)]
    if clicks["user"].nunique() < 5:
        raise ValueError(
            f"{clicks['user'].nunique()} users with at least {min_user_clicks} "
            "clicks: too few to hold some out"
        )
    train, fold, target = strong_generalization_split(
        clicks,
        test_users=test_users,
        fold_in=fold_in,
        random_state=random_state,
    )
    relevant = target.groupby("user")["item"].apply(set)
    runs = [_popularity_run(train, fold, relevant, ks)]
    for name, estimator in estimators:
        deterministic = not any(p == "random_state" for p in estimator.get_params())
        for seed in seeds[:1] if deterministic else seeds:
            model = clone(estimator)
            if not deterministic:
                model.set_params(random_state=seed)
            start = time.perf_counter()
            model.fit(train)
            seconds = time.perf_counter() - start
            rec = model.recommend(fold, k=max(ks))
            row = _metrics(rec.items, [relevant.get(u, set()) for u in rec.users], ks)
            runs.append({"model": name, "seed": seed, **row, "fit_s": seconds})
    frame = pd.DataFrame(runs)
    table = frame.drop(columns="seed").groupby("model", sort=False).mean()
    ndcg = f"NDCG@{max(ks)}"
    spread = frame.groupby("model", sort=False)[ndcg].std(ddof=0)
    table.insert(len(ks) * 2, f"{ndcg} sd", spread)
    return RecommenderComparison(
        table,
        frame,
        n_users=int(clicks["user"].nunique()),
        n_items=int(clicks["item"].nunique()),
        n_test_users=int(fold["user"].nunique()),
    )


def _listed(value: Any) -> list:
    """A list of ``value``'s items, or of ``value`` itself for a single one (a
    name, a number, an estimator)."""
    if isinstance(value, str | int | np.integer) or hasattr(value, "fit"):
        return [value]
    return list(value)


def _recommender(model: Any, device: str) -> tuple[str, Any]:
    """(display name, unfitted estimator) of a name or an estimator."""
    if not isinstance(model, str):
        if not hasattr(model, "recommend"):
            raise ValueError(
                f"models holds {type(model).__name__}, which has no recommend(); "
                f"give recommenders or names in {TOP_K_MODELS}"
            )
        return type(model).__name__, model
    if model not in TOP_K_MODELS:
        raise ValueError(f"unknown model {model!r}: use one of {TOP_K_MODELS}")
    return model, registry.get_estimator_class(model)(device=device)


def _clicks(
    ratings: pd.DataFrame, min_rating: Any, user_col: Any, item_col: Any, rating: Any
) -> pd.DataFrame:
    """(user, item) click rows: rows rated at least ``min_rating``, each pair
    once."""
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings must be a DataFrame, got {type(ratings).__name__}")
    u_col, i_col, r_col = ratings_columns(ratings, user_col, item_col, rating)
    rows = ratings
    if min_rating is not None:
        if r_col is None:
            raise ValueError("min_rating is set but the ratings table has no ratings")
        rows = rows[pd.to_numeric(rows[r_col], errors="coerce") >= min_rating]
    clicks = pd.DataFrame(
        {"user": rows[u_col].to_numpy(), "item": rows[i_col].to_numpy()}
    ).drop_duplicates()
    return clicks.reset_index(drop=True)


def _metrics(items: Any, relevant: list[set], ks: list[int]) -> dict[str, float]:
    """Mean NDCG@k and Recall@k over the users with targets, for each k."""
    out = {}
    for k in ks:
        out[f"NDCG@{k}"] = float(np.nanmean(ndcg_at_k(items, relevant, k)))
    for k in ks:
        out[f"Recall@{k}"] = float(np.nanmean(recall_at_k(items, relevant, k)))
    return out


def _popularity_run(
    train: pd.DataFrame, fold: pd.DataFrame, relevant: pd.Series, ks: list[int]
) -> dict[str, Any]:
    """The most clicked training items not in each held-out user's history."""
    start = time.perf_counter()
    ranked = train["item"].value_counts().index.to_numpy()
    seen = fold.groupby("user")["item"].apply(set)
    users = seen.index.to_numpy()
    lists = [
        [i for i in ranked[: max(ks) + len(seen[u])] if i not in seen[u]] for u in users
    ]
    seconds = time.perf_counter() - start
    row = _metrics(lists, [relevant.get(u, set()) for u in users], ks)
    return {"model": "popularity", "seed": 0, **row, "fit_s": seconds}
