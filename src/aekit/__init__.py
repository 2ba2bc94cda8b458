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

# Submodules loaded on first use (``aekit.plotting`` needs matplotlib, and
# none is needed to fit a model), so ``import aekit`` stays light while
# ``aekit.callbacks.MaxTime``, ``aekit.compare.compare_with_pca`` or
# ``aekit.plotting.series_scores`` work without importing them first.
_SUBMODULES = (
    "callbacks", "compare", "conformal", "data", "defaults", "export",
    "losses", "metrics", "plotting", "scratch", "thresholds", "training",
)  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"aekit.{name}")
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")


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
