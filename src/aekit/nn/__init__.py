"""Pure torch modules: no NumPy, no scikit-learn. Each module has ``encode``,
``decode``, ``forward(x) -> dict(recon, z, ...)`` and ``loss(x, out) -> dict(loss,
...)``; the autoencoders are built from one frozen config dataclass each
(`DenseConfig`, `ConvConfig`, `VAEConfig`, `AutoRecConfig`, `MultVAEConfig`).
`graph` wraps a fitted module into one inference graph from raw features to
codes, reconstruction and score (what the estimators score with and
`aekit.export` exports)."""

from aekit.nn.blocks import ACTIVATIONS, mlp
from aekit.nn.conv import ConvAutoencoder, ConvConfig, ConvDecoder, ConvEncoder
from aekit.nn.dense import DenseAutoencoder, DenseConfig
from aekit.nn.graph import (
    AutoencoderGraph,
    FeatureTails,
    LatentDistanceScore,
    NeighbourDistanceScore,
    ScoredGraph,
)
from aekit.nn.mixed import MixedAutoencoder, MixedConfig
from aekit.nn.recsys import AutoRecConfig, AutoRecNet, MultVAEConfig, MultVAENet
from aekit.nn.vae import VAEConfig, VariationalAutoencoder

__all__ = [
    "AutoencoderGraph",
    "ConvAutoencoder",
    "ConvConfig",
    "ConvDecoder",
    "ConvEncoder",
    "VAEConfig",
    "VariationalAutoencoder",
    "ACTIVATIONS",
    "AutoRecConfig",
    "AutoRecNet",
    "MultVAEConfig",
    "MultVAENet",
    "DenseAutoencoder",
    "DenseConfig",
    "LatentDistanceScore",
    "FeatureTails",
    "NeighbourDistanceScore",
    "ScoredGraph",
    "MixedAutoencoder",
    "MixedConfig",
    "mlp",
]
