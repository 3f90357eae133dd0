"""Run the caltac-inbox CLI while counting the tagged IMAP commands it sends.

Used by bench/run.py for the no-op poll: every tagged command (imaplib's own and
IMAPClient's raw ones) takes a tag from `IMAP4._new_tag`, so counting those calls
counts the commands on the wire. The count goes to stderr as
`BENCH-IMAP-COMMANDS <n>` when the process exits. Timing runs use the real
console script instead (importing imaplib here would skew start-up).
"""
from __future__ import annotations

import atexit
import imaplib
import sys

_count = 0
_new_tag = imaplib.IMAP4._new_tag


def _counting_new_tag(self: imaplib.IMAP4) -> bytes:
    global _count
    _count += 1
    return _new_tag(self)


imaplib.IMAP4._new_tag = _counting_new_tag  # type: ignore[method-assign]
atexit.register(lambda: sys.stderr.write(f"\nBENCH-IMAP-COMMANDS {_count}\n"))

if __name__ == "__main__":
    from caltac_inbox.cli import main

    sys.argv[0] = "caltac-inbox"
    main()
