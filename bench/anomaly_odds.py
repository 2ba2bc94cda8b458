"""Anomaly detection on the 17 ODDS sets of PyOD's own benchmark: aekit's default
`AnomalyDetector` against PyOD's IForest, AutoEncoder, VAE, ECOD and KNN with their
defaults, on the same splits.

Per dataset and seed: a random 60/40 train/test split, standardisation fitted on
the train part, fit without labels, ROC-AUC and average precision on the test part,
and the fit time. Every detector runs with ``torch.set_num_threads(--threads)``.

    python bench/anomaly_odds.py [DATA] [--seeds 0 1 2 3 4] [--threads 1]
        [--detectors aekit aekit_tuned IForest ...] [--json results.json]
        [--family odds|rare_heldout|rare_fresh|rare_fresh2|rare_fresh3|rare]

``aekit`` is the library's defaults, ``aekit_tuned`` the tuned setting (the mean
of the robust z-scored scores of five default detectors with different seeds: the
best accuracy seen on the tuning sets, at five times the fit time).
`--detectors aekit_recon` adds an earlier default (reconstruction error alone,
up to 40 epochs), ``aekit_maha`` the Mahalanobis code distance named, and
``aekit_notails`` the default before issue 22 (no feature-tails part) for
comparison.

``--family rare_heldout`` runs the rare-class tasks kept apart from tuning in
rounds 1-2 of issue 13 (`bench/rare_tasks.py`), ``rare_fresh`` and
``rare_fresh2`` the families added in round 3, ``rare_fresh3`` the one added
for issue 22, ``rare`` the tuning ones: each
detector is fitted on all rows of a task and scores them (a task has only 4-20
anomalies; a 40% test part would hold a handful).

DATA defaults to ../shared/data relative to the repository root.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.data import load_odds
from aekit.estimators import default_detector_model

SETS = [
    "arrhythmia",
    "cardio",
    "glass",
    "ionosphere",
    "letter",
    "lympho",
    "mnist",
    "musk",
    "optdigits",
    "pendigits",
    "pima",
    "satellite",
    "satimage-2",
    "shuttle",
    "vertebral",
    "vowels",
    "wbc",
]
DETECTORS = ("aekit", "aekit_tuned", "IForest", "AutoEncoder", "VAE", "ECOD", "KNN")
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def make_detector(name: str, seed: int):
    if name == "aekit":
        return aekit.AnomalyDetector(random_state=seed)
    if name == "aekit_maha":  # the default, named (round 3 judged it against knn)
        return aekit.AnomalyDetector(random_state=seed, code_distance="mahalanobis")
    if name == "aekit_notails":  # the default before issue 22 (no feature tails)
        return aekit.AnomalyDetector(random_state=seed, feature_tails=False)
    if name == "aekit_knn":  # the opt-in code_distance="knn"
        return aekit.AnomalyDetector(random_state=seed, code_distance="knn")
    if name == "aekit_tuned":
        sys.path.insert(0, str(Path(__file__).resolve().parent / "tuning"))
        from tune_detector import MeanOfZ

        return MeanOfZ(
            [aekit.AnomalyDetector(random_state=100 * seed + i) for i in range(5)]
        )
    if name == "aekit_recon":  # the defaults before the latent distance
        model = default_detector_model(seed).set_params(max_epochs=40)
        return aekit.AnomalyDetector(model, latent_distance=False)
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.vae import VAE

    if name == "IForest":
        return IForest(random_state=seed)
    if name == "AutoEncoder":
        return AutoEncoder(random_state=seed, verbose=0)
    if name == "VAE":
        return VAE(random_state=seed, verbose=0)
    return {"ECOD": ECOD, "KNN": KNN}[name]()


def run_one(X, y, seed: int, detectors, transductive: bool = False) -> dict:
    if transductive:  # fit on every row and score them all
        Xtr, Xte, yte = X, X, y
    else:
        Xtr, Xte, _, yte = train_test_split(X, y, test_size=0.4, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    out = {}
    for name in detectors:
        det = make_detector(name, seed)
        start = time.perf_counter()
        det.fit(Xtr)
        seconds = time.perf_counter() - start
        scores = np.nan_to_num(det.decision_function(Xte), posinf=1e300)
        out[name] = {
            "roc_auc": roc_auc_score(yte, scores),
            "ap": average_precision_score(yte, scores),
            "fit_s": seconds,
        }
    return out


def table(results: dict, detectors, key: str, fmt: str = "{:.3f}") -> str:
    lines = ["| dataset | " + " | ".join(detectors) + " |"]
    lines.append("|---" * (len(detectors) + 1) + "|")
    means = {d: [] for d in detectors}
    for ds, per_seed in results.items():
        cells = []
        for d in detectors:
            value = float(np.mean([r[d][key] for r in per_seed.values()]))
            means[d].append(value)
            cells.append(fmt.format(value))
        lines.append(f"| {ds} | " + " | ".join(cells) + " |")
    agg = np.sum if key == "fit_s" else np.mean
    label = "**total**" if key == "fit_s" else "**mean**"
    lines.append(
        f"| {label} | "
        + " | ".join(fmt.format(agg(means[d])) for d in detectors)
        + " |"
    )
    return "\n".join(lines)


def load_family(data: Path, family: str, sets: list[str] | None) -> dict:
    """{name: (X, y)} of the ODDS sets or of the rare-class tasks."""
    if family == "odds":
        folder = data / "odds" / "odds_mat"
        return {ds: load_odds(folder / f"{ds}.mat") for ds in sets or SETS}
    from rare_tasks import FRESH, FRESH2, FRESH3, HELD_OUT, TUNING, load_task

    named = {
        "rare_heldout": HELD_OUT,
        "rare_fresh": FRESH,
        "rare_fresh2": FRESH2,
        "rare_fresh3": FRESH3,
        "rare": TUNING,
    }
    names = sets or named[family]
    return {name: load_task(name) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS))
    parser.add_argument("--sets", nargs="+", default=None)
    parser.add_argument(
        "--family",
        choices=(
            "odds",
            "rare_heldout",
            "rare_fresh",
            "rare_fresh2",
            "rare_fresh3",
            "rare",
        ),
        default="odds",
    )
    parser.add_argument("--json", help="also write all results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    data = load_family(Path(args.data), args.family, args.sets)
    results: dict[str, dict] = {ds: {} for ds in data}
    for seed in args.seeds:  # all sets for one seed first: a partial run is usable
        for ds, (X, y) in data.items():
            row = results[ds][seed] = run_one(
                X, y, seed, args.detectors, args.family != "odds"
            )
            cells = ", ".join(
                f"{d} {row[d]['roc_auc']:.3f} ({row[d]['fit_s']:.1f}s)"
                for d in args.detectors
            )
            print(f"{ds} seed {seed}: {cells}", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
    for key, title in (("roc_auc", "ROC-AUC"), ("ap", "average precision")):
        print(f"\n{title} (test, mean over seeds {args.seeds})\n")
        print(table(results, args.detectors, key))
    print("\nfit seconds (mean over seeds, summed over sets in the last row)\n")
    print(table(results, args.detectors, "fit_s", "{:.2f}"))


if __name__ == "__main__":
    main()
