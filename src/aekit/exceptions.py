"""Errors raised by aekit, so users can catch them by name."""


class AekitError(Exception):
    """Base class of every error aekit raises on purpose."""


class ModelFileError(AekitError, ValueError):
    """A saved model folder is missing, truncated, tampered with or incompatible."""


class TrainingError(AekitError, RuntimeError):
    """Training could not go on (for example the loss became NaN or infinite)."""
