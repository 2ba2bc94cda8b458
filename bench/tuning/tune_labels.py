"""Choose the supervised part of `AnomalyDetector.fit(X, y)` (issue 24, round 2)
on the 19 ADBench tuning sets only (``TUNING_SETS`` of tune_detector.py), with
CatBoost on the raw features beside each candidate.

Protocol as bench/semi_supervised.py (70/30 stratified split per seed, train
standardised, 1/5/10% of the training anomalies labelled, at least one, the
rest unknown; test ROC-AUC; sets over 3,000 rows subsampled, stratified, seed 0).

Stage 1 (``--extract``, slow: one detector fit per split and share) fits
`AnomalyDetector(contamination="auto")` with the labels and caches, per split
and share, the raw rows, the robust z-scores of the detector's parts (train and
test), the labels, and CatBoost's test scores, in bench/out/tune_labels/.
Stage 2 (the default) fits each candidate supervised model on those cached
features and reports mean test ROC-AUC per share (no autoencoder refit).

    OMP_NUM_THREADS=1 python bench/tuning/tune_labels.py --extract
    OMP_NUM_THREADS=1 python bench/tuning/tune_labels.py [--candidates ...]
    OMP_NUM_THREADS=1 python bench/tuning/tune_labels.py --rates
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "tuning"))
from tune_detector import TUNING_SETS  # noqa: E402

import aekit  # noqa: E402
from aekit.nn.labelled import part_scores  # noqa: E402
from semi_supervised import RATIOS, load, partial_labels, split  # noqa: E402

OUT = BENCH / "out" / "tune_labels"
DEFAULT_DATA = BENCH.parent / ".." / "shared" / "data"


def part_z(det, X: np.ndarray) -> np.ndarray:
    """The robust z-scores of the fitted detector's parts for rows X."""
    errors, codes = det._errors_and_codes(X)
    head = det._parts_head()
    t = [torch.from_numpy(np.asarray(a, np.float64)) for a in (errors, codes, X)]
    with torch.inference_mode():
        return part_scores(head, *t).numpy()


def catboost_scores(X_tr, target, X_te, seed: int) -> np.ndarray:
    from catboost import CatBoostClassifier

    model = CatBoostClassifier(
        random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False
    )
    return model.fit(X_tr, target).predict_proba(X_te)[:, 1]


def extract(data: Path, seeds: list[int], max_rows: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in TUNING_SETS:
        X, y = load(data, name, max_rows)
        if y.sum() < 2:  # (34_smtp: 1 anomaly in a 3,000-row subsample)
            print(f"{name}: {int(y.sum())} anomaly after subsampling, skipped")
            continue
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = split(X, y, seed)
            for ratio in RATIOS:
                path = OUT / f"{name}_{seed}_{ratio:g}_{max_rows}.npz"
                if path.exists():
                    continue
                labels = partial_labels(y_tr, ratio, seed)
                det = aekit.AnomalyDetector(contamination="auto", random_state=seed)
                det.fit(X_tr, labels)
                np.savez(
                    path,
                    X_tr=X_tr,
                    X_te=X_te,
                    y_tr=y_tr,
                    y_te=y_te,
                    labels=labels,
                    z_tr=part_z(det, X_tr),
                    z_te=part_z(det, X_te),
                    catboost=catboost_scores(X_tr, labels == 1, X_te, seed),
                )
            print(name, seed, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--extract", action="store_true")
    parser.add_argument("--candidates", nargs="*")
    parser.add_argument("--rates", action="store_true", help="the rate rules")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    if args.extract:
        extract(Path(args.data), args.seeds, args.max_rows)
        return
    from label_candidates import evaluate, rate_hits

    if args.rates:
        rate_hits(OUT, args.max_rows)
        return
    evaluate(OUT, args.max_rows, args.candidates)


if __name__ == "__main__":
    main()
