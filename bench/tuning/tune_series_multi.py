"""Choose SeriesDetector's round-3 rules on tuning series only (issue 23,
round 3): the SKAB-like tuning family (bench/series_skablike.py, seed 101),
and for the rules that touch univariate series too, NAB's tuning split and
GutenTAG's tuning family.

A variant is SeriesDetector parameters plus module constants set for the run
(``patch``: name -> value in ``aekit.estimators._series*``); the rule names
are the ones in docs/series.md.

    OMP_NUM_THREADS=1 PYTHONPATH=bench python bench/tuning/tune_series_multi.py \
        --sets skab --variants base,insample
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
import series_gutentag
import series_nab
import series_skablike
from aekit.data import series as ts
from aekit.estimators import _series_calibrate, _series_resolve
from series_nab import finite_scores, metrics

MODULES = (_series_resolve, _series_calibrate, ts)
VARIANTS: dict[str, dict] = {
    "base": {},
    "insample": {"params": {"calibration": "in-sample"}},
    "novalue": {"params": {"value_score": False}},
    "trend-off": {"patch": {"TREND_SHARE": 2.0}},  # round 2: every channel
    "trend0.3": {"patch": {"TREND_SHARE": 0.3}},
    "trend0.7": {"patch": {"TREND_SHARE": 0.7}},
    "margin1.0": {"params": {"control_margin": 1.0}},
    "margin2.0": {"params": {"control_margin": 2.0}},
    "gap-w": {"params": {"merge_gap": "window"}},
    "gap-2w": {"params": {"merge_gap": "2window"}},
    "minlen-w2": {"params": {"min_length": "window/2"}},
    "gap-w-minlen-w2": {"params": {"merge_gap": "window", "min_length": "window/2"}},
    "crossfit": {"params": {"calibration": "cross-fit"}},
    "crossfit-m1": {"params": {"calibration": "cross-fit", "control_margin": 1.0}},
    "value-all": {"params": {"value_score": True}},
    "conv": {"params": {"model": "conv"}},
    "lstm": {"params": {"model": "lstm"}},
    "margin1.25": {"params": {"control_margin": 1.25}},
    "w16": {"params": {"window": 16}},
    "rows2": {"patch": {"ROWS_PER_INPUT": 2}},
    "rows4": {"patch": {"ROWS_PER_INPUT": 4}},
    "rows1": {"patch": {"ROWS_PER_INPUT": 1}},
    "rows2-novalue": {"patch": {"ROWS_PER_INPUT": 2}, "params": {"value_score": False}},
    "rows4-novalue": {"patch": {"ROWS_PER_INPUT": 4}, "params": {"value_score": False}},
    "rows4-novalue-m1": {
        "patch": {"ROWS_PER_INPUT": 4},
        "params": {"value_score": False, "control_margin": 1.0},
    },
    "rows4-novalue-m0.75": {
        "patch": {"ROWS_PER_INPUT": 4},
        "params": {"value_score": False, "control_margin": 0.75},
    },
    "rows4-novalue-insample": {
        "patch": {"ROWS_PER_INPUT": 4},
        "params": {"value_score": False, "calibration": "in-sample"},
    },
    "rows4-novalue-insample-m3": {
        "patch": {"ROWS_PER_INPUT": 4},
        "params": {
            "value_score": False,
            "calibration": "in-sample",
            "control_margin": 3.0,
        },
    },
    "w16-insample": {"params": {"window": 16, "calibration": "in-sample"}},
}


def series_sets(names: list[str]):
    if "skab" in names:
        for name, train, test, labels in series_skablike.family("tuning"):
            yield "skab", name, train, test, labels
    if "nab" in names:
        windows = json.loads((series_nab.DATA / "combined_windows.json").read_text())
        for name in series_nab.split_files("tuning"):
            x, labels, n_train = series_nab.load(name, windows)
            if labels.any():
                yield "nab", name, x[:n_train], x, labels
    if "gutentag" in names:
        for name, train, test, labels in series_gutentag.family("tuning"):
            yield "gutentag", name, train, test, labels


def _plain(params: dict) -> dict:
    """The parameters that are not given relative to the window."""
    return {
        k: v for k, v in params.items() if not (isinstance(v, str) and "window" in v)
    }


def _relative(params: dict, window: int) -> dict:
    """Parameters given as "window", "2window", "window/2": those multiples of
    the resolved window."""
    table = {"window": window, "2window": 2 * window, "window/2": max(1, window // 2)}
    return {k: table[v] for k, v in params.items() if isinstance(v, str) and v in table}


def run_variant(variant: dict, train, test):
    saved = {}
    for name, value in variant.get("patch", {}).items():
        module = next(m for m in MODULES if hasattr(m, name))
        saved[name] = (module, getattr(module, name))
        setattr(module, name, value)
    try:
        params = dict(variant.get("params", {}))
        det = aekit.SeriesDetector(random_state=0, device="cpu")
        window = det.set_params(**_plain(params)).fit(train).window_
        if any(
            isinstance(value, str) and "window" in value for value in params.values()
        ):
            det.set_params(**_relative(params, window)).fit(train)
        return det.decision_function(test), det.predict(test), det.window_
    finally:
        for name, (module, value) in saved.items():
            setattr(module, name, value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="skab")
    parser.add_argument("--variants", default="base")
    parser.add_argument("--out", default="bench/out/tune_series_multi")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for group, name, train, test, labels in series_sets(args.sets.split(",")):
        buffer = min(ts.auto_window(np.atleast_2d(train.T).T)[0], len(train) // 4)
        for key in args.variants.split(","):
            start = time.perf_counter()
            scores, flags, window = run_variant(VARIANTS[key], train, test)
            row = {"set": group, "series": name, "variant": key, "window": window}
            row.update(metrics(finite_scores(scores), flags, labels, buffer))
            rows.append(dict(row, seconds=time.perf_counter() - start))
    table = pd.DataFrame(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    stem = f"{args.sets}_{args.variants}".replace(",", "-")[:120]
    table.to_csv(f"{args.out}/{stem}.csv", index=False)
    columns = ["vus_pr", "auc_pr", "roc_auc", "f1", "false_alarm", "missed"]
    print(table.groupby(["set", "variant"])[columns].mean().round(3).to_string())


if __name__ == "__main__":
    main()
