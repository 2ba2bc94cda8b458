"""aekit detect --labels / --label-column and --fdr --calibration."""

import numpy as np
import pandas as pd
import pytest

from aekit.cli.main import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    X[:10] += 5.0
    data = pd.DataFrame(X, columns=list("abcd"))
    labels = np.full(200, -1)
    labels[:3] = 1
    data.to_csv(folder / "data.csv", index=False)
    pd.DataFrame({"label": labels}).to_csv(folder / "labels.csv", index=False)
    data.assign(known=labels).to_csv(folder / "with_labels.csv", index=False)
    pd.DataFrame(rng.normal(size=(1000, 4)), columns=list("abcd")).to_csv(
        folder / "normal.csv", index=False
    )
    return folder


def test_labels_file_and_column_agree(files, capsys):
    out1, out2 = files / "s1.csv", files / "s2.csv"
    main(["detect", str(files / "data.csv"), "-o", str(out1),
          "--labels", str(files / "labels.csv")])  # fmt: skip
    assert "anomaly rate with the labels" in capsys.readouterr().out
    main(["detect", str(files / "with_labels.csv"), "-o", str(out2),
          "--label-column", "known"])  # fmt: skip
    first, second = pd.read_csv(out1), pd.read_csv(out2)
    np.testing.assert_allclose(first["score"], second["score"])
    assert first["score"][:10].min() > first["score"][10:].quantile(0.9)


def test_fdr_with_calibration(files, capsys):
    out = files / "fdr.csv"
    main(["detect", str(files / "data.csv"), "-o", str(out), "--fdr", "0.05",
          "--calibration", str(files / "normal.csv")])  # fmt: skip
    table = pd.read_csv(out)
    assert "Benjamini-Hochberg at FDR 0.05" in capsys.readouterr().out
    assert table["label"][:10].mean() >= 0.9 and table["label"][10:].sum() <= 3
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()


def test_fdr_needs_calibration(files, capsys):
    code = main(["detect", str(files / "data.csv"), "-o", str(files / "x.csv"),
                 "--fdr", "0.05"])  # fmt: skip
    assert code == 1 and "--fdr needs --calibration" in capsys.readouterr().err
