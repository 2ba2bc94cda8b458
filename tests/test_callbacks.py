"""The public ``callbacks=`` parameter and the built-in callbacks."""

import copy
import csv
import json
import pickle
import sys
import time

import numpy as np
import pytest
import torch
from sklearn.base import clone

import aekit
from aekit.callbacks import (
    Callback,
    EarlyStopping,
    HistoryLogger,
    MaxTime,
    MLflow,
    TensorBoard,
)
from tests.conftest import FAST, small_tabular


class Recorder(Callback):
    def __init__(self):
        self.begun, self.epochs, self.ended = 0, [], None

    def on_train_begin(self, module, config):
        self.begun += 1

    def on_epoch_end(self, module, record):
        self.epochs.append(int(record["epoch"]))

    def on_train_end(self, module, history):
        self.ended = len(history)


def test_a_callback_sees_every_epoch():
    recorder = Recorder()
    params = dict(FAST, max_epochs=4, early_stopping=False)
    ae = aekit.Autoencoder((8,), 2, callbacks=[recorder], **params)
    ae.fit(small_tabular())
    assert (recorder.begun, recorder.epochs, recorder.ended) == (1, [1, 2, 3, 4], 4)


@pytest.mark.parametrize(
    "cls", [aekit.Autoencoder, aekit.VAE, aekit.ConvAutoencoder, aekit.AutoRec]
)
def test_every_trained_estimator_takes_callbacks(cls):
    assert cls(callbacks=[MaxTime(1.0)]).get_params()["callbacks"][0].seconds == 1.0


def test_history_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "logs" / "history.csv"
    params = dict(FAST, max_epochs=5, early_stopping=True)
    ae = aekit.Autoencoder((8,), 2, callbacks=[HistoryLogger(path)], **params)
    ae.fit(small_tabular())
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == ae.n_iter_ == 5
    assert [float(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(
        [float(r["val_loss"]) for r in rows], [h["val_loss"] for h in ae.history_]
    )


class Slow(Callback):
    def on_epoch_end(self, module, record):
        time.sleep(0.05)


def test_max_time_stops_within_one_epoch_of_the_budget():
    params = dict(FAST, max_epochs=1000, early_stopping=False)
    ae = aekit.Autoencoder((8,), 2, callbacks=[Slow(), MaxTime(0.3)], **params)
    start = time.perf_counter()
    ae.fit(small_tabular())
    elapsed = time.perf_counter() - start
    assert 3 <= ae.n_iter_ < 1000
    assert elapsed < 0.3 + 1.0  # the budget, one epoch and the fit's own setup


def test_callbacks_are_not_saved(tmp_path):
    ae = aekit.Autoencoder((8,), 2, callbacks=[MaxTime(60)], **FAST)
    ae.fit(small_tabular()).save(tmp_path / "m")
    assert aekit.load(tmp_path / "m").callbacks is None


def test_bad_callbacks_are_refused():
    with pytest.raises(TypeError, match=r"callbacks\[0\] is 'x'"):
        aekit.Autoencoder(callbacks=["x"], **FAST).fit(small_tabular())


@pytest.mark.parametrize("name", ["history.json", "history.jsonl"])
def test_history_logger_writes_json(tmp_path, name):
    path = tmp_path / name
    params = dict(FAST, max_epochs=4, early_stopping=True)
    ae = aekit.Autoencoder((8,), 2, callbacks=[HistoryLogger(path)], **params)
    ae.fit(small_tabular())
    text = path.read_text()
    if name.endswith("jsonl"):
        rows = [json.loads(line) for line in text.splitlines()]
    else:
        rows = json.loads(text)
    assert len(rows) == ae.n_iter_ == 4
    assert rows == ae.history_


def test_history_logger_refuses_an_unknown_format(tmp_path):
    logger = HistoryLogger(tmp_path / "h.txt", format="xml")
    with pytest.raises(ValueError, match="format must be one of 'csv'"):
        aekit.Autoencoder((8,), 2, callbacks=[logger], **FAST).fit(small_tabular())


class Snapshots(Callback):
    """The module's weights at the end of every epoch."""

    def on_train_begin(self, module, config):
        self.states = {}

    def on_epoch_end(self, module, record):
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.states[int(record["epoch"])] = state


def test_max_time_keeps_the_best_weights_so_far():
    snapshots = Snapshots()
    params = dict(FAST, max_epochs=1000, patience=1000, pca_path=False)
    callbacks = [Slow(), snapshots, MaxTime(0.4)]
    ae = aekit.Autoencoder((8,), 2, callbacks=callbacks, **params)
    ae.fit(small_tabular())
    assert 3 <= ae.n_iter_ < 1000
    losses = [h["val_loss"] for h in ae.history_]
    assert 1 <= ae.best_epoch_ <= ae.n_iter_
    assert losses[ae.best_epoch_ - 1] <= min(losses) * (1 + 1e-4)  # min_delta
    best = snapshots.states[ae.best_epoch_]
    for name, value in ae.module_.state_dict().items():
        assert torch.equal(value, best[name]), name


def test_a_reused_early_stopping_starts_afresh():
    stopper = EarlyStopping(patience=2, monitor="loss")
    params = dict(FAST, max_epochs=6, early_stopping=False)
    ae = aekit.Autoencoder((8,), 2, callbacks=[stopper], **params)
    X = small_tabular()
    stopper.best = -np.inf  # as if an earlier fit had reached an unbeatable loss
    stopper.stop_training = True
    ae.fit(X)
    assert stopper.best_epoch >= 1 and ae.n_iter_ > 1


@pytest.fixture
def tensorboard_fit(tmp_path):
    pytest.importorskip("tensorboard")
    tb = TensorBoard(tmp_path / "tb")
    params = dict(FAST, max_epochs=3, early_stopping=True)
    ae = aekit.Autoencoder((8,), 2, callbacks=[tb], **params).fit(small_tabular())
    return ae, tmp_path / "tb"


def test_tensorboard_writes_every_epochs_scalars(tensorboard_fit):
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    ae, log_dir = tensorboard_fit
    events = EventAccumulator(str(log_dir)).Reload()
    assert {"loss", "val_loss", "lr"} <= set(events.Tags()["scalars"])
    for tag in ("loss", "val_loss"):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [1, 2, 3]
        np.testing.assert_allclose(
            [s.value for s in scalars], [h[tag] for h in ae.history_], rtol=1e-6
        )


def test_loggers_leave_estimators_picklable_and_cloneable(tensorboard_fit, tmp_path):
    ae, _ = tensorboard_fit
    copy.deepcopy(ae)
    again = pickle.loads(pickle.dumps(ae))
    assert isinstance(again.callbacks[0], TensorBoard)
    assert clone(ae).get_params()["callbacks"][0].log_dir == ae.callbacks[0].log_dir
    ae.save(tmp_path / "m")
    assert aekit.load(tmp_path / "m").callbacks is None


def test_a_missing_optional_package_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard") or name == "torch.utils.tensorboard":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    for module in [m for m in sys.modules if "tensorboard" in m]:
        monkeypatch.delitem(sys.modules, module)
    tb = TensorBoard(tmp_path / "tb")
    with pytest.raises(ImportError, match=r"pip install 'aekit\[tensorboard\]'"):
        aekit.Autoencoder((8,), 2, callbacks=[tb], **FAST).fit(small_tabular())


def test_mlflow_logs_params_once_and_metrics_per_epoch(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    # A local file store: no server, and quick to create (MLflow 3 wants this
    # opt-in; a sqlite:/// file works too but takes seconds to set up).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    logger = MLflow(uri, "aekit-test", run_name="r1", params={"data": "small"})
    params = dict(FAST, max_epochs=3, early_stopping=True)
    ae = aekit.Autoencoder((8,), 2, callbacks=[logger], **params)
    ae.fit(small_tabular())
    client = MlflowClient(uri)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "r1"
    logged = run.data.params
    assert logged["data"] == "small" and logged["batch_size"] == "32"
    assert logged["model.latent_dim"] == "2"
    for key in ("loss", "val_loss"):
        history = client.get_metric_history(logger.run_id, key)
        assert [m.step for m in history] == [1, 2, 3]
        np.testing.assert_allclose(
            [m.value for m in history], [h[key] for h in ae.history_]
        )
    pickle.loads(pickle.dumps(ae))
    clone(ae).fit(small_tabular())  # a second run in the same experiment
    experiment = client.get_experiment_by_name("aekit-test")
    assert len(client.search_runs([experiment.experiment_id])) == 2


def test_early_stopping_on_a_missing_entry_says_so():
    ae = aekit.Autoencoder(
        (8,), 2, callbacks=[EarlyStopping(3)], **dict(FAST, early_stopping=False)
    )
    with pytest.raises(ValueError, match="monitors 'val_loss'.*early_stopping=True"):
        ae.fit(small_tabular())


def test_a_detector_passes_its_callbacks_to_both_fits(tmp_path):
    recorder, logger = Recorder(), HistoryLogger(tmp_path / "h.csv")
    model = aekit.Autoencoder((8,), 2, callbacks=[MaxTime(60)], **FAST)
    det = aekit.AnomalyDetector(model, trim=0.25, callbacks=[recorder, logger])
    det.fit(small_tabular())
    assert recorder.begun == 2  # the ranking fit, then the final one
    with (tmp_path / "h.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == det.n_iter_
    det.save(tmp_path / "det")
    loaded = aekit.load(tmp_path / "det")
    assert loaded.callbacks is None and loaded.model.callbacks is None
    np.testing.assert_allclose(
        loaded.decision_function(small_tabular()),
        det.decision_function(small_tabular()),
    )
    assert clone(det).get_params()["callbacks"][0] is not recorder
