"""PyOD's detector API on aekit's `BaseDetector` against PyOD's own `BaseDetector`,
on identical training and test scores (both detectors score a row by the same
fixed linear function, so only the API's arithmetic is compared): seconds per
call and the largest difference of the results.

    python bench/pyod_api.py [--n-train 10000] [--n-test 100000]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from pyod.models.base import BaseDetector as PyodBase

from aekit.estimators import BaseDetector

WEIGHTS = np.array([1.0, -0.5, 0.25])


def score(X: np.ndarray) -> np.ndarray:
    return X @ WEIGHTS


class Ours(BaseDetector):
    def __init__(self, contamination: float = 0.1) -> None:
        self.contamination = contamination

    def fit(self, X: np.ndarray, y: Any = None) -> Ours:
        self.decision_scores_ = score(X)
        q = 100 * (1 - self.contamination)
        self.threshold_ = float(np.percentile(self.decision_scores_, q))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return score(X)


class Theirs(PyodBase):
    def __init__(self, contamination: float = 0.1) -> None:
        super().__init__(contamination=contamination)

    def fit(self, X: np.ndarray, y: Any = None) -> Theirs:
        self._set_n_classes(y)
        self.decision_scores_ = score(X)
        self._process_decision_scores()
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return score(X)


def timed(call: Callable[[Any], Any], detector: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call(detector)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(args.n_train, 3))
    X_test = 1.5 * rng.normal(size=(args.n_test, 3))
    ours, theirs = Ours().fit(X_train), Theirs().fit(X_train)
    calls = {
        "predict_confidence": lambda d: d.predict_confidence(X_test),
        "predict_with_rejection(T=4)": lambda d: d.predict_with_rejection(X_test, T=4),
    }
    print(f"n_train={args.n_train}, n_test={args.n_test}")
    print("| call | aekit s | PyOD s | max abs difference |")
    print("|---|---:|---:|---:|")
    for name, call in calls.items():
        t_ours, a = timed(call, ours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyOD warns about its default c_r
            t_theirs, b = timed(call, theirs)
        diff = np.abs(np.asarray(a, float) - np.asarray(b, float)).max()
        print(f"| {name} | {t_ours:.3f} | {t_theirs:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
