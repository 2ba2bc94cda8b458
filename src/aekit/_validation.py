"""Parameter checks with error messages that name the parameter, the value and what
is allowed. Called from ``fit`` (and `aekit.load`), never from ``__init__``.

The ``check_*`` functions check one value; the constraint objects (`Int`, `Real`,
`Choice`, `Bool`, `Sizes`, `ColumnName`, `Optional`) declare them in an
estimator's ``_parameter_constraints`` table, which `check_params` checks.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
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


# -- declared constraints ---------------------------------------------------------
# An estimator class declares ``_parameter_constraints = {name: constraint}``; the
# tables of its base classes are merged in (a subclass may redeclare a name), and
# `check_params` checks them all at the start of ``fit`` and in `aekit.load`.
# Rules that tie parameters together go in the class's ``_check_param_rules()``.


class Constraint:
    """What one parameter may be; ``check`` raises with a message that names the
    parameter, the value and what is allowed."""

    def check(self, name: str, value: Any) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Constraint):
    """An int >= ``low`` (not a bool)."""

    low: int = 1

    def check(self, name: str, value: Any) -> None:
        check_int(name, value, low=self.low)


@dataclass(frozen=True)
class Real(Constraint):
    """A number in the interval from ``low`` to ``high``, each end open or closed."""

    low: float = 0.0
    high: float = float("inf")
    low_open: bool = False
    high_open: bool = True

    def check(self, name: str, value: Any) -> None:
        check_float(
            name,
            value,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            high_open=self.high_open,
        )


@dataclass(frozen=True)
class Choice(Constraint):
    """One of ``choices`` (any iterable; kept as a tuple)."""

    choices: tuple[Any, ...]

    def __init__(self, choices: Iterable[Any]) -> None:
        object.__setattr__(self, "choices", tuple(choices))

    def check(self, name: str, value: Any) -> None:
        check_choice(name, value, self.choices)


@dataclass(frozen=True)
class Bool(Constraint):
    """True or False (1 and 0 pass too)."""

    def check(self, name: str, value: Any) -> None:
        check_bool(name, value)


@dataclass(frozen=True)
class Sizes(Constraint):
    """Layer widths: a sequence of ints >= 1, or one int."""

    def check(self, name: str, value: Any) -> None:
        check_sizes(name, value)


@dataclass(frozen=True)
class ColumnName(Constraint):
    """A table column: a str or int label."""

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, str | int):
            raise TypeError(f"{name} must be a column name or None, got {value!r}")


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or what ``inner`` allows."""

    inner: Constraint

    def check(self, name: str, value: Any) -> None:
        if value is not None:
            self.inner.check(name, value)


@dataclass(frozen=True)
class InstancesOf(Constraint):
    """A list (or tuple) of instances of ``cls``."""

    cls: type

    def check(self, name: str, value: Any) -> None:
        kind = self.cls.__name__
        if not isinstance(value, list | tuple):
            raise TypeError(f"{name} must be a list of {kind} objects, got {value!r}.")
        for i, item in enumerate(value):
            if not isinstance(item, self.cls):
                raise TypeError(
                    f"{name} must be a list of {kind} objects, but {name}[{i}] is "
                    f"{item!r} ({type(item).__name__})."
                )


@dataclass(frozen=True)
class Auto(Constraint):
    """ "auto" (resolved from the data in ``fit``, see `aekit.defaults`), or what
    ``inner`` allows."""

    inner: Constraint

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, str) and value == "auto":
            return
        try:
            self.inner.check(name, value)
        except (TypeError, ValueError) as exc:
            message = str(exc).replace(f"{name} must be ", f"{name} must be 'auto' or ")
            raise type(exc)(message) from None


def parameter_constraints(cls: type) -> dict[str, Constraint]:
    """The ``_parameter_constraints`` tables of ``cls`` and its bases, merged from
    the most basic class down (a subclass's entry replaces its base's)."""
    merged: dict[str, Constraint] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("_parameter_constraints", {}))
    return merged


def check_params(estimator: Any) -> None:
    """Check every declared parameter of ``estimator``, then the rules that relate
    parameters (its ``_check_param_rules()``, when it has one). Raises ValueError
    or TypeError naming the parameter."""
    for name, constraint in parameter_constraints(type(estimator)).items():
        constraint.check(name, getattr(estimator, name))
    rules = getattr(estimator, "_check_param_rules", None)
    if rules is not None:
        rules()
