"""read_in_order: answers in input order, read in worker processes, bounded read-ahead."""
from __future__ import annotations

import os

import pytest

from caltac_inbox.workers import read_in_order

MAIN = os.getpid()


def square_with_pid(items: list[int]) -> list[tuple[int, int]]:
    return [(i * i, os.getpid()) for i in items]


POISON = {13, 57, 58}


def die_on_poison(items: list[int]) -> list[tuple[int, int]]:
    if POISON & set(items) and os.getpid() != MAIN:
        os._exit(3)  # a worker crash (segfault, OOM kill), not an exception
    return square_with_pid(items)


def crashed(item: int, death) -> tuple[str, int | None]:
    return "crashed", death.exit_code


def odd(i: int) -> bool:
    return i % 2 == 1


def test_answers_come_in_input_order_and_only_for_wanted_items():
    out = list(read_in_order(range(300), odd, square_with_pid, workers=2, crashed=crashed, start_after=10))
    assert [item for item, _ in out] == list(range(300))
    assert [answer and answer[0] for _, answer in out] == [i * i if i % 2 else None for i in range(300)]
    pids = {answer[1] for item, answer in out if answer and item > 10}
    assert pids and MAIN not in pids  # read in worker processes
    assert {answer[1] for item, answer in out if answer and item < 10} == {MAIN}  # the first ones here


def test_no_worker_or_a_short_input_reads_in_this_process():
    for workers, count in ((0, 300), (2, 20)):
        out = list(read_in_order(range(count), odd, square_with_pid, workers=workers, crashed=crashed, start_after=64))
        assert {answer[1] for _, answer in out if answer} == {MAIN}


def most_read_ahead(count: int, **options) -> int:
    """How far read_in_order ever ran ahead of its consumer over `count` items."""
    pulled = consumed = most = 0

    def source():
        nonlocal pulled
        for i in range(count):
            pulled += 1
            yield i

    for _item, _answer in read_in_order(source(), odd, square_with_pid, workers=2, crashed=crashed, start_after=0,
                                        **options):
        consumed += 1
        most = max(most, pulled - consumed)
    assert consumed == count
    return most


def test_read_ahead_is_bounded():
    assert most_read_ahead(5000, chunk_size=8, in_flight=4) <= 8 * 5  # in-flight chunks plus the one being filled


def test_read_ahead_is_bounded_in_bytes():
    most = most_read_ahead(200, size=lambda i: 2**20, chunk_size=4, chunk_bytes=2 * 2**20, in_flight=50,
                           in_flight_bytes=4 * 2**20)
    assert most <= 4 * 4  # ~4 MB of 1 MB items in flight, not 50 chunks


def test_a_dead_worker_costs_only_its_own_item():
    out = dict(read_in_order(range(100), lambda i: True, die_on_poison, workers=2, crashed=crashed, start_after=0,
                             chunk_size=4, in_flight=6))
    assert [i for i in range(100) if out[i] == ("crashed", 3)] == sorted(POISON)
    assert all(out[i][0] == i * i for i in range(100) if i not in POISON)


EARLY_CRASH, LATE_CRASH = 3, 7


def slow_and_dying(items: list[int]) -> list[tuple[int, int]]:
    import time

    for item in items:
        if os.getpid() != MAIN and item == EARLY_CRASH:
            os._exit(3)
        time.sleep(0.3 if item == LATE_CRASH else 0.05)
        if os.getpid() != MAIN and item == LATE_CRASH:
            os._exit(3)
    return square_with_pid(items)


def test_a_crash_while_suspects_are_reread_is_blamed_on_its_own_item():
    """The first pool breaks at item 3 and is known broken before the chunk holding item
    7 is submitted (the source pauses); item 7 then breaks the next pool while the
    suspects of the first crash (items 0-5) are being read again. Only 3 and 7 crashed."""
    import time

    def source():
        for i in range(24):
            if i == 6:
                time.sleep(0.5)
            yield i

    out = dict(read_in_order(source(), lambda i: True, slow_and_dying, workers=2, crashed=crashed, start_after=0,
                             chunk_size=2, in_flight=4))
    assert sorted(i for i in out if out[i] == ("crashed", 3)) == [EARLY_CRASH, LATE_CRASH]
    assert all(out[i][0] == i * i for i in out if i not in (EARLY_CRASH, LATE_CRASH))


def test_interrupting_the_consumer_stops_the_workers():
    readings = read_in_order(range(10_000), odd, square_with_pid, workers=2, crashed=crashed, start_after=0)
    for item, _answer in readings:
        if item == 100:
            break
    readings.close()
    with pytest.raises(StopIteration):
        next(readings)


def test_one_wanted_item_is_read_alone_without_the_warm_up():
    """The single process reading a one-item input reads it cold: warming this process
    first would add the warm-up's own reading, and nothing else inherits it."""
    warmed: list[int] = []
    for items in ([7], [2, 7, 4]):  # one wanted item, alone or among unwanted ones
        out = list(read_in_order(iter(items), odd, square_with_pid, workers=2, crashed=crashed, contained=True,
                                 warm_up=lambda: warmed.append(1)))
        assert [item for item, _ in out] == items
        assert [answer and answer[0] for _, answer in out] == [i * i if i % 2 else None for i in items]
        assert {answer[1] for _, answer in out if answer} - {MAIN}  # read by a worker process
    assert warmed == [1]  # [2, 7, 4]: an item follows 7 (looked one item ahead only), so it warmed


def test_more_wanted_items_warm_up_once_before_the_fork():
    warmed: list[int] = []
    out = list(read_in_order(iter([1, 3, 5]), odd, square_with_pid, workers=2, crashed=crashed, contained=True,
                             warm_up=lambda: warmed.append(1)))
    assert [answer[0] for _, answer in out] == [1, 9, 25]
    assert warmed == [1]


@pytest.mark.parametrize("error", [OSError("the mailbox went away"), KeyboardInterrupt()])
def test_an_input_error_met_while_looking_ahead_comes_after_the_items_before_it(error):
    """As without the look ahead: what was read comes out (and is stored: Ctrl-C too)."""
    def source():
        yield 1
        raise error

    readings = read_in_order(source(), odd, square_with_pid, workers=2, crashed=crashed, contained=True)
    item, answer = next(readings)
    assert (item, answer[0]) == (1, 1) and answer[1] != MAIN
    with pytest.raises(type(error)):
        next(readings)


def read_meeting_the_caller(items: list[tuple[str, int]]) -> list[tuple[int, bool]]:
    """Tell the caller (a marker file) that reading began, then wait for its own marker:
    whether the caller's `while_reading` ran while this was read."""
    import time
    from pathlib import Path

    out = []
    for directory, i in items:
        (Path(directory) / "reading").touch()
        deadline = time.monotonic() + 5
        while not (Path(directory) / "meanwhile").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        out.append((i * i, (Path(directory) / "meanwhile").exists()))
    return out


def test_while_reading_runs_once_here_while_the_worker_reads_the_first_item(tmp_path):
    import time

    calls: list[int] = []

    def meanwhile() -> None:
        calls.append(os.getpid())
        deadline = time.monotonic() + 5
        while not (tmp_path / "reading").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "meanwhile").touch()

    out = list(read_in_order([(str(tmp_path), 3), (str(tmp_path), 4)], lambda item: True, read_meeting_the_caller,
                             workers=2, crashed=crashed, contained=True, while_reading=meanwhile))
    assert [answer for _, answer in out] == [(9, True), (16, True)]
    assert calls == [MAIN]


def test_an_error_while_reading_stops_the_worker_and_is_raised():
    import multiprocessing

    def failing() -> None:
        raise RuntimeError("cannot load the store")

    with pytest.raises(RuntimeError, match="cannot load"):
        list(read_in_order([1], odd, square_with_pid, workers=2, crashed=crashed, contained=True,
                           while_reading=failing))
    assert not multiprocessing.active_children()
