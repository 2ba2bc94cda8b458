"""VAE and ConvVAE: the ELBO pieces, likelihood estimates, sampling, warm-up."""

import numpy as np
import pytest
import torch

import aekit
from aekit.losses import kl_normal
from aekit.nn.vae import VAEConfig, VariationalAutoencoder
from tests.conftest import FAST, small_images


def test_kl_normal_matches_torch_distributions():
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(kl_normal(mu, logvar), expected)


def test_importance_bound_is_exact_for_a_linear_gaussian_model():
    """With a linear decoder, an encoder giving the true posterior and a Gaussian
    likelihood, every importance weight equals p(x): the bound is exact."""
    torch.manual_seed(0)
    # no hidden layers: a linear encoder 2 -> 2 and a linear decoder 1 -> 2
    config = VAEConfig((2,), latent_dim=1, hidden_dims=(), likelihood="gaussian")
    module = VariationalAutoencoder(config)
    w = torch.tensor([[1.0], [2.0]])
    with torch.no_grad():
        module.decoder[0].weight.copy_(w)
        module.decoder[0].bias.zero_()
        module.log_scale.zero_()  # x | z ~ N(w z, I), so x ~ N(0, I + w w^T)
        cov = torch.eye(2) + w @ w.T
        post_var = 1.0 / (1.0 + (w.T @ w)).item()
        gain = post_var * w.T  # posterior mean = gain @ x
        module.encoder[0].weight.copy_(torch.cat([gain, torch.zeros(1, 2)]))
        module.encoder[0].bias.copy_(torch.tensor([0.0, np.log(post_var)]))
    x = torch.randn(6, 2)
    exact = torch.distributions.MultivariateNormal(torch.zeros(2), cov).log_prob(x)
    draws = 20_000
    with torch.no_grad():
        estimate = module.log_likelihood(x, torch.randn(7, 1))
        eps = torch.randn(draws * len(x), 1)  # one posterior draw per row
        elbo = module.elbo(x.repeat(draws, 1), eps).view(draws, len(x)).mean(0)
    torch.testing.assert_close(estimate, exact, rtol=1e-4, atol=1e-4)
    # With the exact posterior, KL(q || p(z | x)) = 0, so the ELBO's expectation
    # over the draw is log p(x) itself. One draw z = m + s * eps (s^2 = 1/6) is off
    # by (w.x / 6) s eps - (|w|^2 s^2 / 2)(eps^2 - 1): variance (w.x)^2 / 216 +
    # 25 / 72, below 0.6 for |w.x| < 7 (w.x ~ N(0, 5)). The mean of 20,000 draws
    # has a standard error below 0.0055, so 0.03 is over 5 standard errors.
    torch.testing.assert_close(elbo, exact, rtol=0, atol=0.03)


@pytest.fixture(scope="module")
def binary_vae():
    X = small_images(200)
    vae = aekit.VAE(
        (32,),
        2,
        likelihood="bernoulli",
        binarize=True,
        kl_warmup=3,
        max_epochs=15,
        batch_size=32,
        random_state=0,
        device="cpu",
    )
    return vae.fit(X), X


def test_bernoulli_vae_scores_and_samples(binary_vae):
    vae, X = binary_vae
    elbo = vae.score_samples(X[:50])
    iw = vae.score_samples(X[:50], n_importance=200)
    assert elbo.shape == iw.shape == (50,)
    assert np.all(iw <= 0) and iw.mean() >= elbo.mean() - 0.5  # tighter bound
    np.testing.assert_array_equal(vae.score_samples(X[:5]), elbo[:5])
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 64) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(7, random_state=0))
    assert vae.transform(X).shape == (200, 2)
    assert vae.reconstruction_error(X).shape == (200,)


def test_warmup_validation_loss_uses_the_full_kl(binary_vae):
    vae, _ = binary_vae
    assert vae.module_.kl_weight == 1.0
    first = vae.history_[0]
    assert first["val_loss"] == pytest.approx(first["val_recon"] + first["val_kl"])


def test_gaussian_likelihood_is_in_input_units():
    """On Gaussian data the VAE's log-likelihood approaches the true density's,
    scaling included."""
    rng = np.random.default_rng(0)
    X = 1.0 + 3.0 * rng.normal(size=(400, 3))
    vae = aekit.VAE(
        (16,), 2, max_epochs=30, batch_size=64, random_state=0, device="cpu"
    ).fit(X)
    Xt = 1.0 + 3.0 * rng.normal(size=(200, 3))
    true = (-0.5 * ((Xt - 1) / 3) ** 2 - 0.5 * np.log(2 * np.pi) - np.log(3)).sum(1)
    assert abs(vae.score_samples(Xt, n_importance=20).mean() - true.mean()) < 0.3


def test_beta_weights_the_kl():
    X = small_images(100)
    kls = []
    for beta in (0.1, 8.0):
        vae = aekit.VAE((16,), 2, beta=beta, likelihood="bernoulli", **FAST)
        kls.append(vae.set_params(max_epochs=10).fit(X).history_[-1]["val_kl"])
    assert kls[1] < kls[0]


def test_clear_errors():
    X = small_images(50)
    with pytest.raises(ValueError, match="bernoulli"):
        aekit.VAE(binarize=True, **FAST).fit(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        aekit.VAE(likelihood="bernoulli", scaling="standard", **FAST).fit(X)
    with pytest.raises(ValueError, match="likelihood"):
        aekit.VAE(likelihood="poisson", **FAST).fit(X)
    vae = aekit.VAE((8,), 2, **FAST).fit(X)
    with pytest.raises(ValueError, match="n_importance"):
        vae.score_samples(X, n_importance=0)


def test_conv_vae_on_images():
    images = small_images(80).reshape(80, 8, 8)
    vae = aekit.ConvVAE((4, 8), 2, kl_warmup=2, **FAST).fit(images)
    assert vae.sample(3, random_state=0).shape == (3, 8, 8)
    assert vae.transform(images).shape == (80, 2)
    scores = vae.score_samples(images[:4], n_importance=10)
    assert scores.shape == (4,) and np.all(np.isfinite(scores))
