"""Hooks into `fit_module`: the `Callback` base class and the callbacks aekit's
estimators use."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from aekit.metrics import ndcg_of_scores, rmse
from aekit.nn.recsys import csr_parts
from aekit.training.sources import SCORE_CELLS, SparseRows, reconstruct_at

if TYPE_CHECKING:
    from aekit.training.config import TrainConfig


class Callback:
    """Hooks called by `fit_module`; subclass and override what you need.

    Set ``self.stop_training = True`` in a hook to end training after this epoch.
    A callback with ``main_process_only = True`` (the loggers) runs on rank 0
    only in distributed training.
    """

    stop_training = False
    main_process_only = False

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        pass

    def on_epoch_begin(self, module: nn.Module, epoch: int) -> None:
        pass

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        pass

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        pass


class MaxTime(Callback):
    """Stop training once ``seconds`` have passed since it began (checked at the
    end of each epoch, so a fit overruns by at most one epoch). With early
    stopping the best weights so far are put back as usual.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> ae = aekit.Autoencoder(callbacks=[MaxTime(0.0)], random_state=0).fit(X)
    >>> ae.n_iter_
    1
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        self.stop_training = False
        self.deadline = time.perf_counter() + self.seconds

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        self.stop_training = time.perf_counter() >= self.deadline


class EarlyStopping(Callback):
    """Early stopping on the history entry ``monitor``: keeps a copy of the weights
    of the best epoch, stops after ``patience`` epochs without an improvement of at
    least ``min_delta`` (relative), and puts the best weights back at the end.

    `fit_module` adds one on ``"val_loss"`` when ``config.early_stopping``;
    subclasses that compute their own metric write it into the record in
    ``on_epoch_end`` before calling this one's.

    Parameters
    ----------
    patience : int
    min_delta : float, default=1e-4
        An epoch improves when its value is below ``best - min_delta * |best|``.
    monitor : str, default="val_loss"
    higher_is_better : bool, default=False

    Attributes
    ----------
    best_epoch : int
        The 1-based epoch of the kept weights (0 before the first epoch).
    """

    def __init__(
        self,
        patience: int,
        min_delta: float = 1e-4,
        monitor: str = "val_loss",
        higher_is_better: bool = False,
    ) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.monitor, self.higher_is_better = monitor, higher_is_better
        self.best, self.best_epoch = math.inf, 0  # best is "lower is better"
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_train_begin(self, module: nn.Module, config: TrainConfig) -> None:
        """Forget an earlier fit's best weights (the callback may be reused)."""
        self.best, self.best_epoch, self.best_state = math.inf, 0, None

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        if self.monitor not in record:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this fit does not "
                f"record (it records {', '.join(record)}); validation entries "
                "need early_stopping=True."
            )
        value = record[self.monitor]
        epoch = int(record["epoch"])
        self.update(module, -value if self.higher_is_better else value, epoch)

    def update(self, module: nn.Module, value: float, epoch: int) -> None:
        """Record ``value`` (lower is better) for ``epoch``."""
        if (
            value < self.best - self.min_delta * abs(self.best)
            or self.best_state is None
        ):
            self.best, self.best_epoch = value, epoch
            self.best_state = {
                k: v.detach().clone() for k, v in module.state_dict().items()
            }
        if epoch - self.best_epoch >= self.patience:
            self.stop_training = True

    def on_train_end(self, module: nn.Module, history: list[dict[str, float]]) -> None:
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


class KLWarmup(Callback):
    """Raise the KL weight linearly from 1/epochs to 1 over the first ``epochs``."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_begin(self, module: Any, epoch: int) -> None:
        module.kl_weight = min(1.0, epoch / self.epochs)

    def on_train_end(self, module: Any, history: list[dict[str, float]]) -> None:
        module.kl_weight = 1.0


class HeldOutRatings(EarlyStopping):
    """Each epoch, the RMSE of held-out ratings (``val_rmse`` in the history);
    stops after ``patience`` epochs without a ``min_delta`` relative improvement
    and puts back the best weights at the end."""

    def __init__(
        self,
        source: SparseRows,
        held_out: tuple[np.ndarray, np.ndarray, np.ndarray],
        clip: tuple[float, float],
        patience: int,
        min_delta: float = 1e-4,
    ) -> None:
        super().__init__(patience, min_delta, monitor="val_rmse")
        self.source, self.held_out, self.clip = source, held_out, clip

    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        rows, cols, values = self.held_out
        pred = np.clip(reconstruct_at(module, self.source, rows, cols), *self.clip)
        record["val_rmse"] = rmse(values, pred)
        super().on_epoch_end(module, record)


class HeldOutUsers(EarlyStopping):
    """Each epoch, NDCG@``k`` of held-out users' target items given their fold-in
    items (``val_ndcg`` in the history); stops after ``patience`` epochs without
    improvement and puts back the best weights at the end."""

    def __init__(
        self, fold_in: SparseRows, targets: sp.csr_matrix, patience: int, k: int = 100
    ) -> None:
        super().__init__(patience, monitor="val_ndcg", higher_is_better=True)
        self.fold_in, self.targets, self.k = fold_in, targets, k

    @torch.inference_mode()
    def on_epoch_end(self, module: nn.Module, record: dict[str, float]) -> None:
        was_training = module.training
        module.eval()
        record["val_ndcg"] = self._ndcg(module)
        module.train(was_training)
        super().on_epoch_end(module, record)

    def _ndcg(self, module: nn.Module) -> float:
        """Mean NDCG@k over the users with targets, scored a chunk of users at a
        time (``SCORE_CELLS`` scores each), so the held-out users' scores are never
        all in memory at once."""
        step = max(1, SCORE_CELLS // self.targets.shape[1])
        total, count = 0.0, 0
        for start in range(0, len(self.fold_in), step):
            rows = np.arange(start, min(start + step, len(self.fold_in)))
            x = self.fold_in.take(rows)
            scores = _without_seen(module(x)["recon"].float(), x)
            targets = self.targets[rows]
            n = int(np.count_nonzero(np.diff(targets.indptr)))
            if n:
                total += ndcg_of_scores(scores, targets, self.k) * n
                count += n
        return total / max(count, 1)


def _without_seen(scores: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``scores`` with -inf where the (dense or sparse CSR) history ``x`` has a
    positive entry."""
    if x.layout != torch.sparse_csr:
        return scores.masked_fill(x > 0, -torch.inf)
    rows, cols, values = csr_parts(x)
    seen = values > 0
    return scores.index_put_((rows[seen], cols[seen]), torch.tensor(-torch.inf))
