"""The aekit command, run in-process through `aekit.cli.main`."""

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit.cli import main


@pytest.fixture
def csv(tmp_path, tabular):
    path = tmp_path / "data.csv"
    pd.DataFrame(tabular, columns=[f"c{i}" for i in range(12)]).to_csv(
        path, index=False
    )
    return path


@pytest.fixture
def trained(tmp_path, csv):
    out = tmp_path / "model"
    rc = main(
        [
            "train",
            str(csv),
            "-o",
            str(out),
            "--latent-dim",
            "3",
            "--hidden-dims",
            "16",
            "--max-epochs",
            "5",
            "--random-state",
            "0",
            "--contractive",
            "0.1",
            "--param",
            "l2=1e-4",
            "--param",
            "lr_schedule=cosine",
            "--plot",
        ]
    )
    assert rc == 0
    return out


def test_train_writes_a_loadable_model(trained):
    model = aekit.load(trained)
    assert model.latent_dim == 3 and model.hidden_dims == (16,)
    assert model.l2 == 1e-4 and model.lr_schedule == "cosine"
    assert model.contractive == 0.1
    assert (trained / "loss_curve.png").stat().st_size > 1000


def test_encode_reconstruct_score(trained, csv, tmp_path, tabular):
    model = aekit.load(trained)
    frame = pd.read_csv(csv)
    assert main(["encode", str(trained), str(csv), "-o", str(tmp_path / "z.csv")]) == 0
    codes = pd.read_csv(tmp_path / "z.csv")
    assert list(codes.columns) == ["z0", "z1", "z2"]
    np.testing.assert_allclose(codes.to_numpy(), model.transform(frame), rtol=1e-6)
    assert main(["score", str(trained), str(csv), "-o", str(tmp_path / "s.npy")]) == 0
    np.testing.assert_allclose(
        np.load(tmp_path / "s.npy").ravel(), model.reconstruction_error(frame)
    )
    out = tmp_path / "r.csv"
    assert main(["reconstruct", str(trained), str(csv), "-o", str(out)]) == 0
    assert pd.read_csv(out).shape == tabular.shape


def test_info(trained, capsys):
    assert main(["info", str(trained)]) == 0
    text = capsys.readouterr().out
    assert "model: autoencoder" in text and "latent_dim = 3" in text


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet"])
def test_other_formats(tmp_path, tabular, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, tabular)
    elif suffix == ".npz":
        np.savez(path, X=tabular)
    else:
        pd.DataFrame(tabular, columns=[f"c{i}" for i in range(12)]).to_parquet(path)
    out = tmp_path / "m"
    assert main(["train", str(path), "-o", str(out), "--max-epochs", "2"]) == 0
    assert aekit.load(out).n_features_in_ == 12


def run_error(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("aekit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_missing_file(tmp_path, capsys):
    err = run_error(
        ["train", str(tmp_path / "no.csv"), "-o", str(tmp_path / "m")], capsys
    )
    assert "not found" in err


def test_missing_model(tmp_path, csv, capsys):
    err = run_error(
        ["score", str(tmp_path / "nomodel"), str(csv), "-o", "x.csv"], capsys
    )
    assert "no aekit model" in err


def test_nan_in_data(tmp_path, capsys):
    path = tmp_path / "nan.csv"
    path.write_text("a,b\n1,2\n3,\n5,6\n")
    # (models that take tables, as the default autoencoder, mask empty cells)
    args = ["train", str(path), "-o", str(tmp_path / "m"), "--model", "vae"]
    err = run_error(args, capsys)
    assert "missing or infinite values in 1 rows (first at row 1)" in err


def test_non_numeric_columns(tmp_path, capsys):
    path = tmp_path / "text.csv"
    path.write_text("a,name\n1,x\n3,y\n")
    args = ["train", str(path), "-o", str(tmp_path / "m"), "--model", "vae"]
    err = run_error(args, capsys)
    assert "non-numeric columns (name)" in err


def test_unreadable_data(tmp_path, capsys):
    path = tmp_path / "data.npy"
    path.write_bytes(b"this is not numpy")
    err = run_error(["train", str(path), "-o", str(tmp_path / "m")], capsys)
    assert "could not read" in err


def test_unsupported_suffix(tmp_path, capsys):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    err = run_error(["train", str(path), "-o", str(tmp_path / "m")], capsys)
    assert "unsupported data file" in err


def test_wrong_feature_count(trained, csv, tmp_path, capsys):
    path = tmp_path / "narrow.csv"
    pd.DataFrame(np.ones((4, 5))).to_csv(path, index=False)
    err = run_error(
        ["score", str(trained), str(path), "-o", str(tmp_path / "s.csv")], capsys
    )
    assert "has 5 columns but the model" in err and "trained on 12" in err
    named = pd.read_csv(csv).drop(columns="c3").assign(extra=1.0).drop(columns="c4")
    named.to_csv(path, index=False)  # 11 columns: c3, c4 missing, one extra
    err = run_error(
        ["score", str(trained), str(path), "-o", str(tmp_path / "s.csv")], capsys
    )
    assert "missing ['c3', 'c4']; extra ['extra'] (--drop them)" in err


def test_bad_parameter(csv, tmp_path, capsys):
    err = run_error(
        ["train", str(csv), "-o", str(tmp_path / "m"), "--latent-dim", "0"], capsys
    )
    assert "latent_dim must be an int >= 1, got 0" in err
    err = run_error(
        ["train", str(csv), "-o", str(tmp_path / "m"), "--param", "colour=1"], capsys
    )
    assert "no parameter(s) ['colour']" in err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "train",
        "encode",
        "reconstruct",
        "score",
        "info",
        "impute",
    ):
        assert command in out


# Empty cells: every command that reads a data file for a model treats them as
# `train` and `detect` do (missing values for the models that take tables).


@pytest.fixture
def holes(tmp_path, tabular):
    """The tabular data as CSV and Parquet with 4 empty cells in rows 3, 7, 7, 50."""
    frame = pd.DataFrame(tabular, columns=[f"c{i}" for i in range(12)])
    for row, col in ((3, 1), (7, 0), (7, 11), (50, 5)):
        frame.iloc[row, col] = np.nan
    frame.to_csv(tmp_path / "holes.csv", index=False)
    frame.to_parquet(tmp_path / "holes.parquet", index=False)
    return frame, tmp_path / "holes.csv", tmp_path / "holes.parquet"


def test_score_encode_reconstruct_take_empty_cells(tmp_path, holes):
    frame, csv_path, parquet_path = holes
    model_dir = tmp_path / "m"
    args = ["--latent-dim", "3", "--hidden-dims", "16", "--max-epochs", "3"]
    assert main(["train", str(csv_path), "-o", str(model_dir), *args]) == 0
    model = aekit.load(model_dir)
    for data in (csv_path, parquet_path):
        out = tmp_path / f"s{data.suffix}.csv"
        assert main(["score", str(model_dir), str(data), "-o", str(out)]) == 0
        errors = pd.read_csv(out)["reconstruction_error"].to_numpy()
        assert len(errors) == 240 and np.isfinite(errors).all()
        np.testing.assert_allclose(errors, model.reconstruction_error(frame))
    z_path = tmp_path / "z.npy"
    assert main(["encode", str(model_dir), str(csv_path), "-o", str(z_path)]) == 0
    codes = np.load(z_path)
    assert codes.shape == (240, 3) and np.isfinite(codes).all()
    out = tmp_path / "r.csv"
    assert main(["reconstruct", str(model_dir), str(csv_path), "-o", str(out)]) == 0
    rebuilt = pd.read_csv(out)
    assert rebuilt.shape == (240, 12) and not rebuilt.isna().any().any()


def test_saved_detector_scores_empty_cells_as_detect_does(tmp_path, holes):
    _, csv_path, _ = holes
    det_dir, detected = tmp_path / "det", tmp_path / "detected.csv"
    rc = main(
        ["detect", str(csv_path), "-o", str(detected), "--model-dir", str(det_dir)]
    )
    assert rc == 0
    out = tmp_path / "scored.csv"
    assert main(["score", str(det_dir), str(csv_path), "-o", str(out)]) == 0
    scored, expected = pd.read_csv(out), pd.read_csv(detected)
    assert list(scored.columns) == ["score", "label"]
    np.testing.assert_allclose(scored["score"], expected["score"], rtol=1e-9)
    assert (scored["label"] == expected["label"]).all()
    codes = tmp_path / "z.csv"
    assert main(["encode", str(det_dir), str(csv_path), "-o", str(codes)]) == 0
    assert len(pd.read_csv(codes)) == 240


def test_model_of_complete_numbers_refuses_empty_cells(
    trained, holes, tmp_path, capsys
):
    _, csv_path, parquet_path = holes
    for command in ("score", "encode", "reconstruct"):
        for data in (csv_path, parquet_path):
            argv = [command, str(trained), str(data), "-o", str(tmp_path / "o.csv")]
            err = run_error(argv, capsys)
            assert "has empty cells in 3 rows (first at row 3)" in err
            assert "fitted on complete numbers" in err and "aekit impute" in err


def test_csv_separator_and_decimal_comma_are_found(tmp_path):
    from aekit.data.tabular import csv_separator, read_frame

    for sep in (";", "\t", "|", ","):
        path = tmp_path / "t.csv"
        path.write_text(f"a{sep}b{sep}name\n1.5{sep}2{sep}x y\n3{sep}4{sep}z\n")
        assert csv_separator(path) == sep
        frame = read_frame(path)
        assert list(frame.columns) == ["a", "b", "name"]
        assert frame["a"].tolist() == [1.5, 3.0]
    path.write_text("a;b\n1,5;2\n-0,25;4\n")  # a decimal comma beside semicolons
    assert read_frame(path)["a"].tolist() == [1.5, -0.25]
    path.write_text("a;b\n1,5;x\n2;y\n")  # text that is not all numbers stays text
    assert read_frame(path)["a"].tolist() == ["1,5", "2"]
