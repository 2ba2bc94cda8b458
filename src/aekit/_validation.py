"""Parameter checks with error messages that name the parameter, the value and what
is allowed. Called from ``fit``, never from ``__init__``."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any


def check_int(name: str, value: Any, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int >= {low}, got {value!r} ({type(value).__name__})."
        )
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}.")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    high: float = float("inf"),
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    """``value`` as a float in the interval given by ``low``/``high``."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{low}, {high}{right}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number in {interval}, got {value!r} "
            f"({type(value).__name__})."
        )
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high or number != number:
        raise ValueError(f"{name} must be in {interval}, got {value}.")
    return number


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = list(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | numbers.Integral) or value not in (0, 1):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_sizes(name: str, value: Any) -> tuple[int, ...]:
    """A sequence of layer widths (ints >= 1); a single int means one layer."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a sequence of ints >= 1 such as (64, 32), got {value!r}."
        )
    return tuple(check_int(f"{name}[{i}]", v) for i, v in enumerate(value))
