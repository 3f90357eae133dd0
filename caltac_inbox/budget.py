"""What reading one message (parse + classify) may cost: `seconds` of wall time and
`memory_mb` of memory beyond what the reading process already holds.

Any sender can write a message that makes a parser or classifier slow or hungry (a
Subject of many encoded words, a sentence listing a hundred days). Such a message must
not stall the poller or exhaust the machine: it is archived with the reason, and the
next message is read.

`enforced(budget)` applies the budget to the code it wraps, in a worker process only
(workers.py runs the reading in processes the caller can afford to lose):

- a timer (SIGALRM) raises `OverTime` after `seconds`: a BaseException, so no
  `except Exception` in a parser can swallow it;
- the address space may grow by `memory_mb` (RLIMIT_AS): an allocation beyond it
  raises MemoryError;
- CPU time is capped at `seconds` + CPU_GRACE (RLIMIT_CPU): code stuck inside one C
  call, where the timer cannot interrupt it, is killed by the kernel (SIGXCPU), and
  the caller's watchdog reports it.

In the caller's own process `enforced` does nothing: a signal or a limit there would
hit the database work too.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Iterator

CPU_GRACE = 2.0  # seconds of CPU beyond the budget before the kernel stops the process
# How long after the budget the caller's watchdog stops a worker that did not answer
# (stuck in one C call without using CPU): long enough for the worker's own timer and
# CPU limit to act first.
WATCHDOG_GRACE = 5.0


@dataclass(frozen=True)
class ReadBudget:
    seconds: float = 30.0
    memory_mb: int = 512

    def __post_init__(self) -> None:
        if not (self.seconds > 0 and self.memory_mb > 0):
            raise ValueError("a read budget needs positive seconds and memory_mb")

    @property
    def watchdog_seconds(self) -> float:
        return self.seconds + CPU_GRACE + WATCHDOG_GRACE


DEFAULT_BUDGET = ReadBudget()
# The budgets a user may set: the memory floor leaves room for the parser itself; the
# ceilings only catch typing mistakes.
MESSAGE_SECONDS_RANGE = (0.1, 3600.0)
MESSAGE_MEMORY_MB_RANGE = (64, 65_536)


class OverTime(BaseException):
    """Raised by the timer of `enforced` when the budget's seconds have passed."""


@contextlib.contextmanager
def enforced(budget: ReadBudget | None) -> Iterator[None]:
    """Run the body within `budget` (see the module docstring); only in a worker process."""
    import multiprocessing

    if budget is None or multiprocessing.parent_process() is None:
        yield
        return
    import resource
    import signal

    armed = True

    def on_alarm(signum: int, frame: Any) -> None:
        if armed:
            raise OverTime()

    restore: list[tuple[int, tuple[int, int]]] = []
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    try:
        _limit(resource.RLIMIT_CORE, 0, restore)  # a CPU-limit kill writes no core file
        _limit(resource.RLIMIT_CPU, math.ceil(_cpu_seconds() + budget.seconds + CPU_GRACE), restore)
        address_space = _address_space()
        if address_space is not None:
            _limit(resource.RLIMIT_AS, address_space + budget.memory_mb * 2**20, restore)
        signal.setitimer(signal.ITIMER_REAL, budget.seconds)
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        for which, limits in reversed(restore):
            resource.setrlimit(which, limits)


def _limit(which: int, soft: int, restore: list[tuple[int, tuple[int, int]]]) -> None:
    import resource

    current = resource.getrlimit(which)
    hard = current[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(which, (soft, hard))
    except (OSError, ValueError):  # not allowed here: the other limits still hold
        return
    restore.append((which, current))


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _address_space() -> int | None:
    """This process's virtual size in bytes (Linux); None where it cannot be read."""
    import resource

    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


__all__ = ["DEFAULT_BUDGET", "MESSAGE_MEMORY_MB_RANGE", "MESSAGE_SECONDS_RANGE", "OverTime", "ReadBudget", "enforced"]
