"""The one module that connects sources, the pure parser/classifiers, and the store.

- `extract(raws)`: RawMessage/SourceError items -> Extraction per message, no database.
- `ingest(store, items, ...)`: parse + classify each message, and hand it to the store
  (store.writer.Store.store_batch), which archives it and stores its facts in batches
  (one transaction per batch with the source's checkpoints, a savepoint per message);
  then the timeline is refreshed.
- `reparse(store, ...)`: re-run parse + classify over archived raw bytes.

The store (store.open_writer) writes what it is handed and never imports this module.

Parsing and classifying run in worker processes (`read_messages`), each message within
a budget of time and memory (caltac_inbox.budget): a message that exceeds it, or kills
its worker, is archived with the reason like one that fails to parse.

`parser` / `classifier` parameters default to `caltac_inbox.parse.parse_message` and
`caltac_inbox.classify.classify`; tests pass stand-ins.
"""
from __future__ import annotations

import contextlib
import functools
import signal
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, Sequence

from caltac_inbox.budget import DEFAULT_BUDGET, MAX_MESSAGE_MB, OverTime, ReadBudget, enforced
from caltac_inbox.errors import ParseError
from caltac_inbox.model import Checkpoint, Extraction, Fact, Notice, RawMessage
from caltac_inbox.store.writer import Batch, IngestReport, Prepared, Progress, ReparseReport, Store, naming_source

if TYPE_CHECKING:
    from caltac_inbox.workers import WorkerDeath

Parser = Callable[[bytes, str], Notice]
Classifier = Callable[[Notice], Sequence[Fact]]
Reading = tuple[Notice | None, tuple[Fact, ...], str | None]  # (notice, facts, error)
MAX_WORKERS = 4  # beyond this the storing process, not the reading, is the bottleneck


def default_parser() -> Parser:
    from caltac_inbox.parse import parse_message

    return parse_message


def default_classifier() -> Classifier:
    from caltac_inbox.classify import classify_keeping_leads

    return classify_keeping_leads  # facts, and the leads store.write.replace_leads keeps


def _is_raw(item: Any) -> bool:
    return isinstance(item, RawMessage)


def read_notice(raw: RawMessage, parser: Parser, classifier: Classifier, budget: ReadBudget | None = None) -> Reading:
    """(notice, facts, error): parse then classify one message, never raising. In a
    worker process, `budget` bounds the time and memory they take (caltac_inbox.budget);
    the error then says which was exceeded, and by which step."""
    trust: dict[str, tuple[str, ...]] = {} if raw.authserv_ids is None else {"authserv_ids": raw.authserv_ids}
    if raw.trusted_forwarders:
        trust["trusted_forwarders"] = raw.trusted_forwarders
    notice: Notice | None = None
    step = "parse"
    try:
        with enforced(budget):
            try:
                notice = parser(raw.raw, raw.source, **trust)
            except ParseError as exc:
                if budget is not None and isinstance(exc.__cause__, MemoryError):
                    raise exc.__cause__ from None
                return None, (), str(exc)
            step = "classify"
            found = classifier(notice)
            facts = found if isinstance(found, tuple) else tuple(found)  # FactsWithLeads stays one
    except OverTime:
        return notice, (), f"{step} timed out after {budget.seconds:g} s"  # type: ignore[union-attr]
    except MemoryError:
        return notice, (), f"{step} exceeded {budget.memory_mb} MB" if budget else f"{step} ran out of memory"
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the message; reparse retries it
        doer = "parser" if step == "parse" else "classifier"
        return notice, (), f"unexpected {doer} error {type(exc).__name__}: {exc}"
    return notice, facts, None


def read_batch(parser: Parser, classifier: Classifier, raws: list[RawMessage],
               budget: ReadBudget | None = None) -> list[Reading]:
    """read_notice() of each message: the work a worker process does for one chunk."""
    return [read_notice(raw, parser, classifier, budget) for raw in raws]


def _worker_died(budget: ReadBudget | None, raw: RawMessage, death: WorkerDeath) -> Reading:
    if budget is not None and (death.stopped_after is not None or death.signal == signal.SIGXCPU):
        return None, (), (f"parse or classify timed out after {budget.seconds:g} s "
                          f"(the worker process reading it was stopped: {death})")
    return None, (), f"unexpected parser error: the worker process reading it died ({death})"


def _picklable(value: Any) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - lambdas, closures: read in this process
        return False
    return True


def _prepare(item: Any, reading: Reading | None, accept: Callable[[Notice], bool] | None,
             max_size: int) -> Prepared:
    if isinstance(item, Checkpoint):
        return Prepared(item, "checkpoint")
    if not _is_raw(item):
        action = "skipped" if getattr(item, "skipped", False) else "error"
        return Prepared(item, action, error=naming_source(item.source, item.message))
    if reading is None:
        # Kept, not parsed: the raw bytes stay for `reparse --all`.
        return Prepared(item, "skip", error=(
            f"message is {len(item.raw)} bytes, over the {max_size}-byte size limit; "
            "archived but not parsed (`caltac-inbox reparse --all` parses it)"))
    notice, facts, error = reading
    if error is None and notice is not None and accept is not None and not accept(notice):
        return Prepared(item, "ignore", notice)
    return Prepared(item, "store", notice, facts, error)


def read_messages(
    items: Iterable[Any],
    wanted: Callable[[Any], bool],
    parser: Parser,
    classifier: Classifier,
    budget: ReadBudget | None,
    workers: int | None = None,
    *,
    before_fork: Callable[[], None] = lambda: None,
    while_reading: Callable[[], None] = lambda: None,
) -> Generator[tuple[Any, Reading | None], None, None]:
    """(item, its reading, or None when not `wanted`) in input order. Read in `workers`
    processes (default: one per CPU, at most MAX_WORKERS), each message within `budget`;
    `workers=0`, or a parser or classifier that cannot be pickled, reads in this process
    without the budget."""
    from caltac_inbox.workers import available_cpus, read_in_order

    read: Callable[[list[Any]], list[Reading]] = functools.partial(read_batch, parser, classifier, budget=budget)
    if workers is None:
        workers = min(available_cpus(), MAX_WORKERS)
    if not _picklable(read):
        workers = 0
    budgeted = budget is not None and workers > 0

    def warm() -> None:
        from caltac_inbox.warm_up import warm_up

        warm_up(read, lambda raw: RawMessage(raw, "caltac-inbox warm-up notice"))  # workers start warm

    return read_in_order(
        items, wanted, read, workers=workers, size=lambda raw: len(raw.raw),
        crashed=functools.partial(_worker_died, budget if budgeted else None),
        before_start=before_fork, warm_up=warm, while_reading=while_reading,
        # within a budget every message is read in a worker process: that is what contains it
        contained=budgeted,
        item_seconds=budget.watchdog_seconds if budgeted else None,  # type: ignore[union-attr]
    )


def extract(
    raws: Iterable[Any],
    *,
    parser: Parser | None = None,
    classifier: Classifier | None = None,
    budget: ReadBudget | None = DEFAULT_BUDGET,
    workers: int | None = None,
) -> Iterator[Extraction]:
    """One Extraction per input item, in input order; errors become `error` (no raise).
    Each message is read within `budget`, as by `ingest`."""
    parser = parser or default_parser()
    classifier = classifier or default_classifier()
    for item, reading in read_messages(raws, _is_raw, parser, classifier, budget, workers):
        if reading is None and getattr(item, "skipped", False):
            continue  # a file in a directory that is not mail
        if reading is None:
            yield Extraction(source=item.source, notice=None, error=naming_source(item.source, item.message))
            continue
        notice, facts, error = reading
        yield Extraction(
            source=item.source,
            notice=notice,
            facts=facts,
            error=naming_source(item.source, error) if error else None,
        )


def ingest(
    store: Store,
    raws: Iterable[Any],
    *,
    accept: Callable[[Notice], bool] | None = None,
    max_size: int = MAX_MESSAGE_MB * 2**20,
    progress: Progress | None = None,
    parser: Parser | None = None,
    classifier: Classifier | None = None,
    origin: str = "mail",
    workers: int | None = None,
    budget: ReadBudget | None = DEFAULT_BUDGET,
) -> IngestReport:
    """Archive, parse, classify and store each message; then refresh the timeline.

    `raws` holds RawMessages, SourceErrors and a mail source's Checkpoints. Messages
    commit in batches (see store.writer.BATCH_MESSAGES), each batch in one transaction with its
    imap_messages rows and the Checkpoints among them, each message in a savepoint:
    an interrupted run loses at most the uncommitted batch (a poll fetches it again,
    its checkpoint was not committed either) and duplicates nothing, and a message
    whose rows cannot be stored is archived with the reason instead. `progress` hears of each message when its
    batch has committed, in input order. Messages are parsed and classified in
    `workers` processes (default: one per CPU, at most MAX_WORKERS), each within
    `budget` (None: no bound): one that exceeds it is archived with the reason (see
    `messages --failed`) and ingest goes on. `workers=0`, or a parser or classifier
    that cannot be pickled, reads in this process, without the budget.
    """
    parser = parser or default_parser()
    classifier = classifier or default_classifier()
    report = IngestReport()
    note = progress or (lambda stored: None)
    batch = Batch()
    mailboxes: set[str | None] = set()

    def wanted(item: Any) -> bool:
        if _is_raw(item):
            mailboxes.add(getattr(item, "mailbox", None))
        return _is_raw(item) and len(item.raw) <= max_size

    readings = _readings(store, raws, wanted, parser, classifier, workers, budget)
    try:
        with contextlib.closing(readings):
            for item, reading in readings:
                batch.add(_prepare(item, reading, accept, max_size))
                if batch.full():
                    store.store_batch(batch.take(), report, note, origin)
    finally:
        # Also after an interruption: what was read is stored, and what is stored
        # reaches the timeline.
        mailbox = next(iter(mailboxes)) if len(mailboxes) == 1 else None
        refreshed = None
        try:
            pending = batch.take()
            if pending:
                # the last batch (or the source's last checkpoint) commits with the refresh
                refreshed = store.store_batch(pending, report, note, origin, refresh=True, mailbox=mailbox)
        finally:
            if refreshed is None and (report.new or store.timeline_behind()):
                refreshed = store.refresh_timeline(mailbox=mailbox)
            if refreshed is not None:
                report.timeline_changes, report.changes = refreshed.count, list(refreshed.changes)
    store.analyze(messages=report.new, facts=report.facts, leads=report.new, entries=report.timeline_changes,
                  entry_sources=report.timeline_changes)
    return report


def _readings(store: Store, items: Iterable[Any], wanted: Callable[[Any], bool], parser: Parser,
              classifier: Classifier, workers: int | None,
              budget: ReadBudget | None) -> Generator[tuple[Any, Reading | None], None, None]:
    # a forked worker must not inherit open database connections; the store loads its write
    # path while a worker process reads the first message
    return read_messages(items, wanted, parser, classifier, budget, workers, before_fork=store.engine.dispose,
                         while_reading=store.prepare_writes)


def reparse(
    store: Store,
    *,
    failed_only: bool = True,
    parser: Parser | None = None,
    classifier: Classifier | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    trust: Callable[[str | None], tuple[str, ...] | None] | None = None,
    forwarders: Callable[[str | None], tuple[str, ...]] | None = None,
    budget: ReadBudget | None = DEFAULT_BUDGET,
) -> ReparseReport:
    """Re-run parse + classify over archived raw bytes; idempotent. `trust(mailbox)`
    names the authserv-ids trusted for a message of that mailbox; where it names
    none, the message keeps the authentication verdict it was stored with.
    `forwarders(mailbox)` names who may forward a notice of it and keep it verified.

    Like ingest: messages are read in batches from read-only snapshots and parsed
    and classified in worker processes within `budget`, outside any write
    transaction; each batch of results is stored in one short transaction. A
    concurrent ingest or poll never waits for the parsing."""
    from caltac_inbox.store import read

    parser = parser or default_parser()
    classifier = classifier or default_classifier()
    report = ReparseReport()
    with store.session(readonly=True) as s:
        wanted = read.archived_sizes(s, failed_only=failed_only)
    readings = _readings(store, store.archived(wanted, trust, forwarders), lambda item: True, parser, classifier,
                         workers, budget)
    batch = Batch()
    try:
        with contextlib.closing(readings):
            for item, reading in readings:
                assert reading is not None  # every archived message is wanted
                batch.add(Prepared(item, "store", *reading))
                if batch.full():
                    store.store_reparsed(batch.take(), report, progress)
    finally:
        try:
            pending = batch.take()
            if pending:
                store.store_reparsed(pending, report, progress)
        finally:
            refreshed = store.refresh_timeline(full=not failed_only)
    store.analyze(facts=report.facts_added + report.facts_removed, leads=report.messages,
                  entries=refreshed.count, entry_sources=refreshed.count)
    return report


__all__ = ["Classifier", "Parser", "extract", "ingest", "naming_source", "read_batch", "read_messages",
           "read_notice", "reparse"]
