"""`AutoencoderImputer`: fill missing cells of a table with autoencoders, as a
scikit-learn transformer (``fit`` / ``transform``, usable in a ``Pipeline``
before any model).

Each autoencoder is trained as on any table with holes (`aekit.Autoencoder` on
a mixed-type table): missing cells are left out of the loss, missingness
indicators are inputs, and a fifth of the observed cells of each training row
are hidden from the encoder while the loss still asks for them, so it learns to
fill holes. On top of that the imputer

- trains ``n_models`` autoencoders (different seeds) and averages their
  predictions (numbers) and level probabilities (categories): a small
  ensemble, whose spread on tiny tables is much smaller than one fit's;
- checks every column on cells it kept back: each model trains without its own
  ``check_fraction`` of the observed cells (disjoint between the models) and
  predicts them. Per numeric column the least-squares weight ``w`` in [0, 1] of
  the fill ``mean + w * (prediction - mean)`` on those cells says how far to
  trust the model (``w = 1``: the model; ``w = 0``: the column mean, where the
  model did not beat it); a categorical column keeps the model's level when it
  was right at least as often as the most frequent level, else that level.
  The weights come from single models, so they are cautious for the ensemble.

``transform`` returns the table with every missing cell filled; observed cells
are untouched. Rows with every cell missing are left out of training (unlike
`aekit.Autoencoder`, for which they are an error) and filled like any other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._base import WrapsModel, fit_or_nothing
from aekit.estimators._mixed import fill_holes
from aekit.registry import register
from aekit.training import seed_from

IMPUTER_EPOCHS = 100  # the default model's epoch cap (see default_imputer_model)
MIN_CHECKS = 10  # fewer checked cells in a column: the model is trusted as it is


def default_imputer_model(random_state: Any = None) -> Autoencoder:
    """The autoencoder `AutoencoderImputer` uses when ``model=None``: an
    `aekit.Autoencoder` at its defaults (layers resolved from the data), with
    at most `IMPUTER_EPOCHS` epochs: on small tables the step-based "auto"
    budget runs thousands of epochs, and imputation benchmarks fit many."""
    return Autoencoder(max_epochs=IMPUTER_EPOCHS, random_state=random_state)


def check_cells(
    values: np.ndarray, n_sets: int, fraction: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """``n_sets`` disjoint random sets (boolean masks) of the observed cells of
    the encoded table ``values``, each about ``fraction`` of them; a row whose
    every observed cell fell into one set keeps them all (fit needs a cell)."""
    observed = ~np.isnan(values)
    draw = rng.random(values.shape)
    sets = []
    for k in range(n_sets):
        cells = observed & (draw >= k * fraction) & (draw < (k + 1) * fraction)
        cells[(cells == observed).all(axis=1)] = False
        sets.append(cells)
    return sets


def trust_in_model(truth: np.ndarray, guess: np.ndarray, centre: float) -> float:
    """Least-squares weight ``w`` in [0, 1] of ``centre + w * (guess - centre)``
    as a predictor of ``truth`` (1 with fewer than `MIN_CHECKS` cells)."""
    away = guess - centre
    spread = float(away @ away)
    if len(truth) < MIN_CHECKS or spread == 0.0:
        return 1.0
    return float(np.clip((truth - centre) @ away / spread, 0.0, 1.0))


@register("imputer")
class AutoencoderImputer(
    WrapsModel, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Missing-value imputation by autoencoders (see the module docstring).

    Parameters
    ----------
    model : aekit.Autoencoder or None, default=None
        The autoencoder to train (clones are fitted); None uses
        `default_imputer_model`.
    n_models : int, default=3
        Autoencoders trained (seeds drawn from ``random_state``); their
        predictions are averaged.
    check_fraction : float, default=0.1
        Fraction of the observed cells each model trains without and is checked
        on (disjoint between the models, so ``n_models * check_fraction`` must
        not exceed 1); 0 turns the per-column check off (every weight 1).
    random_state : int or None, default=None
        Seed of the check cells and of the models (of a given ``model`` whose
        own ``random_state`` is None).

    Attributes
    ----------
    models_ : list of aekit.Autoencoder
        The fitted autoencoders (their ``schema_`` holds the table's columns).
    model_ : aekit.Autoencoder
        The first of them.
    fallback_values_ : ndarray of shape (n_features,)
        Per column the mean of its observed cells (numeric) or its most
        frequent level's code (categorical).
    model_weights_ : ndarray of shape (n_features,)
        Per column how far the models' fill is trusted over the fallback: a
        fill is ``fallback + w * (prediction - fallback)`` (numeric) or the
        models' level where ``w`` is 1, else the fallback (categorical).
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only for DataFrame input)

    Examples
    --------
    >>> import numpy as np, aekit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))
    >>> X[rng.random(X.shape) < 0.1] = np.nan
    >>> imputer = aekit.AutoencoderImputer(random_state=0)
    >>> filled = imputer.fit(X[:150]).transform(X[150:])  # doctest: +SKIP
    >>> bool(np.isnan(filled).any())  # doctest: +SKIP
    False
    """

    _accepts_tables = True
    _fills_empty_rows = True  # rows with every cell missing: filled, not refused
    _parameter_constraints: dict[str, v.Constraint] = {
        "n_models": v.Int(),
        "check_fraction": v.Real(high=0.5, high_open=False),
    }

    def __init__(
        self,
        model: Any = None,
        *,
        n_models: int = 3,
        check_fraction: float = 0.1,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.n_models = n_models
        self.check_fraction = check_fraction
        self.random_state = random_state

    @property
    def model_(self) -> Autoencoder:
        """The first fitted autoencoder (`models_`)."""
        return self.models_[0]

    def _check_param_rules(self) -> None:
        if self.model is not None and not isinstance(self.model, Autoencoder):
            raise TypeError(
                "model must be an aekit.Autoencoder or None, got "
                f"{type(self.model).__name__}."
            )
        if self.n_models * self.check_fraction > 1:
            raise ValueError(
                f"n_models * check_fraction must be at most 1 (each model is "
                f"checked on its own cells), got n_models={self.n_models} and "
                f"check_fraction={self.check_fraction}; lower either."
            )

    def fit(self, X: Any, y: Any = None) -> AutoencoderImputer:
        """Train the autoencoders on ``X`` (a DataFrame or array with missing
        cells as NaN/None; complete data works too) and check each column on
        the held-out cells. ``y`` is ignored."""
        with fit_or_nothing(self):
            v.check_params(self)
            template = self.model
            if template is None:
                template = default_imputer_model()
            own_seed = getattr(template, "random_state", None)
            rng = np.random.default_rng(
                seed_from(self.random_state if own_seed is None else own_seed)
            )
            probe = self._blank(template, None)
            probe._allow_empty_rows = True
            values = probe._validate(X, reset=True)  # the table's encoding
            keep = ~np.isnan(values).all(axis=1)  # rows with something to learn
            if not keep.all():
                X = X.iloc[keep] if isinstance(X, pd.DataFrame) else np.asarray(X)[keep]
                values = values[keep]
            held = check_cells(values, self.n_models, self.check_fraction, rng)
            seeds = rng.integers(2**31 - 1, size=self.n_models)
            self.models_ = []
            for cells, seed in zip(held, seeds, strict=True):
                model = self._blank(template, int(seed))
                model._hidden_cells = cells
                try:
                    model.fit(X)
                finally:
                    del model._hidden_cells
                self.models_.append(model)
            self._check_columns(values, held)
            self.n_features_in_ = probe.n_features_in_
            if hasattr(probe, "feature_names_in_"):
                self.feature_names_in_ = probe.feature_names_in_
        return self

    @staticmethod
    def _blank(template: Autoencoder, seed: int | None) -> Autoencoder:
        model = clone(template).set_params(random_state=seed)
        model._tables_always = True  # missing cells may come at transform
        return model

    def _check_columns(self, values: np.ndarray, held: list[np.ndarray]) -> None:
        """``fallback_values_`` and ``model_weights_`` from each model's
        predictions of its own held-out cells (see the module docstring)."""
        schema = self.model_._schema()
        assert schema is not None
        guesses = np.full(values.shape, np.nan)
        for model, cells in zip(self.models_, held, strict=True):
            parts = model._table_predict(np.where(cells, np.nan, values))
            guesses[cells] = model._encoded(*parts)[cells]
        checked = ~np.isnan(guesses)
        self.fallback_values_ = np.zeros(values.shape[1])
        self.model_weights_ = np.ones(values.shape[1])
        for j in range(values.shape[1]):
            column, rows = values[:, j], checked[:, j]
            seen = column[~np.isnan(column)]
            if j in schema.numeric:
                centre = float(seen.mean()) if len(seen) else 0.0
                weight = trust_in_model(column[rows], guesses[rows, j], centre)
            else:
                codes, counts = np.unique(seen, return_counts=True)
                centre = float(codes[counts.argmax()]) if len(seen) else 0.0
                truth, weight = column[rows], 1.0
                if len(truth) >= MIN_CHECKS:
                    hits = np.mean(truth == guesses[rows, j])
                    weight = float(hits >= np.mean(truth == centre))
            self.fallback_values_[j], self.model_weights_[j] = centre, weight

    def transform(self, X: Any) -> Any:
        """``X`` with every missing cell filled (same type, columns and index):
        the models' average, moved towards ``fallback_values_`` by
        ``model_weights_``. Observed cells are untouched."""
        check_is_fitted(self)
        first = self.model_
        schema = first._schema()
        assert schema is not None
        values = first._validate(X, reset=False)
        parts = [model._table_predict(values) for model in self.models_]
        fill = self.fallback_values_ + np.zeros_like(values)
        weight, num = self.model_weights_, schema.numeric
        numbers = np.mean([numbers for numbers, _ in parts], axis=0)
        fill[:, num] += weight[num] * (numbers - fill[:, num])
        for i, j in enumerate(schema.categorical):
            if weight[j] == 1.0:
                probs = np.mean([probs[i] for _, probs in parts], axis=0)
                fill[:, j] = probs.argmax(axis=1)
        filled = np.where(np.isnan(values), fill, values)
        return fill_holes(X, first._as_table(filled, X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
