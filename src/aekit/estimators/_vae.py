"""`VAE`: the dense variational autoencoder for tabular data and flat images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._base import fit_or_nothing
from aekit.estimators._tabular import SCALINGS, BaseAutoencoder, ScaledData
from aekit.estimators._variational import VariationalMixin
from aekit.nn import ACTIVATIONS, VAEConfig, VariationalAutoencoder
from aekit.registry import register


@register("vae", input_kind="any")
class VAE(VariationalMixin, BaseAutoencoder):
    """Variational autoencoder (Kingma & Welling 2014) with a scikit-learn API.

    Gaussian posterior q(z | x) from an MLP encoder, standard normal prior, and a
    Gaussian (learned per-feature scale) or Bernoulli likelihood p(x | z).
    ``transform`` gives the posterior mean, ``sample`` draws new data,
    ``score_samples`` estimates log p(x) per sample.

    Parameters
    ----------
    hidden_dims : sequence of int or "auto", default="auto"
        Encoder hidden widths (the decoder uses them reversed). "auto": as in
        `aekit.Autoencoder` but at most two layers, e.g. (512, 256) for 784
        features (`aekit.defaults.hidden_dims_rule`).
    latent_dim : int, default=8
    beta : float, default=1.0
        Weight of the KL term (beta-VAE when > 1).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        "bernoulli" needs (scaled) data in [0, 1], e.g. pixel intensities.
    kl_warmup : int, default=10
        Epochs over which the KL weight rises linearly to ``beta`` (0: off): a
        full KL term from the first step pulls the codes to the prior before
        the decoder has learnt to use them; the warm-up lets it learn first.
        Validation losses always use the full weight. How the default was
        chosen: docs/vae.md.
    binarize : bool or "auto", default="auto"
        Dynamic binarisation: every batch draws x ~ Bernoulli(x) (needs
        ``likelihood="bernoulli"``). "auto": on for the Bernoulli likelihood
        when the data are not already 0/1 (`aekit.defaults.binarize_rule`).
    activation : str, default="relu"
    scaling : {"auto", "standard", "minmax", None}, default="auto"
        "auto" is None for the Bernoulli likelihood, "standard" for the Gaussian.
    l2, optimizer, learning_rate, lr_schedule, batch_size, max_epochs, \
early_stopping, validation_fraction, patience, gradient_clip, device, \
random_state, verbose
        As in `aekit.Autoencoder` ("auto" batch size, epochs and patience by
        the same step-based rules). The loss is the negative ELBO in nats per
        sample (in scaled units for the Gaussian likelihood).

    Attributes
    ----------
    module_, history_, best_epoch_, n_features_in_, device_
        As in `aekit.Autoencoder`.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> vae = aekit.VAE(hidden_dims=(16,), latent_dim=2, max_epochs=5,
    ...                 random_state=0).fit(X)
    >>> vae.transform(X).shape
    (200, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 10)
    >>> vae.score_samples(X[:3], n_importance=50).shape
    (3,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "hidden_dims": v.Auto(v.Sizes()),
        "latent_dim": v.Int(),
        "activation": v.Choice(ACTIVATIONS),
        "scaling": v.Choice(("auto", *SCALINGS)),
    }

    def __init__(
        self,
        hidden_dims: Sequence[int] | str = "auto",
        latent_dim: int = 8,
        *,
        beta: float = 1.0,
        likelihood: str = "gaussian",
        kl_warmup: int = 10,
        binarize: bool | str = "auto",
        activation: str = "relu",
        scaling: str | None = "auto",
        l2: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str | None = None,
        batch_size: int | str = "auto",
        max_epochs: int | str = "auto",
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int | str = "auto",
        gradient_clip: float | None = None,
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.beta = beta
        self.likelihood = likelihood
        self.kl_warmup = kl_warmup
        self.binarize = binarize
        self.activation = activation
        self.scaling = scaling
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.gradient_clip = gradient_clip
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def fit(self, X: Any, y: Any = None) -> VAE:
        """Train on ``X`` (array-like of shape (n_samples, n_features)); ``y`` is
        ignored. Returns the fitted estimator."""
        with fit_or_nothing(self):
            v.check_params(self)
            data = self._fit_input(X, reset=True)
            assert isinstance(data, ScaledData)  # (a VAE takes no mixed-type table)
            extremes = data.extremes()
            binary = data.stats.binary and bool(np.isin(extremes, (0.0, 1.0)).all())
            self._check_unit_range(extremes, self.scaling, binary)
            self.hidden_dims_ = (
                defaults.hidden_dims_rule(self.n_features_in_, self.latent_dim, 2)
                if isinstance(self.hidden_dims, str)
                else v.check_sizes("hidden_dims", self.hidden_dims)
            )
            self._train(data, self._training_data, self._callbacks())
        return self

    def _resolve_scaling(self, stats: Any) -> str | None:
        return self._scaling()

    def _scaling(self) -> str | None:
        if self.scaling == "auto":
            return None if self.likelihood == "bernoulli" else "standard"
        return self.scaling

    def _log_scale_jacobian(self) -> float:
        return float(np.sum(np.log(self.input_scale_)))

    _resolved_names = ("hidden_dims", "binarize", *BaseAutoencoder._resolved_names)

    def _build_module(self) -> nn.Module:
        config = VAEConfig(
            data_shape=(self.n_features_in_,),
            latent_dim=self.latent_dim,
            hidden_dims=tuple(self.hidden_dims_),
            activation=self.activation,
            likelihood=self.likelihood,
            beta=self.beta,
        )
        return VariationalAutoencoder(config)
