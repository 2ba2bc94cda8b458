"""A name -> estimator class registry, so that `load`, the CLI and the shared test
suite can iterate over every model without if/elif chains."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

_REGISTRY: dict[str, type] = {}


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make an estimator known under ``name``."""

    def decorate(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"estimator name {name!r} is already registered")
        _REGISTRY[name] = cls
        cls._registry_name = name  # type: ignore[attr-defined]
        return cls

    return decorate


def get_estimator_class(name: str) -> type:
    """The class registered under ``name``; a clear error lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown model {name!r}; known models: {known}") from None


def registered_names() -> list[str]:
    """All registered estimator names, sorted."""
    return sorted(_REGISTRY)
