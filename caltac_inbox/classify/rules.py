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


__all__ = ["KindRule", "always", "first_rule"]
