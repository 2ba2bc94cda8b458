"""The public ``callbacks=`` parameter and the built-in callbacks."""

import csv
import time

import numpy as np
import pytest

import aekit
from aekit.callbacks import Callback, HistoryLogger, MaxTime
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
