"""What a run may cost: the memory budget of the mail it holds at once (below), and
what reading one message (parse + classify) may cost: `seconds` of wall time and
`memory_mb` of memory beyond what the reading process already holds.

Memory: a run holds mail bytes in four places at once, each bounded here:

- FETCH_BYTES (16 MiB): the bodies one IMAP FETCH brings in (imaplib holds the whole
  response; bodies are handed on one by one);
- READ_AHEAD_BYTES (32 MiB) + READ_CHUNK_BYTES (2 MiB): messages sent to the worker
  processes and not yet stored (workers.read_in_order);
- BATCH_BYTES (16 MiB): messages read and waiting for their transaction (store.writer.Batch);
- and each worker reads one message within ReadBudget.memory_mb (512 MB by default) of
  its own address space.

Together at most 66 MiB of mail in the storing process (16 + 34 + 16), plus one message
per place that is larger than its place's limit (it travels alone), plus up to
MAX_WORKERS (pipeline) workers' budgets. MAX_MESSAGE_MB (25 MB, `ingest --max-size`,
`[mailbox] max_message_mb`) is the size above which a message is archived unparsed.

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
  call, where the timer cannot interrupt it, is killed by the kernel (SIGXCPU, no core
  file), and the caller reports it.

In the caller's own process `enforced` does nothing: a signal or a limit there would
hit the database work too.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import Any

try:
    import resource
except ImportError:  # not POSIX: no limits to set (the tool's locks need POSIX anyway)
    resource = None  # type: ignore[assignment]

MIB = 2**20
FETCH_BYTES = 16 * MIB
READ_CHUNK_BYTES = 2 * MIB
READ_AHEAD_BYTES = 32 * MIB
BATCH_BYTES = 16 * MIB
MAX_MESSAGE_MB = 25

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


def enforced(budget: ReadBudget | None) -> contextlib.AbstractContextManager:
    """A context manager running its body within `budget` (see the module docstring);
    only in a worker process."""
    import multiprocessing  # loaded already wherever there are workers; not at start-up

    if budget is None or resource is None or multiprocessing.parent_process() is None:
        return contextlib.nullcontext()
    return _Enforced(budget)


class _Enforced:
    """The limits of one read, set on entry and taken back on exit (~15 us in all)."""

    def __init__(self, budget: ReadBudget) -> None:
        self.budget = budget
        self.armed = False
        self.restore: list[tuple[int, tuple[int, int]]] = []
        self.previous_handler: Any = None

    def __enter__(self) -> None:
        import signal  # not at start-up: its enums cost ~1 ms to build

        budget = self.budget
        self.previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        try:
            _no_core_files()
            _limit(resource.RLIMIT_CPU, math.ceil(_cpu_seconds() + budget.seconds + CPU_GRACE), self.restore)
            address_space = _address_space()
            if address_space is not None:
                _limit(resource.RLIMIT_AS, address_space + budget.memory_mb * 2**20, self.restore)
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, budget.seconds)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: Any) -> None:
        import signal

        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous_handler)
        for which, limits in reversed(self.restore):
            resource.setrlimit(which, limits)
        self.restore.clear()

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self.armed:  # not once the body is done: the alarm may come between it and __exit__
            raise OverTime()


def _limit(which: int, soft: int, restore: list[tuple[int, tuple[int, int]]]) -> None:
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
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# Per process (keyed by pid: a forked child starts with its parent's copies)
_STATM: dict[int, int] = {}  # an open /proc/self/statm
_WITHOUT_CORE_FILES: set[int] = set()


def _no_core_files() -> None:
    """Once per process: a process the CPU limit kills writes no core file."""
    if os.getpid() not in _WITHOUT_CORE_FILES:
        _WITHOUT_CORE_FILES.add(os.getpid())
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def _address_space() -> int | None:
    """This process's virtual size in bytes (Linux); None where it cannot be read. The
    file stays open: reading it is then a few microseconds per message."""
    pid = os.getpid()
    try:
        if pid not in _STATM:
            _STATM[pid] = os.open("/proc/self/statm", os.O_RDONLY)
        return int(os.pread(_STATM[pid], 64, 0).split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


__all__ = ["BATCH_BYTES", "DEFAULT_BUDGET", "FETCH_BYTES", "MAX_MESSAGE_MB", "MESSAGE_MEMORY_MB_RANGE",
           "MESSAGE_SECONDS_RANGE", "OverTime", "READ_AHEAD_BYTES", "READ_CHUNK_BYTES", "ReadBudget", "enforced"]
