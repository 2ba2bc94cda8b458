"""The per-column check of `aekit.AutoencoderImputer`: which observed cells
each model trains without, and how the guesses of those cells (the models', the
nearest rows', the column's mean or most frequent level) are weighed into one
fill per column."""

from __future__ import annotations

import numpy as np

MIN_CHECKS = 10  # fewer checked cells in a column: the model is trusted as it is


def check_cells(
    values: np.ndarray, n_sets: int, fraction: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """``n_sets`` disjoint random sets (boolean masks) of the observed cells of
    the encoded table ``values``, each about ``fraction`` of them; a row whose
    every observed cell fell into one set keeps them all (fit needs a cell)."""
    observed = ~np.isnan(values)
    draw = rng.random(values.shape)
    sets = []
    for k in range(n_sets):
        cells = observed & (draw >= k * fraction) & (draw < (k + 1) * fraction)
        cells[(cells == observed).all(axis=1)] = False
        sets.append(cells)
    return sets


def trust_in_model(truth: np.ndarray, guess: np.ndarray, centre: float) -> float:
    """Least-squares weight ``w`` in [0, 1] of ``centre + w * (guess - centre)``
    as a predictor of ``truth`` (1 with fewer than `MIN_CHECKS` cells)."""
    return blend_weights(truth, centre, guess, None)[0]


def blend_weights(
    truth: np.ndarray, centre: float, model: np.ndarray, knn: np.ndarray | None
) -> tuple[float, float]:
    """Weights ``(a, b)``, ``a, b >= 0`` and ``a + b <= 1``, of the fill
    ``centre + a * (model - centre) + b * (knn - centre)`` with the least squared
    error on ``truth``: a convex blend of the centre, the model's and the
    neighbours' guesses (``knn=None``: ``b = 0``). ``(1, 0)`` with fewer than
    `MIN_CHECKS` cells."""
    if len(truth) < MIN_CHECKS:
        return 1.0, 0.0
    target = truth - centre
    away = np.column_stack(
        [model - centre, np.zeros_like(model) if knn is None else knn - centre]
    )
    corners = [(0.0, 0.0)]
    for k in range(2 if knn is not None else 1):  # one guess against the centre
        spread = float(away[:, k] @ away[:, k])
        w = float(np.clip(target @ away[:, k] / spread, 0, 1)) if spread else 0.0
        corners.append((w, 0.0) if k == 0 else (0.0, w))
    if knn is not None:  # the two guesses against each other, then all three
        gap = away[:, 0] - away[:, 1]
        spread = float(gap @ gap)
        w = float(np.clip((target - away[:, 1]) @ gap / spread, 0, 1)) if spread else 0
        corners.append((w, 1.0 - w))
        inner = np.linalg.lstsq(away, target, rcond=None)[0]
        if inner.min() >= 0 and inner.sum() <= 1:
            corners.append((float(inner[0]), float(inner[1])))
    errors = [np.sum((target - away @ np.array(c)) ** 2) for c in corners]
    return corners[int(np.argmin(errors))]


def best_level(
    truth: np.ndarray, centre: float, model: np.ndarray, knn: np.ndarray | None
) -> tuple[float, float]:
    """``(1, 0)`` to keep the model's level, ``(0, 1)`` the neighbours' or
    ``(0, 0)`` the most frequent one ``centre``: whichever was right most often
    on ``truth`` (ties in that order); ``(1, 0)`` with fewer than `MIN_CHECKS`
    cells."""
    if len(truth) < MIN_CHECKS:
        return 1.0, 0.0
    hits = [np.mean(truth == model), -1.0 if knn is None else np.mean(truth == knn)]
    hits.append(np.mean(truth == centre))
    return [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0)][int(np.argmax(hits))]
