"""The scikit-learn layer: one estimator per private module."""

from aekit.estimators._autoencoder import Autoencoder

__all__ = ["Autoencoder"]
