"""Choose SeriesDetector's score parts on the tuning series only (issue 23,
round 2): the NAB tuning split (bench/series_nab.py) and GutenTAG's tuning
family (bench/series_gutentag.py, seed 11).

One fit of the window model per series (the defaults); the candidate parts are
computed from it and combined in the script, each a robust z-score over the
training period (median, MAD), combined by the maximum:

- ``recon``: the log window reconstruction error (round 1's score);
- ``code``: the log Mahalanobis distance of the window's code (Ledoit-Wolf);
- ``value``: the point's scaled value, distance from the training median in
  units of the training spread on its side (upper or lower quartile);
- ``diff``: the same for the point's first difference;
- ``iforest``: sklearn's IForest on the windows (diagnosis only: a
  stream cannot afford it).

Window parts become point scores by the mean over covering windows; point parts
(value, diff) either as they are (``value``) or as the window maximum mapped
the same way (``value-w``).

    OMP_NUM_THREADS=1 PYTHONPATH=bench python bench/tuning/tune_series.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.covariance import ledoit_wolf
from sklearn.ensemble import IsolationForest

import aekit
import series_gutentag
import series_nab
from aekit.data import series as ts
from aekit.estimators._base import run_graph
from aekit.metrics import median_mad


def tuning_series():
    windows = json.loads((series_nab.DATA / "combined_windows.json").read_text())
    for name in series_nab.split_files("tuning"):
        x, labels, n_train = series_nab.load(name, windows)
        if labels.any():
            yield f"nab/{name}", x[:n_train], x, labels
    for name, train, test, labels in series_gutentag.family("tuning"):
        yield f"gt/{name}", train, test, labels


def robust_z(values, reference):
    center, mad = median_mad(reference)
    return (values - center) / max(float(mad), 1e-12)


def tail_z(values, reference, q=0.99):
    """Standardised so the training ``q`` quantile sits at a normal's: robust
    to heavy tails, where the MAD is small against the usual peaks."""
    center = np.median(reference)
    top = np.quantile(reference, q)
    return (values - center) / max(float(top - center), 1e-12) * 2.326


def side_z(values, reference):
    """Distance from the training median in units of the spread on its side."""
    med = np.median(reference)
    q25, q75 = np.percentile(reference, [25, 75])
    up, down = max(q75 - med, 1e-12), max(med - q25, 1e-12)
    return np.where(values >= med, (values - med) / up, (med - values) / down)


def parts(train, test, det):
    """Point scores of ``test`` per candidate part, standardised on ``train``."""
    w = det.window_
    out = {}
    s_train, s_test = det._scaled(ts.as_series_list(train)[0][0].values), None
    s_test = det._scaled(ts.as_series_list(test)[0][0].values)
    w_train, w_test = ts.sliding_windows(s_train, w), ts.sliding_windows(s_test, w)
    graph = det._graph()
    codes_tr, raw_tr = run_graph(graph, w_train, torch.float64, keep=(0, 2))
    codes_te, raw_te = run_graph(graph, w_test, torch.float64, keep=(0, 2))
    out["recon"] = robust_z(np.log(raw_te + 1e-300), np.log(raw_tr + 1e-300))
    mean = codes_tr.mean(axis=0)
    prec = np.linalg.pinv(np.atleast_2d(ledoit_wolf(codes_tr)[0]))

    def maha(c):
        d = c - mean
        return np.log(np.einsum("ij,jk,ik->i", d, prec, d) + 1e-12)

    out["code"] = robust_z(maha(codes_te), maha(codes_tr))
    forest = IsolationForest(random_state=0).fit(w_train)
    out["iforest"] = robust_z(
        -forest.score_samples(w_test), -forest.score_samples(w_train)
    )
    points = {}
    for name, tr, te in (
        ("value", s_train[:, 0], s_test[:, 0]),
        (
            "diff",
            np.diff(s_train[:, 0], prepend=s_train[0, 0]),
            np.diff(s_test[:, 0], prepend=s_test[0, 0]),
        ),
    ):
        z_tr, z_te = side_z(tr, tr), side_z(te, tr)
        points[name] = robust_z(z_te, z_tr)
        win = ts.sliding_windows(z_te[:, None], w).max(axis=1)
        win_tr = ts.sliding_windows(z_tr[:, None], w).max(axis=1)
        out[f"{name}-w"] = robust_z(win, win_tr)
        out[f"{name}-q"] = tail_z(win, win_tr)
        out[f"{name}-q999"] = tail_z(win, win_tr, 0.999)
    out["code-q"] = tail_z(maha(codes_te), maha(codes_tr))
    out["recon-q"] = tail_z(np.log(raw_te + 1e-300), np.log(raw_tr + 1e-300))
    mapped = {k: ts.point_scores(v, w, "mean") for k, v in out.items()}
    mapped.update(points)
    return mapped


COMBOS = [
    ("recon",),
    ("code",),
    ("iforest",),
    ("value",),
    ("value-w",),
    ("diff",),
    ("recon", "code"),
    ("recon", "value"),
    ("recon", "value-w"),
    ("recon", "diff"),
    ("recon", "value", "diff"),
    ("recon", "value-w", "diff"),
    ("recon", "code", "value"),
    ("recon", "code", "value-w"),
    ("recon", "code", "value", "diff"),
    ("recon", "iforest"),
    ("recon", "value-q"),
    ("recon", "value-q999"),
    ("recon", "code-q"),
    ("recon", "code-q", "value-q"),
    ("recon", "value-q", "diff-q"),
    ("recon-q", "value-q"),
    ("recon-q", "code-q", "value-q"),
    ("recon", "code-q", "value-q999"),
]


def computed(cache: Path):
    """Per tuning series: (name, parts, labels, window), cached in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    for i, (name, train, test, labels) in enumerate(tuning_series()):
        path = cache / f"{i:03d}.npz"
        if not path.exists():
            det = aekit.SeriesDetector(random_state=0, device="cpu").fit(train)
            scored = parts(train, test, det)
            np.savez(path, labels=labels, window=det.window_, **scored)
        data = np.load(path)
        scored = {k: data[k] for k in data.files if k not in ("labels", "window")}
        yield name, scored, data["labels"], int(data["window"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="bench/out/tune_series.csv")
    parser.add_argument("--cache", default="bench/out/tune_series_parts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, scored, labels, window in computed(Path(args.cache)):
        for combo in COMBOS:
            score = np.max([scored[p] for p in combo], axis=0)
            vus = series_nab.vus_pr(score, labels, window)
            rows.append({"series": name, "combo": "+".join(combo), "vus_pr": vus})
        print(name, window, flush=True)
    table = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    table["family"] = table["series"].str.split("/").str[0]
    summary = table.pivot_table(index="combo", columns="family", values="vus_pr")
    print(summary.round(3).sort_values("nab").to_string())


if __name__ == "__main__":
    main()
