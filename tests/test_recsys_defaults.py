"""The recommenders' "auto" defaults (issue 13): each rule resolves as documented,
the resolved values are used, saved, reloaded and shown, explicit values win."""

import numpy as np
import pytest

import aekit
from aekit import defaults
from aekit.cli import main
from tests.conftest import small_ratings

TINY = dict(max_epochs=3, random_state=0, device="cpu")


def test_autorec_hidden_rule():
    assert defaults.autorec_hidden_rule(610) == 51  # MovieLens latest-small users
    assert defaults.autorec_hidden_rule(6040) == 500  # MovieLens-1M: the paper's
    assert defaults.autorec_hidden_rule(70_000) == 500
    assert defaults.autorec_hidden_rule(40) == 16


def test_mult_rules():
    assert defaults.mult_shape_rule(430, 6000) == ((), 600)
    assert defaults.mult_shape_rule(300, 300) == ((), 150)  # code <= half the items
    assert defaults.mult_shape_rule(116_000, 20_000) == ((600,), 200)
    assert defaults.mult_dropout_rule(430) == 0.3
    assert defaults.mult_dropout_rule(116_000) == 0.5
    assert defaults.anneal_steps_rule(434, 32) == 150 * 14
    assert defaults.anneal_steps_rule(116_000, 500) == 150 * 232


@pytest.fixture(scope="module")
def ratings():
    return small_ratings(40, 16)


@pytest.fixture(scope="module")
def autorec(ratings):
    return aekit.AutoRec(**TINY).fit(ratings)


@pytest.fixture(scope="module")
def vae(ratings):
    return aekit.MultVAE(**TINY).fit(ratings)


def test_autorec_resolves_its_width_and_patience(autorec):
    # I-AutoRec: a sample per item, its vector the 40 users' ratings
    assert autorec.resolved_params_ == {
        "hidden_dim": defaults.autorec_hidden_rule(40),
        "batch_size": 64,
        "max_epochs": 3,
        "patience": defaults.patience_rule(16, 64, defaults.RECSYS_MIN_PATIENCE),
    }
    # 500 optimiser steps, at least 5 epochs: MovieLens latest-small's 9.7k items
    assert defaults.patience_rule(9700, 64, defaults.RECSYS_MIN_PATIENCE) == 5
    assert autorec.module_.decoder.in_features == 16
    user_based = aekit.AutoRec(kind="user", **TINY).fit(small_ratings(400, 24))
    assert user_based.hidden_dim_ == defaults.autorec_hidden_rule(24)


def test_autorec_explicit_values_win(ratings):
    model = aekit.AutoRec(8, patience=3, **TINY).fit(ratings)
    assert model.hidden_dim_ == 8 and model.module_.decoder.in_features == 8
    assert model.patience_ == 3 and model.hidden_dim == 8


def test_multvae_resolves_its_shape_and_budget(vae, ratings):
    n_items = ratings["item"].nunique()
    n_train = 40 - int(np.ceil(0.1 * 40))  # early stopping holds out 10% of users
    assert vae.resolved_params_ == {
        "anneal_steps": 150 * int(np.ceil(n_train / 32)),
        "hidden_dims": (),
        "latent_dim": n_items // 2,
        "dropout": 0.3,
        "batch_size": 32,
        "max_epochs": 3,
        "patience": defaults.patience_rule(n_train, 32, defaults.MULT_MIN_PATIENCE),
    }
    assert vae.module_.config.latent_dim == n_items // 2
    assert vae.module_.config.hidden_dims == ()
    assert vae.module_.anneal_steps == vae.anneal_steps_


def test_mult_explicit_values_win(ratings):
    dae = aekit.MultDAE((8,), 4, dropout=0.5, batch_size=16, **TINY).fit(ratings)
    assert (dae.hidden_dims_, dae.latent_dim_, dae.dropout_) == ((8,), 4, 0.5)
    assert dae.batch_size_ == 16 and "anneal_steps" not in dae.resolved_params_
    assert dae.module_.config.hidden_dims == (8,)
    assert dae.module_.input_dropout.p == 0.5
    vae = aekit.MultVAE(anneal_steps=7, **TINY).fit(ratings)
    assert vae.anneal_steps_ == 7 and vae.module_.anneal_steps == 7


@pytest.mark.parametrize("name", ["autorec", "vae"])
def test_resolved_values_are_saved_and_shown(name, request, ratings, tmp_path, capsys):
    model = request.getfixturevalue(name)
    model.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert loaded.resolved_params_ == model.resolved_params_
    assert main(["info", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "resolved from the data:" in out
    shown = "hidden_dim_ = " if name == "autorec" else "latent_dim_ = 8"
    assert shown in out


def test_mult_budget_is_counted_in_steps():
    """MovieLens latest-small in recsys_topk: 434 users trained on (482 less the
    10% early stopping holds out) in batches of 32, 14 steps an epoch."""
    vae = aekit.MultVAE()
    vae._resolve_budget(434)
    assert (vae.batch_size_, vae.max_epochs_, vae.patience_) == (32, 2858, 36)
    assert vae.anneal_steps_ == 2100


def test_mult_rules_switch_to_the_papers_shape_at_5000_users():
    assert defaults.mult_shape_rule(4_999, 2_000) == ((), 600)
    assert defaults.mult_shape_rule(5_000, 2_000) == ((600,), 200)
    assert defaults.mult_dropout_rule(5_000) == 0.5
