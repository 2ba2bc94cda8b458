"""Choose the recommenders' "auto" rules (issue 13) on tuning data that no
benchmark reports: MovieLens latest-small users kept apart from the benchmarks'
test users, and synthetic matrices of other shapes with known low-rank structure.

    python bench/tuning/tune_recsys.py autorec [DATA_FOLDER]
        [--data ml 500x300 5000x2000] [--configs ...] [--seeds 0]
    python bench/tuning/tune_recsys.py multvae [DATA_FOLDER] [--data ...]
        [--configs ...] [--seeds 0] [--splits 13 14 15]

Tuning sets (never a benchmark's test users):

- ``ml`` for AutoRec: all ratings of a random half (seed 13) of the 482 users
  that `bench/recsys_topk.py` trains on (its 121 test users are never read),
  split 80/20 by rating (seed 13); RMSE of the 20%. `bench/recsys_ratings.py`
  cross-validates over every rating, so these ratings also lie in its test
  folds: the rules are judged there, on all users, after being chosen here.
- ``ml`` for Mult-VAE/DAE: the positives of the same half of the training users,
  split again by user (20% held out, 80/20 fold-in, seed 13); NDCG@100.
- ``UxI`` (e.g. ``500x300``): synthetic users x items with rank-10 structure,
  power-law item popularity and lognormal user activity (seed 7): ratings in
  0.5..5 for AutoRec (80/20 split), clicks for Mult-VAE (strong generalisation).

Prints one line per (data, config): the metric's mean over the seeds, the best
epochs and the fit time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
from aekit import defaults
from aekit.data import read_ratings
from aekit.metrics import rmse, strong_generalization_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recsys_topk
from recsys_topk import DEFAULT_DATA, evaluate, positives  # noqa: E402

SEED = 13
# Each config is a set of explicit parameters; "auto" rows use the library's
# defaults for everything not named.
AUTOREC = {
    "defaults": {},
    "defaults_l2_1e-4": dict(l2=1e-4),
    "defaults_h2x": dict(hidden_dim="x2"),
    "old_defaults": dict(
        hidden_dim=500, learning_rate=1e-3, l2=1e-4, patience=10, batch_size=64
    ),
    **{
        f"h{h}": dict(hidden_dim=h, learning_rate=3e-3, l2=0.0, patience=5)
        for h in (25, 50, 100, 200, 500)
    },
    "h50_lr1e-3": dict(hidden_dim=50, learning_rate=1e-3, l2=0.0, patience=5),
    "h50_l2_1e-4": dict(hidden_dim=50, learning_rate=3e-3, l2=1e-4, patience=5),
    "h50_pat10": dict(hidden_dim=50, learning_rate=3e-3, l2=0.0, patience=10),
}
SHALLOW = dict(hidden_dims=(), dropout=0.3)
MULT = {
    "defaults": {},
    "paper": dict(
        hidden_dims=(600,), latent_dim=200, dropout=0.5, batch_size=128, patience=20
    ),
    "paper_b32": dict(hidden_dims=(600,), latent_dim=200, dropout=0.5, batch_size=32),
    **{f"shallow_{k}": dict(SHALLOW, latent_dim=k) for k in (100, 200, 600)},
    "shallow_600_d0.5": dict(hidden_dims=(), latent_dim=600, dropout=0.5),
    "deep_600_d0.3": dict(hidden_dims=(600,), latent_dim=200, dropout=0.3),
    "dae_shallow_600": dict(SHALLOW, latent_dim=600, model="dae"),
    "dae_defaults": dict(model="dae"),
    "dae_paper": dict(hidden_dims=(600,), latent_dim=200, dropout=0.5, model="dae"),
    # Round 2 (session 8): candidates for MultVAE's defaults at the same shape.
    "cap_0.5": dict(anneal_cap=0.5),
    "cap_1": dict(anneal_cap=1.0),
    "cap_0.1": dict(anneal_cap=0.1),
    "dropout_0.2": dict(dropout=0.2),
    "dropout_0.5": dict(dropout=0.5),
    "lr_3e-3": dict(learning_rate=3e-3),
    "l2_1e-5": dict(l2=1e-5),
    "patience_2x": dict(patience="x2"),
    "val_0.2": dict(validation_fraction=0.2),
    "batch_64": dict(batch_size=64),
}


def ml_tuning_users(data: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """(all ratings, the tuning users): half of recsys_topk's training users."""
    ratings = read_ratings(data / "ml-latest-small" / "ratings.csv")
    ratings = ratings[["userId", "movieId", "rating"]]
    pos = positives(data / "ml-latest-small" / "ratings.csv")
    train, _, _ = strong_generalization_split(pos, random_state=0)  # as the bench
    users = np.sort(train["user"].unique())
    rng = np.random.default_rng(SEED)
    return ratings, rng.choice(users, len(users) // 2, replace=False)


def synthetic(n_users: int, n_items: int, density: float, seed: int = 7):
    """(user, item, rating) rows and a click table of a rank-10 model: item
    popularity ~ Zipf (exponent 1), user activity lognormal; each user's items
    are drawn (Gumbel top-k) in proportion to popularity x exp(affinity)."""
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(n_users, 10)) / np.sqrt(10)
    Q = rng.normal(size=(n_items, 10))
    pop = np.log(1.0 / np.arange(1, n_items + 1))[rng.permutation(n_items)]
    activity = rng.lognormal(0.0, 0.8, n_users)
    counts = np.clip(activity / activity.mean() * density * n_items, 5, n_items // 2)
    rows, cols = [], []
    for start in range(0, n_users, 1000):
        aff = P[start : start + 1000] @ Q.T
        logits = pop + 1.5 * aff + rng.gumbel(size=aff.shape)
        order = np.argsort(-logits, axis=1)
        for r, row in enumerate(order):
            k = int(counts[start + r])
            rows.append(np.full(k, start + r))
            cols.append(row[:k])
    u, i = np.concatenate(rows), np.concatenate(cols)
    bias_u, bias_i = rng.normal(0, 0.3, n_users), rng.normal(0, 0.4, n_items)
    score = 2.9 + bias_u[u] + bias_i[i] + np.einsum("nd,nd->n", P[u], Q[i])
    score += rng.normal(0, 0.5, len(u))
    rating = np.clip(np.round(score * 2) / 2, 0.5, 5.0)
    frame = pd.DataFrame({"user": u, "item": i, "rating": rating})
    return frame, frame[frame["rating"] >= 4.0][["user", "item"]]


def ratings_set(name: str, data: Path) -> pd.DataFrame:
    if name == "ml":
        ratings, users = ml_tuning_users(data)
        return ratings[ratings["userId"].isin(users)]
    n_users, n_items = map(int, name.split("x"))
    return synthetic(n_users, n_items, 0.03)[0]


def clicks_set(name: str, data: Path) -> pd.DataFrame:
    if name == "ml":
        pos = positives(data / "ml-latest-small" / "ratings.csv")
        return pos[pos["user"].isin(ml_tuning_users(data)[1])]
    n_users, n_items = map(int, name.split("x"))
    clicks = synthetic(n_users, n_items, 0.03)[1]
    counts = clicks.groupby("user")["item"].transform("size")
    return clicks[counts >= 5]


def run_autorec(frame: pd.DataFrame, params: dict, seed: int) -> tuple[float, int]:
    if params.get("hidden_dim") == "x2":  # twice the rule's width
        n_users = frame.iloc[:, 0].nunique()
        params = dict(params, hidden_dim=2 * defaults.autorec_hidden_rule(n_users))
    rng = np.random.default_rng(SEED)
    test = rng.random(len(frame)) < 0.2
    model = aekit.AutoRec(**params, random_state=seed, device="cpu")
    model.fit(frame[~test])
    pred = model.predict(frame[test])
    return rmse(frame[test].iloc[:, 2].to_numpy(), pred), model


def run_mult(
    frame: pd.DataFrame, params: dict, seed: int, split: int = SEED
) -> tuple[float, int]:
    params = dict(params)
    cls = aekit.MultDAE if params.pop("model", "vae") == "dae" else aekit.MultVAE
    train, fold, target = strong_generalization_split(frame, random_state=split)
    if params.get("patience") == "x2":  # twice the rule's patience
        probe = cls(**{**params, "patience": "auto"}, max_epochs=1, device="cpu")
        params["patience"] = 2 * probe.fit(train).patience_
    model = cls(**params, random_state=seed, device="cpu").fit(train)
    rec = model.recommend(fold, k=100)
    return evaluate(rec.items, target, rec.users)["NDCG@100"], model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("autorec", "multvae"))
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--data", dest="sets", nargs="+", default=["ml", "500x300"])
    parser.add_argument("--configs", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--splits",
        type=int,
        nargs="+",
        default=[SEED],
        help="multvae: seeds of the user split inside the tuning set (each with "
        "every --seeds), to average over which users are held out",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = AUTOREC if args.model == "autorec" else MULT
    run = run_autorec if args.model == "autorec" else run_mult
    load = ratings_set if args.model == "autorec" else clicks_set
    for name in args.sets:
        frame = load(name, Path(args.data))
        shape = (frame.iloc[:, 0].nunique(), frame.iloc[:, 1].nunique(), len(frame))
        print(f"== {name}: {shape[0]} users, {shape[1]} items, {shape[2]} rows")
        for config in args.configs or list(table):
            scores, epochs, start = [], [], time.perf_counter()
            runs = [(seed, split) for split in args.splits for seed in args.seeds]
            for seed, split in runs:
                extra = {"split": split} if args.model == "multvae" else {}
                score, model = run(frame, table[config], seed, **extra)
                scores.append(score)
                epochs.append(model.best_epoch_)
            seconds = (time.perf_counter() - start) / len(runs)
            resolved = getattr(model, "resolved_params_", {})
            print(
                f"{name:10s} {config:18s} {np.mean(scores):.4f} +- "
                f"{np.std(scores):.4f} [{' '.join(f'{x:.4f}' for x in scores)}] "
                f"best epochs {epochs} {seconds:.0f}s/fit "
                f"{resolved}",
                flush=True,
            )


if __name__ == "__main__":
    main()
