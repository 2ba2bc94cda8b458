"""The scikit-learn layer: one estimator per private module."""

from aekit.estimators._autoencoder import Autoencoder
from aekit.estimators._autorec import AutoRec
from aekit.estimators._conv import ConvAutoencoder
from aekit.estimators._conv_vae import ConvVAE
from aekit.estimators._detector import AnomalyDetector, default_detector_model
from aekit.estimators._ease import EASE
from aekit.estimators._imputer import AutoencoderImputer, default_imputer_model
from aekit.estimators._multvae import MultDAE, MultVAE
from aekit.estimators._outlier import BaseDetector
from aekit.estimators._recommender import Recommendations
from aekit.estimators._recvae import RecVAE
from aekit.estimators._series import SeriesDetector
from aekit.estimators._series_conv import WindowConvAutoencoder
from aekit.estimators._series_lstm import WindowLSTMAutoencoder
from aekit.estimators._vae import VAE

__all__ = [
    "EASE",
    "AnomalyDetector",
    "BaseDetector",
    "AutoencoderImputer",
    "default_imputer_model",
    "ConvAutoencoder",
    "ConvVAE",
    "VAE",
    "default_detector_model",
    "AutoRec",
    "Autoencoder",
    "MultDAE",
    "MultVAE",
    "RecVAE",
    "Recommendations",
    "SeriesDetector",
    "WindowConvAutoencoder",
    "WindowLSTMAutoencoder",
]
