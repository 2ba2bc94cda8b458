"""SeriesDetector on SKAB-like multivariate series (bench/series_skablike.py)
against PCA T-squared + Q, IForest and PyOD's AutoEncoder, by SKAB's protocol:
fit on the first 400 rows of each series, score the rest.

Metrics per series on the scored rows: point F1, false-alarm rate (share of
normal rows flagged) and missed rate (share of anomalous rows not flagged) at
each method's default threshold, as SKAB's leaderboard reports them; and
VUS-PR, AUC-PR, ROC-AUC of the scores (`series_nab.metrics`; the VUS-PR buffer
is the same for every method: the `window="auto"` length of the training rows).

Peers:

- ``t2q``: PCA T-squared + Q (SPE) on rows standardised on the training rows,
  the components explaining 90% of their variance; a row is flagged when its
  T-squared or its Q exceeds the training rows' 99% quantile of it; its score
  is the larger of the two ratios to their limits. Written here.
- ``iforest``, ``pyod-ae``: PyOD 3.6.7 models on the windows of
  `series_nab.windows_of` (window = `window="auto"` on the training rows),
  window scores centred on points; flagged where the score exceeds PyOD's
  ``threshold_`` (its default contamination 0.1 of the training windows).

    OMP_NUM_THREADS=1 PYTHONPATH=bench python bench/series_multivariate.py \
        --family tuning --methods aekit,t2q,iforest,pyod-ae
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
import series_skablike
from aekit.data import series as ts
from series_nab import centred, finite_scores, metrics, pyod_model, windows_of

METHODS = "aekit,aekit-conv,aekit-crossfit,aekit-value,t2q,iforest,pyod-ae"
AEKIT: dict[str, dict] = {
    "aekit": {},  # the defaults
    "aekit-conv": {"model": "conv"},
    "aekit-crossfit": {"calibration": "cross-fit"},
    "aekit-value": {"value_score": True},  # round 2's value score, every channel
}


def t2q(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, 0/1 flags) of the test rows by PCA T-squared + Q."""
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-12
    z_train, z_test = (train - mean) / std, (test - mean) / std
    _, s, vt = np.linalg.svd(z_train, full_matrices=False)
    variance = s**2 / (len(train) - 1)
    k = int(np.searchsorted(np.cumsum(variance) / variance.sum(), 0.9)) + 1
    basis, lam = vt[:k], variance[:k]

    def parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = z @ basis.T
        t2 = (codes**2 / lam).sum(axis=1)
        q = ((z - codes @ basis) ** 2).sum(axis=1)
        return t2, q

    t2_train, q_train = parts(z_train)
    t2_limit, q_limit = np.quantile(t2_train, 0.99), np.quantile(q_train, 0.99)
    t2_test, q_test = parts(z_test)
    score = np.maximum(t2_test / t2_limit, q_test / max(q_limit, 1e-12))
    return score, (score > 1).astype(np.int64)


def pyod_windows(name: str, train, test, window: int):
    """(scores, flags) of the test rows from a PyOD model on windows."""
    train_w, test_w = windows_of(train, test, window)
    model = pyod_model(name).fit(train_w)
    scores = centred(model.decision_function(test_w), window)
    return scores, (scores > model.threshold_).astype(np.int64)


def run_method(method: str, train, test, variants=None):
    """(scores, flags, window or None) of ``test`` from ``method`` fitted on
    ``train``."""
    variants = AEKIT if variants is None else variants
    if method in variants:
        det = aekit.SeriesDetector(random_state=0, device="cpu", **variants[method])
        det.fit(train)
        return det.decision_function(test), det.predict(test), det.window_
    if method == "t2q":
        return (*t2q(train, test), None)
    window = ts.auto_window(train)[0]
    return (*pyod_windows(method, train, test, window), window)


def evaluate(family: str, methods: list[str], variants=None) -> pd.DataFrame:
    rows = []
    for name, train, test, labels in series_skablike.family(family):
        buffer = min(ts.auto_window(train)[0], len(train) // 4)
        for method in methods:
            start = time.perf_counter()
            scores, flags, window = run_method(method, train, test, variants)
            seconds = time.perf_counter() - start
            row = {"family": family, "series": name, "method": method}
            row.update(metrics(finite_scores(scores), flags, labels, buffer))
            rows.append(dict(row, window=window, seconds=seconds))
            print(json.dumps(rows[-1]), flush=True)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over the family's series per method."""
    columns = ["vus_pr", "auc_pr", "roc_auc", "f1", "false_alarm", "missed", "seconds"]
    return table.groupby("method")[columns].mean().round(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", choices=("tuning", "held"), required=True)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--out", default="bench/out/series_multivariate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = evaluate(args.family, args.methods.split(","))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    table.to_csv(f"{args.out}/{args.family}.csv", index=False)
    print(summary(table).sort_values("f1", ascending=False).to_string())


if __name__ == "__main__":
    main()
