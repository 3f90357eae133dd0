"""Runs the behavioural variants once per session and prints the pass rate per family
after the run (and, with CALTAC_BEHAVIOUR_FAILURES=N, the first N failures of each)."""
from __future__ import annotations

import time

import pytest

from tests.unit.behaviour.generate import Variant, generate
from tests.unit.behaviour.score import (
    FamilyScore,
    Outcome,
    failures,
    failures_wanted,
    run,
    scores,
    table,
)

_RESULTS = pytest.StashKey[tuple[list[Outcome], list[FamilyScore], float]]()


@pytest.fixture(scope="session")
def variants() -> list[Variant]:
    """The variants of the default seed, generated once per session (they are frozen):
    the tests that read them and the extraction below share one list."""
    return generate()


@pytest.fixture(scope="session")
def behaviour(request: pytest.FixtureRequest, variants: list[Variant]) -> tuple[list[Outcome], list[FamilyScore]]:
    """(every variant's outcome, the score of each family), computed once."""
    started = time.perf_counter()
    outcomes = run(variants)
    family_scores = scores(outcomes)
    request.config.stash[_RESULTS] = (outcomes, family_scores, time.perf_counter() - started)
    return outcomes, family_scores


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if _RESULTS not in config.stash:
        return
    outcomes, family_scores, seconds = config.stash[_RESULTS]
    terminalreporter.section("behavioural suite: pass rate per family")
    terminalreporter.write_line(table(family_scores))
    terminalreporter.write_line(f"{len(outcomes)} variants built as messages and extracted in {seconds:.1f} s; "
                                "list failures with CALTAC_BEHAVIOUR_FAILURES=N or "
                                "python -m tests.unit.behaviour --failures N [--family F]")
    limit = failures_wanted()
    if limit:
        terminalreporter.write_line(failures(outcomes, None, limit))
