"""Mixed-type tables: categorical columns and missing cells in the tabular
estimators, `impute`, `AutoencoderImputer`, the schema's round trip and the CLI."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

import aekit
from aekit import losses
from aekit.cli.main import main
from aekit.data import schema as schema_module
from aekit.data.schema import OTHER, TableSchema

FAST = dict(hidden_dims=(8,), latent_dim=2, max_epochs=3, batch_size=32)
FAST.update(random_state=0, device="cpu")


def mixed_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Numeric (float, int), text, category and bool columns, with holes."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "size": a,
            "weight": 2 * a + 0.1 * rng.normal(size=n),
            "count": rng.integers(0, 5, n),
            "kind": np.where(a > 0, "big", "small"),
            "colour": pd.Categorical(
                rng.choice(["red", "blue"], n), categories=["blue", "green", "red"]
            ),
            "flag": a > 0.5,
        }
    )
    frame.loc[rng.random(n) < 0.2, "size"] = np.nan
    frame.loc[rng.random(n) < 0.2, "kind"] = None
    return frame


@pytest.fixture(scope="module")
def frame():
    return mixed_frame()


@pytest.fixture(scope="module")
def model(frame):
    return aekit.Autoencoder(**FAST).fit(frame)


def test_round_trip_of_dtypes_and_categories(model, frame, tmp_path):
    recon = model.reconstruct(frame)
    assert list(recon.columns) == list(frame.columns)
    assert recon.dtypes.to_dict() == frame.dtypes.to_dict()
    assert list(recon["colour"].cat.categories) == ["blue", "green", "red"]
    assert set(recon["kind"]) <= {"big", "small"}
    assert recon.index.equals(frame.index)
    decoded = model.inverse_transform(model.transform(frame))
    assert decoded.dtypes.to_dict() == frame.dtypes.to_dict()
    model.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert loaded.schema_ == model.schema_
    pd.testing.assert_frame_equal(loaded.reconstruct(frame), recon)
    np.testing.assert_array_equal(
        loaded.reconstruction_error(frame), model.reconstruction_error(frame)
    )


def test_the_schema_is_in_config_json(model, tmp_path):
    model.save(tmp_path / "m")
    text = (tmp_path / "m" / "config.json").read_text()
    for piece in ('"colour"', '"green"', '"categorical"', '"bool"', '"int64"'):
        assert piece in text


def test_masked_loss_ignores_the_missing_cells_placeholder():
    torch.manual_seed(0)
    recon = torch.randn(5, 3, requires_grad=True)
    logits = [torch.randn(5, 4, requires_grad=True)]
    observed = torch.tensor([[1.0, 0, 1]] * 5)
    onehot = torch.eye(4)[[0, 1, 2, 3, 0]]
    onehot[2] = 0  # a missing category
    results = []
    for placeholder in (0.0, 1e6, float("nan")):
        numbers = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
        numbers[:, 1] = placeholder
        cells = losses.masked_cell_errors(recon, logits, numbers, observed, [onehot])
        total = cells.sum()
        grads = torch.autograd.grad(total, [recon, *logits])
        results.append((total.detach(), *grads))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            torch.testing.assert_close(a, b)
    assert (results[0][1][:, 1] == 0).all()  # no gradient on the missing cells
    assert (results[0][2][2] == 0).all()


def test_module_loss_ignores_what_the_input_holds_in_a_missing_cell(model, frame):
    Xs = torch.from_numpy(model._model_input(model._validate(frame, reset=False)))
    net = model.module_.eval()
    out = net(Xs)
    hole = Xs[:, 0 + net.mixed.n_numeric] == 1  # "size" is missing
    assert hole.any()
    changed = Xs.clone()
    changed[hole, 0] = 123.0
    torch.testing.assert_close(net.errors(changed, out), net.errors(Xs, out))


def test_unseen_category_warns_once_and_counts_as_missing(model, frame):
    odd = frame.copy()
    odd["kind"] = odd["kind"].astype(object)
    odd.loc[0, "kind"], odd.loc[1, "kind"] = "huge", "tiny"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recon = model.reconstruct(odd)
    messages = [str(w.message) for w in caught if "not seen" in str(w.message)]
    assert len(messages) == 1 and "huge" in messages[0] and "kind" in messages[0]
    assert set(recon["kind"]) <= {"big", "small"}
    filled = model.impute(odd)  # observed cells, unseen or not, are kept
    assert filled.loc[0, "kind"] == "huge"


def test_impute_fills_exactly_the_missing_cells(model, frame):
    filled = model.impute(frame)
    assert isinstance(filled, pd.DataFrame) and filled.index.equals(frame.index)
    assert not filled.isna().to_numpy().any()
    observed = frame.notna()
    for name in frame.columns:
        keep = observed[name].to_numpy()
        assert (filled[name][keep] == frame[name][keep]).all(), name
    holes = ~observed["kind"].to_numpy()
    assert set(filled["kind"][holes]) <= {"big", "small"}
    assert frame.isna().to_numpy().any()  # (the input is left as it was)


def test_numeric_array_with_nan_is_masked(tabular):
    X = tabular[:80].copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    ae = aekit.Autoencoder(**FAST).fit(X)
    filled = ae.impute(X)
    assert isinstance(filled, np.ndarray) and not np.isnan(filled).any()
    ok = ~np.isnan(X)
    np.testing.assert_array_equal(filled[ok], X[ok])
    assert isinstance(ae.reconstruct(X), np.ndarray)


def test_complete_numbers_keep_the_plain_path(tabular):
    ae = aekit.Autoencoder(**FAST).fit(tabular)
    assert not hasattr(ae, "schema_") and ae.loss_ == "mse"
    with pytest.raises(ValueError, match="impute needs"):
        ae.impute(tabular)


def test_all_missing_rows(frame):
    loose = frame.astype({"count": "float64", "flag": "boolean"})  # can hold NA
    bad = loose.copy()
    bad.loc[3] = np.nan
    with pytest.raises(ValueError, match="every cell missing.*row 3"):
        aekit.Autoencoder(**FAST).fit(bad)
    ae = aekit.Autoencoder(**FAST).fit(loose)
    empty = loose.iloc[:2].copy()
    empty.loc[0] = np.nan
    assert ae.reconstruction_error(empty)[0] == 0.0
    filled = ae.impute(empty)
    assert not filled.isna().to_numpy().any()


def test_wrong_columns_are_clear_errors(model, frame):
    with pytest.raises(ValueError, match="- kind"):
        model.reconstruct(frame.drop(columns="kind"))
    wrong = frame.copy()
    wrong["size"] = "text"
    with pytest.raises(ValueError, match="column 'size' was numeric"):
        model.reconstruct(wrong)
    wrong = frame.copy()
    wrong["kind"] = 1.5
    with pytest.raises(ValueError, match="column 'kind' held text"):
        model.reconstruct(wrong)


def test_parameters_that_do_not_apply_to_tables(frame):
    with pytest.raises(ValueError, match="loss='bce' does not apply"):
        aekit.Autoencoder(loss="bce", **FAST).fit(frame)


def test_high_cardinality_is_capped(monkeypatch):
    monkeypatch.setattr(schema_module, "MAX_LEVELS", 4)
    names = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e", "f"])
    schema = TableSchema.from_frame(pd.DataFrame({"name": names}))
    column = schema.columns[0]
    assert column.capped and column.levels == ("a", "b", "c", OTHER)
    codes = schema.encode(pd.DataFrame({"name": ["a", "e", "zzz", None]}))[:, 0]
    np.testing.assert_array_equal(codes, [0, 3, 3, np.nan])  # rare and unseen: other
    assert list(schema.decode(np.array([[0.0], [2.0]]))["name"]) == ["a", "c"]


def test_detector_on_a_mixed_table():
    rng = np.random.default_rng(0)
    n = 300
    a = rng.normal(size=n)
    frame = pd.DataFrame(
        {"x": a, "y": a + 0.1 * rng.normal(size=n), "sign": np.where(a > 0, "+", "-")}
    )
    odd = np.arange(n) < 15  # the sign contradicts the numbers
    frame.loc[odd, "sign"] = np.where(a[odd] > 0, "-", "+")
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    det = aekit.AnomalyDetector(random_state=0).fit(frame)
    scores = det.decision_function(frame)
    assert np.isfinite(scores).all()
    assert roc_auc_score(odd, scores) > 0.8  # (0.89 measured; flips near 0 are mild)
    shares = det.explain(frame)
    assert list(shares.columns) == ["x", "y", "sign"]
    assert shares["sign"][odd].mean() > shares["sign"][~odd].mean()
    np.testing.assert_allclose(
        shares.sum(axis=1), det.model_.reconstruction_error(frame), rtol=1e-5
    )


def test_imputer_in_a_pipeline(tabular):
    X = tabular.copy()
    y = X[:, 0] + X[:, 1]
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    imputer = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST))
    pipe = make_pipeline(imputer, LinearRegression()).fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    # fitted on complete rows, it still fills holes at transform time
    complete = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST)).fit(tabular)
    assert not np.isnan(complete.transform(X)).any()


@pytest.mark.slow
def test_imputer_beats_the_column_means():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 10))
    full += 0.05 * rng.normal(size=full.shape)
    holes = rng.random(full.shape) < 0.2
    X = np.where(holes, np.nan, full)
    filled = aekit.AutoencoderImputer(random_state=0).fit_transform(X)
    mean_fill = np.where(holes, np.nanmean(X, axis=0), X)
    rmse = np.sqrt(np.mean((filled - full)[holes] ** 2))
    rmse_mean = np.sqrt(np.mean((mean_fill - full)[holes] ** 2))
    assert rmse < 0.5 * rmse_mean


def test_cli_on_a_csv_with_text_and_empty_cells(tmp_path, capsys):
    frame = mixed_frame(80)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    raw = path.read_text()
    assert ",," in raw or ",\n" in raw  # empty cells in the file
    out = tmp_path / "filled.csv"
    args = ["impute", str(path), "-o", str(out), "--model-dir", str(tmp_path / "imp")]
    assert main([*args, "--random-state", "0"]) == 0
    filled = pd.read_csv(out)
    assert not filled.isna().to_numpy().any()
    read = pd.read_csv(path)
    ok = read["kind"].notna()
    assert (filled["kind"][ok] == read["kind"][ok]).all()
    assert (
        main(
            [
                "impute",
                str(path),
                "-o",
                str(tmp_path / "again.csv"),
                "--model",
                str(tmp_path / "imp"),
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"), filled)
    model = tmp_path / "model"
    assert main(["train", str(path), "-o", str(model), "--max-epochs", "2"]) == 0
    recon = tmp_path / "recon.csv"
    assert main(["reconstruct", str(model), str(path), "-o", str(recon)]) == 0
    assert list(pd.read_csv(recon).columns) == list(frame.columns)
    frame.drop(columns="kind").to_csv(tmp_path / "short.csv", index=False)
    capsys.readouterr()
    assert main(["score", str(model), str(tmp_path / "short.csv"), "-o", "x.csv"]) == 1
    assert "kind" in capsys.readouterr().err


def test_a_mixed_table_model_has_no_inference_graph_yet(model, frame):
    with pytest.raises(NotImplementedError, match="categorical columns or missing"):
        model.inference_graph()
    errors, codes = model.errors_and_codes(frame)  # the per-row training loss
    np.testing.assert_allclose(errors, model.reconstruction_error(frame), rtol=1e-5)
    assert codes.shape == (len(frame), model.latent_dim)


def test_a_numeric_column_with_a_stray_text_cell_is_reported():
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.linspace(0, 1, 50)})
    frame["b"] = frame["b"].astype(object)
    frame.loc[7, "b"] = "n/a"
    with pytest.warns(UserWarning, match="column 'b' holds numbers but for 1 cells"):
        aekit.Autoencoder((4,), 2, max_epochs=1, random_state=0).fit(frame)
