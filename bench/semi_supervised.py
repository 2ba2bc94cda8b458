"""Anomaly detection with a few labels (issue 24), ADBench's protocol (Han et
al., NeurIPS 2022): per set and seed a 70/30 stratified split, the training
part standardised, a share (1%, 5%, 10%; at least one) of the training
anomalies labelled, the other training rows unlabelled; test ROC-AUC.

Methods: aekit without labels, aekit with labels (``fit(X, y)``, y = 1 for
the labelled anomalies, -1 for the rest), scikit-learn's
HistGradientBoostingClassifier on the raw features (labelled anomalies against
the rest: ADBench's supervised baselines), IsolationForest, and PyOD's XGBOD
with ``--xgbod`` (slow: it fits 41 unsupervised detectors), LightGBM and
CatBoost on the raw features with ``--peers lightgbm catboost``, and deepod's
DevNet, PReNet and DeepSAD with ``--peers devnet prenet deepsad`` (deepod
0.4.1 pins an old torch: ``pip install --no-deps deepod`` over this one). Also evaluated
from the same fits, without refitting: blend rules (the supervised rank's share
``k / (k + half)`` for k labelled anomalies); and the rate of
``contamination="auto"`` with labels (a hit: the training label rate within a
factor 2 of the true rate), with the labels' own rate beside it (the rule
that blends them is chosen in bench/tuning/tune_label_rate.py).

Tuning sets: ``TUNING_SETS`` of bench/tuning/tune_detector.py (the design and
blend rule were chosen there); the other ADBench sets are held apart and were
run once.

    OMP_NUM_THREADS=1 python bench/semi_supervised.py [--family tuning|heldout]
        [--data ../shared/data] [--seeds 0 1 2] [--max-rows 3000] [--xgbod]

Per-fit results are cached in bench/out/semi_supervised/ (a rerun resumes;
a split cached under an earlier supervised design than ``RULE`` has its
labelled aekit fits redone, keeping the label-free fits, the peers and the
earlier design's ROC-AUC as ``aekit_labels_round1``);
peers asked for later are added to the cached split without refitting aekit
(the split and the labelled rows depend on the seed only). XGBOD's 41
detectors never see the labels, so they are fitted once per split and only
its XGBoost classifier is refitted per label share (the same model as three
separate fits).
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
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.estimators._labels import blend_weight

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "tuning"))
from tune_detector import TUNING_SETS  # noqa: E402

OUT = BENCH / "out" / "semi_supervised"
RATIOS = (0.01, 0.05, 0.10)
HALVES = (1.0, 2.0, 5.0, 10.0, 20.0, float("inf"))  # blend rules compared
RULE = "forest_rank_rate_blend"  # the supervised part's design and rate rule
# (session 14: the labels' rate blended with the label-free one); a cache of
# another rule has its labelled fits redone
RATE_KEYS = ("fitted_rate", "label_rate", "rate_default")


def load(data: Path, name: str, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    archive = np.load(data / "odds" / "adbench_classical" / f"{name}.npz")
    X, y = archive["X"].astype(np.float64), archive["y"].astype(int)
    if len(X) > max_rows:
        X, _, y, _ = train_test_split(
            X, y, train_size=max_rows, stratify=y, random_state=0
        )
    return X, y


def split(X, y, seed: int):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def partial_labels(y_tr: np.ndarray, ratio: float, seed: int) -> np.ndarray:
    anomalies = np.flatnonzero(y_tr == 1)
    k = max(1, int(ratio * len(anomalies)))
    chosen = np.random.default_rng(seed).choice(anomalies, k, replace=False)
    labels = -np.ones(len(y_tr), int)
    labels[chosen] = 1
    return labels


def auc(y, s) -> float:
    return float(roc_auc_score(y, s))


def run_split(X, y, seed: int) -> dict:
    X_tr, X_te, y_tr, y_te = split(X, y, seed)
    out: dict = {"true_rate": float(y_tr.mean()), "rule": RULE}
    start = time.perf_counter()
    unsup = aekit.AnomalyDetector(random_state=seed).fit(X_tr)
    out["aekit"] = auc(y_te, unsup.decision_function(X_te))
    out["iforest"] = auc(
        y_te, -IsolationForest(random_state=seed).fit(X_tr).score_samples(X_te)
    )
    for ratio in RATIOS:
        row = labelled_row(X_tr, X_te, y_tr, y_te, ratio, seed)
        hgb = HistGradientBoostingClassifier(random_state=seed)
        hgb.fit(X_tr, (partial_labels(y_tr, ratio, seed) == 1).astype(int))
        row["hgb"] = auc(y_te, hgb.predict_proba(X_te)[:, 1])
        out[f"{ratio:g}"] = row
    out["seconds"] = time.perf_counter() - start
    return out


def labelled_row(X_tr, X_te, y_tr, y_te, ratio: float, seed: int) -> dict:
    """aekit fitted with the labels of one share: its ROC-AUC, the blend
    rules' and the rate rules'."""
    labels = partial_labels(y_tr, ratio, seed)
    k = int((labels == 1).sum())
    det = aekit.AnomalyDetector(contamination="auto", random_state=seed)
    start = time.perf_counter()
    det.fit(X_tr, labels)
    row = {"k": k, "fit_seconds": time.perf_counter() - start}
    row["aekit_labels"] = auc(y_te, det.decision_function(X_te))
    u, s = det._score_components(X_te)
    for half in HALVES:
        w = 1.0 if half == float("inf") else blend_weight(k, half)
        row[f"blend_{half:g}"] = auc(y_te, (1 - w) * u + w * s)
    row.update(rates(det))
    return row


def refit_labelled(run: dict, X, y, seed: int) -> dict:
    """A cached split of an earlier rule with aekit's labelled fits redone
    under today's (``RULE``); the label-free fits and the peers, which do not
    depend on the rule, are kept, and the earlier rule's ROC-AUC is kept as
    ``aekit_labels_<its rule>``."""
    X_tr, X_te, y_tr, y_te = split(X, y, seed)
    before = run.get("rule", "round1")
    for ratio in RATIOS:
        old = run[f"{ratio:g}"]
        row = labelled_row(X_tr, X_te, y_tr, y_te, ratio, seed)
        keep = {key: old[key] for key in ("hgb", *PEERS) if key in old}
        keep.update({k: v for k, v in old.items() if k.startswith("aekit_labels_")})
        keep[f"aekit_labels_{before}"] = old["aekit_labels"]
        run[f"{ratio:g}"] = {**row, **keep}
    run["rule"] = RULE
    return run


def rates(det) -> dict:
    """The training label rate (the share of training rows flagged), the
    labels' own rate and the blended estimate the threshold used (the rate
    rule itself is chosen in bench/tuning/tune_label_rate.py)."""
    return {
        "fitted_rate": float(det.labels_.mean()),
        "label_rate": float(det.label_rate_),
        "rate_default": float(det.contamination_estimate_),
    }


def add_peers(run: dict, X, y, seed: int, peers: list[str]) -> bool:
    """Add the peers missing from a cached split; True when any was added."""
    missing = [p for p in peers if p not in run[f"{RATIOS[0]:g}"]]
    if not missing:
        return False
    X_tr, X_te, y_tr, y_te = split(X, y, seed)
    labels = {r: (partial_labels(y_tr, r, seed) == 1).astype(int) for r in RATIOS}
    for peer in missing:
        try:
            scores = PEERS[peer](X_tr, X_te, labels, seed)
        except Exception as exc:  # (a package missing, a set it cannot fit)
            print(f"  {peer} failed: {type(exc).__name__}: {exc}")
            scores = {r: None for r in RATIOS}
        for r in RATIOS:
            s = scores[r]
            run[f"{r:g}"][peer] = None if s is None else auc(y_te, s)
    return True


def peer_xgbod(X_tr, X_te, labels, seed):
    from pyod.models.xgbod import XGBOD
    from sklearn.base import clone

    model = XGBOD(random_state=0, n_jobs=1).fit(X_tr, labels[RATIOS[0]])
    X_new = np.concatenate([X_te, model._generate_new_features(X_te)], axis=1)
    out = {}
    for r in RATIOS:
        clf = clone(model.clf_).fit(model.X_train_new_, labels[r])
        out[r] = clf.predict_proba(X_new)[:, 1]
    return out


def peer_lightgbm(X_tr, X_te, labels, seed):
    from lightgbm import LGBMClassifier

    return {
        r: LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1)
        .fit(X_tr, labels[r])
        .predict_proba(X_te)[:, 1]
        for r in RATIOS
    }


def peer_catboost(X_tr, X_te, labels, seed):
    from catboost import CatBoostClassifier

    return {
        r: CatBoostClassifier(
            random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False
        )
        .fit(X_tr, labels[r])
        .predict_proba(X_te)[:, 1]
        for r in RATIOS
    }


def _deepod_peer(name: str):
    """A deepod 0.4.1 semi-supervised detector (``pip install --no-deps
    deepod`` over the project's torch; its own defaults: 100 epochs, batches
    of 64, lr 1e-3; ``device="cpu"``), fitted per label share with y = 1 for
    the labelled anomalies and 0 for every other row, as deepod expects."""

    def peer(X_tr, X_te, labels, seed):
        from deepod.models import tabular

        out = {}
        for r in RATIOS:
            model = getattr(tabular, name)(device="cpu", verbose=0, random_state=seed)
            try:  # (PReNet draws pairs of labelled anomalies: it needs two)
                model.fit(X_tr.astype(np.float32), labels[r])
                out[r] = model.decision_function(X_te.astype(np.float32))
            except ValueError as exc:
                print(f"  {name} at {r:g} ({labels[r].sum()} labelled): {exc}")
                out[r] = None
        return out

    return peer


PEERS = {
    "xgbod": peer_xgbod,
    "lightgbm": peer_lightgbm,
    "catboost": peer_catboost,
    "devnet": _deepod_peer("DevNet"),
    "prenet": _deepod_peer("PReNet"),
    "deepsad": _deepod_peer("DeepSAD"),
}


def report(results: dict) -> None:
    names = ["aekit_labels", "aekit_labels_round1", "hgb", *PEERS]
    names += [f"blend_{h:g}" for h in HALVES]
    print("\nmean test ROC-AUC over sets (3 seeds each); no labels: aekit "
          f"{mean(results, None, 'aekit'):.4f}, IForest "
          f"{mean(results, None, 'iforest'):.4f}")  # fmt: skip
    print("| method | " + " | ".join(f"{r:g}" for r in RATIOS) + " |")
    print("|---|" + "---|" * len(RATIOS))
    for name in names:
        cells = [mean(results, f"{r:g}", name) for r in RATIOS]
        if all(np.isnan(c) for c in cells):
            continue
        print(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    print("\nlabel rate within a factor 2 of the true training rate (sets)")
    for key in RATE_KEYS:
        hits = [rate_hits(results, f"{r:g}", key) for r in RATIOS]
        print(f"| {key} | " + " | ".join(f"{h}/{len(results)}" for h in hits) + " |")


def cells(runs: list, key: str) -> list:
    """Per label share, the mean over seeds of one method's ROC-AUC."""
    out = []
    for r in RATIOS:
        values = [x[f"{r:g}"].get(key) for x in runs]
        values = [v for v in values if v is not None]
        out.append(round(float(np.mean(values)), 3) if values else None)
    return out


def mean(results: dict, ratio: str | None, key: str) -> float:
    per_set = []
    for runs in results.values():
        values = [(r if ratio is None else r[ratio]).get(key) for r in runs]
        values = [x for x in values if x is not None]
        if values:
            per_set.append(np.mean(values))
    return float(np.mean(per_set)) if per_set else float("nan")


def rate_hits(results: dict, ratio: str, key: str) -> int:
    hits = 0
    for runs in results.values():
        rate = np.mean([r[ratio][key] for r in runs])
        true = np.mean([r["true_rate"] for r in runs])
        hits += bool(true / 2 <= rate <= 2 * true)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(BENCH.parent / ".." / "shared" / "data"))
    parser.add_argument("--family", choices=("tuning", "heldout"), default="tuning")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--xgbod", action="store_true", help="= --peers xgbod")
    parser.add_argument("--peers", nargs="*", default=[], choices=list(PEERS))
    parser.add_argument("--sets", nargs="*", help="only these sets")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    data = Path(args.data)
    every = sorted(p.stem for p in (data / "odds" / "adbench_classical").glob("*.npz"))
    chosen = [n for n in every if (n in TUNING_SETS) == (args.family == "tuning")]
    chosen = args.sets or chosen
    peers = list(dict.fromkeys(args.peers + ["xgbod"] * args.xgbod))
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in chosen:
        X, y = load(data, name, args.max_rows)
        if y.sum() < 2:  # (34_smtp: 1 anomaly in a 3,000-row subsample)
            print(f"{name}: {int(y.sum())} anomaly after subsampling, skipped")
            continue
        runs = []
        for seed in args.seeds:
            cache = OUT / f"{name}_{seed}_{args.max_rows}.json"
            fresh = not cache.exists()
            run = run_split(X, y, seed) if fresh else json.loads(cache.read_text())
            if run.get("rule") != RULE:
                run, fresh = refit_labelled(run, X, y, seed), True
            if add_peers(run, X, y, seed, peers) or fresh:
                cache.write_text(json.dumps(run))
            runs.append(run)
        results[name] = runs
        print(f"{name}: n={len(X)} aekit {np.mean([r['aekit'] for r in runs]):.3f}"
              + "".join(f" | {k} {cells(runs, k)}" for k in ["blend_2", *peers]),
              flush=True)  # fmt: skip
    report(results)


if __name__ == "__main__":
    main()
