"""`aekit.compare.compare_recommenders` and ``aekit compare-recs``: one split for
every model, the popularity row, seeds, the metrics and the errors."""

import numpy as np
import pandas as pd
import pytest

import aekit
from aekit.cli import main
from aekit.compare import compare_recommenders


def taste_clicks(n_users=200, n_items=40, seed=0):
    """Clicks of users in two taste groups (each likes its half of the items)
    plus a few random ones, rated 1-5 (the liked items 4-5)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        half = user % 2
        liked = rng.choice(20, 10, replace=False) + 20 * half
        noise = rng.choice(n_items, 3, replace=False)
        rows += [(user, int(i), int(rng.integers(4, 6))) for i in liked]
        rows += [(user, int(i), int(rng.integers(1, 3))) for i in noise]
    return pd.DataFrame(rows, columns=["user", "item", "rating"])


def test_models_share_one_split_and_beat_popularity():
    ratings = taste_clicks()
    quick = aekit.MultVAE(max_epochs=3, batch_size=32, device="cpu")
    result = compare_recommenders(
        ratings, ["ease", quick], k=[5, 10], seeds=[0, 1], min_rating=4
    )
    assert list(result.table.index) == ["popularity", "ease", "MultVAE"]
    assert list(result.table.columns) == [
        "NDCG@5", "NDCG@10", "Recall@5", "Recall@10", "NDCG@10 sd", "fit_s",
    ]  # fmt: skip
    runs = result.runs
    assert (runs["model"] == "ease").sum() == 1  # deterministic: fitted once
    assert (runs["model"] == "MultVAE").sum() == 2
    metrics = result.table.drop(columns=["NDCG@10 sd", "fit_s"]).to_numpy()
    assert np.all((metrics >= 0) & (metrics <= 1))
    # the taste groups are what popularity cannot see
    assert (
        result.table.loc["ease", "NDCG@10"]
        > result.table.loc["popularity", "NDCG@10"] + 0.2
    )
    assert result.n_users == 200 and result.n_test_users == 40
    assert "200 users (40 held out)" in result.summary()


def test_popularity_ranks_unseen_items_by_clicks():
    ratings = taste_clicks(seed=1)
    result = compare_recommenders(ratings, [], k=[40])
    # every item the user has not seen is ranked: recall at 40 of 40 items is 1
    assert result.table.loc["popularity", "Recall@40"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"models": ["svd"]}, "unknown model 'svd'"),
        ({"models": [object()]}, "has no recommend"),
        ({"k": [0]}, "k must be"),
        ({"seeds": []}, "at least one value"),
        ({"min_user_clicks": 50}, "too few to hold some out"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_recommenders(taste_clicks(40), **{"models": ["ease"], **kwargs})


def test_min_rating_needs_ratings():
    clicks = taste_clicks(40)[["user", "item"]]
    with pytest.raises(ValueError, match="no ratings"):
        compare_recommenders(clicks, ["ease"], min_rating=4)


def test_cli_compare_recs(tmp_path, capsys):
    path, out = tmp_path / "ratings.csv", tmp_path / "table.csv"
    taste_clicks().to_csv(path, sep=";", index=False)  # a semicolon file
    assert main(["compare-recs", str(path), "--models", "ease", "-k", "10",
                 "--min-rating", "4", "-o", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(out, index_col=0)
    assert list(table.index) == ["popularity", "ease"]
    assert "NDCG@10" in capsys.readouterr().out


def test_single_values_and_repeated_models():
    ratings = taste_clicks(60)
    one = compare_recommenders(ratings, "ease", k=10, seeds=0)
    assert list(one.table.index) == ["popularity", "ease"]
    assert list(one.table.columns)[:2] == ["NDCG@10", "Recall@10"]
    with pytest.raises(ValueError, match="names one model twice"):
        compare_recommenders(ratings, ["ease", "ease"])
    with pytest.raises(TypeError, match="k must be an int"):
        compare_recommenders(ratings, "ease", k=[10.5])
