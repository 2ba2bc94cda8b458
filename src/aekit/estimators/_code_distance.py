"""The code-distance part of `aekit.AnomalyDetector`'s score: how far a row's
code lies from the codes of the training rows the model reconstructs best.

Two distances: Mahalanobis from those codes' mean, with a Ledoit-Wolf
covariance (Ledoit & Wolf, "A well-conditioned estimator for large-dimensional
covariance matrices", 2004), or the mean distance to the nearest of those codes
(``code_distance="knn"``, for normal rows in several clusters).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.covariance import ledoit_wolf

from aekit.nn.graph import neighbour_distances

N_NEIGHBORS = 10  # codes a "knn" code distance averages over
MAX_REFERENCE = 4096  # reference codes kept for the "knn" code distance
KNN_FLOOR = 1e-3  # least ``min_distance_`` (in code standard deviations)
KNN_OWN = 1e-3  # a reference code this close to a row's code is the row's own
SPREAD_RTOL = 1e-9  # a spread below this share of the values' size is rounding


def knn_distance(
    queries: np.ndarray, reference: np.ndarray, k: int = N_NEIGHBORS
) -> np.ndarray:
    """Mean Euclidean distance from each query row to its ``k`` nearest rows of
    ``reference`` other than itself (`aekit.nn.graph.neighbour_distances`, in
    float64): the code distance of ``code_distance="knn"``."""
    query_rows, reference_rows = _tensors(queries, reference)
    with torch.inference_mode():
        distances = neighbour_distances(query_rows, reference_rows, k, KNN_OWN)
    return distances.numpy()


def shrunk_precision(codes: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of the Ledoit-Wolf covariance of ``codes`` (rows): the
    sample covariance shrunk towards a multiple of the identity by the amount
    that minimises the expected squared error (Ledoit & Wolf, "A well-conditioned
    estimator for large-dimensional covariance matrices", 2004). With few rows
    per code dimension the sample covariance fits the rows it was computed on:
    rows outside them (the trimmed ones, new rows) then get inflated distances
    (see docs/anomaly.md). Codes that are one point (copies of a row) get no
    distance at all: their covariance is rounding error."""
    none = np.zeros((codes.shape[1], codes.shape[1]))
    if len(codes) < 2:
        return none
    cov = np.atleast_2d(ledoit_wolf(codes)[0])
    if np.trace(cov) <= 1e-12 * max(1.0, float(np.square(codes).mean())):
        return none  # the codes are one point (copies of a row): rounding spread
    return np.linalg.pinv(cov, rcond=1e-6, hermitian=True)


def _tensors(*arrays: Any) -> list[torch.Tensor]:
    """float64 CPU tensors of NumPy arrays."""
    return [torch.from_numpy(np.asarray(a, np.float64)) for a in arrays]
