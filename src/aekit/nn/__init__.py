"""Pure torch modules: no NumPy, no scikit-learn. Each module has ``encode``,
``decode``, ``forward(x) -> dict(recon, z, ...)`` and ``loss(x, out) -> dict(loss,
...)``."""

from aekit.nn.blocks import ACTIVATIONS, mlp
from aekit.nn.conv import ConvAutoencoder, ConvDecoder, ConvEncoder
from aekit.nn.dense import DenseAutoencoder
from aekit.nn.recsys import AutoRecNet, MultVAENet
from aekit.nn.vae import VariationalAutoencoder

__all__ = [
    "ConvAutoencoder",
    "ConvDecoder",
    "ConvEncoder",
    "VariationalAutoencoder",
    "ACTIVATIONS",
    "AutoRecNet",
    "MultVAENet",
    "DenseAutoencoder",
    "mlp",
]
