"""`Autoencoder`: the dense autoencoder estimator (plain, denoising, sparse,
contractive)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from aekit import _validation as v
from aekit.estimators._base import check_noise_level
from aekit.estimators._tabular import OUTPUT_ACTIVATIONS, BaseAutoencoder
from aekit.losses import NOISE_TYPES
from aekit.nn import ACTIVATIONS, DenseAutoencoder, DenseConfig
from aekit.registry import register

# Salt-and-pepper noise sets entries to 0 or 1: for pixels, not scaled features.
TABLE_NOISE_TYPES = tuple(name for name in NOISE_TYPES if name != "salt_pepper")
LOSSES = ("mse", "bce")


@register("autoencoder")
class Autoencoder(BaseAutoencoder):
    """Dense autoencoder with a scikit-learn API.

    The encoder maps ``n_features -> *hidden_dims -> latent_dim``; the decoder
    mirrors it. ``transform`` gives the codes, ``inverse_transform`` decodes them.

    Parameters
    ----------
    hidden_dims : sequence of int, default=(128, 64)
        Widths of the encoder's hidden layers (the decoder uses them reversed).
    latent_dim : int, default=8
        Size of the code.
    activation : str, default="relu"
        One of relu, tanh, sigmoid, gelu, elu, leaky_relu, selu, identity.
    output_activation : {"auto", "linear", "sigmoid"}, default="auto"
        "auto" is sigmoid when the scaled training data lies in [0, 1], else linear.
    loss : {"mse", "bce"}, default="mse"
        Training loss: mean squared error, or binary cross-entropy for data in
        [0, 1] such as pixel intensities (needs a sigmoid output). The
        cross-entropy does not flatten where the sigmoid saturates, so it often
        trains faster and reconstructs better on such data.
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
    batch_size : int, default=256
    max_epochs : int, default=200
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the data, stop after ``patience``
        epochs without improvement and keep the best weights.
    validation_fraction : float, default=0.1
    patience : int, default=10
    gradient_clip : float or None, default=None
        Maximum global gradient norm.
    scaling : {"standard", "minmax", None}, default="standard"
        Fitted on the training data, applied before encoding, undone after decoding.
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

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> ae = aekit.Autoencoder(hidden_dims=(16,), latent_dim=3, max_epochs=5,
    ...                        random_state=0).fit(X)
    >>> ae.transform(X).shape
    (200, 3)
    >>> ae.reconstruction_error(X).shape
    (200,)
    """

    _parameter_constraints: dict[str, v.Constraint] = {
        "hidden_dims": v.Sizes(),
        "latent_dim": v.Int(),
        "activation": v.Choice(ACTIVATIONS),
        "output_activation": v.Choice(OUTPUT_ACTIVATIONS),
        "loss": v.Choice(LOSSES),
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
        hidden_dims: Sequence[int] = (128, 64),
        latent_dim: int = 8,
        *,
        activation: str = "relu",
        output_activation: str = "auto",
        loss: str = "mse",
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
        batch_size: int = 256,
        max_epochs: int = 200,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 10,
        gradient_clip: float | None = None,
        scaling: str | None = "standard",
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
        warm_start: bool = False,
    ) -> None:
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
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
        self.warm_start = warm_start

    def _check_param_rules(self) -> None:
        check_noise_level(self.noise, self.noise_type)
        super()._check_param_rules()

    def _resolve_output_activation(self, Xs: np.ndarray) -> str:
        resolved = super()._resolve_output_activation(Xs)
        if self.loss == "bce" and resolved != "sigmoid":
            raise ValueError(
                "loss='bce' needs a sigmoid output and (scaled) data in [0, 1], but "
                f"the output is {resolved} for data spanning [{Xs.min():.3g}, "
                f"{Xs.max():.3g}] with scaling={self.scaling!r}. Use scaling='minmax' "
                "(or None for data already in [0, 1]), or loss='mse'."
            )
        return resolved

    def _build_module(self) -> nn.Module:
        output = "identity" if self.output_activation_ == "linear" else "sigmoid"
        config = DenseConfig(
            n_features=self.n_features_in_,
            hidden_dims=v.check_sizes("hidden_dims", self.hidden_dims),
            latent_dim=self.latent_dim,
            activation=self.activation,
            output_activation=output,
            loss=self.loss,
            batch_norm=bool(self.batch_norm),
            dropout=self.dropout,
            noise=self.noise,
            noise_type=self.noise_type,
            sparsity=self.sparsity,
            contractive=self.contractive,
        )
        return DenseAutoencoder(config)
