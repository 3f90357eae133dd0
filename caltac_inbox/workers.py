"""Read items in worker processes, answers in input order, with bounded read-ahead.

`read_in_order(items, wanted, read, ...)` yields `(item, answer)` for every input item,
in input order: `answer` is what `read` returned for the item when `wanted(item)`, else
None. `read` takes a list of items and returns one answer per item; it runs in worker
processes (it must be picklable: a module-level function or a partial of one).

Why: a backfill spends ~3 ms per notice parsing and classifying and ~1 ms storing it;
with the reading in workers the caller's process only stores, and two CPUs do the work
of two.

Bounded: at most `in_flight` chunks (each at most `chunk_size` items and, unless one
item is bigger, `chunk_bytes` bytes), and beyond the oldest chunk at most
`in_flight_bytes`, are submitted and not yet consumed, so memory does not grow with the
input (an executor's `map()` would submit the whole input up front). Chunks start at
one item and double, so the first answer comes back as soon as the first item is read.
With `workers=0` everything is read in this process; otherwise the first `start_after`
items are read in this process, or with `contained=True` one at a time by a single
worker process: reading a handful of messages never starts a pool. When the input holds
one wanted item only (read_in_order looks one item ahead to know), that process is forked
without `warm_up()`: it reads the item cold, which costs less than warming the caller
first (the warm-up reads notices of its own) and pays only where several processes
inherit it. `while_reading()` runs in the caller's process once, while the first item
read alone is being read: what the caller does next anyway (loading what stores the
answer) then runs on another CPU meanwhile.

Worker processes are forked where the platform allows (nothing to import again) after
`warm_up()` (the caller reads something so that every process forked inherits what its
first read costs) and `before_start()` (the caller closes its database connections: a
forked child must not inherit them), ignore SIGINT (Ctrl-C is the caller's to handle), and exit when the
caller's process is gone (after kill -9 they would otherwise wait forever). A worker that
dies (a crash, the OOM killer, a CPU limit) breaks the pool: the chunks it was reading
are read again one item at a time by a process of their own (so no other chunk's crash
is blamed on them), later chunks go to a new pool, and an item that kills that process
too gets `crashed(item, WorkerDeath)` (the next one gets a new process).

With `item_seconds`, a watchdog stops workers that give no answer: a chunk gets
`item_seconds` per item from the moment its answer is awaited, and an item read alone
gets `item_seconds`; an item stopped that way gets `crashed(item, WorkerDeath(stopped_after=...))`.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Generator, Generic, Iterable, Iterator, Sequence, TypeVar

from caltac_inbox.budget import READ_AHEAD_BYTES, READ_CHUNK_BYTES

Item = TypeVar("Item")
Answer = TypeVar("Answer")

PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class WorkerDeath:
    """Why the process reading an item gave no answer."""

    signal: int | None = None  # the signal that ended it
    exit_code: int | None = None
    stopped_after: float | None = None  # seconds after which the watchdog stopped it

    def __str__(self) -> str:
        if self.stopped_after is not None:
            return f"no answer after {self.stopped_after:g} s, stopped"
        if self.signal is not None:
            import signal

            try:
                return f"killed by {signal.Signals(self.signal).name}"
            except ValueError:
                return f"killed by signal {self.signal}"
        return f"exited with code {self.exit_code}"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class _Chunk(Generic[Item]):
    items: list[tuple[Item, bool]]  # (item, wanted)
    wanted: list[Item]
    held: int = 0  # size() of the wanted items
    future: Future | None = None
    executor: ProcessPoolExecutor | None = None  # the pool reading it


def read_in_order(
    items: Iterable[Item],
    wanted: Callable[[Item], bool],
    read: Callable[[list[Item]], Sequence[Answer]],
    *,
    workers: int,
    size: Callable[[Item], int] = lambda item: 0,
    crashed: Callable[[Item, WorkerDeath], Answer],
    before_start: Callable[[], None] = lambda: None,
    warm_up: Callable[[], None] = lambda: None,
    while_reading: Callable[[], None] = lambda: None,
    start_after: int = 32,
    chunk_size: int = 16,
    chunk_bytes: int = READ_CHUNK_BYTES,
    in_flight: int | None = None,
    in_flight_bytes: int = READ_AHEAD_BYTES,
    item_seconds: float | None = None,
    contained: bool = False,
) -> Generator[tuple[Item, Answer | None], None, None]:
    """See the module docstring. With `workers=0` everything is read in this process."""
    source = _Lookahead(iter(items))
    pool = _Pool(read, workers, crashed, before_start, item_seconds, warm_up, while_reading)
    try:
        for item in itertools.islice(source, start_after) if workers >= 1 else source:
            if not wanted(item):
                yield item, None
            elif contained and workers >= 1:
                yield item, pool.read_alone(item, last=source.at_end)
            else:
                yield item, read([item])[0]
        pool.close_isolation()  # the pool's processes would hold its pipe open
        if workers < 1:
            return
        first = next(source, _END)
        if first is _END:
            return
        chunks = _chunks(itertools.chain([first], source), wanted, size, chunk_size, chunk_bytes)
        yield from pool.run(chunks, in_flight or 3 * workers, in_flight_bytes)
    finally:
        pool.close_isolation()


_END: Any = object()


class _Lookahead(Iterator[Item]):
    """`source`, able to tell whether another item follows (`at_end()`) by holding it
    until it is asked for. An error the source raises while looked ahead is raised when
    that item's turn comes: the items before it come out first (and are stored: Ctrl-C
    too), as without the look."""

    def __init__(self, source: Iterator[Item]) -> None:
        self.source = source
        self.held: deque[Item] = deque()
        self.failed: BaseException | None = None

    def __iter__(self) -> "_Lookahead[Item]":
        return self

    def __next__(self) -> Item:
        if self.held:
            return self.held.popleft()
        if self.failed is not None:
            failed, self.failed = self.failed, None
            raise failed
        return next(self.source)

    def at_end(self) -> bool:
        """Whether the source has nothing more (it is read one item ahead to know)."""
        if self.held or self.failed is not None:
            return False
        try:
            self.held.append(next(self.source))
        except StopIteration:
            return True
        except BaseException as exc:  # noqa: BLE001 - raised in its turn (Ctrl-C too: what is read is stored)
            self.failed = exc
            return False
        return False


class _Pool(Generic[Item, Answer]):
    def __init__(self, read: Callable[[list[Item]], Sequence[Answer]], workers: int,
                 crashed: Callable[[Item, WorkerDeath], Answer], before_start: Callable[[], None],
                 item_seconds: float | None, warm_up: Callable[[], None] = lambda: None,
                 while_reading: Callable[[], None] | None = None) -> None:
        self.read = read
        self.workers = workers
        self.crashed = crashed
        self.before_start = before_start
        self.warm_up = warm_up
        self.while_reading = while_reading  # called once, then None
        self.item_seconds = item_seconds
        self.executor: ProcessPoolExecutor | None = None
        self.isolation: _Isolation | None = None

    @contextlib.contextmanager
    def _forking(self, warm: bool = True) -> Iterator[None]:
        """Around a fork: `warm_up()` (if `warm`), `before_start()`, and the garbage
        collector frozen, so a child never collects (and finalizes) what it inherited,
        such as a database connection object that would close the parent's file.
        Freezing is O(1); collecting first cost ~15 ms per fork."""
        import gc

        if warm:
            self.warm_up()
        self.before_start()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()

    def _executor(self) -> ProcessPoolExecutor:
        if self.executor is None:
            executor = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_worker_setup,
                                           initargs=(os.getpid(),))
            with self._forking():
                executor.submit(int)  # the first submit forks the workers (start method fork): here
            self.executor = executor
        return self.executor

    def _drop_broken(self, broken: ProcessPoolExecutor | None) -> None:
        """Forget a broken pool (its other chunks fail too, and are read again); the
        next read starts a new one."""
        if broken is not None and broken is self.executor:
            broken.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def run(self, chunks: Iterator[_Chunk], in_flight: int,
            in_flight_bytes: int) -> Iterator[tuple[Item, Answer | None]]:
        queue: deque[_Chunk] = deque()
        held = 0
        clean = False
        failed: BaseException | None = None
        try:
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except BaseException as exc:  # noqa: BLE001 - the input failed (or Ctrl-C): what is read still comes out
                    failed = exc
                    break
                if chunk.wanted:
                    self._submit(chunk)
                queue.append(chunk)
                held += chunk.held
                while queue and (len(queue) > in_flight or queue[0].future is None
                                 or (held > in_flight_bytes and len(queue) > 1)):
                    done = queue.popleft()
                    held -= done.held
                    yield from self._answers(done)
            while queue:
                yield from self._answers(queue.popleft())
            clean = True
            if failed is not None:
                raise failed
        finally:
            if self.executor is not None:
                # after an interruption: drop what was not started, do not wait for the rest
                self.executor.shutdown(wait=clean, cancel_futures=not clean)

    def _submit(self, chunk: _Chunk) -> None:
        executor = self._executor()
        try:
            chunk.future = executor.submit(self.read, chunk.wanted)
        except BrokenProcessPool:  # a worker died since the last answer was read
            self._drop_broken(executor)
            executor = self._executor()
            chunk.future = executor.submit(self.read, chunk.wanted)
        chunk.executor = executor

    def _answers(self, chunk: _Chunk) -> Iterator[tuple[Item, Answer | None]]:
        answers = iter(self._read_chunk(chunk))
        for item, wanted in chunk.items:
            yield item, (next(answers) if wanted else None)

    def _read_chunk(self, chunk: _Chunk) -> Sequence[Answer]:
        if chunk.future is None:
            return []
        timeout = None if self.item_seconds is None else self.item_seconds * len(chunk.wanted)
        try:
            return chunk.future.result(timeout)
        except TimeoutError:  # a worker stuck without an answer: stop the pool, read the chunk alone
            self._stop(chunk.executor)
            return [self.read_alone(item) for item in chunk.wanted]
        except BrokenProcessPool:
            self._drop_broken(chunk.executor)
            return [self.read_alone(item) for item in chunk.wanted]
        except Exception:  # noqa: BLE001 - e.g. an answer that cannot be pickled: read here instead
            return self.read(chunk.wanted)

    def _stop(self, executor: ProcessPoolExecutor | None) -> None:
        """Kill the pool's workers (one holds a stuck read) and forget the pool."""
        processes = getattr(executor, "_processes", None) or {}  # no public way before Python 3.14
        for process in list(processes.values()):
            process.kill()
        self._drop_broken(executor)

    def close_isolation(self) -> None:
        if self.isolation is not None:
            self.isolation.close()
            self.isolation = None

    def read_alone(self, item: Item, last: Callable[[], bool] = lambda: False) -> Answer:
        """`item` read by the isolation process, which reads items one at a time (the
        first few of a contained input, and suspects: in the shared pool another
        chunk's crash would be blamed on them) and is replaced when one kills it or
        gives no answer within `item_seconds`. `last()`, asked before a fork, says
        whether no item follows: then the process is forked without the warm-up."""
        if self.isolation is None:
            self.isolation = _Isolation(self.read, functools.partial(self._forking, warm=not last()))
        isolation = self.isolation
        meanwhile, self.while_reading = self.while_reading, None
        try:
            sent, answer = isolation.ask(item, self.item_seconds, meanwhile)
        except _NoAnswer as failure:
            self.isolation = None
            return self.crashed(item, failure.death)
        return answer if sent else self.read([item])[0]  # its answer could not be sent: read it here


class _NoAnswer(Exception):
    def __init__(self, death: WorkerDeath) -> None:
        super().__init__(str(death))
        self.death = death


class _Isolation:
    """One process reading one item at a time over a pipe."""

    def __init__(self, read: Callable[[list[Any]], Sequence[Any]],
                 forking: Callable[[], contextlib.AbstractContextManager]) -> None:
        context = _context()
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_read_alone_loop, args=(read, child_end, self.connection, os.getpid()),
                                       daemon=True)
        with forking():
            self.process.start()
        child_end.close()

    def ask(self, item: Any, seconds: float | None, meanwhile: Callable[[], None] | None = None) -> tuple[bool, Any]:
        """(sent, answer) from the process; raises _NoAnswer (and stops it) when it dies
        or gives no answer within `seconds`. `meanwhile()` runs here once the item is
        sent, while the process reads it (an error of it stops the process and is raised)."""
        try:
            self.connection.send(item)
            if meanwhile is not None:
                self._meanwhile(meanwhile)
            if self.connection.poll(seconds):
                return self.connection.recv()
        except (EOFError, OSError):  # it died
            self.close()
            code = self.process.exitcode or 0
            raise _NoAnswer(WorkerDeath(signal=-code) if code < 0 else WorkerDeath(exit_code=code)) from None
        self.process.kill()
        self.close()
        raise _NoAnswer(WorkerDeath(stopped_after=seconds))

    def _meanwhile(self, meanwhile: Callable[[], None]) -> None:
        try:
            meanwhile()
        except BaseException:
            self.process.kill()  # its answer would find the pipe closed
            self.close()
            raise

    def close(self) -> None:
        self.connection.close()  # the process sees the end of its input and exits
        self.process.join(PARENT_CHECK_SECONDS * 4)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()


def _chunks(items: Iterator[Item], wanted: Callable[[Item], bool], size: Callable[[Item], int],
            chunk_size: int, chunk_bytes: int) -> Iterator[_Chunk]:
    chunk: _Chunk = _Chunk([], [])
    limit = 1
    for item in items:
        is_wanted = wanted(item)
        chunk.items.append((item, is_wanted))
        if is_wanted:
            chunk.wanted.append(item)
            chunk.held += size(item)
        if len(chunk.items) >= limit or chunk.held >= chunk_bytes:
            yield chunk
            chunk = _Chunk([], [])
            limit = min(2 * limit, chunk_size)
    if chunk.items:
        yield chunk


def _context() -> Any:
    """Forked processes where the platform allows (nothing to import again)."""
    import multiprocessing

    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)


def _worker_setup(parent: int) -> None:
    import gc
    import signal
    import threading
    import time

    gc.freeze()  # what was inherited is the parent's to finalize (and stays shared, not copied)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()


def _read_alone_loop(read: Callable[[list[Item]], Sequence[Answer]], connection: Any, callers_end: Any,
                     parent: int) -> None:
    """The isolation process: for each item received, sends (True, answer), or (False,
    None) when the answer cannot be sent; ends with its input."""
    callers_end.close()  # inherited: held open here, the caller closing it would never end our input
    _worker_setup(parent)
    while True:
        try:
            item = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, read([item])[0]))
        except Exception:  # noqa: BLE001 - the caller reads it itself
            connection.send((False, None))


__all__ = ["WorkerDeath", "available_cpus", "read_in_order"]
