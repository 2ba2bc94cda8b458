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
  predicts them, and so do the ``n_neighbors`` nearest rows (scikit-learn's
  KNN imputation on the table with those cells hidden, see
  `aekit.estimators._knn_fill`). Per numeric column the fill is the convex
  blend ``mean + a * (model - mean) + b * (neighbours - mean)`` (``a, b >= 0``,
  ``a + b <= 1``) with the least squared error on those cells; a categorical
  column takes the model's level, the neighbours' most frequent level or the
  column's most frequent level, whichever was right most often. The imputer so
  contains its classical baselines: it is never much worse than mean/mode or
  KNN imputation on a column, and better where the models are. The weights
  come from single models, so they are cautious for the ensemble.

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
from aekit.estimators._column_check import best_level, blend_weights, check_cells
from aekit.estimators._knn_fill import knn_check_guesses, knn_fill, reference_sample
from aekit.estimators._mixed import fill_holes
from aekit.registry import register
from aekit.training import seed_from

IMPUTER_EPOCHS = 100  # the default model's epoch cap (see default_imputer_model)


def default_imputer_model(random_state: Any = None) -> Autoencoder:
    """The autoencoder `AutoencoderImputer` uses when ``model=None``: an
    `aekit.Autoencoder` at its defaults (layers resolved from the data), with
    at most `IMPUTER_EPOCHS` epochs: on small tables the step-based "auto"
    budget runs thousands of epochs, and imputation benchmarks fit many."""
    return Autoencoder(max_epochs=IMPUTER_EPOCHS, random_state=random_state)


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
        not exceed 1); 0 turns the per-column check off (the models alone).
    n_neighbors : int, default=5
        Neighbours of the KNN fill checked beside the models (as scikit-learn's
        ``KNNImputer``); 0 leaves it out (the models and mean/mode only).
    random_state : int or None, default=None
        Seed of the check cells, the models (of a given ``model`` whose own
        ``random_state`` is None) and the neighbours' reference sample.

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
        Per column the weight ``a`` of the models' fill.
    knn_weights_ : ndarray of shape (n_features,)
        Per column the weight ``b`` of the neighbours' fill. A numeric cell is
        filled by ``fallback + a * (models - fallback) + b * (knn - fallback)``;
        a categorical one by the models' level where ``a`` is 1, the
        neighbours' where ``b`` is 1, else the fallback.
    knn_reference_ : ndarray of shape (n_reference, n_features)
        The encoded training rows (at most 5000, sampled) the neighbours come
        from; no rows when no column uses them.
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
        "n_neighbors": v.Int(low=0),
    }

    def __init__(
        self,
        model: Any = None,
        *,
        n_models: int = 3,
        check_fraction: float = 0.1,
        n_neighbors: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.n_models = n_models
        self.check_fraction = check_fraction
        self.n_neighbors = n_neighbors
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
            knn = self._knn_guesses(values, held, rng) if self.n_neighbors else None
            self._choose_fills(values, self._model_guesses(values, held), knn)
            reference = values[reference_sample(len(values), rng)]
            if not (self.knn_weights_ > 0).any():
                reference = reference[:0]  # (nothing to keep)
            self.knn_reference_ = reference
            self.n_features_in_ = probe.n_features_in_
            if hasattr(probe, "feature_names_in_"):
                self.feature_names_in_ = probe.feature_names_in_
        return self

    @staticmethod
    def _blank(template: Autoencoder, seed: int | None) -> Autoencoder:
        model = clone(template).set_params(random_state=seed)
        model._tables_always = True  # missing cells may come at transform
        return model

    def _scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """The first model's input scaling: the neighbours' distance units."""
        return self.model_.input_shift_, self.model_.input_scale_

    def _model_guesses(self, values: np.ndarray, held: list[np.ndarray]) -> np.ndarray:
        """Each model's prediction of its own held-out cells (NaN elsewhere)."""
        guesses = np.full(values.shape, np.nan)
        for model, cells in zip(self.models_, held, strict=True):
            parts = model._table_predict(np.where(cells, np.nan, values))
            guesses[cells] = model._encoded(*parts)[cells]
        return guesses

    def _knn_guesses(
        self, values: np.ndarray, held: list[np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        """The neighbours' prediction of the held-out cells (NaN elsewhere)."""
        schema = self.model_._schema()
        assert schema is not None
        return knn_check_guesses(
            values, held, schema, self._scaling(), self.n_neighbors, rng
        )

    def _choose_fills(
        self, values: np.ndarray, model: np.ndarray, knn: np.ndarray | None
    ) -> None:
        """``fallback_values_``, ``model_weights_`` and ``knn_weights_`` from
        the guesses of the held-out cells (see the module docstring)."""
        schema = self.model_._schema()
        assert schema is not None
        checked = ~np.isnan(model)
        if knn is not None:
            checked &= ~np.isnan(knn)
        d = values.shape[1]
        self.fallback_values_ = np.zeros(d)
        self.model_weights_, self.knn_weights_ = np.ones(d), np.zeros(d)
        for j in range(d):
            column, rows = values[:, j], checked[:, j]
            seen = column[~np.isnan(column)]
            neighbours = None if knn is None else knn[rows, j]
            if j in schema.numeric:
                centre = float(seen.mean()) if len(seen) else 0.0
                pick = blend_weights
            else:
                codes, counts = np.unique(seen, return_counts=True)
                centre = float(codes[counts.argmax()]) if len(seen) else 0.0
                pick = best_level
            weights = pick(column[rows], centre, model[rows, j], neighbours)
            self.fallback_values_[j] = centre
            self.model_weights_[j], self.knn_weights_[j] = weights

    def transform(self, X: Any) -> Any:
        """``X`` with every missing cell filled (same type, columns and index):
        the models' average and the neighbours' fill, blended with
        ``fallback_values_`` by ``model_weights_`` and ``knn_weights_``.
        Observed cells are untouched."""
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
        self._add_knn(values, fill, schema)
        filled = np.where(np.isnan(values), fill, values)
        return fill_holes(X, first._as_table(filled, X))

    def _add_knn(self, values: np.ndarray, fill: np.ndarray, schema: Any) -> None:
        """The neighbours' part of ``fill``, in place, in the rows with holes."""
        weight = self.knn_weights_
        rows = np.flatnonzero(np.isnan(values).any(axis=1))
        if not (weight > 0).any() or not len(rows):
            return
        guess = knn_fill(
            self.knn_reference_, values[rows], schema, self._scaling(), self.n_neighbors
        )
        num = [j for j in schema.numeric if weight[j] > 0]
        base = self.fallback_values_[num]
        fill[np.ix_(rows, num)] += weight[num] * (guess[:, num] - base)
        cat = [j for j in schema.categorical if weight[j] == 1.0]
        fill[np.ix_(rows, cat)] = guess[:, cat]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
