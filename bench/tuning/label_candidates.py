"""Candidate supervised parts for `AnomalyDetector.fit(X, y)`, evaluated on the
features cached by tune_labels.py --extract (tuning sets only).

Each tree candidate is fitted on F = [raw standardised features, the parts'
robust z-scores, their max (the unsupervised score)], labelled anomalies 1
against every other training row 0. Blends rank each score against the
training rows (mid-rank ECDF) and mix: ``(1 - w) r_u + w (a r_tree + (1 - a)
r_logit)`` with ``w = k / (k + h)`` for k labelled anomalies.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.metrics import roc_auc_score

from aekit.estimators._labels import fit_label_model, label_features

RATIOS = ("0.01", "0.05", "0.1")


def et(leaf=1, feats="sqrt", n=200, weight="balanced_subsample", depth=None):
    return lambda seed: ExtraTreesClassifier(
        n, min_samples_leaf=leaf, max_features=feats, class_weight=weight,
        max_depth=depth, random_state=seed, n_jobs=1,
    )  # fmt: skip


def rf(leaf=1, feats="sqrt", n=200, depth=None):
    return lambda seed: RandomForestClassifier(
        n, min_samples_leaf=leaf, max_features=feats, max_depth=depth,
        class_weight="balanced_subsample", random_state=seed, n_jobs=1,
    )  # fmt: skip


def hgb(leaf=1, l2=1.0, iters=100, lr=0.1, depth=None):
    return lambda seed: HistGradientBoostingClassifier(
        learning_rate=lr, max_iter=iters, min_samples_leaf=leaf,
        l2_regularization=l2, class_weight="balanced", early_stopping=False,
        max_depth=depth, random_state=seed,
    )  # fmt: skip


TREES = {
    "et1": et(1),
    "et5": et(5),
    "et1_all": et(1, 1.0),
    "et1_100": et(1, n=100),
    "rf1": rf(1),
    "rf5": rf(5),
    "hgb1": hgb(1),
    "hgb5": hgb(5),
    "hgb2_l2": hgb(2, l2=10.0),
    "hgb1_d3": hgb(1, depth=3, lr=0.05, iters=200),
    "et_d2": et(depth=2),
    "et_d3": et(depth=3),
    "et_d4": et(depth=4),
    "et_d6": et(depth=6),
    "et_l20": et(20),
    "et_l50": et(50),
    "et_d3_all": et(1, 1.0, depth=3),
    "rf_d3": rf(depth=3),
    "rf_d6": rf(depth=6),
    "rf_l20": rf(20),
    "et_l10": et(10),
    "et_l30": et(30),
    "et_l20_all": et(20, 1.0),
    "et_l20_d6": et(20, depth=6),
    "et_l20_100": et(20, n=100),
    "et_l20_bal": et(20, weight="balanced"),
}


def ecdf_rank(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank of each value among the reference values, in [0, 1]."""
    ref = np.sort(reference)
    below = np.searchsorted(ref, values, "left")
    upto = np.searchsorted(ref, values, "right")
    return (below + upto) / (2.0 * len(ref))


def split_scores(cache: np.lib.npyio.NpzFile, trees: list[str]) -> dict:
    """Per candidate, (train scores, test scores); plus the timing of each tree."""
    X_tr, X_te, labels = cache["X_tr"], cache["X_te"], cache["labels"]
    z_tr, z_te = cache["z_tr"], cache["z_te"]
    fitted = fit_label_model(X_tr, z_tr, labels)
    F_tr = label_features(X_tr, z_tr, fitted.feature_mean, fitted.feature_scale)
    F_te = label_features(X_te, z_te, fitted.feature_mean, fitted.feature_scale)
    out = {
        "u": (z_tr.max(axis=1), z_te.max(axis=1)),
        "logit": (fitted.logit(F_tr), fitted.logit(F_te)),
    }
    target = (labels == 1).astype(int)
    for name in trees:
        start = time.perf_counter()
        model = TREES[name](0).fit(F_tr, target)
        out[name] = (model.predict_proba(F_tr)[:, 1], model.predict_proba(F_te)[:, 1])
        out[f"{name}_seconds"] = time.perf_counter() - start
    return out


def blends(scores: dict, k: int, trees: list[str]) -> dict:
    """Test scores of every blend rule compared."""
    r = {
        key: ecdf_rank(scores[key][0], scores[key][1]) for key in ["u", "logit", *trees]
    }
    out = {"u": scores["u"][1], "logit": scores["logit"][1]}
    w2 = k / (k + 2.0)
    out["rank_u_logit_h2"] = (1 - w2) * r["u"] + w2 * r["logit"]
    for name in trees:
        out[name] = scores[name][1]
        for h in (0.5, 1.0, 2.0, 5.0):
            w = k / (k + h)
            for a in (0.5, 1.0):
                sup = a * r[name] + (1 - a) * r["logit"]
                out[f"{name}|h{h:g}|a{a:g}"] = (1 - w) * r["u"] + w * sup
    return out


def evaluate(folder: Path, max_rows: int, trees: list[str] | None) -> None:
    trees = trees or list(TREES)
    results: dict = {}  # ratio -> method -> set -> [auc per seed]
    seconds: dict = {name: [] for name in trees}
    for path in sorted(folder.glob(f"*_{max_rows}.npz")):
        name, seed, ratio, _ = path.stem.rsplit("_", 3)
        cache = np.load(path)
        y_te, k = cache["y_te"], int((cache["labels"] == 1).sum())
        scores = split_scores(cache, trees)
        for t in trees:
            seconds[t].append(scores[f"{t}_seconds"])
        rows = blends(scores, k, trees)
        rows["catboost"] = cache["catboost"]
        for method, s in rows.items():
            value = float(roc_auc_score(y_te, s))
            results.setdefault(ratio, {}).setdefault(method, {}).setdefault(
                name, []
            ).append(value)
    report(results, seconds)


def report(results: dict, seconds: dict) -> None:
    methods = list(results[RATIOS[0]])
    table = []
    for m in methods:
        cells = []
        for r in RATIOS:
            per_set = [np.mean(v) for v in results[r][m].values()]
            cells.append(float(np.mean(per_set)))
        n_sets = len(results[RATIOS[0]][m])
        table.append((m, cells, n_sets))
    table.sort(key=lambda row: -np.mean(row[1]))
    print("| method | 1% | 5% | 10% | mean | sets |")
    print("|---|---|---|---|---|---|")
    for m, cells, n in table:
        body = " | ".join(f"{c:.4f}" for c in cells)
        print(f"| {m} | {body} | {np.mean(cells):.4f} | {n} |")
    for t, values in seconds.items():
        print(f"{t}: fit+predict seconds mean {np.mean(values):.2f} max "
              f"{np.max(values):.2f}")  # fmt: skip


def rate_hits(folder: Path, max_rows: int) -> None:
    """Where the labels' rate (`label_rate`) is read, on the chosen default's
    training scores: the blended ones (the forest in-sample) or the
    unsupervised ones; sets where the 3-seed mean lands within a factor 2 of
    the true training rate, per share."""
    from aekit.estimators._labels import label_rate

    found: dict = {}  # (ratio, rule) -> set -> [(estimate, true)]
    for path in sorted(folder.glob(f"*_{max_rows}.npz")):
        name, seed, ratio, _ = path.stem.rsplit("_", 3)
        cache = np.load(path)
        labels, true = cache["labels"], float(cache["y_tr"].mean())
        model = fit_label_model(
            cache["X_tr"], cache["z_tr"], labels, random_state=int(seed)
        )
        rules = {
            "blended": model.scores(cache["X_tr"], cache["z_tr"]),
            "unsupervised": cache["z_tr"].max(axis=1),
        }
        for rule, scores in rules.items():
            estimate = label_rate(scores, labels)[0]
            found.setdefault((ratio, rule), {}).setdefault(name, []).append(
                (estimate, true)
            )
    for (ratio, rule), per_set in sorted(found.items()):
        hits = 0
        for values in per_set.values():
            estimate, true = np.mean(values, axis=0)
            hits += bool(true / 2 <= estimate <= 2 * true)
        print(f"{ratio} {rule}: {hits}/{len(per_set)}")
