"""`AutoencoderImputer`'s ensemble and per-column check: the held-out cells,
the trust weight, the fallback to the column mean/mode, one CPU thread."""

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.estimators._column_check import MIN_CHECKS, check_cells, trust_in_model
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
    weights = imputer.model_weights_
    assert weights[0] > 0.7 and weights[1] > 0.7  # the model knows these
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
