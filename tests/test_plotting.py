"""Every plot renders to a PNG."""

import numpy as np
import pandas as pd
import pytest

from aekit import plotting

rng = np.random.default_rng(0)
HISTORY = [{"epoch": i, "loss": 1 / i, "val_loss": 1.2 / i} for i in range(1, 11)]

FIGURES = {
    "loss_curve": lambda: plotting.loss_curve(HISTORY, best_epoch=9),
    "latent_scatter_2d": lambda: plotting.latent_scatter(
        rng.normal(size=(50, 2)), rng.integers(0, 3, 50)
    ),
    "latent_scatter_5d": lambda: plotting.latent_scatter(rng.normal(size=(50, 5))),
    "image_grid": lambda: plotting.image_grid(
        [rng.random((6, 64)), rng.random((6, 64))], (8, 8), row_titles=["a", "b"]
    ),
    "score_histogram": lambda: plotting.score_histogram(
        rng.random(200), threshold=0.9, labels=rng.random(200) > 0.9
    ),
    "feature_errors": lambda: plotting.feature_errors(rng.random(8), list("abcdefgh")),
    "series_scores_1d": lambda: plotting.series_scores(
        rng.normal(size=300),
        rng.random(300),
        threshold=0.9,
        segments=[{"start": 100, "end": 120}],
    ),  # fmt: skip
    "series_scores_frame": lambda: plotting.series_scores(
        pd.DataFrame(
            rng.normal(size=(300, 12)),
            index=pd.date_range("2026-01-01", periods=300, freq="s"),
        ),
        rng.random(300),
        segments=[{"start": 0, "end": 5}],
    ),
}


def test_series_scores_panels():
    """One panel per channel up to ``max_channels``, then the score's."""
    fig = plotting.series_scores(rng.normal(size=(50, 12)), rng.random(50))
    assert len(fig.axes) == 9 and fig.axes[-1].get_ylabel() == "score"
    fig = plotting.series_scores(rng.normal(size=(50, 2)), rng.random(50))
    assert [a.get_ylabel() for a in fig.axes] == ["channel 0", "channel 1", "score"]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_renders_png(name, tmp_path):
    path = tmp_path / f"{name}.png"
    FIGURES[name]().savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 2000
