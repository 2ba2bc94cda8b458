"""What the VAE estimators share: parameter checks, KL warm-up, dynamic
binarisation, ``sample`` and ``score_samples`` (ELBO or importance-weighted
log-likelihood)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._base import chunkwise
from aekit.estimators._checks import require_unit_range
from aekit.estimators._collapse import training_mean
from aekit.nn.vae import LIKELIHOODS
from aekit.training import BinarizedSource, Callback, KLWarmup
from aekit.training.sources import is_stream


class VariationalMixin:
    """Mixed into a VAE estimator before its autoencoder base class. The base
    provides ``_validate(X, reset=...)`` and ``_model_input(X)`` (see
    `AutoencoderTransformer`) and ``_log_scale_jacobian()``; the estimator has
    beta, likelihood, kl_warmup, binarize and latent_dim parameters."""

    beta: float
    likelihood: str
    kl_warmup: int
    binarize: bool | str
    latent_dim: int
    module_: Any
    device_: str
    # provided by the autoencoder base class (annotations only, no attributes)
    _apply: Callable[..., np.ndarray]
    _apply_precise: Callable[..., np.ndarray]
    _validate: Callable[..., np.ndarray]
    _model_input: Callable[[np.ndarray], np.ndarray]
    _log_scale_jacobian: Callable[[], float]
    inverse_transform: Callable[[Any], np.ndarray]

    _min_patience = defaults.VARIATIONAL_MIN_PATIENCE  # a noisy validation ELBO

    _parameter_constraints: dict[str, v.Constraint] = {
        "beta": v.Real(),
        "likelihood": v.Choice(LIKELIHOODS),
        "kl_warmup": v.Int(low=0),
        "binarize": v.Auto(v.Bool()),
    }

    def _check_param_rules(self) -> None:
        if (
            self.binarize is not False
            and self.binarize != "auto"
            and (self.likelihood != "bernoulli")
        ):
            raise ValueError(
                "binarize=True draws binary pixels and needs likelihood='bernoulli'; "
                f"got likelihood={self.likelihood!r}."
            )
        super()._check_param_rules()  # type: ignore[misc]  # the estimator base

    def _check_unit_range(
        self, Xs: np.ndarray, scaling: Any, binary: bool | None = None
    ) -> None:
        """The Bernoulli likelihood's data check, then ``binarize_``: the explicit
        value, or for "auto" dynamic binarisation when the likelihood is
        Bernoulli and the data are not already binary
        (`aekit.defaults.binarize_rule`)."""
        if self.likelihood == "bernoulli":
            fix = "Use scaling='minmax', or likelihood='gaussian'."
            require_unit_range(Xs, "likelihood='bernoulli'", scaling, fix)
        self.binarize_ = (
            defaults.binarize_rule(Xs, self.likelihood, binary)
            if self.binarize == "auto"
            else bool(self.binarize)
        )

    def _initialise_module(self, module: Any, data: Any) -> None:
        """The decoder's mean starts at the training mean (see
        `VariationalAutoencoder.start_output_at`)."""
        module.start_output_at(training_mean(data).float())

    def _callbacks(self) -> list[Callback]:
        return [KLWarmup(self.kl_warmup)] if self.kl_warmup else []

    def _training_data(self, data: Any, device: torch.device) -> Any:
        """The training source of ``data`` (an array, or a ScaledData), with
        dynamic binarisation when ``binarize_``."""
        if isinstance(data, np.ndarray):
            source = torch.from_numpy(data).to(device)
        else:
            source = data.source(device)
        if not self.binarize_:
            return source
        if is_stream(source):
            raise ValueError(
                "binarize=True is not available for data read from disk in "
                "chunks; binarise the file first or set binarize=False."
            )
        return BinarizedSource(source)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """``n_samples`` new data points: the decoder's mean E[x | z] for z drawn
        from the prior N(0, I), in input units (and the training samples' shape).

        ``random_state`` seeds the draw (None: fresh each call).
        """
        check_is_fitted(self)
        n = v.check_int("n_samples", n_samples)
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n, self.latent_dim))
        return self.inverse_transform(Z)

    @chunkwise
    def score_samples(
        self, X: Any, n_importance: int = 1, random_state: Any = 0
    ) -> np.ndarray:
        """Per-sample log-likelihood estimates log p(x) in nats, shape (n_samples,).

        With ``n_importance=1`` the ELBO (one posterior sample plus the analytic KL);
        with k > 1 the importance-weighted bound of Burda et al. (2016), which
        tightens towards log p(x) as k grows. The ELBO is computed in float64, so
        a row's score does not depend on the rows beside it; the k > 1 bound in
        float32 on the model's device (it is k times the work), where it can
        move by about 1e-6 with the batch. The same k noise draws (seeded by
        ``random_state``) serve every sample, so a sample's score does not depend
        on the others. Gaussian likelihoods are in the units of ``X`` (the scaling's
        Jacobian is accounted for).
        """
        check_is_fitted(self)
        k = v.check_int("n_importance", n_importance)
        x = self._model_input(self._validate(X, reset=False))
        rng = check_random_state(random_state)
        eps_np = rng.standard_normal((k, self.latent_dim)).astype(np.float32)
        if k == 1:  # in float64 on a CPU: a row's score is the same in any batch
            e = torch.from_numpy(eps_np[0])
            logp = self._apply_precise(lambda m, xb: m.elbo(xb, e.to(xb)), x)
        else:
            eps = torch.from_numpy(eps_np).to(self.device_)
            module = self.module_
            logp = self._apply(lambda xb: module.log_likelihood(xb, eps), x)
        logp = np.asarray(logp, dtype=np.float64)
        if self.likelihood == "gaussian":
            logp -= self._log_scale_jacobian()
        return logp
