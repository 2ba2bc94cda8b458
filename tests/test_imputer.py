"""`AutoencoderImputer`'s ensemble and per-column check: the held-out cells,
the blend of models, KNN and mean/mode per column, the fallback to the column
mean/mode, one CPU thread."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.impute import KNNImputer

import aekit
from aekit.estimators import _knn_fill as knn_fill_module
from aekit.estimators._column_check import (
    MIN_CHECKS,
    best_level,
    blend_weights,
    check_cells,
    trust_in_model,
)
from aekit.training import TrainConfig
from aekit.training.fast_step import cpu_threads

FAST = dict(hidden_dims=(16,), latent_dim=2, max_epochs=30, batch_size=32)
FAST.update(device="cpu")


def test_check_cells_are_disjoint_observed_and_leave_every_row_a_cell():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(400, 5))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[0, 1:] = np.nan  # a row with one observed cell
    sets = check_cells(values, 3, 0.1, np.random.default_rng(1))
    observed = ~np.isnan(values)
    total = np.zeros(values.shape, int)
    for cells in sets:
        assert not (cells & ~observed).any()
        assert ((observed & ~cells).any(axis=1) | ~observed.any(axis=1)).all()
        assert cells.sum() / observed.sum() == pytest.approx(0.1, abs=0.02)
        total += cells
    assert total.max() == 1  # disjoint
    assert not any(cells[0].any() for cells in sets)


def test_trust_in_model():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    assert trust_in_model(truth, truth, 0.0) == pytest.approx(1.0)
    assert trust_in_model(truth, 2 * truth, 0.0) == pytest.approx(0.5)  # too bold
    assert trust_in_model(truth, -truth, 0.0) == 0.0  # worse than the centre
    noise = rng.normal(size=200)
    assert trust_in_model(truth, noise, 0.0) < 0.2
    few = MIN_CHECKS - 1
    assert trust_in_model(truth[:few], -truth[:few], 0.0) == 1.0  # no evidence


def noisy_table(n=300, seed=0):
    """Two columns that predict each other and one of pure noise, with holes."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    X = np.column_stack([a, a + 0.05 * rng.normal(size=n), rng.normal(size=n)])
    holes = rng.random(X.shape) < 0.15
    holes[holes.all(axis=1), 0] = False  # (fit refuses empty rows)
    return X, np.where(holes, np.nan, X), holes


@pytest.fixture(scope="module")
def fitted():
    full, X, holes = noisy_table()
    imputer = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), random_state=0)
    return imputer.fit(X), full, X, holes


def test_noise_column_falls_back_to_its_mean(fitted):
    imputer, full, X, holes = fitted
    weights = imputer.model_weights_ + imputer.knn_weights_
    assert weights[0] > 0.7 and weights[1] > 0.7  # the models and KNN know these
    assert weights[2] < 0.4  # and not this one
    np.testing.assert_allclose(imputer.fallback_values_, np.nanmean(X, axis=0))
    filled = imputer.transform(X)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], X[~holes])  # observed kept
    spread = np.std(filled[holes[:, 2], 2])
    assert spread < 0.4 * np.nanstd(X[:, 2])  # pulled towards the mean
    rmse = np.sqrt(np.mean((filled - full)[holes[:, 0], 0] ** 2))
    assert rmse < 0.75 * np.nanstd(X[:, 0])  # (the mean: about 1.0)


def test_models_are_an_ensemble_with_their_own_seeds(fitted):
    imputer, *_ = fitted
    assert len(imputer.models_) == 3 and imputer.model_ is imputer.models_[0]
    first = imputer.models_[0].module_.state_dict()
    second = imputer.models_[1].module_.state_dict()
    assert any(not torch.equal(first[k], second[k]) for k in first)
    assert all(m._hidden_cells is None for m in imputer.models_)


def test_same_seed_same_fill():
    _, X, _ = noisy_table(120, seed=1)
    a = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), n_models=2, random_state=3)
    b = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), n_models=2, random_state=3)
    np.testing.assert_array_equal(a.fit_transform(X), b.fit_transform(X))


def test_hidden_cells_stay_out_of_training():
    """A model trained with hidden cells scales by the other cells only (and so
    never sees the hidden ones)."""
    _, X, _ = noisy_table(100)
    hidden = np.zeros(X.shape, bool)
    hidden[:30, 0] = True
    model = aekit.Autoencoder(**FAST)
    model._tables_always = True
    model._hidden_cells = hidden
    model.fit(X)
    expected = np.nanmean(np.where(hidden, np.nan, X)[:, 0])
    assert model.input_shift_[0] == pytest.approx(expected)


def test_check_off_trusts_the_model():
    _, X, _ = noisy_table(120)
    imputer = aekit.AutoencoderImputer(
        aekit.Autoencoder(**FAST), n_models=1, check_fraction=0.0, random_state=0
    ).fit(X)
    np.testing.assert_array_equal(imputer.model_weights_, 1.0)


def test_mode_fallback_for_a_categorical_column_the_model_cannot_predict():
    rng = np.random.default_rng(0)
    n = 300
    a = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": a,
            "b": a + 0.05 * rng.normal(size=n),
            "noise": rng.choice(["x", "y", "z"], n, p=[0.6, 0.2, 0.2]),
        }
    )
    frame.loc[rng.random(n) < 0.15, "noise"] = None
    imputer = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), random_state=0)
    filled = imputer.fit_transform(frame)
    holes = frame["noise"].isna()
    if imputer.model_weights_[2] == 0.0:  # fell back: the mode everywhere
        assert (filled.loc[holes, "noise"] == "x").all()
    assert imputer.fallback_values_[2] == 0.0  # the code of "x"
    assert filled["noise"].notna().all()


def test_too_many_check_cells_is_an_error():
    with pytest.raises(ValueError, match="n_models \\* check_fraction"):
        aekit.AutoencoderImputer(n_models=4, check_fraction=0.3).fit(np.ones((5, 2)))


def test_mixed_module_trains_small_steps_on_one_thread(fitted):
    imputer, *_ = fitted
    module = imputer.model_.module_
    threads = torch.get_num_threads()
    config = TrainConfig(batch_size=32)
    with cpu_threads(module, config, False, torch.device("cpu")):
        inside = torch.get_num_threads()
    assert inside == 1 or threads == 1
    assert torch.get_num_threads() == threads


def test_rows_with_every_cell_missing_are_filled_not_refused():
    _, X, _ = noisy_table(120)
    X[5] = np.nan
    imputer = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), n_models=1)
    filled = imputer.fit_transform(X)
    assert np.isfinite(filled).all()
    with pytest.raises(ValueError, match="every cell missing"):
        aekit.Autoencoder(**FAST).fit(X)  # the autoencoder itself still refuses


def test_blend_weights_find_the_right_guess_or_mix():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=300)
    other = rng.normal(size=300)
    assert blend_weights(truth, 0.0, truth, other) == pytest.approx((1.0, 0.0))
    assert blend_weights(truth, 0.0, other, truth) == pytest.approx((0.0, 1.0))
    a, b = blend_weights(truth, 0.0, truth + other, truth - other)  # errors cancel
    assert (a, b) == pytest.approx((0.5, 0.5))
    a, b = blend_weights(truth, 0.0, 2 * truth, other)  # too bold, one guess
    assert (a, b) == pytest.approx((0.5, 0.0), abs=0.05)
    assert blend_weights(truth, 0.0, -truth, -truth) == (0.0, 0.0)  # the centre
    assert blend_weights(truth, 0.0, truth, None) == pytest.approx((1.0, 0.0))
    few = MIN_CHECKS - 1
    assert blend_weights(truth[:few], 0.0, -truth[:few], truth[:few]) == (1.0, 0.0)


def test_blend_weights_stay_a_convex_blend():
    rng = np.random.default_rng(1)
    for _ in range(50):
        truth, model, knn = rng.normal(size=(3, 40))
        a, b = blend_weights(truth + 0.5 * model, 0.2, 3 * model, knn - truth)
        assert a >= 0 and b >= 0 and a + b <= 1 + 1e-12


def test_best_level_prefers_the_model_then_knn_then_the_mode():
    truth = np.array([0.0, 1.0, 2.0] * 10)
    mode = 0.0
    assert best_level(truth, mode, truth, truth) == (1.0, 0.0)  # a tie: the model
    wrong = (truth + 1) % 3
    assert best_level(truth, mode, wrong, truth) == (0.0, 1.0)
    assert best_level(truth, mode, wrong, wrong) == (0.0, 0.0)
    assert best_level(truth, mode, wrong, None) == (0.0, 0.0)


def clustered_table(n=300, seed=0):
    """Rows copied from 30 random centres with a little noise: neighbours know
    each cell, a 1-d code of a tiny network does not."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(30, 6))
    full = centres[rng.integers(30, size=n)] + 0.05 * rng.normal(size=(n, 6))
    holes = rng.random(full.shape) < 0.15
    holes[holes.all(axis=1), 0] = False
    return full, np.where(holes, np.nan, full), holes


TINY = dict(hidden_dims=(4,), latent_dim=1, max_epochs=10, batch_size=32)


@pytest.fixture(scope="module")
def clustered():
    full, X, holes = clustered_table()
    model = aekit.Autoencoder(**TINY, device="cpu")
    imputer = aekit.AutoencoderImputer(model, n_models=2, random_state=0).fit(X)
    return imputer, full, X, holes


def test_knn_is_chosen_where_neighbours_know_best(clustered):
    imputer, full, X, holes = clustered
    assert (imputer.knn_weights_ > 0.8).all()
    assert (imputer.model_weights_ < 0.2).all()
    filled = imputer.transform(X)
    knn = KNNImputer().fit_transform(X)
    ours = np.sqrt(np.mean((filled - full)[holes] ** 2))
    theirs = np.sqrt(np.mean((knn - full)[holes] ** 2))
    alone = aekit.AutoencoderImputer(
        aekit.Autoencoder(**TINY, device="cpu"),
        n_models=2,
        n_neighbors=0,
        random_state=0,
    ).fit_transform(X)
    before = np.sqrt(np.mean((alone - full)[holes] ** 2))
    assert ours < 1.3 * theirs and ours < 0.5 * before


def test_the_models_are_kept_where_they_know_best(fitted):
    imputer, *_ = fitted  # 2 columns that predict each other + noise (above)
    weights = imputer.model_weights_
    assert weights[0] > 0.3 and weights[1] > 0.3
    rng = np.random.default_rng(0)  # a line in 8 dimensions, a little noise
    full = rng.normal(size=(300, 1)) @ rng.normal(size=(1, 8))
    full += 0.05 * rng.normal(size=full.shape)
    holes = rng.random(full.shape) < 0.3
    holes[holes.all(axis=1), 0] = False
    line = aekit.AutoencoderImputer(aekit.Autoencoder(**FAST), random_state=0)
    line.fit(np.where(holes, np.nan, full))
    assert (line.model_weights_ > line.knn_weights_).mean() >= 0.75


def test_knn_fill_of_a_categorical_column_is_the_neighbours_level():
    rng = np.random.default_rng(0)
    n = 240
    group = rng.integers(3, size=n)
    frame = pd.DataFrame(
        {
            "x": 4.0 * group + 0.1 * rng.normal(size=n),
            "y": -3.0 * group + 0.1 * rng.normal(size=n),
            "level": pd.Categorical(np.array(["a", "b", "c"])[group]),
        }
    )
    holes = rng.random(n) < 0.2
    frame.loc[holes, "level"] = None
    model = aekit.Autoencoder(**TINY, device="cpu")
    imputer = aekit.AutoencoderImputer(model, n_models=2, random_state=0).fit(frame)
    filled = imputer.transform(frame)
    truth = np.array(["a", "b", "c"])[group][holes]
    assert (filled.loc[holes, "level"].astype(str).to_numpy() == truth).mean() > 0.95
    assert imputer.model_weights_[2] == 1.0 or imputer.knn_weights_[2] == 1.0


def test_save_load_keeps_the_choice(clustered, tmp_path):
    imputer, _, X, _ = clustered
    imputer.save(tmp_path / "imp")
    loaded = aekit.load(tmp_path / "imp")
    np.testing.assert_array_equal(loaded.knn_weights_, imputer.knn_weights_)
    np.testing.assert_array_equal(loaded.model_weights_, imputer.model_weights_)
    np.testing.assert_array_equal(loaded.knn_reference_, imputer.knn_reference_)
    assert loaded.n_neighbors == imputer.n_neighbors
    np.testing.assert_allclose(loaded.transform(X[:50]), imputer.transform(X[:50]))


def test_no_neighbours_no_knn():
    _, X, _ = clustered_table(120)
    imputer = aekit.AutoencoderImputer(
        aekit.Autoencoder(**TINY, device="cpu"), n_models=1, n_neighbors=0
    ).fit(X)
    np.testing.assert_array_equal(imputer.knn_weights_, 0.0)
    assert imputer.knn_reference_.shape == (0, 6)  # nothing kept


def test_neighbours_come_from_a_bounded_sample(monkeypatch):
    monkeypatch.setattr(knn_fill_module, "MAX_REFERENCE", 50)
    _, X, _ = clustered_table(200)
    imputer = aekit.AutoencoderImputer(
        aekit.Autoencoder(**TINY, device="cpu"), n_models=1, random_state=0
    ).fit(X)
    assert len(imputer.knn_reference_) in (0, 50)
    assert not np.isnan(imputer.transform(X)).any()


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_bad_n_neighbors(value, error):
    with pytest.raises(error, match="n_neighbors"):
        aekit.AutoencoderImputer(n_neighbors=value).fit(np.ones((5, 2)))
