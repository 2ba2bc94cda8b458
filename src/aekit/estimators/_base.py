"""What every aekit estimator shares: parameter checks, input validation, the call
into the training loop, batched inference, and the fit-or-nothing guarantee; and
what every autoencoder transformer shares: ``transform``, ``inverse_transform``,
scores and the [0, 1] data-range rules."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn

from aekit import _validation as v
from aekit import defaults
from aekit.data.chunks import ChunkedTable, is_chunked, open_table
from aekit.estimators._collapse import collapsed, explained_variance, warn_collapsed
from aekit.nn import AutoencoderGraph
from aekit.training import (
    LR_SCHEDULES,
    OPTIMIZERS,
    Callback,
    TrainConfig,
    fit_module,
    flush_denormals,
    resolve_device,
    seed_from,
    seeded,
)

INFERENCE_BATCH = 8192
ARRAY_BLOCK = 1 << 16  # rows of a big array a `chunkwise` method takes at once
Method = TypeVar("Method", bound=Callable[..., Any])


def chunkwise(method: Method) -> Method:
    """Let ``method(self, X, ...)`` also take data read from disk (see
    `aekit.data.chunks.is_chunked`): it runs on each chunk (a DataFrame with the
    column names, or an array) and the results are concatenated (element by
    element for a tuple). The output is held in memory; the data are not.

    A NumPy array of more than ``ARRAY_BLOCK`` rows is taken ``ARRAY_BLOCK`` rows
    at a time too, so the method's temporaries (a float64 copy, the scaled rows,
    the reconstruction in input units) stay the size of a block, not of the data:
    scoring 2M x 100 float32 rows (0.8 GB) with `reconstruction_error` peaked
    5.4 GB above the fitted model before. Every such method treats rows
    independently of each other, so the result is the same."""

    @functools.wraps(method)
    def wrapper(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        if is_chunked(X):
            check_is_fitted(self)
            blocks = open_table(X).frames()
        elif isinstance(X, np.ndarray) and X.ndim > 0 and len(X) > ARRAY_BLOCK:
            blocks = (X[i : i + ARRAY_BLOCK] for i in range(0, len(X), ARRAY_BLOCK))
        else:
            return method(self, X, *args, **kwargs)
        parts = [method(self, block, *args, **kwargs) for block in blocks]
        if isinstance(parts[0], tuple):
            return tuple(_concatenate(column) for column in zip(*parts, strict=True))
        return _concatenate(parts)

    return wrapper  # type: ignore[return-value]


def _concatenate(parts: Sequence[Any]) -> Any:
    """The blocks' results one after another: DataFrames by `pandas.concat`
    (numbered afresh), arrays by `numpy.concatenate`."""
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts, ignore_index=True)
    return np.concatenate(parts)


@torch.inference_mode()
def run_graph(
    graph: nn.Module, X: np.ndarray, dtype: torch.dtype, keep: Sequence[int]
) -> list[np.ndarray]:
    """The outputs number ``keep`` of the inference ``graph`` (see
    `aekit.nn.graph`) on the rows of ``X``, in ``dtype`` on the CPU, a batch of
    ``INFERENCE_BATCH`` rows at a time; one NumPy array per kept output. Only the
    kept outputs are held (not e.g. a full-width reconstruction), and ``X`` is
    converted batch by batch (no copy of all of it)."""
    X = np.asarray(X)
    with flush_denormals("cpu"):
        batches = []
        for start in range(0, len(X), INFERENCE_BATCH):
            # torch.tensor copies: X may be read-only
            out = graph(torch.tensor(X[start : start + INFERENCE_BATCH], dtype=dtype))
            batches.append([out[i] for i in keep])
    return [torch.cat(outputs).numpy() for outputs in zip(*batches, strict=True)]


@contextlib.contextmanager
def fit_or_nothing(estimator: BaseEstimator) -> Iterator[None]:
    """If the block raises, put the estimator back exactly as it was before ``fit``:
    bad input or a diverged run never leaves a half-fitted estimator behind."""
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(before)
        raise


def check_table_features(estimator: Any, table: ChunkedTable, *, reset: bool) -> None:
    """``n_features_in_`` and ``feature_names_in_`` of data on disk: set (with
    ``reset``) or checked against the fitted ones."""
    columns = table.feature_names
    names = None if columns is None else np.asarray(columns, object)
    if reset:
        estimator.n_features_in_ = table.n_features
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif table.n_features != estimator.n_features_in_:
        raise ValueError(
            f"the data have {table.n_features} features, but "
            f"{type(estimator).__name__} was fitted with {estimator.n_features_in_}"
        )


class TorchEstimator(BaseEstimator):
    """Base class of estimators that train a torch module with `fit_module`.

    Subclasses declare ``_parameter_constraints`` (merged with this class's table
    of training parameters and checked by `aekit._validation.check_params`),
    extend ``_check_param_rules()`` for rules across parameters, and define
    ``_build_module()`` (from fitted attributes such as ``n_features_in_``).
    """

    module_: Any  # the trained torch module, set by fit

    # Training parameters every subclass takes, with the same meaning.
    _parameter_constraints: dict[str, v.Constraint] = {
        "l2": v.Real(),
        "optimizer": v.Choice(OPTIMIZERS),
        "learning_rate": v.Real(low_open=True),
        "lr_schedule": v.Choice(LR_SCHEDULES),
        "batch_size": v.Auto(v.Int()),
        "max_epochs": v.Auto(v.Int()),
        "early_stopping": v.Bool(),
        "validation_fraction": v.Real(low_open=True, high=1.0),
        "patience": v.Auto(v.Int()),
        "gradient_clip": v.Optional(v.Real(low_open=True)),
        "callbacks": v.Optional(v.InstancesOf(Callback)),
    }

    def _check_param_rules(self) -> None:
        """Checks the constraint table cannot express (see `check_params`);
        subclasses extend it and call ``super()``."""
        try:
            resolve_device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', "
                f"got {self.device!r} ({exc})."
            ) from None

    # Parameters whose "auto" value `fit` resolves into a fitted attribute with
    # a trailing underscore (see `aekit.defaults`); subclasses add theirs.
    _resolved_names: tuple[str, ...] = ("batch_size", "max_epochs", "patience")
    _target_steps = defaults.TARGET_STEPS  # the "auto" epoch budget, in steps
    _min_patience = defaults.MIN_PATIENCE  # the "auto" patience's floor, in epochs

    @property
    def resolved_params_(self) -> dict[str, Any]:
        """What ``fit`` used for each parameter that may be "auto": the explicit
        value, or what the rule in `aekit.defaults` picked from the data."""
        check_is_fitted(self)
        names = [n for n in self._resolved_names if hasattr(self, f"{n}_")]
        return {name: getattr(self, f"{name}_") for name in names}

    def _n_train(self, n_samples: int) -> int:
        """Rows trained on after the validation split of ``n_samples``."""
        return defaults.training_rows(
            n_samples, self.validation_fraction, self.early_stopping
        )

    def _resolve_budget(self, n_samples: int) -> None:
        """``batch_size_``, ``max_epochs_`` and ``patience_`` for ``n_samples``
        rows: the explicit values, or the step-based rules of `aekit.defaults`."""
        self.batch_size_, self.max_epochs_, self.patience_ = defaults.training_budget(
            self._n_train(n_samples),
            self.batch_size,
            self.max_epochs,
            self.patience,
            self._target_steps,
            self._min_patience,
        )

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            weight_decay=getattr(self, "l2", 0.0),
            lr_schedule=self.lr_schedule,
            batch_size=self.batch_size_,
            max_epochs=self.max_epochs_,
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction,
            patience=self.patience_,
            gradient_clip=self.gradient_clip,
            verbose=bool(self.verbose),
        )

    def _check_split(self, n_samples: int) -> None:
        """Enough samples for the validation split (or for training at all)."""
        if not self.early_stopping:
            return
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_samples - n_val < 2:
            raise ValueError(
                f"too few samples for early stopping: X has {n_samples} samples and "
                f"validation_fraction={self.validation_fraction} holds out {n_val}, "
                f"leaving {n_samples - n_val} to train on (at least 2 are needed). "
                "Pass more samples, lower validation_fraction or set "
                "early_stopping=False."
            )

    def _train(
        self,
        data: Any,
        to_device: Callable[[Any, torch.device], Any],
        callbacks: list[Callback] | None = None,
    ) -> None:
        """Build the module and train it on ``data``; sets the fitted attributes.

        A fit that reconstructs its training rows no better than their mean
        (explained variance at most `COLLAPSED`, e.g. a sigmoid output stuck at
        zero) is run once more from a fresh initialisation (the next seed), the
        better of the two is kept, and a warning says so if it collapsed too.
        Only a fit that early stopping ended is restarted (one that ran out of
        epochs may just need more). Sets ``explained_variance_`` (None where it
        is not measured) and ``restarted_``."""
        self._resolve_budget(data.shape[0] if hasattr(data, "shape") else len(data))
        device = resolve_device(self.device)
        seed = seed_from(self.random_state)
        fitted = self._fit_once(data, to_device, callbacks, device, seed)
        restart = collapsed(fitted[2]) and self._stalled(fitted[1])
        if restart:
            retry = self._fit_once(data, to_device, callbacks, device, seed + 1)
            if (retry[2] or 0.0) > (fitted[2] or 0.0):
                fitted = retry
        module, result, explained = fitted
        if collapsed(explained):
            warn_collapsed(type(self).__name__, explained, restart)
        self.module_ = module
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_iter_ = len(result.history)
        self.device_ = str(device)
        self.explained_variance_ = explained
        self.restarted_ = restart

    def _stalled(self, result: Any) -> bool:
        """Whether early stopping ended a fresh fit (it ran out of patience)."""
        patience_left = len(result.history) - result.best_epoch < self.patience_
        return bool(self.early_stopping) and not patience_left and not self._warm()

    def _fit_once(
        self,
        data: Any,
        to_device: Callable[[Any, torch.device], Any],
        callbacks: list[Callback] | None,
        device: torch.device,
        seed: int,
    ) -> tuple[nn.Module, Any, float | None]:
        """One training run from ``seed``: the module, the loop's result and the
        explained variance of its reconstructions (None where not measured)."""
        with seeded(seed, device):
            if self._warm():
                module = self.module_
            else:
                module = self._build_module()
                self._initialise_module(module, data)
            module = module.to(device)
            generator = torch.Generator().manual_seed(seed)
            source = to_device(data, device)
            result = fit_module(
                module,
                source,
                self._train_config(),
                generator=generator,
                callbacks=[*(callbacks or []), *(self.callbacks or [])],
            )
        return module, result, explained_variance(module, source)

    def _build_module(self) -> nn.Module:
        raise NotImplementedError

    def _initialise_module(self, module: nn.Module, data: Any) -> None:
        """Set a freshly built module's starting weights from the training data
        (e.g. `Autoencoder`'s PCA path); by default the module's own init."""

    def _warm(self) -> bool:
        """Whether ``fit`` continues from the fitted module (``warm_start=True``
        on an estimator that has one)."""
        return bool(getattr(self, "warm_start", False)) and hasattr(self, "module_")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
        )

    @torch.inference_mode()
    def _apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray
    ) -> np.ndarray:
        """``fn`` on float32 batches of ``X`` on the model's device, back to NumPy."""
        check_is_fitted(self)
        self.module_.eval()
        device = torch.device(self.device_)
        chunks = []
        X32 = np.asarray(X, dtype=np.float32)
        with flush_denormals(device):
            for start in range(0, len(X32), INFERENCE_BATCH):
                xb = torch.from_numpy(X32[start : start + INFERENCE_BATCH]).to(device)
                chunks.append(fn(xb).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.empty((0,), np.float32)

    def _cpu_module(self, dtype: torch.dtype) -> Any:
        """A copy of the fitted module on the CPU in ``dtype``, in eval mode, for
        precise arithmetic that leaves the model itself as it is."""
        return copy.deepcopy(self.module_).to(device="cpu", dtype=dtype).eval()

    @torch.inference_mode()
    def _apply_precise(
        self, fn: Callable[[Any, torch.Tensor], torch.Tensor], X: np.ndarray
    ) -> np.ndarray:
        """``fn(module, batch)`` computed in float64 by a CPU copy of the module
        when the model lives on the CPU, so that a row's result does not depend on
        the rows beside it (float32 kernels round differently with the batch's
        size, by ~1e-7); on a GPU, in float32 on the device, as `_apply`."""
        check_is_fitted(self)
        if torch.device(self.device_).type != "cpu":
            return self._apply(lambda xb: fn(self.module_, xb), X)
        net = self._cpu_module(torch.float64)
        x = np.asarray(X, dtype=np.float64)
        chunks = [
            fn(net, torch.from_numpy(x[start : start + INFERENCE_BATCH])).numpy()
            for start in range(0, len(x), INFERENCE_BATCH)
        ]
        return np.concatenate(chunks) if chunks else np.empty((0,), np.float64)

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted estimator to the folder ``path`` (see `aekit.save`)."""
        from aekit.persistence import save

        save(self, path)


class AutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, TorchEstimator
):
    """What every autoencoder transformer shares on top of `TorchEstimator`:
    ``transform`` and ``inverse_transform``, scores from ``reconstruction_error``
    (defined by the subclass), feature names ``<name>0..`` for the codes, and
    float32/float64 preserved.

    Subclasses define two hooks between user arrays and the module:
    ``_model_input(X)`` turns input validated by ``_validate`` into the module's
    float32 input (scaled, in the module's layout), and ``_model_output(out,
    dtype)`` turns module output (reconstructions or decoded codes) back into
    input units, each row shaped like a training sample.
    """

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _model_output(self, out: np.ndarray, dtype: Any) -> np.ndarray:
        raise NotImplementedError

    def _layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(shape of one input row as ``transform`` takes it, shape of one row as
        the module takes it)."""
        raise NotImplementedError

    _onnx_dtype = "float32"  # the default of `to_onnx`

    def inference_graph(self, dtype: torch.dtype = torch.float32) -> nn.Module:
        """The fitted model as one torch module on the CPU in ``dtype``: rows in
        the input units and shape ``transform`` takes -> (codes, reconstruction
        in input units, per-row mean squared error in the scaled space). The
        input scaling is part of it; what `to_onnx` exports."""
        check_is_fitted(self)
        sample_shape, module_shape = self._layout()

        def tensor(value: Any) -> torch.Tensor:
            return torch.as_tensor(np.asarray(value, np.float64)).to(dtype)

        return AutoencoderGraph(
            self._cpu_module(dtype),
            tensor(self.input_shift_),
            tensor(self.input_scale_),
            sample_shape,
            module_shape,
        ).eval()

    @chunkwise
    def errors_and_codes(
        self, X: Any, *, dtype: torch.dtype = torch.float64
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scaled reconstruction errors and codes of ``X``, computed in ``dtype``.

        The errors are those of ``reconstruction_error(X, scaled=True)``, the
        codes those of ``transform(X)``, but computed by `inference_graph` (a
        copy of the module on the CPU, the scaling included) in ``dtype``. In
        float64 a row's results do not depend on the other rows: float32
        outputs carry ~1e-7 rounding that changes with the batch, which logs
        and inverse covariances (as in `aekit.AnomalyDetector`) would amplify.

        Returns
        -------
        errors : ndarray of shape (n_samples,)
        codes : ndarray of shape (n_samples, latent_dim)

        Examples
        --------
        >>> import numpy as np, aekit
        >>> X = np.random.default_rng(0).normal(size=(100, 5))
        >>> ae = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0).fit(X)
        >>> errors, codes = ae.errors_and_codes(X)
        >>> errors.dtype, codes.shape
        (dtype('float64'), (100, 2))
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        sample_shape = self._layout()[0]
        rows = X.reshape(len(X), *sample_shape)
        graph = self.inference_graph(dtype)
        codes, errors = run_graph(graph, rows, dtype, keep=(0, 2))
        return errors, codes

    def to_onnx(self, path: str | os.PathLike, *, dtype: str | None = None) -> Any:
        """Write the fitted model to ``path`` as an ONNX graph (see
        `aekit.export.to_onnx`): input ``x`` (rows as ``transform`` takes them,
        any number of rows), outputs ``codes``, ``reconstruction`` (input
        units) and ``score`` (the scaled reconstruction error per row). ``dtype``
        is "float32" (the default) or "float64". Needs ``pip install
        'aekit[onnx]'``. Returns the path written."""
        from aekit.export import to_onnx

        return to_onnx(self, path, dtype=dtype)

    def _onnx_metadata(self) -> dict[str, str]:
        """Estimator-specific entries of the ONNX file's metadata."""
        return {"score": "reconstruction_error(X, scaled=True)"}

    @chunkwise
    def transform(self, X: Any) -> np.ndarray:
        """The latent codes of ``X``, shape (n_samples, latent_dim); on a CPU
        computed in float64, so a row's code does not depend on its batch."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        codes = self._apply_precise(lambda m, x: m.encode(x), self._model_input(X))
        return codes.astype(X.dtype)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent codes ``X`` (n_samples, latent_dim) back to input units,
        each row shaped like a training sample."""
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"inverse_transform expects codes with latent_dim={self.latent_dim} "
                f"columns, got {Z.shape[1]}."
            )
        return self._model_output(self._apply(self.module_.decode, Z), Z.dtype)

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus the scaled reconstruction error: higher means more typical."""
        return -self.reconstruction_error(X, scaled=True)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of `score_samples` (higher is better), for model selection."""
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self) -> int:
        check_is_fitted(self)
        return int(self.latent_dim)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class WrapsModel:
    """Proxies for an estimator that trains an inner aekit model ``model_``
    (`aekit.AnomalyDetector`, `aekit.AutoencoderImputer`), so it reads like
    every aekit estimator (`aekit train`, `aekit info`) and saves like one."""

    model_: Any

    @property
    def history_(self) -> list[dict[str, float]]:
        """Training history of the (final) inner model."""
        return self.model_.history_

    @property
    def best_epoch_(self) -> int:
        return int(self.model_.best_epoch_)

    @property
    def n_iter_(self) -> int:
        return int(self.model_.n_iter_)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def save(self, path: Any) -> None:
        """Save the fitted estimator to the folder ``path`` (see `aekit.save`)."""
        from aekit.persistence import save

        save(self, path)
