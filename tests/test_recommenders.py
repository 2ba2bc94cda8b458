"""AutoRec, Mult-VAE and Mult-DAE: ids, fallbacks, fold-in, sparse input, the
modules' losses, the ratings readers and the ``recommend`` command."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone

import aekit
from aekit.cli import main
from aekit.data.ratings import frame_to_matrix, id_array, lookup, read_ratings
from aekit.metrics import rmse
from aekit.nn import AutoRecConfig, AutoRecNet, MultVAEConfig, MultVAENet
from aekit.training import SparseRows
from tests.conftest import FAST, small_ratings

QUICK = dict(FAST, max_epochs=5, early_stopping=False)


def labelled(ratings: pd.DataFrame) -> pd.DataFrame:
    """The same table with string item labels and user names."""
    return ratings.assign(
        user=[f"u{u}" for u in ratings["user"]],
        item=[f"film-{i}" for i in ratings["item"]],
    )


@pytest.fixture(scope="module")
def ratings():
    return small_ratings(40, 16)


@pytest.fixture(scope="module")
def autorec(ratings):
    return aekit.AutoRec(16, **dict(FAST, max_epochs=60)).fit(labelled(ratings))


@pytest.fixture(scope="module")
def vae(ratings):
    return aekit.MultVAE((16,), 4, **QUICK).fit(labelled(ratings))


# -- ids and tables ----------------------------------------------------------------


def test_id_arrays_follow_the_documented_rule():
    assert id_array(np.array([3.0, 1.0])).dtype == np.int64
    assert id_array(["a", 2]).tolist() == ["a", "2"]  # mixed -> str
    ids = id_array([10, 30, 20])
    assert lookup(ids, ["30", 10, 11, "x"]).tolist() == [1, 0, -1, -1]


def test_frame_to_matrix_keeps_the_last_repeated_rating():
    df = pd.DataFrame({"u": [1, 1, 2], "i": ["x", "x", "y"], "r": [1.0, 4.0, 2.0]})
    M, users, items = frame_to_matrix(df)
    assert M.toarray().tolist() == [[4.0, 0.0], [0.0, 2.0]]
    assert users.tolist() == [1, 2] and items.tolist() == ["x", "y"]


def test_read_ratings_reads_ml100k_u_data(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t89171\n")
    df = read_ratings(tmp_path / "u.data")
    assert list(df.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert df["userId"].tolist() == [196, 186]


def test_sparse_rows_densify_only_the_batch():
    M = sp.csr_matrix(np.array([[0, 2.0, 0], [1.0, 0, 0], [0, 0, 3.0]]))
    rows = SparseRows(M, torch.device("cpu"), fill=np.nan).take(torch.tensor([2, 0]))
    assert rows.shape == (2, 3)
    np.testing.assert_array_equal(
        rows.numpy(), [[np.nan, np.nan, 3], [np.nan, 2, np.nan]]
    )


# -- the torch modules ---------------------------------------------------------------


def test_autorec_loss_counts_observed_entries_only():
    net = AutoRecNet(AutoRecConfig(3, 2, damping=None))
    x = torch.tensor([[1.0, float("nan"), 3.0]])
    out = {"recon": torch.tensor([[2.0, 100.0, 3.0]])}
    assert net.loss(x, out)["loss"].item() == pytest.approx(0.5)  # (1 + 0) / 2


def test_autorec_starts_at_the_baseline():
    offsets = torch.tensor([3.0, 4.0])
    net = AutoRecNet(AutoRecConfig(2, 4, damping=0.0), offsets).eval()
    recon = net(torch.tensor([[4.0, float("nan")]]))["recon"]
    # row bias = mean observed residual = 4 - 3 = 1, added to every offset
    np.testing.assert_allclose(recon.detach().numpy(), [[4.0, 5.0]])


def test_multvae_beta_anneals_per_update_and_caps():
    net = MultVAENet(MultVAEConfig(5, (4,), 2, anneal_cap=0.2, anneal_steps=100))
    x = torch.ones(3, 5)
    for _ in range(4):  # one loss per update
        net.loss(x, net(x))
    assert float(net.beta()) == pytest.approx(0.04)
    net.steps.fill_(1000)
    assert float(net.beta()) == pytest.approx(0.2)
    assert net.eval().beta() == 0.2  # validation losses use the final weight


def test_multvae_loss_is_the_multinomial_likelihood():
    net = MultVAENet(MultVAEConfig(4, (3,), 2, variational=False)).eval()
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    logits = torch.zeros(1, 4)  # uniform: each click costs log 4
    loss = net.loss(x, {"recon": logits, "z": torch.zeros(1, 2)})["loss"]
    assert loss.item() == pytest.approx(2 * np.log(4))


# -- AutoRec -------------------------------------------------------------------------


def test_autorec_predictions_are_clipped_and_learn(autorec, ratings):
    df = labelled(ratings)
    pred = autorec.predict(df)
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    baseline = rmse(df["rating"], np.full(len(df), df["rating"].mean()))
    assert rmse(df["rating"], pred) < 0.9 * baseline
    assert "val_rmse" in autorec.history_[0]


def test_autorec_unknown_ids_get_the_documented_fallbacks(autorec):
    users = ["u10", "nobody", "u10", "nobody"]
    items = ["film-0", "film-0", "no-film", "no-film"]
    pred = autorec.predict(users, items)
    g = autorec.global_mean_
    item0 = g + autorec.item_bias_[lookup(autorec.item_ids_, ["film-0"])[0]]
    user10 = g + autorec.user_bias_[lookup(autorec.user_ids_, ["u10"])[0]]
    np.testing.assert_allclose(pred[1:], np.clip([item0, user10, g], 1, 5))


def test_autorec_from_a_sparse_matrix_and_user_kind(ratings):
    M, _, _ = frame_to_matrix(ratings)
    model = aekit.AutoRec(8, kind="user", **QUICK).fit(M)
    assert model.user_ids_.tolist() == list(range(M.shape[0]))
    rec = model.recommend({"new": [0, 1, 2]}, k=3)  # U-AutoRec folds users in
    assert rec.items.shape == (1, 3) and not {0, 1, 2} & set(rec.items[0])


def test_item_autorec_refuses_to_fold_in(autorec):
    with pytest.raises(ValueError, match="only users seen in training"):
        autorec.recommend({"new": ["film-1"]})


def test_autorec_column_names_and_errors(ratings):
    df = labelled(ratings).rename(columns={"user": "who", "item": "what"})
    df.insert(0, "timestamp", 0)
    model = aekit.AutoRec(4, user_col="who", item_col="what", rating_col="rating")
    model.set_params(**QUICK).fit(df)
    assert model.predict(df[["what", "who"]]).shape == (len(df),)  # by name
    with pytest.raises(ValueError, match="user_col='nope' is not a column"):
        clone(model).set_params(user_col="nope").fit(df)
    with pytest.raises(ValueError, match="kind must be one of"):
        aekit.AutoRec(kind="both").fit(df)


# -- Mult-VAE / Mult-DAE ---------------------------------------------------------------


def test_recommend_returns_labels_and_excludes_seen(vae, ratings):
    df = labelled(ratings)
    users, items, scores = vae.recommend(["u10", "u20"], k=4)
    assert users.tolist() == ["u10", "u20"] and items.shape == (2, 4)
    assert (np.diff(scores, axis=1) <= 0).all()
    seen = set(df.loc[df["user"] == "u10", "item"])
    assert not seen & set(items[0])
    with_seen = vae.recommend(["u10"], k=16, exclude_seen=False).items[0]
    assert set(with_seen) == set(vae.item_ids_)


def test_fold_in_of_new_users_in_every_form(vae):
    history = {"ann": ["film-1", "film-2"], "bob": ["film-3", "never-seen"]}
    by_dict = vae.recommend(history, k=3)
    assert by_dict.users.tolist() == ["ann", "bob"]
    frame = pd.DataFrame(
        [(u, i) for u, items in history.items() for i in items], columns=["u", "i"]
    )
    by_frame = vae.recommend(frame, k=3)  # first two columns: user, item
    np.testing.assert_array_equal(by_frame.items, by_dict.items)
    X = sp.lil_matrix((2, len(vae.item_ids_)))
    X[0, lookup(vae.item_ids_, ["film-1", "film-2"])] = 1
    X[1, lookup(vae.item_ids_, ["film-3"])] = 1
    np.testing.assert_array_equal(vae.recommend(X, k=3).items, by_dict.items)


@pytest.mark.parametrize("cls", [aekit.MultVAE, aekit.MultDAE])
def test_shallow_model_without_hidden_layers(cls):
    # The shape the MovieLens benchmark picked on validation: linear maps to and
    # from a wide code. Two groups of users, each with its own half of 16 items:
    # the model must learn to recommend a user the unseen items of their group.
    rng = np.random.default_rng(0)
    rows = [
        (u, item)
        for u in range(60)
        for item in 8 * (u % 2) + rng.choice(8, size=5, replace=False)
    ]
    df = pd.DataFrame(rows, columns=["user", "item"]).assign(rating=1.0)
    model = cls((), 24, **dict(QUICK, max_epochs=60)).fit(df)
    linear = [m for m in model.module_.modules() if isinstance(m, torch.nn.Linear)]
    code = 48 if cls is aekit.MultVAE else 24  # the VAE's encoder gives mu, logvar
    assert [tuple(m.weight.shape) for m in linear] == [(code, 16), (16, 24)]
    new_users = {"a": [0, 1, 2], "b": [8, 9, 10]}
    rec = model.recommend(new_users, k=3)
    assert set(rec.items[0]) <= set(range(3, 8))
    assert set(rec.items[1]) <= set(range(11, 16))


def test_unknown_training_user_is_a_clear_error(vae):
    with pytest.raises(ValueError, match="unknown user"):
        vae.recommend(["nobody"])


def test_min_rating_keeps_positives_only(ratings):
    model = aekit.MultDAE((8,), 2, min_rating=4, **QUICK).fit(ratings)
    positives = ratings[ratings["rating"] >= 4]
    assert model._train_matrix().nnz == len(positives)
    assert set(model.item_ids_.tolist()) == set(positives["item"])


def test_sparse_input_and_save_load_with_string_ids(ratings, tmp_path):
    M, _, _ = frame_to_matrix(ratings)
    dae = aekit.MultDAE((8,), 2, **QUICK).fit(sp.csr_matrix(M))
    assert dae.recommend([0, 1], k=2).items.shape == (2, 2)
    vae = aekit.MultVAE((8,), 2, **QUICK).fit(labelled(ratings))
    vae.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert loaded.item_ids_.tolist() == vae.item_ids_.tolist()
    np.testing.assert_array_equal(
        loaded.recommend(["u10"]).items, vae.recommend(["u10"]).items
    )


# -- command line ---------------------------------------------------------------------


def test_cli_train_and_recommend(tmp_path, capsys, ratings):
    data = tmp_path / "ratings.csv"
    ratings.rename(columns={"user": "userId", "item": "movieId"}).to_csv(
        data, index=False
    )
    movies = tmp_path / "movies.csv"
    pd.DataFrame({"movieId": range(16), "title": [f"T{i}" for i in range(16)]}).to_csv(
        movies, index=False
    )
    model = tmp_path / "model"
    args = ["train", str(data), "-o", str(model), "--model", "multdae"]
    assert main([*args, "--max-epochs", "2", "--device", "cpu"]) == 0
    users = tmp_path / "users.txt"
    users.write_text("userId\n10\n20\n")
    out = tmp_path / "recs.csv"
    assert (
        main(
            [
                "recommend",
                str(model),
                "--users-file",
                str(users),
                "-k",
                "3",
                "--items",
                str(movies),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert table.shape == (6, 5) and table["title"].str.startswith("T").all()
    assert main(["recommend", str(model), "--user", "999"]) == 1
    assert "unknown user" in capsys.readouterr().err


def test_histories_without_ratings_are_clicks_under_min_rating(ratings, tmp_path):
    """min_rating filters rated rows; a dict or a user-item table has no
    ratings to filter, so every row is a click (README's fold-in snippet)."""
    ease = aekit.EASE(min_rating=4, device="cpu").fit(ratings)
    items = ratings["item"].unique()[:2].tolist()
    from_dict = ease.recommend({"new": items}, k=5)
    pairs = pd.DataFrame({"user": ["new", "new"], "item": items})
    np.testing.assert_array_equal(ease.recommend(pairs, k=5).items, from_dict.items)
    assert not set(items) & set(from_dict.items[0])  # seen items left out
    # the command line: `score` on a recommender says what to use instead
    ease.save(tmp_path / "m")
    ratings.to_csv(tmp_path / "r.csv", index=False)
    status = main(["score", str(tmp_path / "m"), str(tmp_path / "r.csv"),
                   "-o", str(tmp_path / "s.csv")])  # fmt: skip
    assert status == 1


def test_submodules_load_on_first_use():
    assert aekit.callbacks.MaxTime is not None
    assert callable(aekit.compare.compare_recommenders)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        aekit.nothing  # noqa: B018


def test_cli_export_of_a_model_without_a_graph_is_one_line(tmp_path, capsys):
    pytest.importorskip("onnx")
    frame = pd.DataFrame(
        {"a": np.arange(60.0), "kind": ["x", "y", "z"] * 20, "b": np.ones(60)}
    )
    aekit.Autoencoder((4,), 2, max_epochs=2, random_state=0, device="cpu").fit(
        frame
    ).save(tmp_path / "m")
    assert main(["export", str(tmp_path / "m"), "-o", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aekit: error:") and "Traceback" not in err
