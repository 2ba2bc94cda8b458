"""Every plot renders to a PNG."""

import numpy as np
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
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_renders_png(name, tmp_path):
    path = tmp_path / f"{name}.png"
    FIGURES[name]().savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 2000
