"""The rules behind ``"auto"`` parameters: what `fit` picks from the data when a
parameter is left at its default. Every rule is a small pure function, so a user
can read (and call) it; the estimator keeps what it picked as a fitted attribute
(``scaling_``, ``hidden_dims_``, ``loss_``, ``batch_size_``, ``max_epochs_``,
``patience_``; all of them in ``resolved_params_``), saves it with the model and
shows it in ``aekit info``. An explicit value always wins.

The rules were chosen on tuning data that no benchmark reports (slices of the
MNIST training images, scikit-learn's breast_cancer, wine and diabetes tables;
the tables are in docs/benchmarks-history.md) and judged on
`bench/defaults_vs_pca.py`; the recommenders' evidence is in
docs/recommenders.md, "How the rules were chosen".

Training budget, in optimiser steps rather than epochs: a small table gives few
steps per epoch, so a fixed epoch count under-trains it and a fixed patience
gives up after a handful of steps.
"""

from __future__ import annotations

import math

import numpy as np

TARGET_STEPS = 40_000  # optimiser steps `max_epochs="auto"` allows at most
# Convolutional models cost ~100x more per sample: 4,000 steps keep a fit on the
# 60k MNIST images to about 8 minutes on 2 CPU cores (~25 s an epoch).
CONV_TARGET_STEPS = 4_000
PATIENCE_STEPS = 500  # optimiser steps without improvement before early stopping
MIN_PATIENCE = 10  # epochs
# Variational models are judged on a noisy validation ELBO (a fresh Bernoulli draw
# of the pixels, a fresh code sample): on 20k MNIST images 30 epochs of patience
# gave a held-out NLL 1.4 nats lower than 10 (91.5 against 92.9).
VARIATIONAL_MIN_PATIENCE = 30
BIG_BATCH = 256
SMALL_BATCH = 32
STEPS_PER_EPOCH = 50  # small data: batches small enough for this many steps
BCE_MIN_ROWS = 5_000  # binary cross-entropy for [0, 1] data from this many rows
# ... when near-binary: the mean of x (1 - x) over the cells at most this (0 for
# 0/1 data, 1/4 at most). MNIST: 0.019; grey photograph patches: 0.14-0.15.
BCE_MAX_SPREAD = 0.05


def in_unit_range(X: np.ndarray) -> bool:
    """Whether every value of ``X`` lies in [0, 1]."""
    return bool(X.size and X.min() >= 0.0 and X.max() <= 1.0)


def shares_one_range(X: np.ndarray, whole: bool | None = None) -> bool:
    """Non-negative whole numbers where at least half of the non-constant columns
    reach the overall maximum: pixels (0-255), digits' 0-16 counts, Likert
    scores. Such features are in one unit and keep their relative weight.

    ``X`` may also be the columns' minima and maxima (2 rows) of data streamed
    from disk, with ``whole`` saying whether every value is a whole number."""
    if whole is None:
        whole = bool(X.size) and bool(np.all(np.mod(X, 1) == 0))
    if not X.size or X.min() < 0 or not whole:
        return False
    varying = X.std(axis=0) > 0
    if not varying.any():
        return False
    return bool(np.mean(X.max(axis=0)[varying] == X.max()) >= 0.5)


def scaling_rule(X: np.ndarray, whole: bool | None = None) -> str | None:
    """``scaling="auto"``: None for data already in [0, 1] (pixels, rates,
    binary flags); "global" (one shift and scale for every feature, the data's
    overall min and max) for features that share one range (see
    `shares_one_range`); "standard" otherwise.

    Standardising bounded data such as pixels divides near-constant features
    (an image's border) by tiny deviations, and the loss then chases them.
    (Standardising grey levels in [0, 1] was tried: on photograph patches it
    gained 1.107x / 0.98x PCA against 1.046x / 0.954x, but it cost the digits
    benchmark 2.00x -> 1.71x PCA at K = 8, so it is not the rule.)"""
    if in_unit_range(X):
        return None
    if shares_one_range(X, whole):
        return "global"
    return "standard"


def hidden_dims_rule(
    n_features: int, latent_dim: int, max_depth: int = 3
) -> tuple[int, ...]:
    """``hidden_dims="auto"``: a first width of 4 x n_features rounded up to a
    power of two, between 128 and 512, halved once (under 256 features) or twice
    (from 256 features on, up to ``max_depth`` layers), and never narrower than
    the code. E.g. 30 features: (128, 64); 64: (256, 128); 784: (512, 256, 128)
    for `Autoencoder`, (512, 256) for `VAE` (``max_depth=2``: on 20k MNIST
    images a third layer cost 7 nats of held-out log-likelihood)."""
    first = min(512, max(128, 1 << math.ceil(math.log2(4 * n_features))))
    depth = min(max_depth, 3 if n_features >= 256 else 2)
    return tuple(max(first >> i, latent_dim) for i in range(depth))


def loss_rule(Xs: np.ndarray, n_train: int, unit_spread: float) -> str:
    """``loss="auto"``: binary cross-entropy on a sigmoid output for near-binary
    data (scaled into [0, 1], the mean of ``x (1 - x)`` over the cells at most
    `BCE_MAX_SPREAD`) with at least `BCE_MIN_ROWS` training rows; mean squared
    error otherwise.

    Cross-entropy suits pixels that are mostly ink or paper (on 15k MNIST images
    it gave a 30% lower squared error); on grey levels it starts from
    sigmoid(PCA), not PCA, and lost to PCA on photograph patches, where squared
    error keeps the PCA start (and its guarantee). On few rows it was 2-5% worse
    (1.3k-row MNIST slices)."""
    near_binary = in_unit_range(Xs) and unit_spread <= BCE_MAX_SPREAD
    return "bce" if near_binary and n_train >= BCE_MIN_ROWS else "mse"


def binarize_rule(Xs: np.ndarray, likelihood: str, binary: bool | None = None) -> bool:
    """``binarize="auto"`` (VAEs): dynamic binarisation (a fresh Bernoulli draw of
    every pixel in every batch) for the Bernoulli likelihood on data that are
    not already 0/1, the standard way to train it on grey levels."""
    if binary is None:  # (given for data streamed from disk)
        binary = bool(np.isin(Xs, (0.0, 1.0)).all())
    return likelihood == "bernoulli" and not binary


def batch_size_rule(n_train: int) -> int:
    """``batch_size="auto"``: 256, or for fewer than 12,800 training rows the
    power of two at or below n_train / 50 (so an epoch has about 50 steps or
    more), but not below 32. E.g. 1,000 rows: 32; 5,000: 64; 60,000: 256."""
    size = 1 << max(0, math.floor(math.log2(max(1, n_train // STEPS_PER_EPOCH))))
    return int(min(BIG_BATCH, max(SMALL_BATCH, size)))


def training_rows(
    n_samples: int, validation_fraction: float, early_stopping: bool
) -> int:
    """Rows a fit trains on: all of them, or without the validation split."""
    if not early_stopping:
        return n_samples
    return n_samples - math.ceil(validation_fraction * n_samples)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return max(1, math.ceil(n_train / batch_size))


def max_epochs_rule(
    n_train: int, batch_size: int, target_steps: int = TARGET_STEPS
) -> int:
    """``max_epochs="auto"``: enough epochs for ``target_steps`` optimiser steps
    (`TARGET_STEPS` for dense models, `CONV_TARGET_STEPS` for convolutional
    ones; early stopping usually ends sooner), at least 10."""
    return max(10, math.ceil(target_steps / steps_per_epoch(n_train, batch_size)))


def patience_rule(
    n_train: int, batch_size: int, min_patience: int = MIN_PATIENCE
) -> int:
    """``patience="auto"``: epochs worth `PATIENCE_STEPS` optimiser steps, at
    least ``min_patience`` (10; `VARIATIONAL_MIN_PATIENCE` for VAEs)."""
    steps = math.ceil(PATIENCE_STEPS / steps_per_epoch(n_train, batch_size))
    return max(min_patience, steps)


def training_budget(
    n_train: int,
    batch_size: int | str,
    max_epochs: int | str,
    patience: int | str,
    target_steps: int = TARGET_STEPS,
    min_patience: int = MIN_PATIENCE,
) -> tuple[int, int, int]:
    """(batch_size, max_epochs, patience) for ``n_train`` training rows: each
    explicit value as given, each "auto" by its rule above."""
    batch = batch_size_rule(n_train) if batch_size == "auto" else int(batch_size)
    epochs = (
        max_epochs_rule(n_train, batch, target_steps)
        if max_epochs == "auto"
        else int(max_epochs)
    )
    wait = (
        patience_rule(n_train, batch, min_patience)
        if patience == "auto"
        else int(patience)
    )
    return batch, epochs, wait


# -- Recommenders --------------------------------------------------------------
# Chosen on tuning data (bench/tuning/tune_recsys.py); the evidence for each rule
# is in docs/recommenders.md, "How the rules were chosen".

AUTOREC_INPUTS_PER_UNIT = 12  # rating-vector entries per hidden unit
AUTOREC_MIN_HIDDEN = 16
AUTOREC_MAX_HIDDEN = 500  # Sedhain et al.'s width on MovieLens-1M and -10M
RECSYS_MIN_PATIENCE = 5  # epochs (AutoRec); its held-out RMSE is not sampled
# Mult-VAE/DAE's validation NDCG is noisier, and the KL weight still rises early
# on: with 20 epochs (160 steps) on the synthetic 500 x 300 set the VAE stopped
# at epoch 28 with NDCG@100 0.269; with 84 (500 steps) it reached 0.427, still
# improving at epoch 200 (so `max_epochs="auto"` is the step budget as well).
MULT_MIN_PATIENCE = 20
MULT_SHALLOW_MAX_USERS = 5_000  # below this, a linear Mult-VAE/DAE
MULT_MAX_CODE = 600
ANNEAL_EPOCHS = 150  # epochs over which the KL weight would reach 1


def autorec_hidden_rule(n_inputs: int) -> int:
    """``AutoRec(hidden_dim="auto")``: one hidden unit per
    `AUTOREC_INPUTS_PER_UNIT` (12) entries of a rating vector (users for
    I-AutoRec, items for U-AutoRec), rounded, between 16 and 500. MovieLens
    latest-small's 610 users give 51 (the width tuned by hand on it: 50);
    MovieLens-1M's 6,040 users give 500, Sedhain et al.'s width. Narrow layers won on
    small data (docs/recommenders.md)."""
    hidden = round(n_inputs / AUTOREC_INPUTS_PER_UNIT)
    return int(min(AUTOREC_MAX_HIDDEN, max(AUTOREC_MIN_HIDDEN, hidden)))


def mult_shape_rule(n_users: int, n_items: int) -> tuple[tuple[int, ...], int]:
    """``MultVAE``/``MultDAE`` ``hidden_dims="auto"`` and ``latent_dim="auto"``:
    with fewer than `MULT_SHALLOW_MAX_USERS` (5,000) training users no hidden
    layer and a code of min(600, n_items // 2) (a linear encoder and decoder);
    from then on Liang et al.'s (600,) hidden layer and 200-d code, made for
    MovieLens-20M's 136k users. The evidence, and where
    it stops (2,513 users): docs/recommenders.md."""
    if n_users < MULT_SHALLOW_MAX_USERS:
        return (), int(min(MULT_MAX_CODE, max(2, n_items // 2)))
    return (600,), 200


def mult_dropout_rule(n_users: int) -> float:
    """``dropout="auto"``: 0.3 for the linear model below `MULT_SHALLOW_MAX_USERS`
    training users, Liang et al.'s 0.5 above. On the validation split of
    `bench/tuning/tune_multvae.py` (MovieLens training users) 0.1-0.3 were level and
    0.5 lower by 0.004 (Mult-VAE) and 0.007 (Mult-DAE) over five seeds."""
    return 0.3 if n_users < MULT_SHALLOW_MAX_USERS else 0.5


# RecVAE (Shenbin et al.'s sizes and settings, made for MovieLens-20M and Netflix)
RECVAE_WIDTH, RECVAE_LAYERS, RECVAE_CODE = 600, 5, 200
RECVAE_GAMMA, RECVAE_LEARNING_RATE = 0.005, 5e-4
RECVAE_SMALL_GAMMA, RECVAE_SMALL_LEARNING_RATE = 0.002, 1e-3


def recvae_shape_rule(n_users: int, n_items: int) -> tuple[tuple[int, ...], int]:
    """``RecVAE`` ``hidden_dims="auto"`` and ``latent_dim="auto"``: with fewer
    than `MULT_SHALLOW_MAX_USERS` (5,000) training users Mult-VAE's small-data
    shape (`mult_shape_rule`: no hidden layer, a code of min(600, n_items // 2));
    from then on Shenbin et al.'s five layers of 600 (at most n_items wide) and
    a code of 200 (at most n_items // 2). Dropout follows `mult_dropout_rule`
    (0.3 below 5,000 training users, the paper's 0.5 from then on). The
    evidence: docs/recommenders.md."""
    if n_users < MULT_SHALLOW_MAX_USERS:
        return mult_shape_rule(n_users, n_items)
    width = min(RECVAE_WIDTH, n_items)
    return (width,) * RECVAE_LAYERS, int(min(RECVAE_CODE, max(2, n_items // 2)))


def recvae_training_rule(n_users: int) -> tuple[float, float]:
    """``RecVAE`` ``gamma="auto"`` and ``learning_rate="auto"``: (0.002, 1e-3)
    for the linear model below `MULT_SHALLOW_MAX_USERS` training users, the
    paper's (0.005, 5e-4) from then on."""
    if n_users < MULT_SHALLOW_MAX_USERS:
        return RECVAE_SMALL_GAMMA, RECVAE_SMALL_LEARNING_RATE
    return RECVAE_GAMMA, RECVAE_LEARNING_RATE


def anneal_steps_rule(n_train: int, batch_size: int) -> int:
    """``MultVAE(anneal_steps="auto")``: the updates of `ANNEAL_EPOCHS` (150)
    epochs, so the KL weight reaches the default cap of 0.2 after 30 epochs
    whatever the data's size. MovieLens latest-small's 434 training users in
    batches of 32 give 2,100 (tuned by hand there: 2,000). Liang et al.'s
    200,000 updates are about 850 epochs at their size (MovieLens-20M, batches
    of 500); there the rule ramps faster (35,000), which is not measured."""
    return ANNEAL_EPOCHS * steps_per_epoch(n_train, batch_size)
