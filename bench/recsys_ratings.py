"""Explicit ratings on MovieLens latest-small: aekit's AutoRec against Surprise's
BaselineOnly, SVD and SVD++ on the same 5 folds (all ratings shuffled, seed 0).
AutoRec's first row is the library's defaults (`AutoRec()`), its second the
hand-tuned setting. Reports mean +- std over folds of RMSE, MAE and fit seconds,
as a Markdown table.

    python bench/recsys_ratings.py [DATA_FOLDER] [--folds 5] [--skip-svdpp]

DATA_FOLDER holds ``ml-latest-small/`` (default: ../shared/data from the repo root).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import KFold

import aekit
from aekit.data import read_ratings
from aekit.metrics import mae, rmse

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
# Tuned by hand on one 80/20 split of the same ratings (seed 0): see BENCHMARKS.md.
TUNED = dict(hidden_dim=50, input_dropout=0.5, learning_rate=3e-3, l2=0.0, patience=5)
AUTOREC = {"AutoRec (aekit, defaults)": {}, "AutoRec (aekit, tuned)": TUNED}


def fit_autorec(
    params: dict, train: pd.DataFrame, test: pd.DataFrame
) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    model = aekit.AutoRec(**params, random_state=0, device="cpu").fit(train)
    seconds = time.perf_counter() - start
    return model.predict(test), seconds


def fit_surprise(name: str, train: pd.DataFrame, test: pd.DataFrame):
    from surprise import SVD, BaselineOnly, Dataset, Reader, SVDpp

    algo = {
        "BaselineOnly": BaselineOnly(verbose=False),
        "SVD": SVD(random_state=0),
        "SVD++": SVDpp(random_state=0),
    }[name]
    data = Dataset.load_from_df(train.iloc[:, :3], Reader(rating_scale=(0.5, 5.0)))
    start = time.perf_counter()
    algo.fit(data.build_full_trainset())
    seconds = time.perf_counter() - start
    pairs = zip(test.iloc[:, 0], test.iloc[:, 1], strict=True)
    pred = [algo.predict(u, i).est for u, i in pairs]
    return np.asarray(pred), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-svdpp", action="store_true")
    args = parser.parse_args()
    ratings = read_ratings(Path(args.data) / "ml-latest-small" / "ratings.csv")
    ratings = ratings[["userId", "movieId", "rating"]]
    models = [*AUTOREC, "BaselineOnly", "SVD"]
    models += [] if args.skip_svdpp else ["SVD++"]
    results: dict[str, list[tuple[float, float, float]]] = {m: [] for m in models}
    folds = KFold(args.folds, shuffle=True, random_state=0).split(ratings)
    for fold, (tr, te) in enumerate(folds, 1):
        train, test = ratings.iloc[tr], ratings.iloc[te]
        for name in models:
            if name in AUTOREC:
                pred, seconds = fit_autorec(AUTOREC[name], train, test)
            else:
                pred, seconds = fit_surprise(name, train, test)
            row = (rmse(test["rating"], pred), mae(test["rating"], pred), seconds)
            results[name].append(row)
            print(
                f"fold {fold} {name}: RMSE {row[0]:.4f} MAE {row[1]:.4f} "
                f"fit {row[2]:.1f}s",
                flush=True,
            )
    report(results, len(ratings), args.folds)


def report(results, n_ratings: int, n_folds: int) -> None:
    print(
        f"\n{n_ratings} ratings, {n_folds}-fold CV; torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load {os.getloadavg()}\n"
    )
    print("| model | RMSE | MAE | fit seconds |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        r, m, s = np.asarray(rows).T
        print(
            f"| {name} | {r.mean():.4f} ± {r.std():.4f} | {m.mean():.4f} ± "
            f"{m.std():.4f} | {s.mean():.1f} ± {s.std():.1f} |"
        )


if __name__ == "__main__":
    main()
