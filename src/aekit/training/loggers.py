"""Callbacks that record a fit as it runs: `HistoryLogger` (CSV or JSON, one row
per epoch), `TensorBoard` (``torch.utils.tensorboard``) and `MLflow`. Each writes
every epoch's history entry (``loss``, ``val_loss``, ``lr``, ``seconds``...);
the optional packages are imported only when training begins, so the callbacks
can be built, cloned and pickled without them."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import json
import os
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from torch import nn

from aekit import _validation as v
from aekit.training.callbacks import Callback

if TYPE_CHECKING:
    from aekit.training.config import TrainConfig

LOG_FORMATS = ("csv", "json", "jsonl")


def optional_import(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{module} is needed for this callback but could not be imported "
            f"({error}). Install it with: pip install 'aekit[{extra}]'"
        ) from error


class _RunOnly(Callback):
    """A callback whose open handles live only while a fit runs: they are
    dropped when it is copied or pickled (a clone of the estimator, or a saved
    model, gets the settings, not a writer)."""

    main_process_only = True

    _handles: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in self._handles:
            state.pop(name, None)
        return state


class HistoryLogger(Callback):
    """Write each epoch's history entry to ``path`` as the fit runs, so a long
    fit can be followed or plotted while it runs. In distributed training, rank 0
    writes.

    Parameters
    ----------
    path : str or path-like
        Its folder is created; the file is replaced when training begins.
    format : {"csv", "json", "jsonl"} or None, default=None
        ``"csv"``: a header, then one row per epoch; ``"json"``: a JSON list of
        one object per epoch (rewritten each epoch); ``"jsonl"``: one JSON
        object per line. None takes it from the file's suffix (``.json``,
        ``.jsonl``, anything else CSV).

    Examples
    --------
    >>> import json, tempfile, numpy as np, aekit
    >>> path = tempfile.mkdtemp() + "/history.json"
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> ae = aekit.Autoencoder(max_epochs=3, callbacks=[HistoryLogger(path)]).fit(X)
    >>> [row["epoch"] for row in json.load(open(path))]
    [1.0, 2.0, 3.0]
    """

    main_process_only = True

    def __init__(self, path: str | os.PathLike, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = format

    def _format(self) -> str:
        if self.format is not None:
            return v.check_choice("format", self.format, LOG_FORMATS)
        suffix = self.path.suffix.lower().lstrip(".")
        return suffix if suffix in ("json", "jsonl") else "csv"

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        self.rows: list[dict[str, float]] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("[]" if self._format() == "json" else "")

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        self.rows.append(dict(record))
        kind = self._format()
        if kind == "json":
            self.path.write_text(json.dumps(self.rows, indent=1))
            return
        with self.path.open("a", newline="") as fh:
            if kind == "jsonl":
                fh.write(json.dumps(record) + "\n")
                return
            writer = csv.writer(fh)
            columns = list(self.rows[0])
            if len(self.rows) == 1:
                writer.writerow(columns)
            writer.writerow([record.get(name, "") for name in columns])


class TensorBoard(_RunOnly):
    """Write each epoch's history entry as TensorBoard scalars (one tag per
    entry, e.g. ``loss``, ``val_loss``, ``lr``; the step is the epoch) to an
    event file under ``log_dir``. Needs ``tensorboard`` (``pip install
    'aekit[tensorboard]'``). Every fit adds a new event file.

    Examples
    --------
    >>> import tempfile, numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> tb = TensorBoard(tempfile.mkdtemp())
    >>> ae = aekit.Autoencoder(max_epochs=2, callbacks=[tb]).fit(X)
    """

    _handles = ("writer",)

    def __init__(self, log_dir: str | os.PathLike, prefix: str = "") -> None:
        self.log_dir = log_dir
        self.prefix = prefix

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        optional_import("tensorboard", "tensorboard")
        tb = optional_import("torch.utils.tensorboard", "tensorboard")
        self.writer = tb.SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        step = int(record["epoch"])
        for name, value in record.items():
            if name != "epoch":
                self.writer.add_scalar(self.prefix + name, value, step)
        self.writer.flush()

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        self.writer.close()
        del self.writer


class MLflow(_RunOnly):
    """Log a fit to MLflow: its settings once as parameters (the training
    settings, the network's configuration and ``params``), then each epoch's
    history entry as metrics (the step is the epoch). Needs ``mlflow`` (``pip
    install 'aekit[mlflow]'``); starts no server.

    Parameters
    ----------
    tracking_uri : str or None, default=None
        Where to log (e.g. ``"sqlite:///mlflow.db"`` or a server's URL); None
        uses MLflow's default (``MLFLOW_TRACKING_URI`` or its local store).
    experiment_name : str or None, default=None
        Created if missing; None uses MLflow's default experiment.
    run_name : str or None, default=None
    params : dict or None, default=None
        More parameters to log with the settings (e.g. the data set's name).
    tags : dict or None, default=None

    Attributes
    ----------
    run_id : str
        The run of the last fit. With an active run (``mlflow.start_run()``,
        same tracking URI) the fit logs into it and leaves it open; otherwise
        it starts a run and ends it with the fit.

    Examples
    --------
    >>> import tempfile, numpy as np, aekit
    >>> uri = "sqlite:///" + tempfile.mkdtemp() + "/mlflow.db"
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> logger = MLflow(tracking_uri=uri, experiment_name="demo")
    >>> ae = aekit.Autoencoder(max_epochs=2, callbacks=[logger]).fit(X)
    >>> from mlflow.tracking import MlflowClient
    >>> history = MlflowClient(uri).get_metric_history(logger.run_id, "loss")
    >>> [m.step for m in history]
    [1, 2]
    """

    _handles = ("client", "_owns_run")

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        run_name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.params = params
        self.tags = tags

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        mlflow = optional_import("mlflow", "mlflow")
        self.client = mlflow.tracking.MlflowClient(self.tracking_uri)
        active = mlflow.active_run()
        same_store = self.tracking_uri in (None, mlflow.get_tracking_uri())
        self._owns_run = active is None or not same_store
        if self._owns_run:
            run = self.client.create_run(
                self._experiment_id(), run_name=self.run_name, tags=self._tags()
            )
            self.run_id = run.info.run_id
        else:
            self.run_id = active.info.run_id
        params = {**run_settings(module, config), **(self.params or {})}
        entities = mlflow.entities
        self.client.log_batch(
            self.run_id,
            params=[entities.Param(k, str(val)[:6000]) for k, val in params.items()],
        )

    def _experiment_id(self) -> str:
        if self.experiment_name is None:
            return "0"  # MLflow's default experiment
        found = self.client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return str(found.experiment_id)
        return str(self.client.create_experiment(self.experiment_name))

    def _tags(self) -> dict[str, str]:
        return {str(k): str(val) for k, val in (self.tags or {}).items()}

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), int(record["epoch"])
        metrics = [
            Metric(k, float(val), now, step)
            for k, val in record.items()
            if k != "epoch"
        ]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        if self._owns_run:
            self.client.set_terminated(self.run_id)
        del self.client


def run_settings(module: nn.Module, config: TrainConfig) -> dict[str, Any]:
    """A fit's settings as flat parameters: the training configuration, the
    network's class and its configuration (``model.*``) when it has one."""
    settings: dict[str, Any] = dataclasses.asdict(config)
    settings["model"] = type(module).__name__
    model_config = getattr(module, "config", None)
    if dataclasses.is_dataclass(model_config) and not isinstance(model_config, type):
        for key, value in dataclasses.asdict(model_config).items():
            settings[f"model.{key}"] = value
    return settings
