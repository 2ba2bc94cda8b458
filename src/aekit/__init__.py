"""aekit: autoencoders with a scikit-learn API on PyTorch."""

from aekit.estimators import (
    EASE,
    VAE,
    AnomalyDetector,
    Autoencoder,
    AutoencoderImputer,
    AutoRec,
    ConvAutoencoder,
    ConvVAE,
    MultDAE,
    MultVAE,
    Recommendations,
    RecVAE,
    SeriesDetector,
    WindowConvAutoencoder,
    WindowLSTMAutoencoder,
)
from aekit.exceptions import AekitError, ModelFileError, TrainingError
from aekit.persistence import load, save
from aekit.registry import registered_names

__version__ = "0.1.0"

__all__ = [
    "AekitError",
    "AnomalyDetector",
    "AutoRec",
    "AutoencoderImputer",
    "Autoencoder",
    "ConvAutoencoder",
    "ConvVAE",
    "EASE",
    "ModelFileError",
    "MultDAE",
    "MultVAE",
    "RecVAE",
    "Recommendations",
    "SeriesDetector",
    "TrainingError",
    "VAE",
    "WindowConvAutoencoder",
    "WindowLSTMAutoencoder",
    "__version__",
    "load",
    "registered_names",
    "save",
]
