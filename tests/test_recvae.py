"""RecVAE: the composite prior, the per-user KL weight, the alternating phases,
sparse batches, and the estimator's defaults and save/load."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import aekit
from aekit import defaults
from aekit.nn.recvae import MIXTURE_WEIGHTS, WIDE_LOGVAR, RecVAEConfig, RecVAENet
from aekit.training import SparseRows
from tests.conftest import small_ratings


def net(seed=0, **kw):
    torch.manual_seed(seed)
    config = dict(n_items=12, hidden_dim=6, n_layers=3, latent_dim=3, dropout=0.0)
    return RecVAENet(RecVAEConfig(**{**config, **kw}))


def clicks(n=10, items=12, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.random((n, items)) < 0.4).astype(np.float32))


def normal_pdf(z, mu, var):
    return np.exp(-((z - mu) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def test_composite_prior_is_the_weighted_mixture():
    model, x = net(), clicks()
    model.update_prior()
    z = torch.randn(len(x), 3)
    with torch.no_grad():
        mu_old, logvar_old = model.encoder(x, 0.0)
        got = model.log_prior(x, z).numpy()
    zn, mu, var = z.numpy(), mu_old.numpy(), logvar_old.exp().numpy()
    w = MIXTURE_WEIGHTS
    density = (
        w[0] * normal_pdf(zn, 0.0, 1.0)
        + w[1] * normal_pdf(zn, mu, var)
        + w[2] * normal_pdf(zn, 0.0, math.exp(WIDE_LOGVAR))
    )
    np.testing.assert_allclose(got, np.log(density), rtol=1e-5, atol=1e-5)
    assert sum(w) == pytest.approx(1.0)


def test_prior_is_a_frozen_copy_updated_on_request():
    model, x = net(), clicks()
    model.update_prior()
    before = model.log_prior(x, torch.zeros(len(x), 3)).detach()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(0.1)
    unchanged = model.log_prior(x, torch.zeros(len(x), 3)).detach()
    torch.testing.assert_close(unchanged, before)
    model.update_prior()
    assert not torch.allclose(model.log_prior(x, torch.zeros(len(x), 3)), before)
    assert not any("prior" in k for k in model.state_dict())  # not saved


def test_kl_weight_is_gamma_times_each_users_clicks():
    model, x = net(gamma=0.01), clicks()
    model.update_prior()
    model.train()
    torch.manual_seed(1)
    out = model(x)
    terms = model.loss(x, out)
    log_q = -0.5 * (
        out["logvar"]
        + math.log(2 * math.pi)
        + (out["z"] - out["mu"]) ** 2 / out["logvar"].exp()
    )
    kl = (log_q - model.log_prior(x, out["z"])).sum(dim=1)
    expected = terms["recon"] + (0.01 * x.sum(dim=1) * kl).mean()
    torch.testing.assert_close(terms["loss"], expected)


def test_phases_train_one_part_each():
    model, x = net(), clicks()
    model.update_prior()
    model.train()
    model.phase = "encoder"
    model.loss(x, model(x))["loss"].backward()
    assert model.decoder.weight.grad is None
    assert model.encoder.layers[0].weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)
    model.phase = "decoder"
    terms = model.loss(x, model(x))
    terms["loss"].backward()
    assert "kl" not in terms
    assert model.encoder.layers[0].weight.grad is None
    assert model.decoder.weight.grad.abs().sum() > 0


def adam_steps(model, optimiser, x, n=3):
    """Steps as aekit's loop takes them: every gradient zero, not None, so Adam's
    momentum moves the part that gets no gradient."""
    for _ in range(n):
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        model.loss(x, model(x))["loss"].backward()
        optimiser.step()


def test_part_held_fixed_is_read_from_its_copy_and_put_back():
    model, x = net(dropout=0.5), clicks()
    model.update_prior()
    model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    model.start_phase("encoder")
    adam_steps(model, optimiser, x)  # momentum for the encoder
    model.restore_held()
    model.start_phase("decoder")  # the prior becomes the encoder as it is now
    encoder = {k: t.clone() for k, t in model.encoder.state_dict().items()}
    adam_steps(model, optimiser, x)
    moved = model.encoder.layers[0].weight
    assert not torch.equal(moved, encoder["layers.0.weight"])  # momentum moved it
    model.restore_held()
    for key, value in model.encoder.state_dict().items():
        torch.testing.assert_close(value, encoder[key], rtol=0, atol=0)
    decoder = model.decoder.weight.detach().clone()
    model.start_phase("encoder")
    adam_steps(model, optimiser, x)
    assert not torch.equal(model.decoder.weight, decoder)
    model.restore_held()
    torch.testing.assert_close(model.decoder.weight, decoder, rtol=0, atol=0)


def test_sparse_batches_equal_dense_ones():
    model, x = net(), clicks()
    model.update_prior()
    model.eval()
    sparse = SparseRows(sp.csr_matrix(x.numpy()), torch.device("cpu"), sparse=True)
    xs = sparse.take(np.arange(len(x)))
    dense_out, sparse_out = model(x), model(xs)
    torch.testing.assert_close(sparse_out["recon"], dense_out["recon"])
    torch.testing.assert_close(
        model.loss(xs, sparse_out)["loss"], model.loss(x, dense_out)["loss"]
    )


def test_estimator_alternates_and_resolves_defaults(tmp_path):
    frame = small_ratings()
    model = aekit.RecVAE(max_epochs=8, batch_size=8, random_state=0, device="cpu")
    model.fit(frame)
    phases = [h["decoder_phase"] for h in model.history_]
    assert phases == [0.0, 0.0, 0.0, 1.0] * 2
    resolved = model.resolved_params_  # few users: Mult-VAE's small-data shape
    assert resolved["hidden_dims"] == () and resolved["latent_dim"] == 6  # 12 items
    assert resolved["dropout"] == 0.3 and resolved["gamma"] == 0.002
    assert resolved["learning_rate"] == 1e-3 == model._train_config().learning_rate
    model.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    a, b = model.recommend([10, 20], k=4), loaded.recommend([10, 20], k=4)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_allclose(a.scores, b.scores)


def test_unequal_widths_are_refused():
    with pytest.raises(ValueError, match=r"hidden_dims must be 'auto', \(\) or"):
        aekit.RecVAE((8, 4), device="cpu").fit(small_ratings())


def test_linear_encoder_maps_the_input_straight_to_the_code():
    model, x = net(n_layers=0, latent_dim=4), clicks()
    assert len(model.encoder.layers) == 1 and len(model.encoder.norms) == 0
    assert model.encoder.layers[0].weight.shape == (8, 12)  # mu and logvar
    model.eval()
    out = model(x)
    assert out["mu"].shape == out["logvar"].shape == (len(x), 4)
    assert out["recon"].shape == (len(x), 12)
    first = model.encoder.layers[0]
    with torch.no_grad():
        expected = first(torch.nn.functional.normalize(x, dim=1))
    torch.testing.assert_close(out["mu"], expected[:, :4])
    torch.testing.assert_close(out["logvar"], expected[:, 4:])


def test_linear_encoder_keeps_the_composite_prior_and_sparse_batches():
    model, x = net(n_layers=0, latent_dim=4), clicks()
    model.update_prior()
    z = torch.randn(len(x), 4)
    with torch.no_grad():
        mu_old, logvar_old = model.encoder(x, 0.0)
        got = model.log_prior(x, z).numpy()
    w = MIXTURE_WEIGHTS
    density = (
        w[0] * normal_pdf(z.numpy(), 0.0, 1.0)
        + w[1] * normal_pdf(z.numpy(), mu_old.numpy(), logvar_old.exp().numpy())
        + w[2] * normal_pdf(z.numpy(), 0.0, math.exp(WIDE_LOGVAR))
    )
    np.testing.assert_allclose(got, np.log(density), rtol=1e-5, atol=1e-5)
    model.eval()
    sparse = SparseRows(sp.csr_matrix(x.numpy()), torch.device("cpu"), sparse=True)
    xs = sparse.take(np.arange(len(x)))
    torch.testing.assert_close(model(xs)["recon"], model(x)["recon"])
    torch.testing.assert_close(
        model.loss(xs, model(xs))["loss"], model.loss(x, model(x))["loss"]
    )


def test_estimator_with_a_linear_encoder_saves_and_loads(tmp_path):
    model = aekit.RecVAE((), 4, max_epochs=8, batch_size=8, random_state=0)
    model.set_params(device="cpu").fit(small_ratings())
    assert model.hidden_dims_ == () and model.resolved_params_["latent_dim"] == 4
    assert [h["decoder_phase"] for h in model.history_] == [0.0, 0.0, 0.0, 1.0] * 2
    model.save(tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert tuple(loaded.hidden_dims_) == ()
    a, b = model.recommend([10, 20], k=4), loaded.recommend([10, 20], k=4)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_allclose(a.scores, b.scores)


def test_shape_rule_is_mult_vaes_below_5000_users_and_the_papers_above():
    assert defaults.recvae_shape_rule(4_999, 5_000) == ((), 600)
    assert defaults.recvae_shape_rule(4_999, 300) == ((), 150)
    assert defaults.recvae_shape_rule(5_000, 20_000) == ((600,) * 5, 200)
    assert defaults.recvae_shape_rule(5_000, 100) == ((100,) * 5, 50)
    assert defaults.recvae_training_rule(4_999) == (0.002, 1e-3)
    assert defaults.recvae_training_rule(5_000) == (0.005, 5e-4)


def test_explicit_values_win_over_the_rules():
    model = aekit.RecVAE((8, 8), 3, dropout=0.5, gamma=0.005, learning_rate=5e-4)
    model.set_params(max_epochs=4, batch_size=8, random_state=0, device="cpu")
    model.fit(small_ratings())
    assert model.hidden_dims_ == (8, 8) and model.latent_dim_ == 3
    assert model.dropout_ == 0.5 and model.gamma_ == 0.005
    assert model.module_.config.gamma == 0.005
    assert model._train_config().learning_rate == 5e-4


@pytest.mark.parametrize("name, value", [("gamma", "big"), ("learning_rate", 0.0)])
def test_bad_gamma_or_learning_rate_is_refused(name, value):
    with pytest.raises((TypeError, ValueError), match=name):
        aekit.RecVAE(**{name: value}, device="cpu").fit(small_ratings())
