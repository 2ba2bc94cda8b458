"""compare_with_pca and the `aekit detect` / `aekit compare-pca` commands."""

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

import aekit
from aekit.cli import main
from aekit.compare import compare_with_pca
from tests.conftest import FAST, assert_picture


def test_compare_reports_both_errors_on_held_out_rows(curve):
    model = aekit.Autoencoder((32,), max_epochs=150, random_state=0, device="cpu")
    result = compare_with_pca(curve[:400], 1, model=model, X_test=curve[400:])
    assert (result.n_train, result.n_test, result.latent_dim) == (400, 200, 1)
    pca = PCA(1).fit(curve[:400])
    expected = (pca.inverse_transform(pca.transform(curve[400:])) - curve[400:]) ** 2
    assert result.pca_mse == pytest.approx(expected.mean(), rel=1e-6)
    assert result.pca_sse == pytest.approx(expected.sum(axis=1).mean(), rel=1e-6)
    assert result.autoencoder.latent_dim == 1
    # A curve needs one nonlinear unit but many linear components.
    assert result.autoencoder_mse < result.pca_mse
    assert result.ratio > 1 and "PCA / autoencoder" in result.summary()


def test_compare_refuses_too_many_components(tabular):
    with pytest.raises(ValueError, match="latent_dim=20 exceeds"):
        compare_with_pca(tabular, 20, model=aekit.Autoencoder(**FAST))


@pytest.fixture
def table_file(tmp_path):
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 6))
    X = rng.normal(size=(200, 2)) @ basis + 0.05 * rng.normal(size=(200, 6))
    X[:10] = 3 * rng.normal(size=(10, 6))
    path = tmp_path / "data.csv"
    pd.DataFrame(X, columns=list("abcdef")).to_csv(path, index=False)
    return path


def test_cli_detect_writes_scores_labels_model_and_plot(table_file, tmp_path, capsys):
    out, plot, model_dir = tmp_path / "s.csv", tmp_path / "h.png", tmp_path / "m"
    argv = [
        "detect", str(table_file), "-o", str(out), "--contamination", "0.05",
        "--plot", str(plot), "--model-dir", str(model_dir),
    ]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["score", "label"] and len(table) == 200
    assert table["label"].sum() == 10
    assert_picture(plot)
    loaded = aekit.load(model_dir)
    np.testing.assert_allclose(loaded.decision_scores_, table["score"], rtol=1e-6)
    assert "10 of 200 rows flagged" in capsys.readouterr().out
    assert loaded.trim == 0.3 and loaded.n_trimmed_ == 60


def test_cli_detect_trim(table_file, tmp_path):
    argv = ["detect", str(table_file), "-o", str(tmp_path / "s.csv")]
    assert main([*argv, "--trim", "0", "--model-dir", str(tmp_path / "m")]) == 0
    assert aekit.load(tmp_path / "m").n_trimmed_ == 0
    assert main([*argv, "--trim", "0.7"]) == 1  # a clear error, not a traceback


def test_cli_detect_reconstruction_only(table_file, tmp_path):
    argv = ["detect", str(table_file), "-o", str(tmp_path / "s.csv")]
    assert (
        main([*argv, "--reconstruction-only", "--model-dir", str(tmp_path / "m")]) == 0
    )
    loaded = aekit.load(tmp_path / "m")
    assert loaded.latent_distance is False
    scores = pd.read_csv(tmp_path / "s.csv")["score"]
    assert scores.min() >= 0  # mean squared errors, not z-scores


def test_cli_detect_code_distance(table_file, tmp_path, capsys):
    argv = ["detect", str(table_file), "-o", str(tmp_path / "s.csv")]
    model_dir = str(tmp_path / "m")
    assert main([*argv, "--code-distance", "knn", "--model-dir", model_dir]) == 0
    loaded = aekit.load(model_dir)
    assert loaded.code_distance == "knn" and loaded.min_distance_ > 0
    scores = pd.read_csv(tmp_path / "s.csv")["score"]
    assert scores[:10].mean() > scores[10:].mean()  # the planted rows score higher
    with pytest.raises(SystemExit):  # argparse names the allowed choices
        main([*argv, "--code-distance", "nearest"])
    assert "invalid choice: 'nearest'" in capsys.readouterr().err


def test_cli_detect_rejects_bad_contamination(table_file, tmp_path, capsys):
    argv = ["detect", str(table_file), "-o", str(tmp_path / "s.csv")]
    assert main([*argv, "--contamination", "often"]) == 1
    assert "'auto'" in capsys.readouterr().err


def test_cli_compare_pca(table_file, capsys):
    argv = ["compare-pca", str(table_file), "--latent-dim", "2", "--max-epochs", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "autoencoder" in out and "PCA" in out and "K = 2" in out
