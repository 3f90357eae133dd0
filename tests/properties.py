"""Example counts of the property (and random-sample) tests: a few in a bare `pytest
tests/unit`, the full count in a `slow` twin that `make test` runs as well
(`-m "slow or not slow"`).

    @fast_and_full(50, 300)
    def test_something(max_examples):
        @settings(max_examples=max_examples, deadline=None)
        @given(...)
        def check(...): ...

        check()

runs as test_something[50-examples] by default and test_something[300-examples] (marked
slow) in `make test`: the same property, searched 300 times where time allows.
"""
from __future__ import annotations

import pytest


def fast_and_full(fast: int, full: int) -> pytest.MarkDecorator:
    """Parametrize `max_examples` with `fast` (the default run) and `full` (marked slow)."""
    assert 0 < fast < full
    return pytest.mark.parametrize("max_examples", [
        pytest.param(fast, id=f"{fast}-examples"),
        pytest.param(full, id=f"{full}-examples", marks=pytest.mark.slow),
    ])
