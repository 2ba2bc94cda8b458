"""Choose the weight of the labels' rate in `AnomalyDetector`'s rate with labels
(issue 24: the fitted rate within a factor 2 of the true rate).

The rate with labels is the log-space blend ``label^w * label_free^(1 - w)`` of
the labels' rate (`aekit.estimators._label_rate.label_rate`) and the share that
the label-free rule (`aekit.thresholds.auto_threshold`) flags, both read on the
unsupervised training scores. Stage 1 (``--extract``) fits
`AnomalyDetector(contamination="auto")` with the labels of each split and share
of bench/semi_supervised.py's protocol and caches those scores and labels in
bench/out/tune_label_rate/; stage 2 (the default) reports, per weight and share,
on how many sets the mean blended rate over the seeds is within a factor 2 of
the mean true training rate, tuning sets (``TUNING_SETS`` of tune_detector.py)
and held-apart sets apart. The weight is chosen on the tuning sets alone: the
most hits summed over the three shares, ties to the weight nearer 0.5.

    OMP_NUM_THREADS=1 python bench/tuning/tune_label_rate.py ../shared/data --extract
    python bench/tuning/tune_label_rate.py ../shared/data
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
from aekit import thresholds  # noqa: E402
from aekit.estimators import _labels  # noqa: E402
from aekit.estimators._label_rate import blended_rate, label_rate  # noqa: E402
from semi_supervised import RATIOS, load, partial_labels, split  # noqa: E402

OUT = BENCH / "out" / "tune_label_rate"
SEEDS = (0, 1, 2)
WEIGHTS = (0.0, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0)
SKIP = {"34_smtp"}  # one anomaly in its 3,000-row subsample


def set_names(data: Path) -> list[str]:
    files = sorted((data / "odds" / "adbench_classical").glob("*.npz"))
    return [f.stem for f in files if f.stem not in SKIP]


def extract(data: Path, name: str) -> None:
    """Fit the labelled detector of every seed and share of one set and cache
    the unsupervised training scores that its rate reads, with the labels."""
    seen: dict = {}
    method = _labels.LabelsMixin._label_threshold

    def spy(self, labels, unsupervised):
        seen["u"] = unsupervised.copy()
        return method(self, labels, unsupervised)

    _labels.LabelsMixin._label_threshold = spy  # type: ignore[method-assign]
    X, y = load(data, name, 3000)
    arrays = {}
    for seed in SEEDS:
        X_tr, _, y_tr, _ = split(X, y, seed)
        arrays[f"true_{seed}"] = np.array(y_tr.mean())
        for ratio in RATIOS:
            labels = partial_labels(y_tr, ratio, seed)
            det = aekit.AnomalyDetector(contamination="auto", random_state=seed)
            det.fit(X_tr, labels)
            arrays[f"u_{seed}_{ratio:g}"] = seen["u"]
            arrays[f"labels_{seed}_{ratio:g}"] = labels
    _labels.LabelsMixin._label_threshold = method  # type: ignore[method-assign]
    np.savez(OUT / f"{name}.npz", **arrays)


def rates(cache, seed: int, ratio: float) -> tuple[float, float]:
    """The labels' rate and the label-free rule's on the cached scores."""
    u, labels = cache[f"u_{seed}_{ratio:g}"], cache[f"labels_{seed}_{ratio:g}"]
    estimate, _ = label_rate(u, labels)
    return estimate, float(np.mean(u > thresholds.auto_threshold(u)))


def report(names: list[str]) -> None:
    paths = {n: OUT / f"{n}.npz" for n in names}
    caches = {n: np.load(p) for n, p in paths.items() if p.exists()}
    family = {n: n in TUNING_SETS for n in caches}
    n_tuning = sum(family.values())
    print(f"{n_tuning} tuning sets, {len(caches) - n_tuning} held apart")
    shares = " | ".join(f"{r:g}: tuning / held" for r in RATIOS)
    print(f"| weight | {shares} | tuning sum |")
    print("|---|" + "---|" * (len(RATIOS) + 1))
    for w in WEIGHTS:
        cells, total = [], 0
        for ratio in RATIOS:
            hits = {True: 0, False: 0}
            for name, cache in caches.items():
                true = np.mean([cache[f"true_{s}"] for s in SEEDS])
                each = [blended_rate(*rates(cache, s, ratio), w) for s in SEEDS]
                rate = np.mean(each)
                hits[family[name]] += bool(true / 2 <= rate <= 2 * true)
            cells.append(f"{hits[True]} / {hits[False]}")
            total += hits[True]
        print(f"| {w:g} | " + " | ".join(cells) + f" | {total} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--extract", action="store_true")
    parser.add_argument("--sets", nargs="+", help="default: every ADBench set")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    names = args.sets or set_names(args.data)
    if args.extract:
        OUT.mkdir(parents=True, exist_ok=True)
        for name in names:
            extract(args.data, name)
            print("extracted", name, flush=True)
    report(names)


if __name__ == "__main__":
    main()
