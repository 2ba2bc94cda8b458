"""Choose `aekit.EASE`'s ``l2="auto"`` rule on tuning data that no benchmark
reports (issue 25): the positives of half of the MovieLens latest-small users
that `bench/recsys_topk.py` trains on (its test users are never read) and
synthetic click matrices (see `tune_recsys.py`, whose tuning sets these are).

    python bench/tuning/tune_ease.py [DATA_FOLDER] [--data ml 500x300 3000x1000]
        [--splits 13 14 15]

For each tuning set and each l2 on a grid (as multiples of the mean clicks per
item, the rule's unit, and as multiples of the number of users, the other
candidate unit) prints the NDCG@100 of the held-out users (strong
generalisation, 80/20 fold-in), averaged over the splits; then, per set, the
best grid point and the NDCG of each rule's candidates relative to it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.metrics import strong_generalization_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_recsys import DEFAULT_DATA, clicks_set, evaluate  # noqa: E402

PER_CLICK = (1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0)
PER_USER = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def ndcg(train, fold, target, l2: float) -> float:
    model = aekit.EASE(l2=l2, device="cpu").fit(train)
    rec = model.recommend(fold, k=100)
    return evaluate(rec.items, target, rec.users)["NDCG@100"]


def sweep(frame, splits: list[int]) -> dict[str, float]:
    """Mean NDCG@100 over the splits for every grid point, keyed by its name."""
    scores: dict[str, list[float]] = {}
    for split in splits:
        train, fold, target = strong_generalization_split(frame, random_state=split)
        n_users = train["user"].nunique()
        mean_clicks = len(train) / train["item"].nunique()
        grid = {f"{c:g} x clicks/item": c * mean_clicks for c in PER_CLICK}
        grid.update({f"{c:g} x users": c * n_users for c in PER_USER})
        for name, l2 in grid.items():
            scores.setdefault(name, []).append(ndcg(train, fold, target, l2))
        print(
            f"  split {split}: {n_users} users, {mean_clicks:.1f} clicks/item",
            flush=True,
        )
    return {name: float(np.mean(values)) for name, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--data", dest="sets", nargs="+", default=["ml", "500x300"])
    parser.add_argument("--splits", type=int, nargs="+", default=[13, 14, 15])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.sets:
        frame = clicks_set(name, Path(args.data))
        print(f"{name}: {frame['user'].nunique()} users, {len(frame)} clicks")
        scores = sweep(frame, args.splits)
        best = max(scores.values())
        for grid_point, value in scores.items():
            print(f"  {grid_point:>18}: NDCG@100 {value:.4f} ({value / best:.4f})")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
