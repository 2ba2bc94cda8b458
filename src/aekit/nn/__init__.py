"""Pure torch modules: no NumPy, no scikit-learn. Each module has ``encode``,
``decode``, ``forward(x) -> dict(recon, z, ...)`` and ``loss(x, out) -> dict(loss,
...)``; the autoencoders are built from one frozen config dataclass each
(`DenseConfig`, `ConvConfig`, `VAEConfig`)."""

from aekit.nn.blocks import ACTIVATIONS, mlp
from aekit.nn.conv import ConvAutoencoder, ConvConfig, ConvDecoder, ConvEncoder
from aekit.nn.dense import DenseAutoencoder, DenseConfig
from aekit.nn.recsys import AutoRecNet, MultVAENet
from aekit.nn.vae import VAEConfig, VariationalAutoencoder

__all__ = [
    "ConvAutoencoder",
    "ConvConfig",
    "ConvDecoder",
    "ConvEncoder",
    "VAEConfig",
    "VariationalAutoencoder",
    "ACTIVATIONS",
    "AutoRecNet",
    "MultVAENet",
    "DenseAutoencoder",
    "DenseConfig",
    "mlp",
]
