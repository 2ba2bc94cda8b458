"""A name -> estimator class registry, so that `load`, the CLI and the shared test
suite can iterate over every model without if/elif chains.

Each entry carries its metadata: the name models are saved and chosen under, and
the kind of input ``fit`` takes ("table", "images", "any" for either, or
"ratings"), which tells the CLI how to read a data file for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", bound=type)

INPUT_KINDS = ("table", "images", "any", "ratings", "series")


@dataclass(frozen=True)
class Entry:
    name: str
    cls: type
    input_kind: str = "table"


_REGISTRY: dict[str, Entry] = {}


def register(name: str, *, input_kind: str = "table") -> Callable[[T], T]:
    """Class decorator: make an estimator known under ``name``."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")

    def decorate(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"estimator name {name!r} is already registered")
        _REGISTRY[name] = Entry(name, cls, input_kind)
        return cls

    return decorate


def _entry_of(cls: type) -> Entry:
    for entry in _REGISTRY.values():
        if entry.cls is cls:
            return entry
    raise ValueError(f"{cls.__name__} is not a registered aekit estimator")


def name_of(cls: type) -> str:
    """The name ``cls`` is registered under (what `aekit.save` writes)."""
    return _entry_of(cls).name


def input_kind(cls: type) -> str:
    """What ``cls.fit`` takes: "table", "images", "any" or "ratings"."""
    return _entry_of(cls).input_kind


def get_estimator_class(name: str) -> type:
    """The class registered under ``name``; a clear error lists the known names."""
    try:
        return _REGISTRY[name].cls
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown model {name!r}; known models: {known}") from None


def registered_names() -> list[str]:
    """All registered estimator names, sorted."""
    return sorted(_REGISTRY)
