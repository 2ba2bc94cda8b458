"""How well does ``contamination="auto"`` guess the anomaly rate? The training label
rate of `AnomalyDetector(contamination="auto")` against the true anomaly rate, next
to PyThresh's thresholders applied to the same training scores.

Per set: standardise the whole set (subsampled to --max-rows rows, stratified,
seed 0), fit the default detector without labels, and keep its training scores
(cached under bench/out/threshold_scores/, so a rerun only re-thresholds; delete
the folder after changing the detector). Then every rule labels those scores; a
rule "hits" a set when its label rate is within a factor 2 of the true rate.

    python bench/tuning/auto_threshold.py [DATA] --family FAMILY
        [--rules aekit_mad aekit_auto ...] [--pythresh FILTER KARCH ...]

Families (FAMILY): ``adbench`` are the ADBench tuning sets of
`bench/tuning/tune_detector.py`
(the rule was chosen on these), ``odds`` the 17 benchmark sets of
`bench/anomaly_odds.py`, ``rare`` the 34 rare-class tasks of `bench/rare_tasks.py`
of rounds 1-2, ``fresh`` and ``fresh2`` its `FRESH` and `FRESH2` families
(round 3), ``fresh3`` its `FRESH3` family (issue 22, judged on).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

import aekit
from aekit import thresholds

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH))  # rare_tasks, anomaly_odds
CACHE = BENCH / "out" / "threshold_scores"


def round2_auto(scores: np.ndarray) -> float:
    """``"auto"`` of issue 13 round 2: the mixture step, else the lower of the
    shorth and two-sigma cuts."""
    mixture = thresholds.mixture_threshold(scores)
    if mixture is not None:
        return mixture
    return min(thresholds.shorth_threshold(scores), thresholds.sigma_threshold(scores))


RULES = {
    "aekit_auto": thresholds.auto_threshold,
    "round2_auto": round2_auto,
    "previous_auto": thresholds.mad_threshold,  # median/MAD, z 3.5 (round 1)
    "shorth": thresholds.shorth_threshold,
    "two_sigma": thresholds.sigma_threshold,
}
# PyThresh's best on the ADBench tuning sets in a first pass (FILTER, DSN: 10 of
# 18), the ones its documentation recommends (OCSVM, CLF, META) and the classical
# ones; KARCH, MIXMOD, EB, HIST and GESD hit 1-7 of 18 and took up to 200 s.
PYTHRESH = ("FILTER", "DSN", "OCSVM", "CLF", "META", "IQR", "MAD", "ZSCORE")


def family_sets(data: Path, family: str, max_rows: int):
    """(name, loader) pairs of a family; a loader returns (X, y)."""
    from tune_detector import TUNING_SETS, load

    from aekit.data import load_odds
    from anomaly_odds import SETS
    from rare_tasks import FRESH, FRESH2, FRESH3, TASKS, load_task

    if family == "adbench":
        return [(n, lambda n=n: load(data, n, max_rows)) for n in TUNING_SETS]
    if family == "odds":
        folder = data / "odds" / "odds_mat"
        return [(n, lambda n=n: load_odds(folder / f"{n}.mat")) for n in SETS]
    if family in ("fresh", "fresh2", "fresh3"):
        names = {"fresh": FRESH, "fresh2": FRESH2, "fresh3": FRESH3}[family]
    else:
        names = [n for n in TASKS if n not in FRESH + FRESH2 + FRESH3]
    return [(n, lambda n=n: load_task(n)) for n in names]


def training_scores(name: str, loader, seed: int) -> tuple[np.ndarray, np.ndarray]:
    path = CACHE / f"{name}_seed{seed}.npz"
    if path.exists():
        with np.load(path) as f:
            return f["scores"], f["y"]
    X, y = loader()
    if len(X) > 10_000:  # the ODDS sets are read in full
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X, y, train_size=10_000, stratify=y, random_state=0
        )
    X = StandardScaler().fit_transform(X)
    det = aekit.AnomalyDetector(random_state=seed).fit(X)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, scores=det.decision_scores_, y=y)
    return det.decision_scores_, y


def pythresh_rate(method: str, scores: np.ndarray) -> float:
    from importlib import import_module

    module = import_module(f"pythresh.thresholds.{method.lower()}")
    try:
        return float(np.mean(getattr(module, method)().eval(scores)))
    except Exception:  # a thresholder that fails counts as a miss
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(BENCH.parent / ".." / "shared" / "data")
    )
    parser.add_argument(
        "--family",
        choices=("adbench", "odds", "rare", "fresh", "fresh2", "fresh3"),
        default="adbench",
    )
    parser.add_argument("--rules", nargs="+", default=list(RULES))
    parser.add_argument("--pythresh", nargs="*", default=list(PYTHRESH))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, default=10_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    methods = args.rules + args.pythresh
    rates: dict[str, dict[str, float]] = {}
    seconds = dict.fromkeys(methods, 0.0)
    for name, loader in family_sets(Path(args.data), args.family, args.max_rows):
        scores, y = training_scores(name, loader, args.seed)
        row = rates[name] = {"true": float(y.mean())}
        for m in methods:
            start = time.perf_counter()
            if m in RULES:
                row[m] = float(np.mean(scores > RULES[m](scores)))
            else:
                row[m] = pythresh_rate(m, scores)
            seconds[m] += time.perf_counter() - start
        print(name, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    print(f"\n| set | true | {' | '.join(methods)} |")
    print("|---" * (len(methods) + 2) + "|")
    hits = dict.fromkeys(methods, 0)
    for name, row in rates.items():
        for m in methods:
            ratio = row[m] / row["true"] if row["true"] > 0 else np.nan
            hits[m] += bool(0.5 <= ratio <= 2.0)
        cells = " | ".join(f"{row[m]:.3f}" for m in methods)
        print(f"| {name} | {row['true']:.3f} | {cells} |")
    print(f"| **within 2x (of {len(rates)})** | | "
          + " | ".join(f"**{hits[m]}**" for m in methods) + " |")  # fmt: skip
    print("| seconds (all sets) | | "
          + " | ".join(f"{seconds[m]:.1f}" for m in methods) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
