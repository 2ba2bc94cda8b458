"""The autoencoder inside `aekit.AnomalyDetector`: the default model, its
fits (a short ranking fit, then the final fit on the rows it kept), and the
input it is given (arrays, tables on disk, mixed-type tables).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit import defaults
from aekit.data.chunks import ChunkedTable, is_chunked, open_table
from aekit.data.schema import needs_schema
from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._base import check_table_features


def default_detector_model(random_state: Any = None) -> Autoencoder:
    """The autoencoder `AnomalyDetector` uses when ``model=None``: one hidden layer
    of 64 units and a 32-unit code, with batch norm and dropout 0.2 (with dropout
    in the way, a wide code does not learn the identity, so rare rows still stand
    out); large batches, up to 20 epochs and early stopping keep training short
    (see docs/anomaly.md for how these were chosen)."""
    return Autoencoder(
        hidden_dims=(64,),
        latent_dim=32,
        batch_norm=True,
        dropout=0.2,
        batch_size=256,
        max_epochs=20,
        patience=5,
        scaling="standard",
        loss="mse",
        pca_path=False,
        random_state=random_state,
    )


class DetectorModelMixin:
    """`aekit.AnomalyDetector`'s side of its autoencoder: cloning and fitting
    it, and checking the input it is fitted on and scores."""

    model: Any
    random_state: Any
    callbacks: Any
    model_: Any

    def _fit_model(self, X: np.ndarray, epochs_fraction: float = 1.0) -> Any:
        if self.model is None:
            model = default_detector_model(self.random_state)
        else:
            model = clone(self.model)
            params = model.get_params()
            if "random_state" in params and params["random_state"] is None:
                model.set_params(random_state=self.random_state)  # as sklearn does
        if self.callbacks:
            own = model.get_params().get("callbacks") or []
            model.set_params(callbacks=[*own, *self.callbacks])
        if epochs_fraction != 1.0 and "max_epochs" in model.get_params():
            full = model.max_epochs
            if full == "auto":  # what the model's own fit would resolve
                p = model.get_params()
                n_train = defaults.training_rows(
                    len(X), p["validation_fraction"], p["early_stopping"]
                )
                _, full, _ = defaults.training_budget(
                    n_train, p["batch_size"], full, "auto"
                )
            epochs = max(1, round(epochs_fraction * int(full)))
            model.set_params(max_epochs=epochs)  # a ranking fit, then discarded
        return model.fit(X)

    def _fit_input(self, X: Any) -> Any:
        """The training data: a validated array, a table on disk (numeric
        columns; every pass over it reads it chunk by chunk), or a mixed-type
        table (a DataFrame with categorical columns or missing cells, an array
        with NaN) as it is, for the model to encode."""
        if is_chunked(X):
            table = open_table(X)
            check_table_features(self, table, reset=True)
            return table.unnamed()  # the model sees arrays, as after validate_data
        if needs_schema(X):
            validate_data(self, X, skip_check_array=True)
            return X
        return validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )

    def _table_model(self) -> bool:
        """Whether the fitted model encodes its input as a table."""
        schema = getattr(self.model_, "_schema", None)
        return schema is not None and schema() is not None

    def _validate(self, X: Any) -> Any:
        check_is_fitted(self)
        if self._table_model():
            if isinstance(X, pd.DataFrame):
                validate_data(self, X, reset=False, skip_check_array=True)
            return X  # (the model checks it against its schema)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])


def _rows(X: Any, keep: np.ndarray) -> Any:
    """The rows ``keep`` (sorted positions) of an array, a DataFrame or a table
    on disk."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[keep]
    if not isinstance(X, ChunkedTable):
        return X[keep]
    index = np.concatenate([X.row_indices(p) for p in X.pieces])
    mask = np.zeros(X.pieces[-1].start + X.pieces[-1].n_rows, bool)
    mask[index[keep]] = True
    return X.subset(mask)
