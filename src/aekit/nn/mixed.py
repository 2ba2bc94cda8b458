"""Autoencoder for mixed-type tables with missing cells: one head per column type.

The input row is ``[numbers | missing indicators | one-hot levels]``: the scaled
numeric cells (0 where missing), a 0/1 indicator per numeric column that is 1
where the cell is missing, and one one-hot block per categorical column (all
zeros where missing). The decoder's output is ``[numbers | logits]``: a
regression head for the numeric columns and a softmax head per categorical
column. The loss (`aekit.losses.masked_cell_errors`) is the squared error on
observed numeric cells and the cross-entropy on observed categorical cells, each
column weighted by ``column_weights`` and averaged over the row's observed
cells; missing cells are left out.

In training a random ``hide_rate`` of each row's cells is hidden from the encoder
(as if missing) while the loss still asks for them: the network learns to fill
the holes it will meet, as a denoising autoencoder for missing data does
(Gondara & Wang 2018, MIDA, https://doi.org/10.1007/978-3-319-93040-4_21).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from aekit import losses
from aekit.nn.dense import DenseAutoencoder, DenseConfig


@dataclass(frozen=True)
class MixedConfig:
    """A `DenseConfig` (``n_features`` the input width, ``n_outputs`` the output
    width) and the table's layout."""

    dense: DenseConfig
    n_numeric: int  # numeric columns: the first n_numeric outputs
    n_levels: tuple[int, ...] = ()  # levels of each categorical column, in order
    column_weights: tuple[float, ...] = ()  # numeric columns, then categorical
    hide_rate: float = 0.2  # fraction of cells hidden from the encoder in training

    def __post_init__(self) -> None:
        p, k = self.n_numeric, sum(self.n_levels)
        if self.dense.n_features != 2 * p + k or self.dense.n_outputs != p + k:
            raise ValueError("MixedConfig: widths do not match the layout")
        if len(self.column_weights) != p + len(self.n_levels):
            raise ValueError("MixedConfig: one weight per column is needed")


class MixedAutoencoder(DenseAutoencoder):
    """A `DenseAutoencoder` with the mixed-table layout, loss and input hiding
    (see the module docstring)."""

    # a dense stack trained by autograd: a step costs about 6 flops per weight
    # and sample, so small steps run on one CPU thread (`training.cpu_threads`;
    # a 150-row table under load: 20 s on one thread, 216 s on two)
    dense_step_cost = True
    unit_column: torch.Tensor  # the table column of each input unit (a buffer)
    weights: torch.Tensor  # the column weights (a buffer)

    def __init__(self, config: MixedConfig) -> None:
        super().__init__(config.dense)
        self.mixed = config
        p, levels = config.n_numeric, config.n_levels
        columns = list(range(p)) * 2
        for j, k in enumerate(levels):
            columns += [p + j] * k
        self.register_buffer("unit_column", torch.tensor(columns), persistent=False)
        weights = torch.tensor(config.column_weights, dtype=torch.float32)
        self.register_buffer("weights", weights, persistent=False)

    def _blocks(self, t: torch.Tensor, start: int) -> list[torch.Tensor]:
        """The categorical blocks of ``t`` from column ``start`` on."""
        return list(torch.split(t[:, start:], list(self.mixed.n_levels), dim=1))

    def _output(self, raw: torch.Tensor) -> torch.Tensor:
        """Numbers as they are, each categorical block as probabilities."""
        p = self.mixed.n_numeric
        probs = [torch.softmax(b, dim=1) for b in self._blocks(raw, p)]
        return torch.cat([raw[:, :p], *probs], dim=1)

    def _corrupting(self) -> bool:
        return self.training and (self.mixed.hide_rate > 0 or self.config.noise > 0)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Hide a random ``hide_rate`` of the cells: value 0, indicator 1."""
        if self.config.noise > 0:
            x = super().corrupt(x)
        n_columns = len(self.mixed.column_weights)
        hidden = torch.rand(len(x), n_columns, device=x.device) < self.mixed.hide_rate
        hide = hidden[:, self.unit_column]
        p = self.mixed.n_numeric
        indicator = torch.zeros_like(hide)
        indicator[:, p : 2 * p] = True
        return torch.where(hide, indicator.to(x.dtype), x)

    def observed(self, x: torch.Tensor) -> torch.Tensor:
        """0/1 per cell (numeric columns, then categorical): whether it is observed."""
        p = self.mixed.n_numeric
        onehots = [b.sum(dim=1, keepdim=True) for b in self._blocks(x, 2 * p)]
        return torch.cat([1.0 - x[:, p : 2 * p], *onehots], dim=1)

    def cell_errors(
        self, x: torch.Tensor, out: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Unweighted per-cell losses (0 on missing cells), shape (n, n_columns)."""
        p, raw = self.mixed.n_numeric, out["raw"]
        return losses.masked_cell_errors(
            raw[:, :p],
            self._blocks(raw, p),
            x[:, :p],
            1.0 - x[:, p : 2 * p],
            self._blocks(x, 2 * p),
        )

    def errors(self, x: torch.Tensor, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-sample weighted mean loss over the observed cells, shape (n,)."""
        weights = self.weights.to(x.dtype)
        cells = self.cell_errors(x, out)
        return losses.weighted_cell_mean(cells, self.observed(x), weights)

    def reconstruction_loss(
        self, x: torch.Tensor, out: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        return self.errors(x, out).mean()

    def manual_step(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        return None  # the mixed loss uses autograd


__all__ = ["MixedAutoencoder", "MixedConfig"]
