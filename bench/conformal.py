"""Conformal thresholds (issue 24): realised false discovery rate, false alarm
rate and power of ``AnomalyDetector.predict(X, alpha=..., control=...)`` after
``calibrate`` on clean normal rows.

Per ADBench set and seed: the normal rows are split 50/25/25 into train,
calibration and test (stratified subsampling to ``--max-rows`` first, seed 0);
the detector is fitted unsupervised on the training normals (standardised on
them), calibrated on the calibration normals, and judged on the test rows =
the held-out normals + all the set's anomalies. Per alpha (0.05, 0.1):

- ``control="fdr"`` (Benjamini-Hochberg): realised FDR = flagged normals /
  flagged rows (0 when nothing is flagged), power = flagged anomalies /
  anomalies;
- ``control="fpr"`` (``p <= alpha``): false alarm rate = flagged normals /
  test normals, power as above.

Guarantee checked: mean realised FDR over sets and seeds <= alpha (BH bounds it
by alpha * m0 / m), mean false alarm rate <= alpha. Sets: the held-apart
family of bench/semi_supervised.py (ADBench sets not in ``TUNING_SETS``);
``--family tuning`` runs the others.

    OMP_NUM_THREADS=1 python bench/conformal.py [--family heldout|tuning]
        [--data ../shared/data] [--seeds 0 1 2] [--max-rows 3000]

Per-split results are cached in bench/out/conformal/ (a rerun resumes).
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
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

import aekit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from semi_supervised import load  # noqa: E402

sys.path.insert(0, str(BENCH / "tuning"))
from tune_detector import TUNING_SETS  # noqa: E402

OUT = BENCH / "out" / "conformal"
ALPHAS = (0.05, 0.1)
KEYS = ("fdr", "fdr_power", "fpr", "fpr_power")


def split_normals(y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Row indices: train normals, calibration normals, test rows."""
    rng = np.random.default_rng(seed)
    normals = rng.permutation(np.flatnonzero(y == 0))
    a, b = len(normals) // 2, (3 * len(normals)) // 4
    test = np.concatenate([normals[b:], np.flatnonzero(y == 1)])
    return normals[:a], normals[a:b], test


def run_split(X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    train, cal, test = split_normals(y, seed)
    scaler = StandardScaler().fit(X[train])
    X_tr, X_cal, X_te = (scaler.transform(X[i]) for i in (train, cal, test))
    y_te = y[test]
    start = time.perf_counter()
    det = aekit.AnomalyDetector(random_state=seed).fit(X_tr).calibrate(X_cal)
    out: dict = {
        "n_train": len(train),
        "n_cal": len(cal),
        "n_test_normal": int((y_te == 0).sum()),
        "n_anomalies": int((y_te == 1).sum()),
        "auc": float(roc_auc_score(y_te, det.decision_function(X_te))),
    }
    for alpha in ALPHAS:
        bh = det.predict(X_te, alpha=alpha, control="fdr").astype(bool)
        per_row = det.predict(X_te, alpha=alpha, control="fpr").astype(bool)
        out[f"{alpha:g}"] = {
            "fdr": float((bh & (y_te == 0)).sum() / max(bh.sum(), 1)),
            "fdr_power": float(bh[y_te == 1].mean()),
            "fdr_flagged": int(bh.sum()),
            "fpr": float(per_row[y_te == 0].mean()),
            "fpr_power": float(per_row[y_te == 1].mean()),
        }
    out["seconds"] = time.perf_counter() - start
    return out


def set_means(runs: list[dict], alpha: float) -> dict:
    return {k: float(np.mean([r[f"{alpha:g}"][k] for r in runs])) for k in KEYS}


def reachable(run: dict, alpha: float) -> bool:
    """Whether BH can flag anything even with a perfect ranking: the smallest
    p-value, 1 / (n_cal + 1), must be <= alpha * anomalies / test rows."""
    m = run["n_test_normal"] + run["n_anomalies"]
    return 1 / (run["n_cal"] + 1) <= alpha * run["n_anomalies"] / m


def report(results: dict) -> None:
    for alpha in ALPHAS:
        print(f"\nalpha = {alpha:g}: per set, mean over seeds")
        print("| set | n cal | test normals / anomalies | BH reachable | ROC-AUC "
              "| FDR (BH) | power (BH) | false alarm rate (p <= a) "
              "| power (p <= a) |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        rows, ok = [], []
        for name, runs in results.items():
            m = set_means(runs, alpha)
            rows.append(m)
            ok.append(reachable(runs[0], alpha))
            auc = np.mean([r["auc"] for r in runs])
            flag = "yes" if ok[-1] else "no"
            print(f"| {name} | {runs[0]['n_cal']} | {runs[0]['n_test_normal']} / "
                  f"{runs[0]['n_anomalies']} | {flag} | {auc:.3f} | "
                  + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")  # fmt: skip
        avg = {k: np.mean([m[k] for m in rows]) for k in KEYS}
        worst = max(m["fdr"] for m in rows)
        print(f"| **mean of {len(rows)} sets** | | | | | "
              + " | ".join(f"**{avg[k]:.3f}**" for k in KEYS) + " |")  # fmt: skip
        some = [m for m, r in zip(rows, ok, strict=True) if r]
        print(f"BH reachable on {len(some)} sets; there mean FDR "
              f"{np.mean([m['fdr'] for m in some]):.3f}, power "
              f"{np.mean([m['fdr_power'] for m in some]):.3f}")  # fmt: skip
        print(f"worst set's mean FDR {worst:.3f}; sets with mean FDR > alpha: "
              f"{sum(m['fdr'] > alpha for m in rows)}; with false alarm rate > "
              f"alpha: {sum(m['fpr'] > alpha for m in rows)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(BENCH.parent / ".." / "shared" / "data"))
    parser.add_argument("--family", choices=("tuning", "heldout"), default="heldout")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--sets", nargs="*", help="only these sets")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    data = Path(args.data)
    every = sorted(p.stem for p in (data / "odds" / "adbench_classical").glob("*.npz"))
    chosen = [n for n in every if (n in TUNING_SETS) == (args.family == "tuning")]
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.sets or chosen:
        X, y = load(data, name, args.max_rows)
        runs = []
        for seed in args.seeds:
            cache = OUT / f"{name}_{seed}_{args.max_rows}.json"
            if not cache.exists():
                cache.write_text(json.dumps(run_split(X, y, seed)))
            runs.append(json.loads(cache.read_text()))
        results[name] = runs
        m = set_means(runs, 0.05)
        print(f"{name}: " + " ".join(f"{k} {m[k]:.3f}" for k in KEYS), flush=True)
    report(results)


if __name__ == "__main__":
    main()
