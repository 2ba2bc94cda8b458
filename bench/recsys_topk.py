"""Implicit feedback, strong generalisation (Liang et al. 2018), on MovieLens
latest-small and MovieLens-100K: ratings >= 4 are positives, users with >= 5
positives, 20% of users held out (seed 0); each held-out user's positives are
split 80% history / 20% targets. NDCG@100, Recall@20 and Recall@50 of item
popularity, EASE (Steck 2019; written here, its L2 weight chosen on a validation
split of the training users), and aekit's EASE, RecVAE, Mult-VAE and Mult-DAE at
the library's defaults (only ``random_state`` and the device set); Mult-VAE/DAE
also at the hand-tuned setting. For aekit's EASE also: each l2 of a grid judged
on the test users (an oracle: how far the default is from the best grid point)
and the bounded-memory variant ``top_items`` (half and a quarter of the items).

    python bench/recsys_topk.py [DATA_FOLDER] [--datasets ml-latest-small ml-100k]
        [--models ease recvae multvae multdae] [--seeds 0 1 2 3 4] [--skip-tuned]

DATA_FOLDER holds ``ml-latest-small/`` (default: ../shared/data from the repo
root). MovieLens-100K is read from the installed ``recbole`` package
(``recbole/dataset_example/ml-100k/``), or from a recbole wheel under
``bench/out/recbole/`` (``pip download --no-deps recbole==1.2.1 -d
bench/out/recbole``); its licence forbids copying it into this repository.
Without either it is skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
from aekit.data import frame_to_matrix, lookup, read_ratings
from aekit.metrics import ndcg_at_k, recall_at_k, strong_generalization_split

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
EASE_GRID = (50.0, 100.0, 200.0, 500.0, 1000.0)
# Chosen on the validation split of the training users (as EASE's lambda), with
# bench/tuning/tune_multvae.py: with ~400 training users, batches of 32, a faster
# KL ramp than the defaults, and a linear encoder and decoder with a 600-d code
# (no hidden layer) instead of Liang et al.'s 600-200 network.
AEKIT = dict(batch_size=32, random_state=0, device="cpu")
VAE_EXTRA = dict(anneal_steps=2000)
SHAPE = dict(hidden_dims=(), latent_dim=600)
PARAMS = {
    "MultVAE": {**AEKIT, **VAE_EXTRA, **SHAPE, "dropout": 0.3},
    "MultDAE": {**AEKIT, **SHAPE, "dropout": 0.3},
}
DEFAULTS = {"random_state": 0, "device": "cpu"}
AEKIT_DEFAULTS = {
    "recvae": aekit.RecVAE,
    "multvae": aekit.MultVAE,
    "multdae": aekit.MultDAE,
}
ML100K = "recbole/dataset_example/ml-100k/ml-100k.inter"
WHEELS = Path(__file__).resolve().parent / "out" / "recbole"
L2_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)  # times aekit's EASE's default l2


def ml100k_ratings() -> pd.DataFrame | None:
    """MovieLens-100K's (user, item, rating) rows from the installed recbole
    package or a recbole wheel in `WHEELS`; None when neither is there."""
    spec = importlib.util.find_spec("recbole")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent.parent / ML100K
        if path.is_file():
            return _inter_table(path.read_bytes())
    for wheel in sorted(WHEELS.glob("recbole-*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            if ML100K in archive.namelist():
                return _inter_table(archive.read(ML100K))
    return None


def _inter_table(raw: bytes) -> pd.DataFrame:
    """RecBole's atomic .inter file (tab-separated, ``name:type`` headers)."""
    frame = pd.read_csv(io.BytesIO(raw), sep="\t")
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame.rename(
        columns={"user_id": "userId", "item_id": "movieId", "rating": "rating"}
    )


def dataset_positives(name: str, data: Path) -> pd.DataFrame | None:
    """The positives of a benchmark dataset by name (None: not available)."""
    if name == "ml-latest-small":
        return positives(data / "ml-latest-small" / "ratings.csv")
    ratings = ml100k_ratings()
    return None if ratings is None else positives(ratings)


def positives(source: Path | pd.DataFrame) -> pd.DataFrame:
    ratings = read_ratings(source) if isinstance(source, Path) else source
    pos = ratings.loc[ratings["rating"] >= 4, ["userId", "movieId"]]
    counts = pos.groupby("userId")["movieId"].transform("size")
    return pos[counts >= 5].rename(columns={"userId": "user", "movieId": "item"})


def evaluate(top: np.ndarray, target: pd.DataFrame, users: np.ndarray) -> dict:
    """Mean NDCG@100, Recall@20, Recall@50 of ranked item lists ``top``."""
    sets = target.groupby("user")["item"].apply(set)
    relevant = [sets.get(u, set()) for u in users]
    return {
        "NDCG@100": float(np.nanmean(ndcg_at_k(top, relevant, 100))),
        "Recall@20": float(np.nanmean(recall_at_k(top, relevant, 20))),
        "Recall@50": float(np.nanmean(recall_at_k(top, relevant, 50))),
    }


def history_matrix(fold: pd.DataFrame, item_ids: np.ndarray):
    """(users, binary matrix over ``item_ids``) of a fold-in table."""
    M, users, items = frame_to_matrix(fold, "user", "item")
    cols = lookup(item_ids, items)
    return users, (M @ _selector(cols, len(item_ids))).tocsr()


def _selector(cols: np.ndarray, n: int):
    import scipy.sparse as sp

    keep = np.flatnonzero(cols >= 0)
    return sp.csr_matrix((np.ones(len(keep)), (keep, cols[keep])), (len(cols), n))


def top_k(scores: np.ndarray, seen, item_ids: np.ndarray, k: int = 100):
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[seen.nonzero()] = -np.inf
    idx = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, idx, 1).argsort(axis=1)[:, ::-1]
    return item_ids[np.take_along_axis(idx, order, 1)]


def ease_weights(X, lam: float) -> np.ndarray:
    """EASE's item-item matrix B: closed form with a zero diagonal."""
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = -P / np.diag(P)
    B[np.diag_indices_from(B)] = 0.0
    return B


def run_ease(train, fold, target) -> tuple[dict, float, float]:
    """EASE with lambda picked by NDCG@100 on a split of the training users."""
    tr, vfold, vtarget = strong_generalization_split(
        train, test_users=0.2, random_state=1
    )
    X, _, items = frame_to_matrix(tr, "user", "item")
    users, H = history_matrix(vfold, items)
    best = max(
        EASE_GRID,
        key=lambda lam: evaluate(
            top_k(H @ ease_weights(X, lam), H, items), vtarget, users
        )["NDCG@100"],
    )
    start = time.perf_counter()
    X, _, items = frame_to_matrix(train, "user", "item")
    B = ease_weights(X, best)
    seconds = time.perf_counter() - start
    users, H = history_matrix(fold, items)
    return evaluate(top_k(H @ B, H, items), target, users), best, seconds


def run_popularity(train, fold, target) -> dict:
    X, _, items = frame_to_matrix(train, "user", "item")
    users, H = history_matrix(fold, items)
    pop = np.asarray(X.sum(axis=0)).ravel()
    return evaluate(top_k(np.tile(pop, (H.shape[0], 1)), H, items), target, users)


def fit_aekit(cls, params: dict, train: pd.DataFrame, refit: bool = False):
    """``(model, epochs)``: a fit with early stopping on 10% of the users and its
    best epoch; with ``refit``, then a fresh model trained on all of them for
    that many epochs (as EASE's lambda is chosen on a split and the final EASE
    sees every training user), whose own ``best_epoch_`` is left as the refit
    set it. Refitting measured no better on the validation split
    (tune_multvae.py --refit), so the benchmark does not."""
    model = cls(**params).fit(train)
    best = model.best_epoch_
    if refit:
        model = cls(**params).set_params(max_epochs=best, early_stopping=False)
        model.fit(train)
    return model, best


def run_aekit(cls, params, train, fold, target, seeds) -> tuple[dict, str]:
    """Mean metrics over fits with each seed as ``random_state``; the note gives
    the spread of NDCG@100, the mean fit time and the best epochs."""
    runs, seconds, epochs = [], [], []
    for seed in seeds:
        start = time.perf_counter()
        model, best = fit_aekit(cls, {**params, "random_state": seed}, train)
        seconds.append(time.perf_counter() - start)
        rec = model.recommend(fold, k=100)
        runs.append(evaluate(rec.items, target, rec.users))
        epochs.append(best)
    mean = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    ndcg = " ".join(f"{r['NDCG@100']:.4f}" for r in runs)
    note = f"fit {np.mean(seconds):.1f}s, best epochs {epochs}"
    if len(seeds) > 1:
        spread = np.std([r["NDCG@100"] for r in runs])
        note = f"mean of {len(seeds)} seeds, NDCG@100 sd {spread:.4f} [{ndcg}]; {note}"
    return mean, note


def run_aekit_ease(train, fold, target) -> dict[str, tuple[dict, str]]:
    """aekit's EASE at its defaults, at multiples of its default l2 (judged on
    the test users: an oracle grid) and with ``top_items`` (bounded memory)."""
    rows: dict[str, tuple[dict, str]] = {}
    start = time.perf_counter()
    model = aekit.EASE(device="cpu").fit(train)
    seconds = time.perf_counter() - start
    rec = model.recommend(fold, k=100)
    n_items = len(model.item_ids_)
    note = f"l2_={model.l2_:.1f} (auto), {n_items} items, fit {seconds:.1f}s"
    rows["EASE (aekit, defaults)"] = (evaluate(rec.items, target, rec.users), note)
    for factor in L2_GRID:
        grid = aekit.EASE(l2=factor * model.l2_, device="cpu").fit(train)
        rec = grid.recommend(fold, k=100)
        name = f"EASE (aekit, l2 = {factor:g} x auto, oracle grid)"
        rows[name] = (evaluate(rec.items, target, rec.users), f"l2={grid.l2_:.1f}")
    for share in (2, 4):
        bounded = aekit.EASE(top_items=n_items // share, device="cpu").fit(train)
        rec = bounded.recommend(fold, k=100)
        name = f"EASE (aekit, top_items={n_items // share})"
        note = f"bounded memory: 1/{share * share} of the model; l2_={bounded.l2_:.1f}"
        rows[name] = (evaluate(rec.items, target, rec.users), note)
    return rows


def run_dataset(pos: pd.DataFrame, args: argparse.Namespace) -> dict:
    """Every row of one dataset's table, printed as it is measured."""
    train, fold, target = strong_generalization_split(pos, random_state=0)
    print(
        f"{pos['user'].nunique()} users, {pos['item'].nunique()} items, "
        f"{len(pos)} positives; {fold['user'].nunique()} held-out users",
        flush=True,
    )
    rows = {"Popularity": (run_popularity(train, fold, target), "")}
    metrics, lam, secs = run_ease(train, fold, target)
    rows["EASE (bench, lambda on validation)"] = (
        metrics,
        f"lambda={lam:g}, fit {secs:.1f}s",
    )
    if "ease" in args.models:
        rows.update(run_aekit_ease(train, fold, target))
    for key, cls in AEKIT_DEFAULTS.items():
        if key not in args.models:
            continue
        settings = {"defaults": DEFAULTS}
        if cls.__name__ in PARAMS and not args.skip_tuned:
            settings["tuned"] = PARAMS[cls.__name__]
        for label, params in settings.items():
            name = f"{cls.__name__} (aekit, {label})"
            rows[name] = run_aekit(cls, params, train, fold, target, args.seeds)
            print(name, rows[name], flush=True)
    return rows


def print_table(rows: dict) -> None:
    print("| model | NDCG@100 | Recall@20 | Recall@50 | notes |")
    print("|---|---|---|---|---|")
    for name, (m, note) in rows.items():
        print(
            f"| {name} | {m['NDCG@100']:.4f} | {m['Recall@20']:.4f} | "
            f"{m['Recall@50']:.4f} | {note} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--datasets", nargs="+", default=["ml-latest-small", "ml-100k"])
    parser.add_argument(
        "--models", nargs="+", default=["ease", *AEKIT_DEFAULTS], help="aekit's"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2, 3, 4],
        help="random_state of each aekit fit; the table gives their mean",
    )
    parser.add_argument("--skip-tuned", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.datasets:
        pos = dataset_positives(name, Path(args.data))
        if pos is None:
            print(f"{name}: skipped (install recbole, or see the docstring)")
            continue
        print(f"\n## {name}", flush=True)
        rows = run_dataset(pos, args)
        load = os.getloadavg()
        print(f"\ntorch {torch.__version__}, {os.cpu_count()} CPUs, load {load}\n")
        print_table(rows)


if __name__ == "__main__":
    main()
