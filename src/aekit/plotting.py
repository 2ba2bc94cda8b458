"""Matplotlib figures for what a picture says better. Each function returns a
`matplotlib.figure.Figure` (no global pyplot state); save it with ``fig.savefig``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def loss_curve(history: Sequence[dict], *, best_epoch: int | None = None) -> Figure:
    """Training (and validation) loss per epoch, from an estimator's ``history_``."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["loss"] for h in history], label="train")
    if history and "val_loss" in history[0]:
        ax.plot(epochs, [h["val_loss"] for h in history], label="validation")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", linestyle=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if history and min(h["loss"] for h in history) > 0:
        ax.set_yscale("log")
    ax.legend()
    return fig


def latent_scatter(
    codes: np.ndarray, labels: np.ndarray | None = None, *, title: str = ""
) -> Figure:
    """The first two latent dimensions (PCA of the codes when there are more than
    two), coloured by ``labels`` when given."""
    codes = np.asarray(codes, dtype=np.float64)
    xlabel, ylabel = "z1", "z2"
    if codes.shape[1] > 2:
        centred = codes - codes.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        codes, xlabel, ylabel = centred @ vt[:2].T, "PC1 of codes", "PC2 of codes"
    elif codes.shape[1] == 1:
        codes = np.column_stack([codes[:, 0], np.zeros(len(codes))])
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=6)
    else:
        points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, s=6, cmap="tab10")
        fig.colorbar(points, ax=ax, label="label")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


def image_grid(
    rows: Sequence[np.ndarray],
    image_shape: tuple[int, ...],
    *,
    row_titles: Sequence[str] | None = None,
    n_columns: int = 10,
) -> Figure:
    """Images side by side, one row per array (e.g. original / noisy / reconstructed).

    Each array holds flat or shaped images; ``image_shape`` is (h, w) or (h, w, 3).
    """
    n_columns = min(n_columns, min(len(r) for r in rows))
    # one grey scale for the whole grid, set by the first row (the originals)
    low, high = float(np.min(rows[0][:n_columns])), float(np.max(rows[0][:n_columns]))
    fig = Figure(figsize=(n_columns * 1.0, len(rows) * 1.1), layout="constrained")
    axes = fig.subplots(len(rows), n_columns, squeeze=False)
    for r, images in enumerate(rows):
        for c in range(n_columns):
            ax = axes[r][c]
            ax.imshow(
                np.reshape(images[c], image_shape), cmap="gray", vmin=low, vmax=high
            )
            ax.set_xticks([])
            ax.set_yticks([])
        if row_titles:
            axes[r][0].set_ylabel(row_titles[r], fontsize=8)
    return fig


def score_histogram(
    scores: np.ndarray,
    *,
    threshold: float | None = None,
    labels: np.ndarray | None = None,
    bins: int = 50,
) -> Figure:
    """Histogram of anomaly scores with the decision threshold (and, when ground-truth
    ``labels`` are given, normal and anomalous samples in separate colours)."""
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    scores = np.asarray(scores, dtype=np.float64)
    edges = np.histogram_bin_edges(scores, bins=bins).tolist()
    if labels is None:
        ax.hist(scores, bins=edges, color="tab:blue")
    else:
        labels = np.asarray(labels).astype(bool)
        ax.hist(scores[~labels], bins=edges, alpha=0.7, label="normal")
        ax.hist(scores[labels], bins=edges, alpha=0.7, label="anomaly")
    if threshold is not None:
        ax.axvline(threshold, color="red", linestyle="--", label="threshold")
    ax.set(xlabel="anomaly score", ylabel="count")
    if labels is not None or threshold is not None:
        ax.legend()
    return fig


def series_scores(
    series: object,
    scores: np.ndarray,
    *,
    threshold: float | None = None,
    segments: Sequence[dict] = (),
    max_channels: int = 8,
) -> Figure:
    """A series and its point scores: one panel per channel (the first
    ``max_channels``), the score with the threshold below, and the flagged
    ``segments`` (dicts with row positions ``start`` and ``end``, as
    `aekit.SeriesDetector.segments` gives) shaded in every panel. ``series``:
    a DataFrame (its index is the time axis) or an array (n_time,) or
    (n_time, n_channels)."""
    if hasattr(series, "columns"):
        frame: Any = series
        x = np.asarray(frame.index)
        names = [str(c) for c in frame.columns]
        values = np.asarray(frame.to_numpy(dtype=np.float64))
    else:
        values = np.asarray(series, dtype=np.float64)
        values = values.reshape(len(values), -1)
        x = np.arange(len(values))
        names = [f"channel {c}" for c in range(values.shape[1])]
    shown = min(values.shape[1], max_channels)
    fig = Figure(figsize=(10, 1.8 * (shown + 1)), layout="constrained")
    axes = fig.subplots(shown + 1, 1, sharex=True, squeeze=False)[:, 0]
    for c, ax in enumerate(axes[:-1]):
        ax.plot(x, values[:, c], lw=0.8)
        ax.set_ylabel(names[c])
    axes[-1].plot(x, np.asarray(scores, dtype=np.float64), lw=0.8, color="black")
    if threshold is not None:
        axes[-1].axhline(threshold, color="red", ls="--", lw=0.8)
    axes[-1].set_ylabel("score")
    for seg in segments:
        for ax in axes:
            ax.axvspan(x[seg["start"]], x[seg["end"]], color="red", alpha=0.2)
    return fig


def feature_errors(
    errors: np.ndarray, feature_names: Sequence[str] | None = None, *, top: int = 20
) -> Figure:
    """Per-feature reconstruction error of one sample, largest first."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    names = list(feature_names) if feature_names is not None else None
    names = names or [f"x{i}" for i in range(len(errors))]
    order = np.argsort(errors)[::-1][:top]
    fig = Figure(figsize=(6, 0.3 * len(order) + 1), layout="constrained")
    ax = fig.add_subplot()
    ax.barh([names[i] for i in order][::-1], errors[order][::-1])
    ax.set_xlabel("squared error")
    return fig


def _as_displayable(
    images: np.ndarray, image_shape: Sequence[int] | None
) -> np.ndarray:
    """Images as (n, H, W) grey or (n, H, W, 3) colour, clipped to [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    if images.ndim == 2:  # flat: assume square grey
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(len(images), side, side)
    if images.ndim == 4:  # channel-first -> channel-last
        images = images.transpose(0, 2, 3, 1)
        images = images[..., 0] if images.shape[-1] == 1 else images
    return np.clip(images, 0.0, 1.0)


def sample_grid(
    images: np.ndarray,
    *,
    image_shape: Sequence[int] | None = None,
    n_columns: int = 8,
    title: str = "",
) -> Figure:
    """Images (e.g. a VAE's samples) in a grid of ``n_columns`` columns.

    ``images`` are (n, H, W), channel-first (n, C, H, W), or flat with
    ``image_shape`` (square grey when flat without it); values are clipped to
    [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> fig = sample_grid(np.random.default_rng(0).random((16, 8, 8)))
    """
    shown = _as_displayable(images, image_shape)
    n_rows = int(np.ceil(len(shown) / n_columns))
    fig = Figure(figsize=(n_columns * 0.8, n_rows * 0.8 + 0.3), layout="constrained")
    axes = fig.subplots(n_rows, n_columns, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < len(shown):
            ax.imshow(shown[i], cmap="gray", vmin=0.0, vmax=1.0)
    if title:
        fig.suptitle(title)
    return fig


def latent_traversal(
    estimator: object,
    code: np.ndarray | None = None,
    *,
    dims: Sequence[int] | None = None,
    span: float = 3.0,
    n_steps: int = 9,
) -> Figure:
    """One row per latent dimension: that dimension varied over [-span, span]
    around ``code`` (default: zeros, the prior mean), the others fixed, decoded
    with the fitted image model's ``inverse_transform``."""
    latent_dim = int(estimator.latent_dim)  # type: ignore[attr-defined]
    base = np.zeros(latent_dim) if code is None else np.asarray(code, float).ravel()
    dims = list(range(min(latent_dim, 10))) if dims is None else list(dims)
    values = np.linspace(-span, span, n_steps)
    codes = np.repeat(base[None], len(dims) * n_steps, axis=0)
    for row, dim in enumerate(dims):
        codes[row * n_steps : (row + 1) * n_steps, dim] = base[dim] + values
    decoded = estimator.inverse_transform(codes)  # type: ignore[attr-defined]
    shape = getattr(estimator, "image_shape_", None)
    fig = sample_grid(decoded, image_shape=shape, n_columns=n_steps)
    for row, dim in enumerate(dims):
        fig.axes[row * n_steps].set_axis_on()
        fig.axes[row * n_steps].set(xticks=[], yticks=[], ylabel=f"z{dim}")
    return fig


def manifold_grid(estimator: object, *, n: int = 15, span: float = 2.0) -> Figure:
    """For a 2-D latent space: images decoded on an ``n`` x ``n`` grid of codes.

    The grid spans the central 90% of the standard normal prior (VAE style) for
    variational models (those with ``sample``), else [-span, span] squared.
    """
    if int(estimator.latent_dim) != 2:  # type: ignore[attr-defined]
        raise ValueError("manifold_grid needs a model with latent_dim=2")
    if hasattr(estimator, "sample"):
        from scipy.stats import norm

        axis = norm.ppf(np.linspace(0.05, 0.95, n))
    else:
        axis = np.linspace(-span, span, n)
    z1, z2 = np.meshgrid(axis, axis[::-1])
    codes = np.column_stack([z1.ravel(), z2.ravel()])
    decoded = estimator.inverse_transform(codes)  # type: ignore[attr-defined]
    shape = getattr(estimator, "image_shape_", None)
    return sample_grid(decoded, image_shape=shape, n_columns=n)
