"""A fitted scikit-learn forest of decision trees (`ExtraTreesClassifier`,
`RandomForestClassifier`) as flat arrays, and its positive-class probability
computed from them by NumPy, so that the forest is saved in safetensors (no
pickle) and scored without scikit-learn's objects.

Every tree's nodes are concatenated: ``left``/``right`` hold the global index
of a node's children (-1 at a leaf), ``feature`` and ``threshold`` its split
(a row goes left when ``x[feature] <= threshold``, the value compared in
float32 as scikit-learn's trees do), ``value`` the share of the positive class
(weighted) at the node, and ``roots`` the index of each tree's first node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LEAF = -1


@dataclass
class ForestArrays:
    """A forest's trees, concatenated (see the module docstring)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The forest's positive-class probability for the rows ``X`` (the mean
        over trees of the positive share at the row's leaf), as
        ``predict_proba(X)[:, 1]`` of the scikit-learn forest."""
        rows = np.asarray(X, np.float32)
        if rows.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {rows.shape}.")
        node = np.broadcast_to(self.roots, (len(rows), len(self.roots))).copy()
        index = np.arange(len(rows))[:, None]
        inner = self.left[node] != LEAF
        while inner.any():
            at = node[inner]
            column = rows[np.broadcast_to(index, node.shape)[inner], self.feature[at]]
            go_left = column.astype(np.float64) <= self.threshold[at]
            node[inner] = np.where(go_left, self.left[at], self.right[at])
            inner = self.left[node] != LEAF
        total = self.value[node].sum(axis=1)
        return total / len(self.roots)


def forest_arrays(forest: Any) -> ForestArrays:
    """The arrays of a fitted binary scikit-learn forest classifier (classes
    0 and 1)."""
    classes = np.asarray(getattr(forest, "classes_", [])).tolist()
    if classes != [0, 1]:
        raise ValueError(f"the forest must have classes [0, 1], got {classes}.")
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("left", "right", "feature", "threshold", "value")
    }
    roots, offset = [], 0
    for estimator in forest.estimators_:
        tree = estimator.tree_
        leaf = tree.children_left == LEAF
        for name, children in (
            ("left", tree.children_left),
            ("right", tree.children_right),
        ):
            parts[name].append(np.where(leaf, LEAF, children + offset))
        parts["feature"].append(np.where(leaf, 0, tree.feature))
        parts["threshold"].append(tree.threshold)
        counts = tree.value[:, 0, :]
        parts["value"].append(counts[:, 1] / counts.sum(axis=1))
        roots.append(offset)
        offset += tree.node_count
    return ForestArrays(
        left=np.concatenate(parts["left"]).astype(np.int64),
        right=np.concatenate(parts["right"]).astype(np.int64),
        feature=np.concatenate(parts["feature"]).astype(np.int64),
        threshold=np.concatenate(parts["threshold"]).astype(np.float64),
        value=np.concatenate(parts["value"]).astype(np.float64),
        roots=np.asarray(roots, np.int64),
    )
