"""Behaviour and numbers of the dense Autoencoder."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import aekit
from aekit import losses
from aekit.nn import ACTIVATIONS
from aekit.training import OPTIMIZERS

# The mechanisms tested here (activations, optimisers, penalties...) on a plain
# network from a random start: the data-driven defaults have tests of their own
# (test_defaults.py).
PLAIN = dict(
    pca_path=False, scaling="standard", loss="mse", max_epochs=200, patience=10
)


def AE(*args, **kwargs):
    """An Autoencoder with test defaults: small batches (many steps on small data),
    a plain network and fixed scaling, loss and budget."""
    kwargs.setdefault("batch_size", 32)
    kwargs.setdefault("random_state", 0)
    for name, value in PLAIN.items():
        kwargs.setdefault(name, value)
    return aekit.Autoencoder(*args, **kwargs)


def pca_error(X, k):
    pca = PCA(k).fit(X)
    return np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)


def test_shapes_and_dtypes(tabular):
    ae = AE((16,), 3, max_epochs=5, random_state=0).fit(tabular)
    Z = ae.transform(tabular)
    assert Z.shape == (240, 3) and Z.dtype == np.float64
    assert ae.inverse_transform(Z).shape == tabular.shape
    assert ae.reconstruct(tabular).shape == tabular.shape
    assert ae.reconstruction_error(tabular).shape == (240,)
    assert ae.transform(tabular.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        ae.inverse_transform(Z), ae.reconstruct(tabular), rtol=1e-5, atol=1e-5
    )


def test_linear_data_reaches_pca(tabular):
    """On rank-3 data, a 3-d code recovers what PCA-3 does (PCA is optimal here)."""
    ae = AE(
        (32,),
        3,
        activation="identity",
        batch_size=32,
        learning_rate=3e-3,
        max_epochs=300,
        random_state=0,
    ).fit(tabular)
    error = ae.reconstruction_error(tabular).mean()
    assert error < 1.5 * pca_error(tabular, 3)


def test_nonlinear_curve_beats_pca(curve):
    ae = AE((64, 32), 1, activation="tanh", max_epochs=300, random_state=0).fit(curve)
    error = ae.reconstruction_error(curve).mean()
    assert error < 0.5 * pca_error(curve, 1)


def test_reconstruction_error_in_input_units(tabular):
    ae = AE((16,), 3, max_epochs=5, random_state=0).fit(tabular)
    expected = np.mean((ae.reconstruct(tabular) - tabular) ** 2, axis=1)
    np.testing.assert_allclose(ae.reconstruction_error(tabular), expected, rtol=1e-5)
    np.testing.assert_allclose(
        ae.score_samples(tabular), -ae.reconstruction_error(tabular, scaled=True)
    )


def test_same_seed_is_bit_identical(tabular):
    params = dict(hidden_dims=(16,), latent_dim=2, max_epochs=10, dropout=0.1)
    params["pca_path"] = False  # (the PCA start is the same for every seed)
    a = AE(**params, random_state=3).fit(tabular)
    b = AE(**params, random_state=3).fit(tabular)
    c = AE(**params, random_state=4).fit(tabular)
    np.testing.assert_array_equal(a.transform(tabular), b.transform(tabular))
    assert a.history_[-1]["loss"] == b.history_[-1]["loss"]
    assert not np.array_equal(a.transform(tabular), c.transform(tabular))


def test_fit_does_not_touch_global_rng(tabular):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    AE((8,), 2, max_epochs=2, random_state=0).fit(tabular)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_restores_best_weights(tabular):
    ae = AE(
        (16,), 2, max_epochs=300, patience=3, random_state=0, learning_rate=0.01
    ).fit(tabular)
    val = [h["val_loss"] for h in ae.history_]
    assert ae.n_iter_ < 300, "should have stopped early"
    assert (
        ae.best_epoch_ == int(np.argmin(val)) + 1
        or min(val) >= 0.9999 * val[ae.best_epoch_ - 1]
    )
    assert ae.n_iter_ - ae.best_epoch_ == 3


def test_warm_start_continues_training(tabular):
    kw = dict(max_epochs=5, early_stopping=False, random_state=0)
    cold = AE((16,), 2, **kw).fit(tabular)
    module, shift = cold.module_, cold.input_shift_.copy()
    first_loss = cold.history_[-1]["loss"]
    warm = cold.set_params(warm_start=True).fit(tabular[:100] + 1.0)
    assert warm.module_ is module  # same weights, trained on
    np.testing.assert_array_equal(warm.input_shift_, shift)  # scaling kept
    assert warm.n_iter_ == 5
    # Continued on the original data, the loss goes on falling from where it was.
    again = AE((16,), 2, warm_start=True, **kw).fit(tabular)
    start = again.history_[-1]["loss"]
    again.fit(tabular)
    assert again.history_[0]["loss"] < start < first_loss * 2
    with pytest.raises(ValueError, match="features"):
        again.fit(tabular[:, :-1])


def test_without_early_stopping_runs_all_epochs(tabular):
    ae = AE((8,), 2, max_epochs=7, early_stopping=False, random_state=0).fit(tabular)
    assert ae.n_iter_ == ae.best_epoch_ == 7
    assert "val_loss" not in ae.history_[0]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_learns(tabular, activation):
    ae = AE((16,), 3, activation=activation, max_epochs=30, random_state=0).fit(tabular)
    assert ae.history_[-1]["loss"] < 0.8 * ae.history_[0]["loss"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("schedule", [None, "cosine", "step", "plateau"])
def test_every_optimizer_and_schedule_learns(tabular, optimizer, schedule):
    lr = 0.05 if optimizer == "sgd" else 3e-3
    ae = AE(
        (16,),
        3,
        optimizer=optimizer,
        lr_schedule=schedule,
        learning_rate=lr,
        max_epochs=30,
        random_state=0,
    ).fit(tabular)
    assert ae.history_[-1]["loss"] < 0.8 * ae.history_[0]["loss"]


def test_step_schedule_lowers_learning_rate(tabular):
    ae = AE(
        (8,), 2, lr_schedule="step", max_epochs=9, early_stopping=False, random_state=0
    ).fit(tabular)
    assert ae.history_[0]["lr"] == pytest.approx(1e-3)
    assert ae.history_[-1]["lr"] == pytest.approx(1e-5)


def test_batch_norm_dropout_and_clipping(tabular):
    ae = AE(
        (16, 8),
        3,
        batch_norm=True,
        dropout=0.2,
        gradient_clip=1.0,
        max_epochs=30,
        random_state=0,
    ).fit(tabular)
    kinds = {type(m).__name__ for m in ae.module_.modules()}
    assert {"BatchNorm1d", "Dropout"} <= kinds
    assert ae.history_[-1]["loss"] < ae.history_[0]["loss"]
    # inference is deterministic (eval mode: no dropout)
    np.testing.assert_array_equal(ae.transform(tabular), ae.transform(tabular))


def _parameters(ae):
    return torch.cat([p.detach().flatten() for p in ae.module_.parameters()])


@pytest.mark.parametrize("batch_norm", [False, True])  # hand-written and autograd
@pytest.mark.parametrize("clip", [0.01, None])
def test_gradient_clip_bounds_the_gradient_norm(tabular, batch_norm, clip):
    """One full-batch SGD step from fitted weights moves them by exactly
    learning_rate * gradient (momentum starts empty), so the step's norm is the
    norm of the gradient the optimiser saw: the clipped one."""
    lr = 0.5
    ae = AE((16, 8), 3, batch_norm=batch_norm, optimizer="sgd", learning_rate=lr)
    ae.set_params(batch_size=len(tabular), max_epochs=1, early_stopping=False)
    before = _parameters(ae.fit(tabular))
    ae.set_params(warm_start=True, gradient_clip=clip).fit(tabular)
    norm = float((_parameters(ae) - before).norm()) / lr
    if clip is None:
        assert norm > 5 * 0.01  # unclipped, the gradient is far larger
    else:
        assert norm == pytest.approx(clip, rel=1e-3)


@pytest.mark.parametrize("noise_type,noise", [("gaussian", 0.3), ("mask", 0.2)])
def test_denoising_autoencoder_removes_noise(tabular, noise_type, noise):
    ae = AE((32,), 3, noise=noise, noise_type=noise_type, max_epochs=200).fit(tabular)
    rng = np.random.default_rng(5)
    if noise_type == "gaussian":
        scale = tabular.std(axis=0)
        noisy = tabular + noise * scale * rng.normal(size=tabular.shape)
    else:  # masking noise zeroes scaled entries: in input units, sets them to the mean
        noisy = np.where(
            rng.random(tabular.shape) < noise, tabular.mean(axis=0), tabular
        )
    before = np.mean((noisy - tabular) ** 2)
    after = np.mean((ae.reconstruct(noisy) - tabular) ** 2)
    assert after < 0.5 * before


def test_sparsity_shrinks_codes(tabular):
    common = dict(hidden_dims=(16,), latent_dim=6, max_epochs=60, random_state=0)
    dense = AE(**common).fit(tabular)
    sparse = AE(**common, sparsity=1.0).fit(tabular)
    assert (
        np.abs(sparse.transform(tabular)).mean()
        < 0.5 * np.abs(dense.transform(tabular)).mean()
    )


def encoder_jacobian_norm(ae, X):
    """Mean squared Frobenius norm of d(code)/d(scaled input) over the rows of X,
    one row at a time with torch's own Jacobian."""
    encode = ae.module_.eval().encode
    rows = torch.as_tensor(ae._model_input(X), dtype=torch.float32)
    return np.mean(
        [
            float(torch.autograd.functional.jacobian(encode, r[None]).pow(2).sum())
            for r in rows
        ]
    )


def test_jacobian_penalty_is_exact():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)
    ).double()
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    penalty = losses.jacobian_frobenius(net(x), x)
    expected = np.mean(
        [float(torch.autograd.functional.jacobian(net, r).pow(2).sum()) for r in x]
    )
    assert float(penalty.detach()) == pytest.approx(expected, rel=1e-10)
    penalty.backward()  # differentiable: the weights get its gradient
    assert float(net[0].weight.grad.abs().sum()) > 0


def test_contractive_penalty_flattens_the_encoder(tabular):
    common = dict(hidden_dims=(16,), latent_dim=3, max_epochs=60, random_state=0)
    plain = AE(**common).fit(tabular)
    contractive = AE(**common, contractive=1.0).fit(tabular)
    assert contractive.module_.manual_step() is None  # trained through autograd
    history = contractive.history_
    assert history[-1]["loss"] < history[0]["loss"]
    assert encoder_jacobian_norm(contractive, tabular) < 0.5 * encoder_jacobian_norm(
        plain, tabular
    )


def test_l2_shrinks_weights(tabular):
    common = dict(hidden_dims=(16,), latent_dim=3, max_epochs=60, random_state=0)

    def norm(ae):
        return sum(float((p.detach() ** 2).sum()) for p in ae.module_.parameters())

    plain = AE(**common).fit(tabular)
    decayed = AE(**common, l2=0.1).fit(tabular)
    assert norm(decayed) < norm(plain)


def test_output_activation_auto(tabular):
    minmax = AE((8,), 2, scaling="minmax", max_epochs=2).fit(tabular)
    standard = AE((8,), 2, max_epochs=2).fit(tabular)
    assert minmax.output_activation_ == "sigmoid"
    assert minmax.module_.sigmoid_output and not standard.module_.sigmoid_output
    codes = np.random.default_rng(0).normal(scale=10, size=(50, 2))
    with torch.no_grad():
        decoded = minmax.module_.decode(torch.from_numpy(codes).float())
    assert float(decoded.min()) >= 0 and float(decoded.max()) <= 1
    assert standard.output_activation_ == "linear"


def test_bce_loss_on_unit_range_data():
    rng = np.random.default_rng(0)
    X = 1 / (1 + np.exp(-rng.normal(size=(300, 3)) @ rng.normal(scale=2, size=(3, 12))))
    params = dict(hidden_dims=(16,), latent_dim=3, scaling=None, max_epochs=40)
    bce = AE(**params, loss="bce", random_state=0).fit(X)
    assert bce.history_[-1]["loss"] < bce.history_[0]["loss"]
    baseline = float(((X - X.mean(axis=0)) ** 2).mean())
    assert bce.reconstruction_error(X).mean() < 0.5 * baseline
    with pytest.raises(ValueError, match="loss='bce' needs a sigmoid output"):
        AE(**params, loss="bce").fit(X * 3 - 1)  # outside [0, 1]
    with pytest.raises(ValueError, match="loss"):
        AE(**params, loss="huber").fit(X)


def test_sigmoid_output_on_unbounded_data_is_refused(tabular):
    with pytest.raises(ValueError, match="output_activation='sigmoid'.*minmax"):
        AE(output_activation="sigmoid").fit(tabular)


def test_dataframe_input_and_pandas_output(tabular):
    frame = pd.DataFrame(tabular, columns=[f"f{i}" for i in range(12)])
    ae = AE((8,), 2, max_epochs=2, random_state=0).fit(frame)
    assert list(ae.feature_names_in_) == list(frame.columns)
    ae.set_output(transform="pandas")
    codes = ae.transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["autoencoder0", "autoencoder1"]


def test_list_input(tabular):
    ae = AE((8,), 2, max_epochs=2).fit(tabular.tolist())
    assert ae.transform(tabular[:5].tolist()).shape == (5, 2)


def test_pipeline_and_grid_search():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    pipe = Pipeline(
        [
            ("ae", AE((32,), 8, max_epochs=20, random_state=0)),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    search = GridSearchCV(pipe, {"ae__latent_dim": [4, 12]}, cv=2).fit(X, y)
    assert search.best_params_["ae__latent_dim"] in (4, 12)
    assert search.score(X, y) > 0.7


def test_grid_search_on_autoencoder_score(tabular):
    search = GridSearchCV(
        AE((16,), 1, max_epochs=60, random_state=0),
        {"latent_dim": [1, 3]},
        cv=2,
    ).fit(tabular)
    assert search.best_params_ == {"latent_dim": 3}  # the data have rank 3


def test_a_code_as_wide_as_the_input_warns_unless_regularised():
    # an 8-column table at the default latent_dim=8 could be copied through the
    # code: the fit goes on, with a warning that names the fix
    X = np.random.default_rng(0).normal(size=(120, 8))
    with pytest.warns(UserWarning, match="latent_dim=8 is not below the 8 input"):
        aekit.Autoencoder(max_epochs=1, random_state=0).fit(X)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # narrower, or kept from copying
        aekit.Autoencoder(latent_dim=4, max_epochs=1, random_state=0).fit(X)
        aekit.Autoencoder(noise=0.1, max_epochs=1, random_state=0).fit(X)
        aekit.AnomalyDetector(random_state=0).fit(X)  # 32-d code, dropout
