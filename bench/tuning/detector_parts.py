"""Choose how `AnomalyDetector` combines its score parts, on the tuning families
only: the ADBench tuning sets of `bench/tuning/tune_detector.py` and rare-class
tasks of `bench/rare_tasks.py`, never ODDS and never `FRESH3`. ``--family rare``
is `TUNING`; ``rare_seen`` adds `HELD_OUT` (judged on in issue 13 rounds 1-2,
tuned on since); ``fresh`` and ``fresh2`` are the families that judged issue 13
round 3 (tuned on in issue 22); ``rare_all`` is all four.

One default detector is fitted per set and seed (protocol of `tune_detector.py`:
ADBench 60/40 split, rare tasks fit and scored on all rows); the per-row parts of
its training and test rows are cached under bench/out/detector_parts/:

- ``recon``: log reconstruction error (the model's scaled space)
- ``mahal``: log(1 + squared Mahalanobis distance of the code), the default's
- ``knn_code``: log mean distance to the nearest codes (``code_distance="knn"``
  before round 3; since round 3 the row's own code is left out instead of the
  nearest, as in the library)
- ``knn_code_loglog``: ``log(1 + log(d / least training d))`` of the same
  distance, the library's ``code_distance="knn"`` part since round 3
- ``knn_input``: log mean distance to the nearest best-reconstructed training rows
  in the standardised input space
- ``iforest``: PyOD's IForest score, for comparison
- ``mahal_lw``, ``mahal_oas``: as ``mahal`` with the codes' covariance shrunk
  (Ledoit-Wolf, OAS; from at most 4,096 of those codes) instead of the sample
  covariance (``mahal``, the score before issue 13 round 2; the library's
  default is now the Ledoit-Wolf one, and the model and codes are the same)

A rule turns the parts (robust z-scored with the training rows' median and MAD)
into a score; the table is the mean test ROC-AUC per family.

    python bench/tuning/detector_parts.py [DATA] --family FAMILY --seeds 0 1
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.estimators._detector import feature_tails, knn_distance
from aekit.metrics import median_mad

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH))  # rare_tasks, anomaly_odds
CACHE = BENCH / "out" / "detector_parts"
PARTS = (
    "recon", "mahal", "knn_code", "knn_input", "iforest", "mahal_lw", "mahal_oas",
    "knn_code_loglog",
    # issue 22, computed from the cached rows (not cached themselves):
    "ecod", "ecod_best", "ecod_raw", "pyod_ecod",
)  # fmt: skip


def parts_of(X, y, seed: int, family: str):
    """(train parts, test parts, test labels) of one set and seed."""
    if family == "adbench":
        Xtr, Xte, _, yte = train_test_split(X, y, test_size=0.4, random_state=seed)
    else:
        Xtr, Xte, yte = X, X, y
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    det = aekit.AnomalyDetector(random_state=seed).fit(Xtr)
    err_tr, codes_tr = det._errors_and_codes(Xtr)
    best = err_tr <= np.quantile(err_tr, 1.0 - det.trim)
    ref_codes, ref_input = codes_tr[best], Xtr[best]
    rng = np.random.default_rng(seed)
    if len(ref_codes) > 4096:
        keep = np.sort(rng.choice(len(ref_codes), 4096, replace=False))
        ref_codes, ref_input = ref_codes[keep], ref_input[keep]
    code_scale = ref_codes.std(axis=0)
    code_scale = np.where(code_scale > 0, code_scale, 1.0)
    from pyod.models.iforest import IForest

    forest = IForest(random_state=seed).fit(Xtr)
    from sklearn.covariance import OAS, LedoitWolf

    shrunk = [est().fit(ref_codes) for est in (LedoitWolf, OAS)]
    sample_precision = np.linalg.pinv(  # the sample covariance, as before round 2
        np.atleast_2d(np.cov(codes_tr[best], rowvar=False)), rcond=1e-6, hermitian=True
    )
    low = max(knn_distance(codes_tr / code_scale, ref_codes / code_scale).min(), 1e-3)
    out = []
    for rows in (Xtr, Xte):
        errors, codes = det._errors_and_codes(rows)
        centred = codes - codes_tr[best].mean(axis=0)
        base = [
            np.log(np.maximum(errors, 1e-300)),
            np.log1p(((centred @ sample_precision) * centred).sum(axis=1)),
        ]
        kc = knn_distance(codes / code_scale, ref_codes / code_scale)
        ki = knn_distance(rows, ref_input)
        out.append(
            np.column_stack(
                [
                    *base,
                    np.log(kc + 1e-3),
                    np.log(ki + 1e-3),
                    forest.decision_function(rows),
                    *[np.log1p(est.mahalanobis(codes)) for est in shrunk],
                    np.log1p(np.maximum(np.log(np.maximum(kc, 1e-300) / low), 0.0)),
                ]
            )
        )
    return out[0], out[1], yte, Xtr, Xte


def load_parts(data: Path, family: str, seeds, max_rows: int) -> dict:
    """{(set, seed): (train parts, test parts, y, n_features)}, cached."""
    from tune_detector import TUNING_SETS, load

    from rare_tasks import FRESH, FRESH2, HELD_OUT, TUNING, load_task

    names = {
        "adbench": TUNING_SETS,
        "rare": TUNING,
        "rare_seen": TUNING + HELD_OUT,
        "fresh": FRESH,
        "fresh2": FRESH2,
        "rare_all": TUNING + HELD_OUT + FRESH + FRESH2,
    }[family]
    result = {}
    for name in names:
        X = None
        for seed in seeds:
            kind = "adbench" if family == "adbench" else "rare"
            path = CACHE / f"{kind}_{name}_seed{seed}.npz"
            if not path.exists():
                if X is None:
                    X, y = (
                        load(data, name, max_rows)
                        if family == "adbench"
                        else load_task(name)
                    )
                tr, te, yte, Xtr, Xte = parts_of(X, y, seed, kind)
                CACHE.mkdir(parents=True, exist_ok=True)
                np.savez(path, train=tr, test=te, y=yte, d=X.shape[1], Xtr=Xtr, Xte=Xte)
                print(f"{name} seed {seed} done", flush=True)
            with np.load(path) as f:
                tr, te = f["train"], f["test"]
                tails = tail_parts(tr, te, f["Xtr"], f["Xte"])
                tr, te = np.hstack([tr, tails[0]]), np.hstack([te, tails[1]])
                result[name, seed] = (tr, te, f["y"], int(f["d"]))
    return result


def tail_parts(tr, te, Xtr, Xte) -> tuple[np.ndarray, np.ndarray]:
    """Issue 22's tail parts of the train and test rows: ``ecod`` is the
    library's part, log(1 + ECOD score) with every training row as reference;
    ``ecod_best`` the same with the training rows the detector reconstructs
    best (the 70% that its reference codes come from) as reference; ``ecod_raw``
    the ECOD score itself; ``pyod_ecod`` PyOD's ECOD (fit on the train rows).
    """
    from pyod.models.ecod import ECOD

    best = tr[:, 0] <= np.quantile(tr[:, 0], 0.7)
    heads = [feature_tails(Xtr), feature_tails(Xtr[best])]
    pyod = ECOD().fit(Xtr)
    out = []
    for rows in (Xtr, Xte):
        with torch.inference_mode():
            x = torch.from_numpy(rows)
            raw = [head(x).numpy() for head in heads]
        test = rows is Xte and rows is not Xtr
        ecod = pyod.decision_function(rows) if test else pyod.decision_scores_
        out.append(np.column_stack([np.log1p(raw[0]), np.log1p(raw[1]), raw[0], ecod]))
    return out[0], out[1]


def _z(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    center, mad = median_mad(train)
    return (test - center) / np.where(mad > 0, mad, 1.0)


def _cols(*names: str) -> list[int]:
    return [PARTS.index(n) for n in names]


def max_of(*names: str) -> Callable:
    return lambda tr, te, d: _z(tr[:, _cols(*names)], te[:, _cols(*names)]).max(1)


def mean_of(*names: str) -> Callable:
    return lambda tr, te, d: _z(tr[:, _cols(*names)], te[:, _cols(*names)]).mean(1)


def by_width(small: Callable, large: Callable, max_d: int) -> Callable:
    return lambda tr, te, d: (small if d <= max_d else large)(tr, te, d)


RULES: dict[str, Callable] = {
    # issue 22: the default since issue 13 round 2 is "lw"
    "tails": max_of("recon", "mahal_lw", "ecod"),
    "tails_best": max_of("recon", "mahal_lw", "ecod_best"),
    "tails_raw": max_of("recon", "mahal_lw", "ecod_raw"),
    "ecod": lambda tr, te, d: te[:, PARTS.index("ecod")],
    "pyod_ecod": lambda tr, te, d: te[:, PARTS.index("pyod_ecod")],
    **{
        f"d{k}_tails": by_width(
            max_of("recon", "mahal_lw", "ecod"), max_of("recon", "mahal_lw"), k
        )
        for k in (10, 20)
    },
    "mean_tails": mean_of("recon", "mahal_lw", "ecod"),
    "lw_plus_ecod": lambda tr, te, d: (
        max_of("recon", "mahal_lw")(tr, te, d) + max_of("ecod")(tr, te, d)
    ),
    "default": max_of("recon", "mahal"),
    "knn_code": max_of("recon", "knn_code"),
    "recon_knn_input": max_of("recon", "knn_input"),
    "recon_mahal_knn_input": max_of("recon", "mahal", "knn_input"),
    "mean_recon_mahal_knn_input": mean_of("recon", "mahal", "knn_input"),
    "mean_recon_knn_input": mean_of("recon", "knn_input"),
    "knn_input": max_of("knn_input"),
    "lw": max_of("recon", "mahal_lw"),
    "lw_knn_input": max_of("recon", "mahal_lw", "knn_input"),
    "mean_lw_knn_input": mean_of("recon", "mahal_lw", "knn_input"),
    "lw_knn_code": max_of("recon", "mahal_lw", "knn_code"),
    "knn_loglog": max_of("recon", "knn_code_loglog"),  # code_distance="knn" now
    **{
        f"d{k}_lw_knn_input": by_width(
            max_of("recon", "knn_input"), max_of("recon", "mahal_lw"), k
        )
        for k in (6, 10)
    },
    **{
        f"d{k}_lw_3parts": by_width(
            max_of("recon", "mahal_lw", "knn_input"), max_of("recon", "mahal_lw"), k
        )
        for k in (6, 10)
    },
    "oas": max_of("recon", "mahal_oas"),
    "iforest": lambda tr, te, d: te[:, PARTS.index("iforest")],
    **{
        f"d{k}_recon_knn_input": by_width(
            max_of("recon", "knn_input"), max_of("recon", "mahal"), k
        )
        for k in (6, 10, 16)
    },
    **{
        f"d{k}_3parts": by_width(
            max_of("recon", "mahal", "knn_input"), max_of("recon", "mahal"), k
        )
        for k in (6, 10, 16)
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(BENCH.parent / ".." / "shared" / "data")
    )
    parser.add_argument(
        "--family",
        choices=("adbench", "rare", "rare_seen", "fresh", "fresh2", "rare_all"),
        default="rare",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--max-rows", type=int, default=10_000)
    parser.add_argument("--rules", nargs="+", default=list(RULES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    parts = load_parts(Path(args.data), args.family, args.seeds, args.max_rows)
    aucs: dict[str, dict[str, list[float]]] = {r: {} for r in args.rules}
    for (name, _), (tr, te, y, d) in parts.items():
        if len(np.unique(y)) < 2:
            continue
        for rule in args.rules:
            score = np.nan_to_num(RULES[rule](tr, te, d), posinf=1e300)
            aucs[rule].setdefault(f"{name} (d={d})", []).append(roc_auc_score(y, score))
    names = list(aucs[args.rules[0]])
    print("| set | " + " | ".join(args.rules) + " |")
    for name in names:
        cells = " | ".join(f"{np.mean(aucs[r][name]):.3f}" for r in args.rules)
        print(f"| {name} | {cells} |")
    means = [np.mean([np.mean(v) for v in aucs[r].values()]) for r in args.rules]
    print("| **mean** | " + " | ".join(f"**{m:.4f}**" for m in means) + " |")


if __name__ == "__main__":
    main()
