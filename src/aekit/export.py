"""ONNX export: a fitted model as one ONNX graph that runs without Python.

The graph is the estimator's `inference_graph` (see `aekit.nn.graph`), traced by
torch's ``torch.export``-based ONNX exporter (``torch.onnx.export(...,
dynamo=True)``, which needs ``onnxscript``). It takes one input ``x``, rows in
the raw units and shape the estimator's ``transform`` takes (the fitted
scaling is part of the graph), with any number of rows, and has three outputs:

``codes``
    (n, latent_dim), as ``transform``.
``reconstruction``
    The rows reconstructed, in input units and shape.
``score``
    (n,): the scaled reconstruction error per row for autoencoders
    (``reconstruction_error(X, scaled=True)``), ``decision_function`` for
    `aekit.AnomalyDetector`.

The file's ``metadata_props`` carry the aekit version, the estimator, the
feature names, the input shape and dtype, and for a detector its
``threshold_`` (a row is an anomaly when ``score > threshold``). An ONNX file
is a second artefact for serving: `aekit.load` reads only aekit's own folders.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit import _validation as v
from aekit import registry
from aekit.nn.graph import OUTPUT_NAMES

DTYPES = {"float32": torch.float32, "float64": torch.float64}
INPUT_NAME = "x"
EXTRA = "pip install 'aekit[onnx]'"


def to_onnx(
    estimator: Any, path: str | os.PathLike, *, dtype: str | None = None
) -> Path:
    """Write the fitted ``estimator`` to ``path`` as an ONNX graph.

    Parameters
    ----------
    estimator : fitted Autoencoder, ConvAutoencoder, VAE, ConvVAE or AnomalyDetector
        VAEs are exported on their deterministic path: the posterior mean as
        the code, decoded to the likelihood's mean.
    path : str or path-like
        The ``.onnx`` file to write (its folder is created).
    dtype : {"float32", "float64"} or None, default=None
        Precision of the graph and of its input. None: float64 for
        `aekit.AnomalyDetector`, whose ``decision_function`` is computed in
        float64 (so the labels ``score > threshold`` match ``predict``),
        float32 for autoencoders. onnxruntime's CPU provider runs
        convolutions, GELU and some other activations in float32 only.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TypeError
        For an estimator that cannot be exported (recommenders, a detector
        around a non-aekit model).
    sklearn.exceptions.NotFittedError
        For an estimator that is not fitted.
    ImportError
        When ``onnx`` or ``onnxscript`` is missing (``pip install
        'aekit[onnx]'``).
    ValueError
        For a bad ``dtype``, or a graph onnxruntime (when installed) cannot
        run.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np, aekit, onnxruntime
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> ae = aekit.Autoencoder((8,), 2, max_epochs=2, random_state=0).fit(X)
    >>> path = ae.to_onnx(pathlib.Path(tempfile.mkdtemp()) / "ae.onnx")
    >>> session = onnxruntime.InferenceSession(str(path))
    >>> codes, recon, score = session.run(None, {"x": X.astype("float32")})
    >>> codes.shape, recon.shape, score.shape
    ((100, 2), (100, 5), (100,))
    """
    graph_of = getattr(estimator, "inference_graph", None)
    if graph_of is None:
        raise TypeError(
            f"{type(estimator).__name__} cannot be exported to ONNX: export works "
            "for Autoencoder, ConvAutoencoder, VAE, ConvVAE and AnomalyDetector."
        )
    return write_graph(estimator, graph_of, path, dtype)


def write_graph(
    estimator: Any,
    graph_of: Callable[[torch.dtype], torch.nn.Module],
    path: str | os.PathLike,
    dtype: str | None,
) -> Path:
    """Write the graph ``graph_of(torch dtype)`` of the fitted ``estimator`` to
    ``path`` (see `to_onnx`). The graph's ``sample_shape`` is one row's shape;
    it may name its outputs (``output_names``, default `OUTPUT_NAMES`), its
    first, dynamic dimension (``rows``, default "batch") and that dimension's
    least size (``min_rows``)."""
    check_is_fitted(estimator)
    dtype = estimator._onnx_dtype if dtype is None else dtype
    v.check_choice("dtype", dtype, DTYPES)
    onnx = _require("onnx")
    _require("onnxscript")
    graph = graph_of(DTYPES[dtype])
    example = _example_rows(graph, DTYPES[dtype])
    model = _export(graph, example).model_proto
    onnx.helper.set_model_props(model, metadata(estimator, dtype, graph))
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    _check_runs(path, example, dtype)
    return path


def _require(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"ONNX export needs the optional package {name!r}: {EXTRA}"
        ) from None


def _example_rows(graph: Any, dtype: torch.dtype) -> torch.Tensor:
    """Rows of standard normal noise to trace (and try) the graph with: four,
    or twice the graph's ``min_rows``."""
    generator = torch.Generator().manual_seed(0)
    n = max(4, 2 * getattr(graph, "min_rows", 1))
    return torch.randn((n, *graph.sample_shape), generator=generator).to(dtype)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's progress messages, its notes on optional packages
    (torchvision) and torch's internal deprecation warnings."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            # an LSTM's flattened weights, reassigned by torch itself in export
            warnings.filterwarnings("ignore", message="The tensor attributes")
            yield
    finally:
        logger.setLevel(level)


def _export(graph: torch.nn.Module, example: torch.Tensor) -> Any:
    """The ONNX program of ``graph`` with a dynamic first dimension."""
    least = getattr(graph, "min_rows", None)
    name = getattr(graph, "rows", "batch")
    rows = torch.export.Dim(name, **({} if least is None else {"min": least}))
    with _quiet_exporter():
        return torch.onnx.export(
            graph,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=list(getattr(graph, "output_names", OUTPUT_NAMES)),
            dynamic_shapes={INPUT_NAME: {0: rows}},
            verbose=False,
        )


def metadata(estimator: Any, dtype: str, graph: Any) -> dict[str, str]:
    """The ``metadata_props`` of an exported file (values are JSON, except
    the names)."""
    from aekit import __version__

    names = getattr(estimator, "feature_names_in_", None)
    if names is None:  # scikit-learn's names for unnamed columns
        names = [f"x{i}" for i in range(estimator.n_features_in_)]
    return {
        "aekit_version": __version__,
        "estimator": registry.name_of(type(estimator)),
        "estimator_class": type(estimator).__name__,
        "feature_names": json.dumps([str(name) for name in names]),
        "input": INPUT_NAME,
        "input_shape": json.dumps(
            [getattr(graph, "rows", "batch"), *map(int, graph.sample_shape)]
        ),
        "dtype": dtype,
        "outputs": json.dumps(list(getattr(graph, "output_names", OUTPUT_NAMES))),
        **estimator._onnx_metadata(),
        **getattr(graph, "metadata", {}),  # what the graph says of itself
    }


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``metadata_props`` of the ONNX file at ``path`` as a dict (values as
    written: JSON, except the names)."""
    onnx = _require("onnx")
    model = onnx.load_model(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def _check_runs(path: Path, example: torch.Tensor, dtype: str) -> None:
    """Run the written graph once in onnxruntime, when it is installed: a graph
    it cannot run (no kernel for an operator in float64) is removed and
    reported."""
    try:
        import onnxruntime
    except ImportError:
        return
    try:
        session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"]
        )
        session.run(None, {INPUT_NAME: np.asarray(example.numpy())})
    except Exception as exc:  # onnxruntime's errors share no public base class
        path.unlink()
        hint = " Export with dtype='float32'." if dtype == "float64" else ""
        raise ValueError(
            f"onnxruntime cannot run the exported {dtype} graph: {exc}.{hint}"
        ) from None
