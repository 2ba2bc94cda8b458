"""`Autoencoder`: the dense autoencoder estimator (plain, denoising, sparse,
contractive)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.defaults import in_unit_range
from aekit.estimators._checks import check_noise_level
from aekit.estimators._collapse import training_mean
from aekit.estimators._tabular import (
    OUTPUT_ACTIVATIONS,
    SCALINGS,
    BaseAutoencoder,
    ScaledData,
)
from aekit.losses import NOISE_TYPES
from aekit.nn import ACTIVATIONS, DenseAutoencoder, DenseConfig
from aekit.registry import register
from aekit.training import TrainConfig

# Salt-and-pepper noise sets entries to 0 or 1: for pixels, not scaled features.
TABLE_NOISE_TYPES = tuple(name for name in NOISE_TYPES if name != "salt_pepper")
LOSSES = ("mse", "bce")


@register("autoencoder")
class Autoencoder(BaseAutoencoder):
    """Dense autoencoder with a scikit-learn API.

    The encoder maps ``n_features -> *hidden_dims -> latent_dim``; the decoder
    mirrors it. ``transform`` gives the codes, ``inverse_transform`` decodes them.
    Beside the two MLPs runs a linear encoder-decoder pair started at the PCA
    solution (``pca_path``), so training starts from PCA's reconstruction.

    Parameters left at "auto" are resolved in ``fit`` from the data by the rules
    in `aekit.defaults` (read them there); what was used is in
    ``resolved_params_``, saved with the model. Explicit values always win.

    Parameters
    ----------
    hidden_dims : sequence of int or "auto", default="auto"
        Widths of the encoder's hidden layers (the decoder uses them reversed).
        "auto": from the number of features (`defaults.hidden_dims_rule`), e.g.
        (128, 64) for 30 features, (512, 256, 128) for 784.
    latent_dim : int, default=8
        Size of the code.
    activation : str, default="relu"
        One of relu, tanh, sigmoid, gelu, elu, leaky_relu, selu, identity.
    output_activation : {"auto", "linear", "sigmoid"}, default="auto"
        "auto" is sigmoid with the cross-entropy loss, or for data in [0, 1]
        without ``pca_path``; else linear.
    loss : {"auto", "mse", "bce"}, default="auto"
        Training loss: mean squared error, or binary cross-entropy for data in
        [0, 1] such as pixel intensities (needs a sigmoid output). The
        cross-entropy does not flatten where the sigmoid saturates. "auto":
        cross-entropy for near-binary scaled data in [0, 1] (mostly ink or
        paper, like MNIST; not grey levels) with at least 5,000 training rows,
        else squared error (`defaults.loss_rule`).
    pca_path : bool, default=True
        A linear encoder and decoder beside the nonlinear layers, set to the
        (whitened) PCA solution of the scaled training data; the nonlinear
        layers' last weights start at zero and learn what PCA misses. With the
        squared-error loss the model starts exactly at PCA's reconstruction,
        and early stopping keeps the starting weights if training never beats
        them on the validation rows, so it does not end worse than PCA there.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer.
    dropout : float, default=0.0
        Dropout rate after each hidden activation.
    noise : float, default=0.0
        Training-time input corruption (a denoising autoencoder): the standard
        deviation of Gaussian noise, or the fraction of zeroed entries for
        ``noise_type="mask"``.
    noise_type : {"gaussian", "mask"}, default="gaussian"
    sparsity : float, default=0.0
        Weight of an L1 penalty on the codes (a sparse autoencoder).
    contractive : float, default=0.0
        Weight of the squared Frobenius norm of the encoder's Jacobian, averaged
        over the batch (a contractive autoencoder, Rifai et al. 2011): codes
        that are insensitive to small moves of the (scaled) input. Exact, at
        the cost of one extra backward pass per code dimension, so training is
        slower for wide codes.
    l2 : float, default=0.0
        Weight decay (decoupled for ``optimizer="adamw"``).
    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default="adam"
        SGD uses momentum 0.9.
    learning_rate : float, default=1e-3
    lr_schedule : {None, "cosine", "step", "plateau"}, default=None
    batch_size : int or "auto", default="auto"
        "auto": 256, smaller for small data so an epoch has about 50 steps, not
        below 32 (`defaults.batch_size_rule`).
    max_epochs : int or "auto", default="auto"
        "auto": enough epochs for 40,000 optimiser steps, at least 10
        (`defaults.max_epochs_rule`); early stopping usually ends sooner.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the data, stop after ``patience``
        epochs without improvement and keep the best weights.
    validation_fraction : float, default=0.1
    patience : int or "auto", default="auto"
        "auto": epochs worth 500 optimiser steps, at least 10
        (`defaults.patience_rule`).
    gradient_clip : float or None, default=None
        Maximum global gradient norm.
    scaling : {"auto", "standard", "minmax", "global", None}, default="auto"
        Fitted on the training data, applied before encoding, undone after
        decoding. "global" uses one shift and scale for every feature. "auto":
        None for data in [0, 1], "global" for features sharing one range such
        as 8-bit pixels, else "standard" (`defaults.scaling_rule`).
    device : str, default="auto"
        "auto" picks CUDA when available, else CPU.
    random_state : int, RandomState or None, default=None
        Seed; two CPU fits with the same int are bit-identical.
    verbose : bool, default=False
        Show a progress bar with the losses.
    warm_start : bool, default=False
        When the estimator is already fitted, ``fit`` continues training its
        module (with the fitted scaling) instead of starting afresh; the data must
        have the same features. ``history_`` then covers the new fit only.

    Attributes
    ----------
    module_ : torch.nn.Module
    history_ : list of dict
        Per epoch: epoch, loss, val_loss (with early stopping), lr, seconds.
    best_epoch_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only for DataFrame input)
    device_ : str
    resolved_params_ : dict
        The value used for each parameter that may be "auto" (also as
        ``scaling_``, ``hidden_dims_``, ``loss_``, ``output_activation_``,
        ``batch_size_``, ``max_epochs_``, ``patience_``).

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> ae = aekit.Autoencoder(latent_dim=3, max_epochs=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (200, 3)
    >>> ae.resolved_params_["hidden_dims"], ae.resolved_params_["batch_size"]
    ((128, 64), 32)
    >>> ae.reconstruction_error(X).shape
    (200,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "hidden_dims": v.Auto(v.Sizes()),
        "latent_dim": v.Int(),
        "activation": v.Choice(ACTIVATIONS),
        "output_activation": v.Choice(OUTPUT_ACTIVATIONS),
        "loss": v.Choice(("auto", *LOSSES)),
        "pca_path": v.Bool(),
        "scaling": v.Choice(("auto", *SCALINGS)),
        "batch_norm": v.Bool(),
        "dropout": v.Real(high=1.0),
        "noise_type": v.Choice(TABLE_NOISE_TYPES),
        "noise": v.Real(),
        "sparsity": v.Real(),
        "contractive": v.Real(),
        "warm_start": v.Bool(),
    }

    def __init__(
        self,
        hidden_dims: Sequence[int] | str = "auto",
        latent_dim: int = 8,
        *,
        activation: str = "relu",
        output_activation: str = "auto",
        loss: str = "auto",
        pca_path: bool = True,
        batch_norm: bool = False,
        dropout: float = 0.0,
        noise: float = 0.0,
        noise_type: str = "gaussian",
        sparsity: float = 0.0,
        contractive: float = 0.0,
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
        scaling: str | None = "auto",
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        callbacks: list | None = None,
        warm_start: bool = False,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.pca_path = pca_path
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.noise = noise
        self.noise_type = noise_type
        self.sparsity = sparsity
        self.contractive = contractive
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
        self.scaling = scaling
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    _accepts_tables = True  # DataFrames with categorical columns, missing cells

    def _check_param_rules(self) -> None:
        check_noise_level(self.noise, self.noise_type)
        super()._check_param_rules()

    _resolved_names = (
        "scaling",
        "hidden_dims",
        "loss",
        "output_activation",
        *BaseAutoencoder._resolved_names,
    )

    def _resolve_data_params(
        self, Xs: np.ndarray, n_samples: int, unit_spread: float
    ) -> None:
        n_train = self._n_train(n_samples)
        self.loss_ = self.loss
        if self._schema() is not None:
            self._resolve_table_params()
        elif self.loss == "auto":
            self.loss_ = defaults.loss_rule(Xs, n_train, unit_spread)
        if self._schema() is None:
            self.output_activation_ = self._resolve_output_activation(Xs)
            self._warn_if_lossless(Xs.shape[1])
        self.hidden_dims_ = (
            defaults.hidden_dims_rule(Xs.shape[1], self.latent_dim)
            if isinstance(self.hidden_dims, str)
            else v.check_sizes("hidden_dims", self.hidden_dims)
        )

    def _warn_if_lossless(self, n_inputs: int) -> None:
        """A code as wide as the input, with nothing that stops the model from
        copying it, compresses nothing: warn (the fit goes on; an overcomplete
        code is a choice with noise, sparsity, a contractive penalty or
        dropout, as `AnomalyDetector`'s default model makes it)."""
        regularised = self.noise or self.sparsity or self.contractive or self.dropout
        if self.latent_dim >= n_inputs and not regularised:
            warnings.warn(
                f"latent_dim={self.latent_dim} is not below the {n_inputs} input "
                "features, and with no noise, sparsity, contractive penalty or "
                "dropout the code can copy the input: the autoencoder reduces "
                f"nothing. Set latent_dim below {n_inputs} to reduce dimensions, "
                "or add noise or sparsity for an overcomplete code.",
                UserWarning,
                stacklevel=4,
            )

    def _resolve_table_params(self) -> None:
        """A mixed-type table: its own loss (masked squared error and
        cross-entropy), linear numeric outputs, no PCA path (its column weights
        come with its scaling, see `_table_fit_input`)."""
        wrong = {"loss": ("auto", "mse"), "output_activation": ("auto", "linear")}
        for name, allowed in wrong.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} does not apply to a table with "
                    "categorical columns or missing cells (it gets squared error "
                    f"on numbers and cross-entropy on categories); use {name}='auto'"
                )
        if self.contractive > 0:
            raise ValueError(
                "contractive > 0 is not supported on tables with categorical "
                f"columns or missing cells; got contractive={self.contractive}"
            )
        self.loss_, self.output_activation_ = "mixed", "linear"

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        if self.loss_ == "bce":
            if self.output_activation == "linear" or not in_unit_range(Xs):
                raise ValueError(
                    "loss='bce' needs a sigmoid output and (scaled) data in [0, 1], "
                    f"but the data span [{Xs.min():.3g}, {Xs.max():.3g}] with "
                    f"scaling={self.scaling_!r} and output_activation="
                    f"{self.output_activation!r}. Use scaling='minmax' (or None for "
                    "data already in [0, 1]), or loss='mse'."
                )
            return "sigmoid"
        if self.output_activation == "auto":
            unit = in_unit_range(Xs) and not self.pca_path
            return "sigmoid" if unit else "linear"
        return super()._resolve_output_activation(Xs)

    def _train_config(self) -> TrainConfig:
        """With ``pca_path`` early stopping also weighs the PCA start."""
        pca = bool(self.pca_path) and self._schema() is None
        return replace(super()._train_config(), score_initial=pca)

    def _build_module(self) -> nn.Module:
        output = "identity" if self.output_activation_ == "linear" else "sigmoid"
        config = DenseConfig(
            n_features=self.n_features_in_,
            hidden_dims=tuple(self.hidden_dims_),
            latent_dim=self.latent_dim,
            activation=self.activation,
            output_activation=output,
            loss=self.loss_,
            batch_norm=bool(self.batch_norm),
            dropout=self.dropout,
            noise=self.noise,
            noise_type=self.noise_type,
            sparsity=self.sparsity,
            contractive=self.contractive,
            linear_path=bool(self.pca_path) and self._schema() is None,
        )
        if self._schema() is not None:
            return self._table_module(config)
        return DenseAutoencoder(config)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells: masked (see fit)
        return tags

    def _initialise_module(self, module: nn.Module, data: ScaledData) -> None:
        """With ``pca_path``: the linear pair at the whitened PCA solution of the
        scaled training rows (up to ``min(latent_dim, n_samples, n_features)``
        components; further code units start at zero), from their covariance
        (gathered with the scaling statistics, so no copy of the data). Tables
        with categorical columns or missing cells have no PCA path. Without
        it, a sigmoid output starts at the training mean through its bias (not
        where the sigmoid is flat)."""
        if self._schema() is not None:
            return
        if not self.pca_path:
            if self.output_activation_ == "sigmoid":
                assert isinstance(module, DenseAutoencoder)  # built by _build_module
                module.start_output_at(training_mean(data).float())
            return
        assert isinstance(module, DenseAutoencoder)  # built by _build_module
        self._start_at_pca(module, data)

    def _start_at_pca(self, module: Any, data: ScaledData) -> None:
        """Set ``module``'s linear pair (its ``init_linear_path``) to the whitened
        PCA solution of the scaled training rows, from the covariance gathered
        with the scaling statistics."""
        mean, cov = data.stats.scaled_covariance(data.shift, data.scale)
        k = min(self.latent_dim, len(data), len(mean))
        components, scales = pca_solution(cov, k)
        module.init_linear_path(
            *(torch.from_numpy(a) for a in (mean, components, scales))
        )


def pca_solution(cov: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` leading principal axes (k, n_features) of the covariance matrix
    ``cov`` and their standard deviations (floored at 1e-3 of the largest, so
    near-empty directions are not blown up by whitening). Each axis's sign makes
    its largest entry positive (as scikit-learn's PCA)."""
    variances, vectors = np.linalg.eigh(cov)
    top = np.argsort(variances)[::-1][:k]
    components = vectors[:, top].T
    signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
    components *= np.where(signs == 0, 1.0, signs)[:, None]
    scales = np.sqrt(np.maximum(variances[top], 0.0))
    scales = np.maximum(scales, 1e-3 * max(scales.max(initial=0.0), 1e-12))
    return components, scales
