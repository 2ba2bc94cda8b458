"""Mixed-type tables in the tabular autoencoders: the hooks `BaseAutoencoder` calls
when a model was fitted on a table with categorical columns or missing cells
(``schema_`` is set), and ``impute``.

The validated form of such a table is its `aekit.data.schema.TableSchema`
encoding (numbers, level codes, NaN where missing; one column per table
column); `table_input` turns it into the `aekit.nn.MixedAutoencoder`'s input
and `table_output` turns the module's output back into that encoding.

Column weights (``column_weights_``) keep one column type from dominating the
loss: each column's loss is divided by the loss of the best constant prediction
of it on the training rows (the variance of a scaled numeric column, the
entropy of a categorical column's level frequencies), floored at `MIN_BASELINE`,
so a column the model has learnt nothing about costs about 1 whatever its type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit.data.chunks import row_blocks
from aekit.data.schema import TableSchema, needs_schema
from aekit.nn import DenseConfig, MixedAutoencoder, MixedConfig

MIN_BASELINE = 0.1  # floor of a column's constant-prediction loss (see above)
HIDE_RATE = 0.2  # cells hidden from the encoder in training (`aekit.nn.mixed`)


class TableMixin:
    """The mixed-table side of `BaseAutoencoder` (see the module docstring).
    Estimators that take tables set ``_accepts_tables = True``."""

    _accepts_tables = False
    _tables_always = False  # also encode complete numeric data as a table
    # cells (of the encoded table) to treat as missing in `fit`: an imputer's
    # held-out check cells (`aekit.AutoencoderImputer`)
    _hidden_cells: np.ndarray | None = None
    _allow_empty_rows = False  # fit's encoding keeps rows with every cell missing
    reconstruct: Callable[[Any], Any]
    _apply: Callable[[Callable[[Any], Any], np.ndarray], np.ndarray]
    module_: Any
    input_shift_: np.ndarray
    input_scale_: np.ndarray
    column_weights_: tuple[float, ...]

    def _schema(self) -> TableSchema | None:
        """The fitted table schema, or None for a model of plain numbers."""
        data = getattr(self, "schema_", None)
        if data is None:
            return None
        cached = getattr(self, "_schema_cache", None)
        if cached is None or cached[0] is not data:
            cached = (data, TableSchema.from_dict(data))
            self._schema_cache = cached
        return cached[1]

    def _table_or_array(self, X: Any, *, reset: bool, validate: Any) -> np.ndarray:
        """`_validate` for estimators that take tables: a table that needs it
        (or any table at predict time when the model was fitted on one) as its
        schema encoding; plain complete numbers through ``validate`` as before."""
        if not reset and self._schema() is not None:
            return self._encode_table(X, reset=False)
        if reset and needs_schema(X):
            return self._encode_table(X, reset=True)
        if not reset:
            return validate(X, reset=False)
        array = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            ensure_min_samples=2,
        )
        holes = any(np.isnan(block).any() for block in row_blocks(array))
        if self._tables_always or holes:  # (checked by blocks: no n x d mask)
            source = X if isinstance(X, pd.DataFrame) else array
            return self._encode_table(source, reset=True)
        vars(self).pop("schema_", None)
        return array

    def _encode_table(self, X: Any, *, reset: bool) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
        elif not reset:  # arrays: shape and feature count as scikit-learn checks them
            schema = self._schema()
            numbers = schema is not None and not schema.categorical
            X = validate_data(
                self,
                X,
                reset=False,
                dtype=[np.float64, np.float32] if numbers else None,
                ensure_all_finite="allow-nan",
            )
        if reset:
            self.schema_ = TableSchema.from_frame(X).to_dict()
        schema = self._schema()
        assert schema is not None  # (set above or at fit)
        values = schema.encode(X)
        if reset and not self._allow_empty_rows:
            _check_rows(values)
        return values

    def _table_scaler(self, X: np.ndarray, fit: Any) -> tuple[np.ndarray, np.ndarray]:
        """Shift and scale of the numeric columns by ``fit``; 0 and 1 for the
        level codes."""
        schema = self._schema()
        assert schema is not None
        shift, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        if schema.numeric:
            shift[schema.numeric], scale[schema.numeric] = fit(X[:, schema.numeric])
        return shift, scale

    def _table_input(self, X: np.ndarray) -> np.ndarray:
        """Encoded rows -> ``[numbers | missing indicators | one-hot levels]``."""
        schema = self._schema()
        assert schema is not None
        num = schema.numeric
        scaled = (X[:, num] - self.input_shift_[num]) / self.input_scale_[num]
        missing = np.isnan(scaled)
        blocks = [np.where(missing, 0.0, scaled), missing]
        for j, k in zip(schema.categorical, schema.n_levels, strict=True):
            codes = X[:, j]
            blocks.append(codes[:, None] == np.arange(k)[None, :])
        return np.hstack(blocks).astype(np.float32)

    def _table_parts(self, out: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Module output -> (numeric columns in input units, each categorical
        column's level probabilities without `OTHER`)."""
        schema = self._schema()
        assert schema is not None
        num, p = schema.numeric, len(schema.numeric)
        numbers = out[:, :p] * self.input_scale_[num] + self.input_shift_[num]
        probs, start = [], p
        for j, k in zip(schema.categorical, schema.n_levels, strict=True):
            block = out[:, start : start + k]
            probs.append(block[:, :-1] if schema.columns[j].capped else block)
            start += k
        return numbers, probs

    def _table_predict(self, values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """`_table_parts` of the reconstruction of encoded rows ``values``."""
        recon = self._apply(
            lambda x: self.module_(x)["recon"], self._table_input(values)
        )
        return self._table_parts(recon)

    def _table_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        """Module output (numbers, level probabilities) -> encoded rows: numbers
        in input units, the most probable level's code (never `OTHER`)."""
        return self._encoded(*self._table_parts(out)).astype(dtype)

    def _encoded(self, numbers: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
        """`_table_parts` -> encoded rows (float64): the numbers, and each
        categorical column's most probable level's code."""
        schema = self._schema()
        assert schema is not None
        values = np.empty((len(numbers), len(schema.columns)), np.float64)
        values[:, schema.numeric] = numbers
        for j, p in zip(schema.categorical, probs, strict=True):
            values[:, j] = p.argmax(axis=1)
        return values

    def _as_table(self, values: np.ndarray, like: Any) -> Any:
        """Encoded rows as the user's table (a DataFrame with the training
        columns' names and dtypes) when the model was fitted on one."""
        schema = self._schema()
        if schema is None:
            return values
        return schema.decode(values, index=getattr(like, "index", None))

    def _table_weights(self, Xs: np.ndarray) -> tuple[float, ...]:
        """``column_weights_`` from the training input (see the module docstring)."""
        schema = self._schema()
        assert schema is not None
        p = len(schema.numeric)
        observed = Xs[:, p : 2 * p] == 0
        baselines = [
            float(np.var(Xs[observed[:, j], j])) if observed[:, j].any() else 1.0
            for j in range(p)
        ]
        start = 2 * p
        for k in schema.n_levels:
            counts = Xs[:, start : start + k].sum(axis=0)
            freq = counts[counts > 0] / max(counts.sum(), 1.0)
            baselines.append(float(-(freq * np.log(freq)).sum()))
            start += k
        return tuple(1.0 / max(b, MIN_BASELINE) for b in baselines)

    def _table_module(self, config: DenseConfig) -> MixedAutoencoder:
        """The mixed-table module with ``config``'s layers."""
        schema = self._schema()
        assert schema is not None
        p, levels = len(schema.numeric), tuple(schema.n_levels)
        # the layers of ``config``; the heads replace its output and loss
        dense = dataclasses.replace(
            config,
            n_features=2 * p + sum(levels),
            n_outputs=p + sum(levels),
            output_activation="identity",
            loss="mse",
            contractive=0.0,
            linear_path=False,
        )
        weights = tuple(float(w) for w in self.column_weights_)
        return MixedAutoencoder(MixedConfig(dense, p, levels, weights, HIDE_RATE))

    def _column_order(self) -> np.ndarray:
        """Positions, in the table, of the module's columns (numeric first)."""
        schema = self._schema()
        assert schema is not None
        return np.argsort(np.array(schema.numeric + schema.categorical))

    def impute(self, X: Any) -> Any:
        """``X`` with every missing cell filled: numeric cells by their
        reconstruction, categorical cells by their most probable level. Observed
        cells are returned untouched, as the same type (DataFrame or array)
        with the same columns and index.

        Needs a model fitted on a table with missing cells or categorical
        columns (or `aekit.AutoencoderImputer`, which always is)."""
        check_is_fitted(self)
        if self._schema() is None:
            raise ValueError(
                f"impute needs a {type(self).__name__} fitted on a table with "
                "missing cells or categorical columns; this one was fitted on "
                "complete numbers. Fit an aekit.AutoencoderImputer (on the command "
                "line: aekit impute without --model) to impute on complete data."
            )
        return fill_holes(X, self.reconstruct(X))


def fill_holes(X: Any, filled: Any) -> Any:
    """``X`` (a DataFrame or array) with its missing cells taken from ``filled``
    (the same table, as `TableMixin._as_table` returns it); observed cells and
    the type, columns and index of ``X`` are kept."""
    if isinstance(X, pd.DataFrame):
        if not isinstance(filled, pd.DataFrame):
            filled = pd.DataFrame(filled, index=X.index, columns=X.columns)
        out = X.copy()
        for name in filled.columns:
            hole = out[name].isna().to_numpy()
            if hole.any():
                out.loc[hole, name] = filled[name].to_numpy()[hole]
        return out
    values = np.array(X, dtype=np.float64)
    holes = np.isnan(values)
    values[holes] = np.asarray(filled, np.float64)[holes]
    return values


def _check_rows(values: np.ndarray) -> None:
    """Fit needs at least 2 rows, each with at least one observed cell."""
    if len(values) < 2:
        raise ValueError(
            f"Found array with {len(values)} sample(s) while a minimum of 2 is "
            "required."
        )
    empty = np.flatnonzero(np.isnan(values).all(axis=1))
    if len(empty):
        raise ValueError(
            f"X has {len(empty)} row(s) with every cell missing (first at row "
            f"{empty[0]}): they carry nothing to learn from; drop them before fit "
            "(at predict time such a row is allowed and gets the model's "
            "reconstruction of an empty row)"
        )
