"""Errors a user can act on: each carries a one-line message and the process exit code.

Raise a UserError subclass wherever the user (not the code) has to do something next;
the CLI prints `caltac-inbox: error: <message>` to stderr and exits with `exit_code`,
never a traceback. The message names the file, message or setting involved and what
to do about it, and never contains a secret.

Exit codes: 0 ok, 1 some input failed, 2 configuration/usage, 3 authentication,
4 connection, 5 database.
"""
from __future__ import annotations


class UserError(Exception):
    """Base class: a problem the user can fix. `str(error)` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, always: multi-line reasons (e.g. from a driver) are collapsed.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class InputError(UserError):
    """A path or piece of input that cannot be read (missing file, not a mail file)."""

    exit_code = 1


class ParseError(UserError):
    """One message that cannot be parsed. The message is the one-line reason."""

    exit_code = 1


class ConfigError(UserError):
    """Bad configuration file, environment variable or command-line usage."""

    exit_code = 2


class AuthError(UserError):
    """The mail server (or token command) refused our credentials."""

    exit_code = 3


class ConnectionFailure(UserError):
    """A server (IMAP, database host) could not be reached or timed out."""

    exit_code = 4


class DatabaseError(UserError):
    """The database cannot be opened, migrated or written."""

    exit_code = 5


__all__ = [
    "AuthError",
    "ConfigError",
    "ConnectionFailure",
    "DatabaseError",
    "InputError",
    "ParseError",
    "UserError",
]
