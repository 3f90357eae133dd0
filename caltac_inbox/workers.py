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
input (an executor's `map()` would submit the whole input up front).
The first `start_after` items are read in this process, so reading a handful of
messages never starts a worker.

Worker processes are forked where the platform allows (nothing to import again) after
`before_start()` (the caller closes its database connections: a forked child must not
inherit them), ignore SIGINT (Ctrl-C is the caller's to handle), and exit when the
caller's process is gone (after kill -9 they would otherwise wait forever). A worker that
dies (a crash, the OOM killer) breaks the pool: the chunks it was reading are read again
one item at a time in a one-worker pool of their own (so no other chunk's crash is blamed
on them), later chunks go to a new pool, and an item that breaks the one-worker pool too
gets `crashed(item, error)`.
"""
from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

PARENT_CHECK_SECONDS = 0.5


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
    read: Callable[[list[Item]], list[Answer]],
    *,
    workers: int,
    size: Callable[[Item], int] = lambda item: 0,
    crashed: Callable[[Item, BaseException], Answer],
    before_start: Callable[[], None] = lambda: None,
    start_after: int = 32,
    chunk_size: int = 16,
    chunk_bytes: int = 2 * 2**20,
    in_flight: int | None = None,
    in_flight_bytes: int = 32 * 2**20,
) -> Iterator[tuple[Item, Answer | None]]:
    """See the module docstring. With `workers` < 2 everything is read in this process."""
    source = iter(items)
    for item in itertools.islice(source, start_after) if workers >= 2 else source:
        yield item, (read([item])[0] if wanted(item) else None)
    if workers < 2:
        return
    first = next(source, _END)
    if first is _END:
        return
    chunks = _chunks(itertools.chain([first], source), wanted, size, chunk_size, chunk_bytes)
    yield from _Pool(read, workers, crashed, before_start).run(chunks, in_flight or 3 * workers, in_flight_bytes)


_END: Any = object()


class _Pool(Generic[Item, Answer]):
    def __init__(self, read: Callable[[list[Item]], list[Answer]], workers: int,
                 crashed: Callable[[Item, BaseException], Answer], before_start: Callable[[], None]) -> None:
        self.read = read
        self.workers = workers
        self.crashed = crashed
        self.before_start = before_start
        self.executor: ProcessPoolExecutor | None = None
        # Suspects (the items of a chunk whose pool broke) are read one at a time in a
        # pool of their own: in the shared pool another chunk's crash would be blamed on
        # whichever suspect was being read at that moment.
        self.isolation: ProcessPoolExecutor | None = None

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        import gc
        import multiprocessing

        self.before_start()
        # garbage a forked child collected would be finalized there (a database
        # connection object closing the parent's file, say): collect it here first
        gc.collect()
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                   initializer=_worker_setup, initargs=(os.getpid(),))

    def _executor(self) -> ProcessPoolExecutor:
        if self.executor is None:
            self.executor = self._new_pool(self.workers)
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
        try:
            for chunk in chunks:
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
        finally:
            for pool in (self.executor, self.isolation):
                if pool is not None:
                    # after an interruption: drop what was not started, do not wait for the rest
                    pool.shutdown(wait=clean, cancel_futures=not clean)

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

    def _read_chunk(self, chunk: _Chunk) -> list[Answer]:
        if chunk.future is None:
            return []
        try:
            return chunk.future.result()
        except BrokenProcessPool:
            self._drop_broken(chunk.executor)
            return [self._read_alone(item) for item in chunk.wanted]
        except Exception:  # noqa: BLE001 - e.g. an answer that cannot be pickled: read here instead
            return self.read(chunk.wanted)

    def _read_alone(self, item: Item) -> Answer:
        if self.isolation is None:
            self.isolation = self._new_pool(1)
        try:
            return self.isolation.submit(self.read, [item]).result()[0]
        except BrokenProcessPool as exc:
            self.isolation.shutdown(wait=False, cancel_futures=True)
            self.isolation = None
            return self.crashed(item, exc)
        except Exception:  # noqa: BLE001
            return self.read([item])[0]


def _chunks(items: Iterator[Item], wanted: Callable[[Item], bool], size: Callable[[Item], int],
            chunk_size: int, chunk_bytes: int) -> Iterator[_Chunk]:
    chunk: _Chunk = _Chunk([], [])
    for item in items:
        is_wanted = wanted(item)
        chunk.items.append((item, is_wanted))
        if is_wanted:
            chunk.wanted.append(item)
            chunk.held += size(item)
        if len(chunk.items) >= chunk_size or chunk.held >= chunk_bytes:
            yield chunk
            chunk = _Chunk([], [])
    if chunk.items:
        yield chunk


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


__all__ = ["available_cpus", "read_in_order"]
