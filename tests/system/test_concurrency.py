"""Two processes ingesting the same notices at once, from an empty database.

On PostgreSQL both processes race to create the schema (serialized by an advisory
lock) and to insert the same messages and facts (INSERT ... ON CONFLICT). The result
must equal one ingest into SQLite: each message once, each fact once, same timeline.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from caltac_inbox.store.writer import open_store
from caltac_inbox.store.schema import FactRow, MessageRow
from tests.fakes import DESIGNATION, DOWNTIME, RETENTION, make_eml
from tests.shared import SHARED
from tests import queries

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from caltac_inbox.cli import main; main()"]
# Same CLI, with the stand-in parser/classifier (so facts exist whatever the real ones do).
FAKE_CLI = [sys.executable, "-c",
            "import caltac_inbox.pipeline as p; from tests import fakes; "
            "p.default_parser = lambda: fakes.fake_parse; p.default_classifier = lambda: fakes.fake_classify; "
            "from caltac_inbox.cli import main; main()"]


def _generated_mail(directory: Path, n: int = 30) -> Path:
    directory.mkdir()
    for i in range(n):
        facts = [dict(DOWNTIME, start=f"2020-08-{1 + i % 28:02d}T17:00:00-07:00",
                      end=f"2020-08-{1 + i % 28:02d}T20:00:00-07:00"), DESIGNATION, RETENTION]
        (directory / f"{i:03d}.eml").write_bytes(
            make_eml(message_id=f"<m{i}@x>", facts=facts[: 1 + i % 3], body=f"notice {i}"))
    return directory


def _ingest_twice_at_once(command: list[str], url: str, mail: Path) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CALTAC_INBOX_DB", None)
    procs = [subprocess.Popen([*command, "--db", url, "ingest", str(mail)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


def _state(url: str):
    with open_store(url) as store:
        with store.session() as s:
            messages = s.execute(sa.select(MessageRow.sha256)).scalars().all()
            facts = s.execute(sa.select(FactRow.message_pk, FactRow.identity)).all()
            sha_by_pk = dict(s.execute(sa.select(MessageRow.id, MessageRow.sha256)).all())
        entries = queries.timeline(store, include_cancelled=True)
    facts_by_message = sorted((sha_by_pk[pk], ident) for pk, ident in facts)
    timeline = sorted(json.dumps({k: v for k, v in e.items() if k not in ("id",)}, sort_keys=True, default=str)
                      for e in entries)
    return sorted(messages), facts_by_message, timeline


def _check(command, db_url, mail, tmp_path):
    results = _ingest_twice_at_once(command, db_url, mail)
    for r in results:
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode in (0, 1), r.stderr  # 1 only when some input failed to parse
        assert "error: cannot" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    messages, facts, timeline = _state(db_url)
    assert len(messages) == len(set(messages)) == len(list(mail.rglob("*.eml")))
    assert len(facts) == len(set(facts))

    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    single = subprocess.run([*command, "--db", reference, "ingest", str(mail)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert single.returncode in (0, 1), single.stderr
    assert _state(reference) == (messages, facts, timeline)
    return facts


@pytest.mark.slow
def test_two_concurrent_ingests_store_everything_once(db_url, tmp_path):
    facts = _check(FAKE_CLI, db_url, _generated_mail(tmp_path / "mail"), tmp_path)
    assert len(facts) == 60  # 10 x 1 + 10 x 2 + 10 x 3


# The dev corpus sits beside the repository on the project machine (see tests/shared.py).
CORPORA = {"samples": ROOT / "samples", "corpus": SHARED / "corpus"}


@pytest.mark.slow
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_two_concurrent_real_ingests(corpus, db_url, tmp_path):
    try:
        from caltac_inbox.classify import classify  # noqa: F401
        from caltac_inbox.parse import parse_message  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"real parser/classifier not available yet: {exc}")
    samples = sorted(CORPORA[corpus].glob("*.eml"))
    if not samples:
        pytest.skip(f"{CORPORA[corpus]} has no .eml files")
    mail = tmp_path / corpus
    mail.mkdir()
    for path in samples:
        shutil.copy(path, mail / path.name)
    facts = _check(CLI, db_url, mail, tmp_path)
    assert facts, "the samples should yield facts"
