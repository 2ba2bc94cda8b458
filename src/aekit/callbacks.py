"""Callbacks for every estimator's ``callbacks=`` parameter (skorch's convention):
hooks the training loop calls at the start and end of training and of each
epoch. Subclass `Callback` and override what you need; set
``self.stop_training = True`` in a hook to end training after this epoch.

Built in:

- `EarlyStopping`: what ``early_stopping=True`` adds on the validation loss
  (another monitor, patience or ``min_delta`` when given as a callback);
- `MaxTime`: a time budget in seconds, after which the fit stops with the best
  weights so far;
- `HistoryLogger`: one CSV row (or JSON object) per epoch;
- `TensorBoard`: scalars per epoch (``pip install 'aekit[tensorboard]'``);
- `MLflow`: settings once, metrics per epoch (``pip install 'aekit[mlflow]'``).

See ``docs/callbacks.md``.
"""

from aekit.training.callbacks import Callback, EarlyStopping, MaxTime
from aekit.training.loggers import HistoryLogger, MLflow, TensorBoard

__all__ = [
    "Callback",
    "EarlyStopping",
    "HistoryLogger",
    "MLflow",
    "MaxTime",
    "TensorBoard",
]
