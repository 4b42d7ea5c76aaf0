"""Parameter constraints as data, one validator, one message format.

Every config dataclass declares, next to its fields, a class attribute

    CONSTRAINTS = {"epochs": Interval(int, 1, 1000), "lr": Interval(float, 0, 10, closed="right"),
                   "optimizer": Options("sgd", "adam"), "augment": Boolean()}

(in the spirit of scikit-learn's `_parameter_constraints`). `check(config)` reads
them and raises a LabsError in one format for every field of every lab:

    invalid epochs: expected a whole number in [1, 1000], got -3

`build(Config, **raw)` first converts raw form or CLI values (a Gradio Number
sends 3.0 for 3, a CheckboxGroup a list, a Textbox a string) to the declared
type, then checks. The tabs, the CLI and the Python API all go through it, so the
same bad value gets the same sentence everywhere. No torch here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral, Real

from labs.core.errors import LabsError


@dataclass(frozen=True)
class Interval:
    """A number of type int or float in a range; lo/hi None = unbounded on that side."""

    type: type
    lo: float | None = None
    hi: float | None = None
    closed: str = "both"  # "both" | "left" | "right" | "neither"

    def describe(self) -> str:
        kind = "a whole number" if self.type is int else "a number"
        if self.lo is None and self.hi is None:
            return kind
        if self.hi is None:
            return f"{kind} {'>=' if self.closed in ('both', 'left') else '>'} {_num(self.lo)}"
        if self.lo is None:
            return f"{kind} {'<=' if self.closed in ('both', 'right') else '<'} {_num(self.hi)}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {left}{_num(self.lo)}, {_num(self.hi)}{right}"

    def convert(self, value):
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str):
            value = value.strip()
            value = float(value) if value else None
        if value is None:
            raise ValueError
        value = float(value) if not isinstance(value, Integral) else int(value)
        if self.type is int:
            if isinstance(value, float):
                if not math.isfinite(value) or value != int(value):
                    raise ValueError
                value = int(value)
            return value
        return float(value)

    def is_valid(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, Real):
            return False
        if self.type is int and not isinstance(value, Integral):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        lo_ok = self.lo is None or (value >= self.lo if self.closed in ("both", "left") else value > self.lo)
        hi_ok = self.hi is None or (value <= self.hi if self.closed in ("both", "right") else value < self.hi)
        return lo_ok and hi_ok


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings (or other hashables)."""

    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", tuple(values))

    def describe(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)

    def convert(self, value):
        return value.strip() if isinstance(value, str) else value

    def is_valid(self, value) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False


@dataclass(frozen=True)
class Subset:
    """A non-empty (unless min_size=0) tuple of distinct values from a fixed set; a comma list is accepted."""

    values: tuple
    min_size: int = 1

    def describe(self) -> str:
        what = "a non-empty selection" if self.min_size else "a selection"
        return f"{what} from " + ", ".join(str(v) for v in self.values)

    def convert(self, value):
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v for v in (s.strip() for s in value.split(",")) if v]
        return tuple(value)

    def is_valid(self, value) -> bool:
        try:
            return (isinstance(value, tuple) and len(value) >= self.min_size and len(set(value)) == len(value)
                    and all(v in self.values for v in value))
        except TypeError:
            return False


@dataclass(frozen=True)
class Boolean:
    def describe(self) -> str:
        return "true or false"

    def convert(self, value):
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.strip().lower() in ("true", "1", "yes")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
        return value

    def is_valid(self, value) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text:
    """A string of at most max_len characters (after stripping)."""

    max_len: int = 200

    def describe(self) -> str:
        return f"text of at most {self.max_len} characters"

    def convert(self, value):
        return "" if value is None else str(value).strip()

    def is_valid(self, value) -> bool:
        return isinstance(value, str) and len(value) <= self.max_len


@dataclass(frozen=True)
class Name(Text):
    """A file's name in a known folder (a checkpoint), never a path: a page must not pick files."""

    def describe(self) -> str:
        return f"a name from the list (no folders, at most {self.max_len} characters)"

    def is_valid(self, value) -> bool:
        return super().is_valid(value) and "/" not in value and "\\" not in value and not value.startswith(".")


@dataclass(frozen=True)
class Numbers:
    """Distinct numbers typed as a comma list ("1,10,100"), each within `each`, at most max_len of them."""

    each: Interval
    max_len: int = 64

    def describe(self) -> str:
        return f"1 to {self.max_len} comma-separated numbers, each {self.each.describe()}"

    def convert(self, value):
        items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value or ())
        return tuple(dict.fromkeys(self.each.convert(v) for v in items if str(v).strip()))

    def is_valid(self, value) -> bool:
        return (isinstance(value, tuple) and 1 <= len(value) <= self.max_len
                and all(self.each.is_valid(v) for v in value))


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def message(name: str, constraint, value) -> str:
    """The one message format."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"invalid {name.replace('_', ' ')}: expected {constraint.describe()}, got {shown}"


def check_value(name: str, constraint, value):
    """Convert and check one value; returns the converted value or raises the one-format LabsError."""
    try:
        converted = constraint.convert(value)
    except (TypeError, ValueError, OverflowError):
        raise LabsError(message(name, constraint, value)) from None
    if not constraint.is_valid(converted):
        raise LabsError(message(name, constraint, value))
    return converted


def check(config) -> None:
    """Raise the one-format LabsError for the first field of `config` that breaks its constraint."""
    for name, constraint in type(config).CONSTRAINTS.items():
        value = getattr(config, name)
        if not constraint.is_valid(value):
            raise LabsError(message(name, constraint, value))


class Checked:
    """Mixin for config dataclasses: construction checks CONSTRAINTS, so no invalid config exists.
    A subclass with cross-field rules overrides `check_more` (raise LabsError via `fail`)."""

    CONSTRAINTS: dict = {}

    def __post_init__(self):
        check(self)
        self.check_more()

    def check_more(self) -> None:
        pass


def fail(name: str, expected: str, value) -> None:
    """Raise the one-format LabsError for a rule that is not a single-field constraint."""
    shown = repr(value)
    raise LabsError(f"invalid {name.replace('_', ' ')}: expected {expected}, got {shown[:60]}")


def build(cls, **raw):
    """Config `cls` from raw values (form fields, CLI strings): converted to each field's declared type,
    checked against cls.CONSTRAINTS. Unknown names are a LabsError; missing ones keep their defaults."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise LabsError(f"unknown setting(s) {unknown} for {cls.__name__}; known: {sorted(fields)}")
    values = {}
    for name, value in raw.items():
        constraint = cls.CONSTRAINTS.get(name)
        values[name] = check_value(name, constraint, value) if constraint is not None else value
    config = cls(**values)
    check(config)
    return config


def replace(config, **raw):
    """dataclasses.replace with the same conversion and checks as build()."""
    return build(type(config), **{**dataclasses.asdict(config), **raw})
