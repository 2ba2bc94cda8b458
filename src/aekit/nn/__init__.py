"""Pure torch modules: no NumPy, no scikit-learn. Each module has ``encode``,
``decode``, ``forward(x) -> dict(recon, z, ...)`` and ``loss(x, out) -> dict(loss,
...)``."""

from aekit.nn.blocks import ACTIVATIONS, mlp
from aekit.nn.dense import DenseAutoencoder

__all__ = ["ACTIVATIONS", "DenseAutoencoder", "mlp"]
