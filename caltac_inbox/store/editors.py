"""Editors: the people who may act from the web page (mark done, dismiss, correct, add).

Each editor has a sign-in token like a feed's (32 random bytes, URL-safe base64), printed
once by `caltac-inbox editor add` inside a sign-in link. The database keeps only its
sha256; a presented token is found by that hash and the stored hash is then compared in
constant time (hmac.compare_digest). A revoked editor keeps its row (for `editor list`,
and so that the number in old access-log lines still names someone) and is found no more.

Reads run on either kind of row source (a SQLAlchemy Session or store.light's sqlite3
reader); writes take a Session of the full store.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from caltac_inbox.errors import InputError
from caltac_inbox.store.feeds import new_token, token_digest
from caltac_inbox.store.read import RowSource, _instant, rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EDITOR_COLUMNS = "id, name, mailbox, created_at, revoked_at"
MAX_NAME = 200


@dataclass(frozen=True)
class Editor:
    id: int
    name: str
    mailbox: str | None
    created_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "mailbox": self.mailbox,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def editor_name(name: str) -> str:
    """The name as corrections will record it: one line, not empty."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable():
        raise InputError(f"give the editor a name of 1 to {MAX_NAME} printable characters, e.g. \"Pat Lee\"")
    return cleaned


def create_editor(session: Session, name: str, mailbox: str | None = None,
                  now: datetime | None = None) -> tuple[Editor, str]:
    """A new editor and their sign-in token (the only time it exists outside the caller)."""
    from caltac_inbox.store.schema import EditorRow

    token = new_token()
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    row = EditorRow(name=editor_name(name), token_sha256=token_digest(token), mailbox=mailbox or None, created_at=now)
    session.add(row)
    session.flush()
    return Editor(row.id, row.name, row.mailbox, now, None), token


def revoke_editor(session: Session, editor: str, now: datetime | None = None) -> Editor:
    """Revoke the editor numbered `editor` (as `editor list` shows it), or the one whose
    sign-in link or token `editor` is. Their sessions end at their next request."""
    from sqlalchemy import select

    from caltac_inbox.store.schema import EditorRow

    wanted = editor.strip()
    if wanted.isdigit() and len(wanted) < 19:
        row = session.get(EditorRow, int(wanted))
    else:
        token = wanted.rsplit("token=", 1)[-1].split("&", 1)[0]
        row = session.execute(select(EditorRow).where(EditorRow.token_sha256 == token_digest(token))
                              ).scalar_one_or_none()
    if row is None:
        # never echo what was given: it may be a (mistyped) token
        raise InputError("no such editor; give the number that `caltac-inbox editor list` shows, or the sign-in link")
    if row.revoked_at is None:
        row.revoked_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        session.flush()
    return Editor(row.id, row.name, row.mailbox, row.created_at, row.revoked_at)


def find_editor_by_token(source: RowSource, token: str) -> Editor | None:
    """The active editor whose sign-in token this is, or None (unknown or revoked alike)."""
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)
    found = rows(source, f"SELECT {EDITOR_COLUMNS}, token_sha256 FROM editors WHERE token_sha256 = :digest "
                         "AND revoked_at IS NULL", {"digest": digest})
    if not found or not hmac.compare_digest(str(found[0]["token_sha256"]), digest):
        return None
    return _editor(found[0])


def active_editor(source: RowSource, editor_id: int) -> Editor | None:
    """The editor numbered `editor_id` unless revoked (a session names its editor by number)."""
    found = rows(source, f"SELECT {EDITOR_COLUMNS} FROM editors WHERE id = :id AND revoked_at IS NULL",
                 {"id": editor_id})
    return _editor(found[0]) if found else None


def list_editors(source: RowSource) -> list[Editor]:
    return [_editor(r) for r in rows(source, f"SELECT {EDITOR_COLUMNS} FROM editors ORDER BY id", {})]


def _editor(row: Any) -> Editor:
    return Editor(id=int(row["id"]), name=row["name"], mailbox=row["mailbox"], created_at=_instant(row["created_at"]),
                  revoked_at=_instant(row["revoked_at"]))


__all__ = ["Editor", "active_editor", "create_editor", "editor_name", "find_editor_by_token", "list_editors",
           "revoke_editor"]
