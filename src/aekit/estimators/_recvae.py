"""`RecVAE`: Mult-VAE with a composite prior, a dense encoder and alternating
updates, for top-k recommendation from implicit feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.estimators._multvae import _SHARED_DOC, _MultBase
from aekit.nn.recvae import RecVAEConfig, RecVAENet
from aekit.registry import register
from aekit.training import Callback, TrainConfig


class AlternatingPhases(Callback):
    """Each cycle of ``encoder_epochs + 1`` epochs trains the encoder for
    ``encoder_epochs`` epochs, then the decoder for one; when the decoder's
    epoch begins the prior takes a copy of the encoder. After every epoch the
    part held fixed is put back to its copy (`RecVAENet.restore_held`), before
    other callbacks (validation, early stopping) see the module."""

    def __init__(self, encoder_epochs: int) -> None:
        self.encoder_epochs = encoder_epochs

    def on_train_begin(self, module: nn.Module, config: Any) -> None:
        net = cast(RecVAENet, module)
        net.update_prior()
        net.phase = ""  # the first epoch starts a phase

    def on_epoch_begin(self, module: nn.Module, epoch: int) -> None:
        in_cycle = (epoch - 1) % (self.encoder_epochs + 1)
        phase = "encoder" if in_cycle < self.encoder_epochs else "decoder"
        net = cast(RecVAENet, module)
        if phase != net.phase:
            net.start_phase(phase)

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        net = cast(RecVAENet, module)
        net.restore_held()
        record["decoder_phase"] = float(net.phase == "decoder")

    def on_train_end(self, module: nn.Module, history: list[dict]) -> None:
        cast(RecVAENet, module).phase = "encoder"


@register("recvae", input_kind="ratings")
class RecVAE(_MultBase):
    __doc__ = (
        """RecVAE (Shenbin et al. 2020, https://arxiv.org/abs/1912.11160): Mult-VAE
    with a densely connected encoder (swish, layer norm), a composite prior (a
    mixture of N(0, I), the previous cycle's posterior and a wide normal), a KL
    weight per user of ``gamma`` times the user's clicks, and alternating
    updates: ``encoder_epochs`` epochs of the encoder (with input dropout), then
    one of the decoder (without), each epoch of the training loop one phase.
    Both phases share one optimiser (the authors use one per part); the part
    held fixed is read from a copy and put back after each epoch, so that its
    momentum does not move it.
    """
        + _SHARED_DOC.replace(
            """hidden_dims : sequence of int or "auto", default="auto"
        Hidden layers of the encoder (the decoder mirrors them); () gives linear
        maps to and from the code. "auto" (`defaults.mult_shape_rule`): () below
        5,000 training users, Liang et al.'s (600,) from then on.
    latent_dim : int or "auto", default="auto"
        "auto": min(600, n_items // 2) below 5,000 training users, else
        Liang et al.'s 200.
    dropout : float or "auto", default="auto"
        Input dropout during training. "auto" (`defaults.mult_dropout_rule`):
        0.3 below 5,000 training users, else Liang et al.'s 0.5.""",
            """hidden_dims : sequence of int or "auto", default="auto"
        Widths of the encoder's layers, all equal (each layer adds the outputs
        of those before it); () makes the encoder one linear map to the code's
        mean and log-variance. The decoder is one linear map from the code.
        "auto" (`defaults.recvae_shape_rule`): () below 5,000 training users
        (Mult-VAE's small-data shape), Shenbin et al.'s five layers of 600 (at
        most n_items wide) from then on.
    latent_dim : int or "auto", default="auto"
        "auto": min(600, n_items // 2) below 5,000 training users, else 200 (at
        most n_items // 2).
    dropout : float or "auto", default="auto"
        Input dropout in the encoder's epochs. "auto"
        (`defaults.mult_dropout_rule`): 0.3 below 5,000 training users, else
        0.5.""",
        )
        + """
    gamma : float or "auto", default="auto"
        KL weight per click: a user with n clicks has beta = gamma * n.
        "auto" (`defaults.recvae_training_rule`): 0.002 below 5,000 training
        users, the paper's 0.005 from then on; the value used is ``gamma_``.
    encoder_epochs : int, default=3
        Encoder epochs before each decoder epoch.
    learning_rate : float or "auto", default="auto"
        Adam's step size. "auto": 1e-3 below 5,000 training users, the paper's
        5e-4 from then on; the value used is ``learning_rate_``. Both are in
        ``resolved_params_``.

    Read more in docs/recommenders.md ("EASE and RecVAE").

    Examples
    --------
    >>> import pandas as pd, aekit
    >>> df = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["a", "b", "b", "c",
    ...                    "a"]})
    >>> vae = aekit.RecVAE((8, 8), 4, max_epochs=4, early_stopping=False,
    ...                    random_state=0).fit(df)
    >>> vae.recommend({"new": ["a"]}, k=2).items.shape
    (1, 2)
    """
    )

    _parameter_constraints: dict[str, v.Constraint] = {
        "gamma": v.Auto(v.Real()),
        "encoder_epochs": v.Int(),
        "learning_rate": v.Auto(v.Real(low_open=True)),
    }
    _resolved_names = ("gamma", "learning_rate", *_MultBase._resolved_names)

    def __init__(
        self,
        hidden_dims: Sequence[int] | str = "auto",
        latent_dim: int | str = "auto",
        *,
        dropout: float | str = "auto",
        gamma: float | str = "auto",
        encoder_epochs: int = 3,
        min_rating: float | None = None,
        l2: float = 0.0,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        optimizer: str = "adam",
        learning_rate: float | str = "auto",
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
        self.dropout = dropout
        self.gamma = gamma
        self.encoder_epochs = encoder_epochs
        self.min_rating = min_rating
        self.l2 = l2
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col
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

    def _check_param_rules(self) -> None:
        super()._check_param_rules()
        sizes = self.hidden_dims
        if not isinstance(sizes, str) and len(set(v.check_sizes("h", sizes))) > 1:
            raise ValueError(
                f"hidden_dims must be 'auto', () or equal widths (RecVAE's layers "
                f"add each other's outputs), got {sizes!r}"
            )

    def _resolve_shape(self, n_users: int, n_items: int) -> None:
        """``hidden_dims_``, ``latent_dim_``, ``dropout_``, ``gamma_`` and
        ``learning_rate_``: explicit values, or the rules of `aekit.defaults`
        for ``n_users`` training users."""
        hidden, code = defaults.recvae_shape_rule(n_users, n_items)
        self.hidden_dims_ = (
            hidden
            if isinstance(self.hidden_dims, str)
            else v.check_sizes("hidden_dims", self.hidden_dims)
        )
        self.latent_dim_ = code if self.latent_dim == "auto" else self.latent_dim
        self.dropout_ = (
            defaults.mult_dropout_rule(n_users)
            if self.dropout == "auto"
            else float(self.dropout)
        )
        gamma, rate = defaults.recvae_training_rule(n_users)
        self.gamma_ = gamma if self.gamma == "auto" else float(self.gamma)
        explicit = self.learning_rate
        self.learning_rate_ = rate if explicit == "auto" else float(explicit)

    def _train_config(self) -> TrainConfig:
        config = super()._train_config()
        config.learning_rate = self.learning_rate_
        return config

    def _train(self, data: Any, to_device: Any, callbacks: Any = None) -> None:
        phases = AlternatingPhases(self.encoder_epochs)
        super()._train(data, to_device, [phases, *(callbacks or [])])

    def _build_module(self) -> nn.Module:
        config = RecVAEConfig(
            n_items=len(self.item_ids_),
            hidden_dim=self.hidden_dims_[0] if self.hidden_dims_ else 0,  # (0: linear)
            n_layers=len(self.hidden_dims_),
            latent_dim=self.latent_dim_,
            dropout=self.dropout_,
            gamma=self.gamma_,
        )
        return RecVAENet(config)
