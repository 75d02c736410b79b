"""Where decision records are kept: one interface, four stores, chosen by a URL.

``jsonl:PATH``
    JSON Lines, one file per UTC day beside ``PATH`` (``decisions.jsonl`` is written as
    ``decisions.2026-03-01.jsonl``, ...). Each batch is appended, flushed and ``fsync``-ed
    (and the folder too when a day's file is created) before it is acknowledged.
``sqlite:PATH``
    One SQLite file in WAL mode with ``synchronous=FULL``: a batch is one transaction,
    acknowledged once committed. One table, ``decisions``, indexed by decision id, claim
    label and time.
``parquet:DIR``
    Parquet files under ``DIR/day=YYYY-MM-DD/`` (Hive partitioning, readable by DuckDB and
    Spark), one file per batch, written by DuckDB to a temporary name, ``fsync``-ed, then
    renamed into place (and the folder ``fsync``-ed).
``postgresql://...`` (or ``postgres://``)
    A PostgreSQL table ``ta_rules_decisions`` (psycopg 3, the ``postgres`` extra); a batch
    is one ``COPY`` in one transaction, acknowledged once committed.

Each record is stored as its canonical JSON text, byte for byte what its hash was taken of,
beside the columns it is looked up by. One process writes a log at a time: a second
writer is refused (a lock file beside file stores, an advisory lock in PostgreSQL), so the
chain never forks.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from ta_rules.decisionlog._record import DecisionLogError, StoredRecord, parse_stored

__all__ = ["Sink", "open_sink"]

#: (seq, hash) of the last record of a log, or None when it is empty.
Head = tuple[int, str] | None


class Sink(Protocol):
    """A store of decision records."""

    url: str

    def head(self) -> Head:
        """The last record's (seq, hash)."""

    def write(self, records: Sequence[StoredRecord]) -> None:
        """Store records durably (or raise, storing none of them)."""

    def read(self) -> Iterator[tuple[str, str]]:
        """(where, the record's text as stored) in stored order."""

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """One record by decision id."""

    def last_for_claim(self, claim: str) -> str | None:
        """The decision id of the last record with this claim label."""

    def close(self) -> None:
        """Release the store."""


def open_sink(url: str, *, write: bool) -> Sink:
    """The sink a URL names (for writing: locked against a second writer).

    Raises:
        DecisionLogError: The URL names no known store, or the store cannot be opened.
    """
    scheme, sep, rest = url.partition(":")
    if not sep or not rest:
        raise DecisionLogError(f"decision log {url!r}: expected jsonl:PATH, sqlite:PATH, "
                               "parquet:DIR or postgresql://...")
    try:
        if scheme == "jsonl":
            return JsonlSink(url, rest, write=write)
        if scheme == "sqlite":
            return SqliteSink(url, rest, write=write)
        if scheme == "parquet":
            return ParquetSink(url, rest, write=write)
        if scheme in ("postgresql", "postgres"):
            return PostgresSink(url, write=write)
    except OSError as exc:
        raise DecisionLogError(f"decision log {url}: {exc.strerror or exc}"
                               + (f": {exc.filename}" if exc.filename else "")) from None
    raise DecisionLogError(f"decision log {url!r}: unknown kind {scheme!r}; expected jsonl:, "
                           "sqlite:, parquet: or postgresql://")


def _text(record: StoredRecord) -> str:
    return record.text


def _fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Lock:
    """An exclusive lock file: one writer per log."""

    def __init__(self, url: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise DecisionLogError(f"decision log {url}: another process is writing it "
                                   f"(lock {path}); one writer keeps one chain") from None

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _day(record: dict[str, Any]) -> str:
    return str(record["decided_at"])[:10]


# --- JSON Lines -----------------------------------------------------------------------------


class JsonlSink:
    """JSON Lines files rotated by UTC day."""

    def __init__(self, url: str, path: str, *, write: bool) -> None:
        self.url = url
        base = Path(path)
        self.folder = base.parent
        stem, suffix = (base.name[:-6], ".jsonl") if base.name.endswith(".jsonl") \
            else (base.name, ".jsonl")
        self.stem, self.suffix = stem, suffix
        self.lock = _Lock(url, self.folder / f".{stem}.lock") if write else None
        self.claims: dict[str, str] | None = None
        self._head: Head = None
        if write:
            self._recover()

    def files(self) -> list[Path]:
        """The day files, oldest first."""
        pattern = os.path.join(glob.escape(str(self.folder)),
                               f"{glob.escape(self.stem)}.????-??-??{self.suffix}")
        return sorted(Path(p) for p in glob.glob(pattern))

    def _file(self, day: str) -> Path:
        return self.folder / f"{self.stem}.{day}{self.suffix}"

    def _recover(self) -> None:
        """Find the last record; cut a torn last line (never acknowledged: not fsynced)."""
        files = self.files()
        if not files:
            return
        last = files[-1]
        data = last.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(last, "r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
        lines = data[:end].splitlines()
        if not lines and len(files) > 1:
            lines = files[-2].read_bytes().splitlines()
        if lines:
            try:
                rec = json.loads(lines[-1])
                self._head = (int(rec["seq"]), str(rec["hash"]))
            except (ValueError, KeyError, TypeError, RecursionError):
                raise DecisionLogError(f"decision log {self.url}: the last line of {last} is "
                                       "not a decision record; run 'ta-rules log verify'") \
                    from None

    def head(self) -> Head:
        """The last record's (seq, hash)."""
        return self._head

    def write(self, records: Sequence[StoredRecord]) -> None:
        """Append each day's records to its file, flush and fsync."""
        by_day: dict[str, list[str]] = {}
        for r in records:
            by_day.setdefault(_day(r), []).append(_text(r) + "\n")
        for day, lines in by_day.items():
            path = self._file(day)
            new = not path.exists()
            with open(path, "ab") as fh:
                start = fh.tell()
                try:
                    fh.write("".join(lines).encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                except BaseException:
                    with contextlib.suppress(OSError):
                        fh.truncate(start)
                    raise
            if new:
                _fsync_dir(self.folder)
        if self.claims is not None:
            for r in records:
                claim = r["labels"].get("claim")
                if claim is not None:
                    self.claims[claim] = r["decision_id"]
        self._head = (records[-1]["seq"], records[-1]["hash"])

    def read(self) -> Iterator[tuple[str, Any]]:
        """Every record, file by file, line by line."""
        for path in self.files():
            with open(path, encoding="utf-8", errors="replace") as fh:
                for number, line in enumerate(fh, 1):
                    if line.strip():
                        yield f"{path.name}:{number}", line.rstrip("\n")

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """A record by id (a scan: JSON Lines have no index)."""
        needle = f'"decision_id":"{decision_id}"'
        for _, text in self.read():
            if needle in text:
                rec = parse_stored(text)
                if rec is not None and rec.get("decision_id") == decision_id:
                    return rec
        return None

    def last_for_claim(self, claim: str) -> str | None:
        """From a map of every claim label, built on first use by reading the log once."""
        if self.claims is None:
            self.claims = {}
            for _, text in self.read():
                rec = parse_stored(text)
                if rec is not None and isinstance(rec.get("labels"), dict):
                    label = rec["labels"].get("claim")
                    if label is not None:
                        self.claims[str(label)] = str(rec.get("decision_id"))
        return self.claims.get(claim)

    def close(self) -> None:
        """Release the lock."""
        if self.lock is not None:
            self.lock.release()


# --- SQLite ---------------------------------------------------------------------------------

_SQLITE_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY,
    decision_id TEXT NOT NULL UNIQUE,
    claim TEXT,
    decided_at TEXT NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_claim ON decisions (claim, seq);
CREATE INDEX IF NOT EXISTS decisions_decided_at ON decisions (decided_at);
"""


class SqliteSink:
    """One SQLite table in WAL mode; a batch is one committed transaction."""

    def __init__(self, url: str, path: str, *, write: bool) -> None:
        self.url = url
        self.path = Path(path)
        self.lock = _Lock(url, self.path.with_name(f".{self.path.name}.lock")) if write \
            else None
        if not write and not self.path.exists():
            raise DecisionLogError(f"decision log {url}: no such file")
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout = 10000")
            if write:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = FULL")
                self.db.executescript(_SQLITE_SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise DecisionLogError(f"decision log {url}: {exc}") from None

    def head(self) -> Head:
        """The last record's (seq, hash)."""
        row = self.db.execute("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1"
                              ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def write(self, records: Sequence[StoredRecord]) -> None:
        """Insert the batch in one transaction and commit (durable: synchronous=FULL)."""
        rows = [(r["seq"], r["decision_id"], r["labels"].get("claim"), r["decided_at"],
                 r["hash"], _text(r)) for r in records]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO decisions (seq, decision_id, claim, decided_at, "
                                "hash, record) VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    def read(self) -> Iterator[tuple[str, Any]]:
        """Every record in stored order (by rowid: a row moved by hand shows out of order)."""
        try:
            cursor = self.db.execute("SELECT rowid, record FROM decisions ORDER BY rowid")
            for rowid, text in cursor:
                yield f"row {rowid}", str(text)
        except sqlite3.Error as exc:
            raise DecisionLogError(f"decision log {self.url}: {exc}") from None

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """A record by id (indexed)."""
        row = self.db.execute("SELECT record FROM decisions WHERE decision_id = ?",
                              (decision_id,)).fetchone()
        return parse_stored(row[0]) if row else None

    def last_for_claim(self, claim: str) -> str | None:
        """Indexed by claim label."""
        row = self.db.execute("SELECT decision_id FROM decisions WHERE claim = ? "
                              "ORDER BY seq DESC LIMIT 1", (claim,)).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        """Close the connection and release the lock."""
        with contextlib.suppress(Exception):
            self.db.close()
        if self.lock is not None:
            self.lock.release()


# --- Parquet (DuckDB) ----------------------------------------------------------------------


def _duckdb() -> Any:
    try:
        import duckdb
    except ModuleNotFoundError:
        raise DecisionLogError("a parquet: decision log needs DuckDB (pip install "
                               "'ta-rules[history]')") from None
    return duckdb


class ParquetSink:
    """Parquet files partitioned by day (``DIR/day=YYYY-MM-DD/part-SEQ.parquet``)."""

    def __init__(self, url: str, path: str, *, write: bool) -> None:
        self.url = url
        self.folder = Path(path)
        self.duckdb = _duckdb()
        if not write and not self.folder.is_dir():
            raise DecisionLogError(f"decision log {url}: no such folder")
        self.lock = _Lock(url, self.folder / ".lock") if write else None
        if write:  # a batch cut short by a crash: never renamed, so never acknowledged
            for stale in self.folder.glob("day=*/.part-*.tmp"):
                stale.unlink()
        self.db = self.duckdb.connect()
        self.claims: dict[str, str] | None = None

    def files(self) -> list[Path]:
        """The part files in the order they were written (by their first seq)."""
        found = self.folder.glob("day=*/part-*.parquet")
        return sorted(found, key=lambda p: (p.name, p.parent.name))

    def _query(self, sql: str, files: list[Path]) -> list[Any]:
        if not files:
            return []
        names = [str(f) for f in files]
        try:
            rows: list[Any] = self.db.execute(sql.replace("FILES", "read_parquet(?, "
                                                          "file_row_number=true)"),
                                              [names]).fetchall()
        except self.duckdb.Error as exc:
            raise DecisionLogError(f"decision log {self.url}: {exc}") from None
        return rows

    def head(self) -> Head:
        """The last record's (seq, hash), from the last part file."""
        files = self.files()
        rows = self._query("SELECT seq, hash FROM FILES ORDER BY seq DESC LIMIT 1", files[-1:])
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def write(self, records: Sequence[StoredRecord]) -> None:
        """One new file per day of the batch: written, fsynced, renamed, folder fsynced."""
        by_day: dict[str, list[StoredRecord]] = {}
        for r in records:
            by_day.setdefault(_day(r), []).append(r)
        for day, part in by_day.items():
            folder = self.folder / f"day={day}"
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / f"part-{part[0]['seq']:015d}.parquet"
            fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=folder)
            os.close(fd)
            try:
                columns = [[r["seq"] for r in part], [r["decision_id"] for r in part],
                           [r["labels"].get("claim") for r in part],
                           [r["decided_at"] for r in part], [r["hash"] for r in part],
                           [r["prev_hash"] for r in part], [_text(r) for r in part]]
                self.db.execute(
                    "COPY (SELECT unnest($1::BIGINT[]) AS seq, unnest($2::VARCHAR[]) AS "
                    "decision_id, unnest($3::VARCHAR[]) AS claim, unnest($4::VARCHAR[]) AS "
                    "decided_at, unnest($5::VARCHAR[]) AS hash, unnest($6::VARCHAR[]) AS "
                    "prev_hash, unnest($7::VARCHAR[]) AS record) TO '"
                    + tmp.replace("'", "''") + "' (FORMAT parquet)", columns)
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, final)
                _fsync_dir(folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        if self.claims is not None:
            for r in records:
                claim = r["labels"].get("claim")
                if claim is not None:
                    self.claims[claim] = r["decision_id"]

    def read(self) -> Iterator[tuple[str, Any]]:
        """Every record, file by file, row by row."""
        for path in self.files():
            rows = self._query("SELECT file_row_number, record FROM FILES "
                               "ORDER BY file_row_number", [path])
            for number, text in rows:
                yield f"{path.parent.name}/{path.name} row {number + 1}", str(text)

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """A record by id (DuckDB scans the files)."""
        rows = self._query("SELECT record FROM FILES WHERE decision_id = ? LIMIT 1"
                           .replace("?", "'" + decision_id.replace("'", "''") + "'"),
                           self.files())
        return parse_stored(rows[0][0]) if rows else None

    def last_for_claim(self, claim: str) -> str | None:
        """From a map of every claim label, built on first use with one query."""
        if self.claims is None:
            rows = self._query("SELECT claim, arg_max(decision_id, seq) FROM FILES "
                               "WHERE claim IS NOT NULL GROUP BY claim", self.files())
            self.claims = {str(c): str(d) for c, d in rows}
        return self.claims.get(claim)

    def close(self) -> None:
        """Close DuckDB and release the lock."""
        with contextlib.suppress(Exception):
            self.db.close()
        if self.lock is not None:
            self.lock.release()


# --- PostgreSQL --------------------------------------------------------------------------

_PG_TABLE: Final = "ta_rules_decisions"
_PG_SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS {_PG_TABLE} (
    seq BIGINT PRIMARY KEY,
    decision_id UUID NOT NULL UNIQUE,
    claim TEXT,
    decided_at TIMESTAMPTZ NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {_PG_TABLE}_claim ON {_PG_TABLE} (claim, seq);
CREATE INDEX IF NOT EXISTS {_PG_TABLE}_decided_at ON {_PG_TABLE} (decided_at);
"""


class PostgresSink:
    """A PostgreSQL table; a batch is one COPY in one committed transaction."""

    def __init__(self, url: str, *, write: bool) -> None:
        try:
            import psycopg
        except ModuleNotFoundError:
            raise DecisionLogError("a postgresql:// decision log needs psycopg 3 (pip install "
                                   "'ta-rules[postgres]')") from None
        self.url = url
        self.psycopg = psycopg
        self.db = self._connect(write)
        self._last: Head = self.head() if write else None

    def _connect(self, write: bool) -> Any:
        try:
            db = self.psycopg.connect(self.url, autocommit=True)
        except self.psycopg.Error as exc:
            raise DecisionLogError(f"decision log {_safe(self.url)}: cannot connect: "
                                   f"{str(exc).strip().splitlines()[0]}") from None
        if write:
            # one writer per log: a session lock, released when the connection ends
            key = zlib.crc32(_PG_TABLE.encode())
            try:
                got = db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if got and got[0]:
                    db.execute(_PG_SCHEMA.encode())
            except self.psycopg.Error as exc:
                db.close()
                raise DecisionLogError(f"decision log {_safe(self.url)}: "
                                       f"{str(exc).strip().splitlines()[0]}") from None
            if not got or not got[0]:
                db.close()
                raise DecisionLogError(f"decision log {_safe(self.url)}: another process is "
                                       "writing it; one writer keeps one chain")
        return db

    def _reconnect(self) -> None:
        """A new connection after the server went away; the log must be as we left it."""
        with contextlib.suppress(Exception):
            self.db.close()
        self.db = self._connect(True)
        found = self.head()
        if found != self._last:
            raise DecisionLogError(
                f"decision log {_safe(self.url)}: its last record is {found} since the "
                f"connection was lost, not {self._last}, the last this process wrote; "
                "nothing more is written to it (restart to continue the chain)")

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            cur = self.db.execute(sql.encode(), params)
            return cur.fetchall() if cur.description else []
        except self.psycopg.Error as exc:
            raise DecisionLogError(f"decision log {_safe(self.url)}: "
                                   f"{str(exc).strip().splitlines()[0]}") from None

    def head(self) -> Head:
        """The last record's (seq, hash)."""
        rows = self._run(f"SELECT seq, hash FROM {_PG_TABLE} ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def write(self, records: Sequence[StoredRecord]) -> None:
        """COPY the batch in one transaction and commit (reconnecting first if need be)."""
        if self.db.closed or self.db.broken:
            self._reconnect()
        try:
            with self.db.transaction(), self.db.cursor() as cur, cur.copy(
                    f"COPY {_PG_TABLE} (seq, decision_id, claim, decided_at, hash, record) "
                    "FROM STDIN") as copy:
                for r in records:
                    copy.write_row((r["seq"], r["decision_id"], r["labels"].get("claim"),
                                    r["decided_at"], r["hash"], _text(r)))
        except self.psycopg.Error as exc:
            raise DecisionLogError(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
        self._last = (records[-1]["seq"], records[-1]["hash"])

    def read(self) -> Iterator[tuple[str, Any]]:
        """Every record by ``seq`` (a record moved by hand carries another seq than its row)."""
        try:
            with self.db.cursor(name="ta_rules_read", withhold=True) as cur:
                cur.execute(f"SELECT seq, record FROM {_PG_TABLE} ORDER BY seq")
                for seq, text in cur:
                    yield f"seq {seq}", str(text)
        except self.psycopg.Error as exc:
            raise DecisionLogError(f"decision log {_safe(self.url)}: "
                                   f"{str(exc).strip().splitlines()[0]}") from None

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """A record by id (indexed)."""
        try:
            rows = self._run(f"SELECT record FROM {_PG_TABLE} WHERE decision_id = %s::uuid",
                             (decision_id,))
        except DecisionLogError:
            return None
        return parse_stored(rows[0][0]) if rows else None

    def last_for_claim(self, claim: str) -> str | None:
        """Indexed by claim label."""
        rows = self._run(f"SELECT decision_id::text FROM {_PG_TABLE} WHERE claim = %s "
                         "ORDER BY seq DESC LIMIT 1", (claim,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close the connection (releasing the writer's lock)."""
        with contextlib.suppress(Exception):
            self.db.close()


def _safe(url: str) -> str:
    """A URL without its password."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{creds}{at}{host}"
