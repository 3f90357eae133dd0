"""Ordered rule tables for the kind classifiers, in the arbiter's shape (classify.arbiter).

A kind's table is a short tuple of `KindRule`s: a name a coordinator can read in `--explain`,
a predicate over what the kind reads (a sentence, a dated mention, a notice), and the outcome
when the predicate holds. The first rule that holds decides; a table ends with a rule that
always holds, so every subject gets a named outcome.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Subject = TypeVar("Subject")
Outcome = TypeVar("Outcome")
Value = TypeVar("Value")


@dataclass(frozen=True)
class KindRule(Generic[Subject, Outcome]):
    """When `holds(subject)`: `outcome`, for the reason `name`."""

    name: str
    holds: Callable[[Subject], bool]
    outcome: Outcome


def always(_subject: object) -> bool:
    """The last rule of a table: whatever no earlier rule decided."""
    return True


def first_rule(table: tuple[KindRule[Subject, Outcome], ...], subject: Subject) -> KindRule[Subject, Outcome]:
    """The first rule of `table` that holds for `subject`; a table must end with an `always` rule."""
    for rule in table:
        if rule.holds(subject):
            return rule
    raise ValueError(f"rule table without a last rule that always holds: {[r.name for r in table]}")


@dataclass(frozen=True)
class Source(Generic[Subject, Value]):
    """Where a kind looks for a value (a removal time, say): `find` gives it, or None."""

    name: str
    find: Callable[[Subject], Value | None]


def first_found(table: tuple[Source[Subject, Value], ...], subject: Subject) -> tuple[str, Value] | None:
    """(name, value) of the first source in `table` that finds a value for `subject`, else None."""
    for source in table:
        value = source.find(subject)
        if value is not None:
            return source.name, value
    return None


__all__ = ["KindRule", "Source", "always", "first_found", "first_rule"]
