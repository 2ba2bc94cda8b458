"""`AutoencoderImputer`: fill missing cells of a table with an autoencoder, as a
scikit-learn transformer (``fit`` / ``transform``, usable in a ``Pipeline``
before any model).

The autoencoder is trained as on any table with holes (`aekit.Autoencoder` on a
mixed-type table): missing cells are left out of the loss, missingness
indicators are inputs, and a fifth of the observed cells of each training row
are hidden from the encoder while the loss still asks for them, so it learns to
fill holes. ``transform`` returns the table with every missing cell filled by
its reconstruction (numbers) or most probable level (categories); observed
cells are untouched.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._base import WrapsModel, fit_or_nothing
from aekit.registry import register

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
    """Missing-value imputation by an autoencoder (see the module docstring).

    Parameters
    ----------
    model : aekit.Autoencoder or None, default=None
        The autoencoder to train (a clone is fitted); None uses
        `default_imputer_model`.
    random_state : int or None, default=None
        Seed of the default model, or of a given ``model`` whose own
        ``random_state`` is None.

    Attributes
    ----------
    model_ : aekit.Autoencoder
        The fitted autoencoder (its ``schema_`` holds the table's columns).
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
    _parameter_constraints: dict[str, v.Constraint] = {}

    def __init__(self, model: Any = None, *, random_state: int | None = None) -> None:
        self.model = model
        self.random_state = random_state

    def _check_param_rules(self) -> None:
        if self.model is not None and not isinstance(self.model, Autoencoder):
            raise TypeError(
                "model must be an aekit.Autoencoder or None, got "
                f"{type(self.model).__name__}."
            )

    def fit(self, X: Any, y: Any = None) -> AutoencoderImputer:
        """Train the autoencoder on ``X`` (a DataFrame or array with missing
        cells as NaN/None; complete data works too). ``y`` is ignored."""
        with fit_or_nothing(self):
            v.check_params(self)
            if self.model is None:
                model = default_imputer_model(self.random_state)
            else:
                model = clone(self.model)
                if model.random_state is None:
                    model.set_params(random_state=self.random_state)
            model._tables_always = True  # missing cells may come at transform
            self.model_ = model.fit(X)
            self.n_features_in_ = model.n_features_in_
            if hasattr(model, "feature_names_in_"):
                self.feature_names_in_ = model.feature_names_in_
        return self

    def transform(self, X: Any) -> Any:
        """``X`` with every missing cell filled (same type, columns and index);
        see `aekit.Autoencoder.impute`."""
        check_is_fitted(self)
        return self.model_.impute(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
