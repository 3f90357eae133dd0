"""A minimal read-only PostgreSQL client: libpq through ctypes, for store.light's reader.

Importing psycopg costs 110-150 ms (asyncio, logging, ssl, email...), more than a whole
`upcoming` on SQLite; ctypes costs ~5 ms. libpq itself connects (authentication, SSL,
connect_timeout, `options`), so this module only runs statements and converts their text
results to the Python values psycopg 3 gives for the column types our schema uses.

The library is the libpq that psycopg-binary bundles (found without importing it), else
the system's libpq.so.5; `load()` returns None when neither loads, and the caller uses
psycopg. A value of a type not handled here is an Error, never a guess.

- `Connection(lib, conninfo, settings, begin)`: connects (`settings` override the
  conninfo's, as psycopg's keyword arguments do); `execute(sql, params)` runs `sql` with
  `$1`-style parameters inside a transaction it opens with `begin` (psycopg's
  non-autocommit mode) and returns (column names, rows as tuples); `batches` reads a
  query through a server-side cursor; `rollback`, `close`.
- `Error`, `OperationalError` (the connection failed or was lost, or a server error of
  the classes psycopg raises OperationalError for): their text is psycopg's.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import json
import re
import threading
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

_lib: ctypes.CDLL | None = None
_loaded = False

CONNECTION_OK = 0
PGRES_COMMAND_OK, PGRES_TUPLES_OK = 1, 2
PQTRANS_IDLE, PQTRANS_INTRANS = 0, 2
PG_DIAG_SEVERITY, PG_DIAG_SQLSTATE = ord("S"), ord("C")
# SQLSTATE classes psycopg raises OperationalError for (psycopg.errors)
_OPERATIONAL_CLASSES = ("08", "53", "54", "55", "57", "58")
FETCH_SIZE = 500


class Error(Exception):
    """A libpq failure: the text is what psycopg says for the same failure."""


class OperationalError(Error):
    """The connection failed or was lost, or the server stopped the statement."""


def load() -> ctypes.CDLL | None:
    """libpq, loaded once: psycopg-binary's own copy, else the system's libpq.so.5; None
    when neither loads (or lacks a function used here)."""
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        for candidate in _candidates():
            try:
                _lib = _declare(ctypes.CDLL(candidate))
                break
            except (OSError, AttributeError):
                continue
    return _lib


def _candidates() -> list[str]:
    """The libpq of psycopg-binary (its wheel's psycopg_binary.libs/libpq-*.so*, located
    without executing the package), then the system's."""
    from importlib.util import find_spec

    found: list[str] = []
    try:
        spec = find_spec("psycopg_binary")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        libs = Path(location).parent / "psycopg_binary.libs"
        found.extend(str(p) for p in sorted(libs.glob("libpq-*.so*")))
    return [*found, "libpq.so.5"]


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, s, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "PQconnectdbParams": (p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        "PQstatus": (i, [p]), "PQerrorMessage": (s, [p]), "PQfinish": (None, [p]),
        "PQtransactionStatus": (i, [p]), "PQparameterStatus": (s, [p, s]), "PQbackendPID": (i, [p]),
        "PQsendQueryParams": (i, [p, s, i, ctypes.POINTER(u), ctypes.POINTER(s), p, p, i]),
        "PQgetResult": (p, [p]),
        "PQresultStatus": (i, [p]), "PQresultErrorMessage": (s, [p]), "PQresultErrorField": (s, [p, i]),
        "PQclear": (None, [p]), "PQntuples": (i, [p]), "PQnfields": (i, [p]), "PQfname": (s, [p, i]),
        "PQftype": (u, [p, i]), "PQgetvalue": (s, [p, i, i]), "PQgetisnull": (i, [p, i, i]),
        "PQunescapeBytea": (p, [s, ctypes.POINTER(ctypes.c_size_t)]), "PQfreemem": (None, [p]),
        "PQconninfo": (p, [p]), "PQconninfoFree": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


class _ConninfoOption(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


def _strings(values: Sequence[bytes | None]) -> Any:
    return (ctypes.c_char_p * (len(values) + 1))(*values, None)


def _clean(message: bytes | None, severity: bytes | None = None) -> str:
    """A libpq message as psycopg shows it: its severity prefix and surrounding blanks
    stripped; psycopg's words when there is none."""
    text = (message or b"").decode("utf-8", "replace")
    if severity:
        text = re.sub("^" + re.escape(severity.decode("utf-8", "replace")) + r":\s+", "", text)
    return text.strip() or "no error details available"


class Connection:
    """One libpq connection, used by one snapshot at a time (a lock serializes its calls: a
    cursor left to the garbage collector may be closed from another thread)."""

    def __init__(self, lib: ctypes.CDLL, conninfo: str, settings: Mapping[str, str], begin: str) -> None:
        """Connect to `conninfo` (a postgresql:// URI or key=value string) with `settings`
        (libpq keywords) overriding it and the client encoding UTF8; `begin` opens each
        transaction. Raises OperationalError."""
        self._lib = lib
        self._begin = begin.encode()
        self._lock = threading.RLock()  # a cursor abandoned to the garbage collector may close from any thread
        self._transactions = 0  # transactions begun: a cursor is closed only in its own
        settings = {**settings, "client_encoding": "UTF8"}
        keywords = [b"dbname", *(k.encode() for k in settings)]
        values = [conninfo.encode(), *(str(v).encode() for v in settings.values())]
        self._conn: int | None = lib.PQconnectdbParams(_strings(keywords), _strings(values), 1)
        if not self._conn:
            raise OperationalError("connection failed: out of memory")
        if lib.PQstatus(self._conn) != CONNECTION_OK:
            message = _clean(lib.PQerrorMessage(self._conn))
            self.close()
            raise OperationalError(f"connection failed: {message}")
        try:
            if not (self.parameter("DateStyle") or "ISO").startswith("ISO"):
                self._run(b"SET DateStyle = 'ISO'", ())  # the only style the loaders below read
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def backend_pid(self) -> int:
        return int(self._lib.PQbackendPID(self._connection()))

    def parameter(self, name: str) -> str | None:
        """A parameter the server reports (TimeZone, DateStyle, server_version...)."""
        value = self._lib.PQparameterStatus(self._connection(), name.encode())
        return None if value is None else value.decode("utf-8", "replace")

    def settings(self) -> dict[str, str]:
        """The connection's options as libpq has them (connect_timeout, options, host...)."""
        found: dict[str, str] = {}
        options = self._lib.PQconninfo(self._connection())
        if not options:
            return found
        try:
            array = ctypes.cast(options, ctypes.POINTER(_ConninfoOption))
            for n in itertools.count():
                if array[n].keyword is None:
                    break
                if array[n].val is not None:
                    found[array[n].keyword.decode()] = array[n].val.decode("utf-8", "replace")
        finally:
            self._lib.PQconninfoFree(options)
        return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of `sql` ($1, $2... bound to `params`), run in the
        connection's transaction (opened with `begin` when none is open)."""
        self._transaction()
        return self._run(sql.encode(), params)

    def batches(self, sql: str, params: Sequence[Any] = (), size: int = FETCH_SIZE,
                ) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """(column names, rows) of `sql`, `size` rows at a time, read through a cursor
        declared in the connection's transaction (closed when done or abandoned)."""
        name = f"caltac_libpq_{next(_CURSORS)}"
        with self._lock:
            self.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
            transaction = self._transactions
        try:
            while True:
                names, found = self._run(f"FETCH FORWARD {int(size)} FROM {name}".encode(), ())
                if not found:
                    return
                yield names, found
        finally:
            with self._lock:  # still in the cursor's transaction, and that one is good
                if (self._conn is not None and self._transactions == transaction
                        and self._lib.PQtransactionStatus(self._conn) == PQTRANS_INTRANS):
                    self._run(f"CLOSE {name}".encode(), ())

    def rollback(self) -> None:
        """End the open transaction, if any."""
        with self._lock:
            if self._lib.PQtransactionStatus(self._connection()) != PQTRANS_IDLE:
                self._run(b"ROLLBACK", ())

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                self._lib.PQfinish(conn)

    def __del__(self) -> None:  # dropped unclosed (as psycopg, close it): no other reference is left
        conn, self._conn = getattr(self, "_conn", None), None
        if conn is not None:
            self._lib.PQfinish(conn)

    def _connection(self) -> int:
        if self._conn is None:
            raise OperationalError("the connection is closed")
        return self._conn

    def _transaction(self) -> None:
        with self._lock:
            if self._lib.PQtransactionStatus(self._connection()) == PQTRANS_IDLE:
                self._run(self._begin, ())
                self._transactions += 1

    def _run(self, sql: bytes, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        lib = self._lib
        types, values = _bind(params)
        with self._lock:
            conn = self._connection()
            if not lib.PQsendQueryParams(conn, sql, len(values), (ctypes.c_uint * len(types))(*types),
                                         _strings(values), None, None, 0):
                raise OperationalError(f"sending query and params failed: {_clean(lib.PQerrorMessage(conn))}")
            result = self._result()
            if result is None:
                raise self._failure(None)
            try:
                status = lib.PQresultStatus(result)
                if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
                    raise self._failure(result)
                if status == PGRES_COMMAND_OK:
                    return [], []
                return _read(lib, result, _timezone(self.parameter("TimeZone")))
            finally:
                lib.PQclear(result)

    def _result(self) -> int | None:
        """The statement's result: the first failed one when there are several (a server
        that ends the session says why before libpq notices the connection closed)."""
        lib, conn = self._lib, self._conn
        kept = None
        while (result := lib.PQgetResult(conn)) is not None:
            if kept is None or (lib.PQresultStatus(kept) in (PGRES_COMMAND_OK, PGRES_TUPLES_OK)
                                and lib.PQresultStatus(result) not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK)):
                kept, result = result, kept
            if result is not None:
                lib.PQclear(result)
        return kept

    def _failure(self, result: int | None) -> Error:
        lib = self._lib
        lost = lib.PQstatus(self._conn) != CONNECTION_OK
        if not result:
            return OperationalError(_clean(lib.PQerrorMessage(self._conn)))
        state = (lib.PQresultErrorField(result, PG_DIAG_SQLSTATE) or b"").decode("ascii", "replace")
        message = _clean(lib.PQresultErrorMessage(result), lib.PQresultErrorField(result, PG_DIAG_SEVERITY))
        return (OperationalError if lost or state[:2] in _OPERATIONAL_CLASSES else Error)(message)


_CURSORS = itertools.count(1)


@functools.lru_cache(maxsize=16)
def _timezone(name: str | None) -> tzinfo:
    """The connection's TimeZone as psycopg reads timestamptz values in it (psycopg._tz)."""
    if name in (None, "UTC"):
        return timezone.utc
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - psycopg too falls back to UTC for a zone Python does not know
        return timezone.utc


# ----------------------------------------------------------------------------- parameters

# The type each Python value is sent as (psycopg's choice, so the server infers the same).
INT2, INT4, INT8, NUMERIC, BOOL, FLOAT8, BYTEA = 21, 23, 20, 1700, 16, 701, 17
DATE, TIMESTAMP, TIMESTAMPTZ, UNKNOWN = 1082, 1114, 1184, 0


def _bind(params: Sequence[Any]) -> tuple[list[int], list[bytes | None]]:
    types: list[int] = []
    values: list[bytes | None] = []
    for value in params:
        oid, text = _parameter(value)
        types.append(oid)
        values.append(None if text is None else text.encode())
    return types, values


def _parameter(value: Any) -> tuple[int, str | None]:
    if value is None:
        return UNKNOWN, None
    if isinstance(value, str):
        return UNKNOWN, value  # as psycopg: the server gives it the type the query needs
    if isinstance(value, bool):
        return BOOL, "t" if value else "f"
    if isinstance(value, int):
        if -(2**15) <= value < 2**15:
            return INT2, str(value)
        if -(2**31) <= value < 2**31:
            return INT4, str(value)
        return (INT8 if -(2**63) <= value < 2**63 else NUMERIC), str(value)
    if isinstance(value, datetime):
        return (TIMESTAMP if value.tzinfo is None else TIMESTAMPTZ), value.isoformat()
    if isinstance(value, date):
        return DATE, value.isoformat()
    if isinstance(value, float):
        return FLOAT8, repr(value)
    from decimal import Decimal  # ~1.5 ms to import: only where a value is none of the above

    if isinstance(value, Decimal):
        return NUMERIC, str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTEA, "\\x" + bytes(value).hex()
    raise Error(f"cannot send a parameter of type {type(value).__name__} to PostgreSQL")


# ----------------------------------------------------------------------------- results


def _read(lib: ctypes.CDLL, result: int, zone: tzinfo) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = range(lib.PQnfields(result))
    names = [lib.PQfname(result, c).decode() for c in columns]
    loaders = [_loader(lib, lib.PQftype(result, c), names[c], zone) for c in columns]
    getvalue, isnull = lib.PQgetvalue, lib.PQgetisnull
    out = []
    for r in range(lib.PQntuples(result)):
        row = []
        for c, load in enumerate(loaders):
            value = getvalue(result, r, c)
            row.append(None if not value and isnull(result, r, c) else load(value))
        out.append(tuple(row))
    return names, out


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _bool(value: bytes) -> bool:
    return value == b"t"


def _numeric(value: bytes) -> Any:
    from decimal import Decimal  # ~1.5 ms to import: only for a numeric column

    return Decimal(value.decode())


def _date(value: bytes) -> date:
    try:
        return date.fromisoformat(value.decode())
    except ValueError:
        raise Error(f"cannot read date {value.decode(errors='replace')!r} (outside Python's dates)") from None


def _timestamp(value: bytes) -> datetime:
    try:
        return datetime.fromisoformat(value.decode())
    except ValueError:
        raise Error(f"cannot read timestamp {value.decode(errors='replace')!r} (outside Python's dates)") from None


def _timestamptz(zone: tzinfo) -> Callable[[bytes], datetime]:
    def load(value: bytes) -> datetime:
        moment = _timestamp(value)
        try:
            return moment.astimezone(zone)
        except OverflowError:  # at the end of the calendar: psycopg keeps its own offset
            return moment

    return load


_LOADERS: dict[int, Callable[[bytes], Any]] = {
    16: _bool,  # bool
    18: _text, 19: _text, 25: _text, 705: _text,  # "char", name, text, unknown
    1042: _text, 1043: _text,  # bpchar, varchar
    20: int, 21: int, 23: int, 26: int,  # int8, int2, int4, oid
    114: json.loads, 3802: json.loads,  # json, jsonb
    700: float, 701: float,  # float4, float8
    1700: _numeric,
    1082: _date,
    1114: _timestamp,
}


def _loader(lib: ctypes.CDLL, oid: int, column: str, zone: tzinfo) -> Callable[[bytes], Any]:
    if oid == TIMESTAMPTZ:
        return _timestamptz(zone)
    if oid == BYTEA:
        return lambda value: _bytea(lib, value)
    try:
        return _LOADERS[oid]
    except KeyError:
        raise Error(f"cannot read column {column!r}: PostgreSQL type OID {oid} is not handled "
                    "by the libpq reader") from None


def _bytea(lib: ctypes.CDLL, value: bytes) -> bytes:
    if value.startswith(b"\\x"):  # bytea_output = hex, the default
        return bytes.fromhex(value[2:].decode("ascii"))
    size = ctypes.c_size_t()
    pointer = lib.PQunescapeBytea(value, ctypes.byref(size))
    if not pointer:
        raise Error("cannot read a bytea value: out of memory")
    try:
        return ctypes.string_at(pointer, size.value)
    finally:
        lib.PQfreemem(pointer)


__all__ = ["Connection", "Error", "OperationalError", "load"]
