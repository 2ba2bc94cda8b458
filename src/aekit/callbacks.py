"""Callbacks for every estimator's ``callbacks=`` parameter (skorch's convention):
hooks the training loop calls at the start and end of training and of each
epoch. Subclass `Callback` and override what you need; set
``self.stop_training = True`` in a hook to end training after this epoch.

Built in: `EarlyStopping` (what ``early_stopping=True`` adds on the validation
loss), `MaxTime` (a time budget) and `HistoryLogger` (one CSV row per epoch).
"""

from aekit.training.callbacks import Callback, EarlyStopping, HistoryLogger, MaxTime

__all__ = ["Callback", "EarlyStopping", "HistoryLogger", "MaxTime"]
