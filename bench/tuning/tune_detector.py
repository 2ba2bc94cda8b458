"""Choose `AnomalyDetector` defaults on data sets that the ODDS benchmark does not
use, so that `bench/anomaly_odds.py` reports on data the defaults never saw.

The tuning sets are the ADBench "classical" sets other than the 17 of the ODDS
benchmark (and other than landsat and Cardiotocography, which share their source
with satellite and cardio). Sets over --max-rows rows are subsampled (stratified,
seed 0). Protocol as in anomaly_odds.py: 60/40 split per seed, standardisation
fitted on train, no labels in fit, test ROC-AUC.

    python bench/tuning/tune_detector.py [DATA] [--seeds 0 1 2] [--configs default ...]

Each config is a name in CONFIGS: a function (n_features, seed) -> detector.
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
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import aekit
from aekit.estimators import default_detector_model
from aekit.metrics import median_mad

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))  # rare_tasks
DEFAULT_DATA = BENCH.parent / ".." / "shared" / "data"
CACHE = BENCH / "out" / "tune_detector.json"
FAMILIES = ("adbench", "rare", "rare_heldout")
TUNING_SETS = [
    "10_cover", "12_fault", "15_Hepatitis", "16_http", "17_InternetAds",
    "23_mammography", "27_PageBlocks", "2_annthyroid", "34_smtp", "35_SpamBase",
    "37_Stamps", "38_thyroid", "41_Waveform", "43_WDBC", "44_Wilt", "45_wine",
    "46_WPBC", "47_yeast", "4_breastw",
]  # fmt: skip


def _ae(seed: int, **overrides) -> aekit.Autoencoder:
    model = default_detector_model(seed)
    return model.set_params(**overrides)


class MeanOfZ:
    """The mean of several detectors' robust z-scored scores (median and MAD of
    each one's training scores): an ensemble, `bench/anomaly_odds.py`'s tuned
    setting."""

    def __init__(self, members):
        self.members = members

    def fit(self, X):
        self.stats = []
        for m in self.members:
            m.fit(X)
            median, mad = median_mad(m.decision_scores_)
            self.stats.append((median, mad + 1e-12))
        return self

    def decision_function(self, X):
        z = [
            (m.decision_function(X) - a) / b
            for m, (a, b) in zip(self.members, self.stats, strict=True)
        ]
        return np.mean(z, axis=0)


class _Ranking:
    """A detector whose first (ranking) fit gets ``fraction`` of the model's
    epochs (its ``ranking_epochs``; 1.0: the full-length first fit of the
    earlier defaults)."""

    def __init__(self, detector: aekit.AnomalyDetector, fraction: float) -> None:
        self.detector = detector.set_params(ranking_epochs=fraction)

    def fit(self, X):
        self.detector.fit(X)
        return self

    def decision_function(self, X):
        return self.detector.decision_function(X)


def _recon(model=None, **params) -> aekit.AnomalyDetector:
    """A detector scoring by reconstruction error alone (``latent_distance=False``),
    as every experiment before round 3."""
    return aekit.AnomalyDetector(model, latent_distance=False, **params)


def _det(seed: int, trim: float = 0.3) -> aekit.AnomalyDetector:
    """Reconstruction error alone, with the 40 epochs of the defaults before
    round 3 ("previous_default" with trim 0.3)."""
    return _recon(_ae(seed, max_epochs=40), trim=trim)


class _FeatureNormalised:
    """Experimental: each feature's squared error divided by its median over the
    training rows, then averaged (no feature's inherent noise dominates)."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        self.median = np.median(self.detector.explain(X), axis=0) + 1e-6
        return self

    def decision_function(self, X):
        return (self.detector.explain(X) / self.median).mean(axis=1)


def _iforest(d: int, seed: int):
    from pyod.models.iforest import IForest

    return IForest(random_state=seed)


def _pyod(name: str):
    """A PyOD baseline at its defaults (seeded where it takes a seed)."""

    def make(d: int, seed: int):
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD

        if name == "ECOD":
            return ECOD()
        return AutoEncoder(random_state=seed, verbose=0)

    return make


CONFIGS = {
    "default": lambda d, seed: aekit.AnomalyDetector(random_state=seed),
    "previous_default": lambda d, seed: _det(seed),
    "latent_distance_epochs40": lambda d, seed: aekit.AnomalyDetector(
        _ae(seed, max_epochs=40)
    ),
    "full_ranking_trim10": lambda d, seed: _Ranking(_det(seed, 0.1), 1.0),
    "full_ranking_trim20": lambda d, seed: _Ranking(_det(seed, 0.2), 1.0),
    "half_ranking_trim10": lambda d, seed: _Ranking(_det(seed, 0.1), 0.5),
    "trim10": lambda d, seed: _det(seed, 0.1),
    "trim20": lambda d, seed: _det(seed, 0.2),
    "trim40": lambda d, seed: _det(seed, 0.4),
    "eighth_ranking_trim20": lambda d, seed: _Ranking(_det(seed, 0.2), 0.125),
    **{
        f"epochs{n}": (lambda d, seed, n=n: _recon(_ae(seed, max_epochs=n), trim=0.3))
        for n in (10, 15, 20, 30)
    },
    "epochs80": lambda d, seed: _recon(_ae(seed, max_epochs=80, patience=10), trim=0.3),
    "dropout0.3": lambda d, seed: _recon(_ae(seed, dropout=0.3, max_epochs=40)),
    "batch64": lambda d, seed: _recon(_ae(seed, batch_size=64, max_epochs=40)),
    "feat_norm": lambda d, seed: _FeatureNormalised(_det(seed)),
    "no_trim": lambda d, seed: _det(seed, 0.0),
    "plain": lambda d, seed: _recon(
        _ae(seed, batch_norm=False, dropout=0.0, max_epochs=40)
    ),
    "wide_code": lambda d, seed: _recon(
        _ae(seed, latent_dim=int(np.clip(round(d / 4), 2, 32)), max_epochs=40)
    ),
    "narrow_code": lambda d, seed: _recon(
        _ae(seed, latent_dim=int(np.clip(round(d / 8), 2, 32)), max_epochs=40)
    ),
    "ens5": lambda d, seed: MeanOfZ([_det(100 * seed + i) for i in range(5)]),
    "ens5_plain": lambda d, seed: MeanOfZ(
        [
            _recon(_ae(100 * seed + i, batch_norm=False, dropout=0.0, max_epochs=40))
            for i in range(5)
        ]
    ),
    "IForest": _iforest,
    "ECOD": _pyod("ECOD"),
    "AutoEncoder": _pyod("AutoEncoder"),
    # Round 4 (issue 13): small tables, rare-class tasks.
    "ld_trim10": lambda d, seed: aekit.AnomalyDetector(random_state=seed, trim=0.1),
    "ld_trim20": lambda d, seed: aekit.AnomalyDetector(random_state=seed, trim=0.2),
    "batch_auto": lambda d, seed: aekit.AnomalyDetector(_ae(seed, batch_size="auto")),
    "code_d": lambda d, seed: aekit.AnomalyDetector(
        _ae(seed, latent_dim=int(np.clip(d, 2, 32)))
    ),
    "no_latent": lambda d, seed: _recon(_ae(seed)),
    "code_half": lambda d, seed: aekit.AnomalyDetector(
        _ae(seed, latent_dim=int(np.clip(d // 2, 1, 32)))
    ),
    "knn_codes": lambda d, seed: _KnnCodes(random_state=seed),
    # the library's code_distance="knn" (log(d + 1e-3), nearest neighbour skipped)
    "knn_r4": lambda d, seed: aekit.AnomalyDetector(
        random_state=seed, code_distance="knn"
    ),
    "knn_codes_trim10": lambda d, seed: _KnnCodes(random_state=seed, trim=0.1),
    "ens5_default": lambda d, seed: MeanOfZ(
        [aekit.AnomalyDetector(random_state=100 * seed + i) for i in range(5)]
    ),
}


class _KnnCodes(aekit.AnomalyDetector):
    """Experimental: the code part of the score is the mean distance to the k
    nearest codes of the best-reconstructed training rows (a local measure, for
    normal data in several clusters) instead of the Mahalanobis distance."""

    def _fit_latent_distance(self, X):
        from sklearn.neighbors import NearestNeighbors

        errors, codes = self._errors_and_codes(X)
        best = codes[errors <= np.quantile(errors, 1.0 - self.trim)]
        scale = best.std(axis=0) + 1e-12
        self.knn_ = NearestNeighbors(n_neighbors=min(10, len(best))).fit(best / scale)
        self.knn_scale_ = scale
        self.code_mean_, self.code_precision_ = best.mean(axis=0), None
        parts = self._log_parts(errors, codes)
        self.score_center_, mad = median_mad(parts)
        self.score_scale_ = np.where(mad > 0, mad, 1.0)
        return self._combine(parts)

    def _log_parts(self, errors, codes):
        distance = self.knn_.kneighbors(codes / self.knn_scale_)[0].mean(axis=1)
        return np.column_stack([np.log(np.maximum(errors, 1e-300)), np.log1p(distance)])


def load(data: Path, name: str, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """An ADBench tuning set, subsampled to ``max_rows`` rows (stratified)."""
    archive = np.load(data / "odds" / "adbench_classical" / f"{name}.npz")
    X, y = archive["X"].astype(np.float64), archive["y"].astype(int)
    if len(X) > max_rows:
        X, _, y, _ = train_test_split(
            X, y, train_size=max_rows, stratify=y, random_state=0
        )
    return X, y


def evaluate(X, y, config: str, seed: int, family: str) -> tuple[float, float]:
    """(ROC-AUC, fit seconds) of one config on one set and seed. ADBench: a 60/40
    split, test ROC-AUC. Rare-class tasks (a handful of anomalies each): fit on
    all rows and score them (transductive), so every anomaly counts."""
    if family == "adbench":
        Xtr, Xte, _, yte = train_test_split(X, y, test_size=0.4, random_state=seed)
    else:
        Xtr, Xte, yte = X, X, y
    scaler = StandardScaler().fit(Xtr)
    start = time.perf_counter()
    det = CONFIGS[config](X.shape[1], seed).fit(scaler.transform(Xtr))
    seconds = time.perf_counter() - start
    if len(np.unique(yte)) < 2:
        return float("nan"), seconds
    scores = np.nan_to_num(det.decision_function(scaler.transform(Xte)), posinf=1e300)
    return float(roc_auc_score(yte, scores)), seconds


def family_sets(data: Path, family: str, max_rows: int):
    """(name, loader) pairs: the ADBench tuning sets or rare-class tasks."""
    from rare_tasks import HELD_OUT, TUNING, load_task

    if family == "adbench":
        return [(n, lambda n=n: load(data, n, max_rows)) for n in TUNING_SETS]
    names = TUNING if family == "rare" else HELD_OUT
    return [(n, lambda n=n: load_task(n)) for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    parser.add_argument("--family", choices=FAMILIES, default="adbench")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--max-rows", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    aucs: dict[str, dict[str, float]] = {c: {} for c in args.configs}
    seconds = dict.fromkeys(args.configs, 0.0)
    for name, loader in family_sets(Path(args.data), args.family, args.max_rows):
        X, y = loader()
        for config in args.configs:
            scores = []
            for seed in args.seeds:
                key = f"{args.family}|{name}|{config}|{seed}"
                if key not in cache:  # delete the file after changing a config
                    cache[key] = evaluate(X, y, config, seed, args.family)
                    CACHE.parent.mkdir(exist_ok=True)
                    CACHE.write_text(json.dumps(cache))
                scores.append(cache[key][0])
                seconds[config] += cache[key][1]
            aucs[config][name] = float(np.mean(scores))
        row = " ".join(f"{aucs[c][name]:.3f}" for c in args.configs)
        print(f"{name:20s} {row}", flush=True)
    print("| config | mean ROC-AUC | fit s |")
    print("|---|---|---|")
    for config in args.configs:
        mean = np.nanmean(list(aucs[config].values()))  # smtp: no test anomalies
        print(f"| {config} | {mean:.4f} | {seconds[config]:.0f} |")


if __name__ == "__main__":
    main()
