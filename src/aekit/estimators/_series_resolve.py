"""The rules `aekit.SeriesDetector` resolves in ``fit``: the window (from the
training series' period, capped by the training rows per window input), the
stride, the code size and the channels the value score reads."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from aekit.data import series as ts

MAX_TRAIN_WINDOWS = 20_000  # stride="auto" keeps at most this many windows
PCA_WINDOWS = 2_000  # windows the latent_dim="auto" rule looks at
EXPLAINED = 0.9  # latent_dim="auto": components for this share of the variance
MAX_LATENT = 32
SHORT_WINDOW = 8  # window="auto" capped below this: a warning (too short a period)
ROWS_PER_INPUT = 4  # window="auto": training rows per channel of a window, at least
TREND_SHARE = 0.5  # value score: channels whose trend explains less of the variance


class ResolveMixin:
    """``window_``, ``stride_``, ``latent_dim_``, ``merge_gap_`` and
    ``value_channels_`` from the parameters and the training series."""

    window: Any
    stride: Any
    latent_dim: Any
    merge_gap: Any
    value_score: Any
    window_: int
    stride_: int
    merge_gap_: int
    period_: int | None

    def _resolve_window(self, parts: list[ts.Series]) -> None:
        shortest = min(len(p.values) for p in parts)
        if self.window == "auto":
            longest = max(parts, key=lambda p: len(p.values)).values
            window, self.period_ = ts.auto_window(longest)
            inputs = ROWS_PER_INPUT * parts[0].values.shape[1]
            capped = max(2, shortest // inputs)
            if capped < min(window, SHORT_WINDOW):
                warnings.warn(
                    f"window_ is {capped}, capped by the shortest training series "
                    f"({shortest} rows, {inputs // ROWS_PER_INPUT} channels: "
                    f"{ROWS_PER_INPUT} rows per window input); a longer normal "
                    f"period gives windows of the series' own scale ({window})",
                    UserWarning,
                    stacklevel=4,
                )
            window = min(window, capped)
        else:
            window, self.period_ = int(self.window), None
        self.window_ = window
        self._check_length(shortest, "training series")
        self.merge_gap_ = (
            window // 4 if self.merge_gap == "auto" else int(self.merge_gap)
        )

    def _check_length(self, n_time: int, what: str) -> None:
        need = self.window_ + 1
        if n_time < need:
            raise ValueError(
                f"the {what} has n_samples={n_time} points, fewer than window_ + 1 "
                f"= {need}: give a longer series or a smaller window"
            )

    def _value_channels(self, scaled: list[np.ndarray]) -> np.ndarray:
        """The channels the value score reads (boolean mask): all (True),
        none (False); "auto": the one channel of a univariate series whose
        level does not trend over the training period, none of several
        channels (their reconstruction sees them together)."""
        n_channels = scaled[0].shape[1]
        if self.value_score == "auto":
            keep = n_channels == 1 and bool(_level_channels(scaled)[0])
            return np.full(n_channels, keep)
        return np.full(n_channels, bool(self.value_score))

    def _resolve_stride(self, scaled: list[np.ndarray]) -> None:
        n_windows = sum(len(s) - self.window_ + 1 for s in scaled)
        if self.stride == "auto":
            self.stride_ = max(1, -(-n_windows // MAX_TRAIN_WINDOWS))
        else:
            self.stride_ = int(self.stride)

    def _resolve_latent_dim(self, windows: np.ndarray) -> int:
        """``latent_dim="auto"``: components explaining 90% of the variance of
        (at most 2,000 evenly spread) training windows, in [1, 32] and below
        the window's width."""
        width = windows.shape[1]
        if self.latent_dim != "auto":
            return int(self.latent_dim)
        pick = np.linspace(0, len(windows) - 1, min(len(windows), PCA_WINDOWS))
        sample = windows[pick.astype(int)]
        sample = sample - sample.mean(axis=0)
        spectrum = np.linalg.svd(sample, compute_uv=False) ** 2
        total = spectrum.sum()
        if total <= 0:
            return 1
        k = int(np.searchsorted(np.cumsum(spectrum) / total, EXPLAINED)) + 1
        return int(np.clip(k, 1, min(MAX_LATENT, max(1, width - 1))))


def _level_channels(scaled: list[np.ndarray]) -> np.ndarray:
    """The channels whose level does not trend over the training period
    (a straight line in time explains under ``TREND_SHARE`` of their variance,
    averaged over the series by length): the value score's channels."""
    lengths = np.array([len(s) for s in scaled], np.float64)
    shares = np.stack([ts.trend_share(s) for s in scaled])
    return (lengths @ shares / lengths.sum()) < TREND_SHARE
