"""Histories of claims: JSON Lines natively, CSV and Parquet through DuckDB.

Every reader yields partitions (lists of :data:`Record`) of a bounded size, so memory
stays constant however long the history. A record is ``(line, document, id, verdict)``:

* ``line``: the line of a JSON Lines file, or the row number of a CSV or Parquet file
  (the first data row is 1, the CSV header is not counted);
* ``document``: the JSON text of the facts document (or of a JSON Lines envelope
  ``{"id": ..., "facts": {...}, "verdict": {...}}``), or a :class:`Unreadable` saying why
  the record could not be read;
* ``id`` and ``verdict``: the ``id`` and ``verdict`` columns of a CSV or Parquet row
  (None when absent or null); a JSON Lines record carries them in its envelope.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ta_rules.batch import MAX_LINE
from ta_rules.impact._sides import ImpactError

__all__ = ["PARTITION", "Record", "Unreadable", "history_format", "read_history"]

#: Records per partition: the unit of work of a worker.
PARTITION = 500
FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
             ".parquet": "parquet", ".pq": "parquet"}


class Unreadable(NamedTuple):
    """A record that could not be read: the kind of problem and a message."""

    kind: str
    message: str


Record = tuple[int, "str | Unreadable", "str | None", "str | None"]


def history_format(path: str, given: str | None = None) -> str:
    """The format of a history: ``given``, else from the file suffix (JSON Lines for stdin).

    Raises:
        ImpactError: An unknown format or suffix.
    """
    if given is not None:
        if given not in FORMATS:
            raise ImpactError(f"unknown history format {given!r}; known: {', '.join(FORMATS)}")
        return given
    if path == "-":
        return "jsonl"
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ImpactError(f"{path}: cannot tell the format from the suffix (.jsonl, .csv or "
                          ".parquet expected); give --claims-format")
    return fmt


def read_history(path: str, fmt: str | None = None, *,
                 size: int = PARTITION) -> tuple[Iterator[list[Record]], int | None]:
    """Open a history and return its partitions and, when known up front, its record count.

    Raises:
        ImpactError: The file cannot be opened, is not of its format, or (CSV, Parquet) has
            no ``facts`` column, or DuckDB is not installed.
    """
    from ta_rules.impact._decisionlog import is_log_url, read_decision_log

    if is_log_url(path) and fmt is None:  # a decision log (docs/decision-log.md)
        return read_decision_log(path, size=size)
    fmt = history_format(path, fmt)
    if path != "-":
        p = Path(path)
        if p.is_dir():
            raise ImpactError(f"{path}: is a folder, expected a history file")
        if not p.is_file():
            raise ImpactError(f"{path}: no such file")
    if fmt == "jsonl":
        try:
            stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ImpactError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return _jsonl(stream, size, close=path != "-"), None
    if Path(path).stat().st_size == 0:  # not even a header: a history of no claims
        return iter(()), 0
    return _tabular(path, fmt, size)


def _jsonl(stream: Any, size: int, *, close: bool) -> Iterator[list[Record]]:
    part: list[Record] = []
    try:
        for number, raw in enumerate(stream, 1):
            if len(raw) > MAX_LINE:
                part.append((number, Unreadable(
                    "json", f"line is {len(raw)} bytes; at most {MAX_LINE}"), None, None))
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    part.append((number, Unreadable(
                        "encoding", f"not UTF-8 text ({exc.reason} at byte {exc.start})"),
                        None, None))
                else:
                    if not text.strip():
                        continue
                    part.append((number, text, None, None))
            if len(part) >= size:
                yield part
                part = []
        if part:
            yield part
    finally:
        if close:
            stream.close()


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise ImpactError("reading CSV and Parquet histories needs DuckDB: "
                          "pip install 'ta-rules[history]'") from None
    return duckdb


def _tabular(path: str, fmt: str, size: int) -> tuple[Iterator[list[Record]], int | None]:
    duckdb = _duckdb()
    con = duckdb.connect(":memory:")
    # rows come back in file order, in bounded batches
    con.execute("SET preserve_insertion_order = true")
    # one reading thread keeps its buffers small, and leaves the cores to the judging
    con.execute("SET threads = 1")
    if fmt == "csv":
        scan = ("read_csv(?, header = true, all_varchar = true, store_rejects = true, "
                "auto_detect = true)")
    else:
        scan = "read_parquet(?)"
    try:
        columns = {row[0]: row[1] for row in con.execute(
            f"DESCRIBE SELECT * FROM {scan}", [path]).fetchall()}
    except duckdb.Error as exc:
        con.close()
        raise ImpactError(f"{path}: not a readable {fmt.upper()} file: "
                          f"{str(exc).splitlines()[0]}") from None
    if "facts" not in columns:
        con.close()
        raise ImpactError(f"{path}: no 'facts' column (the JSON facts document of each claim); "
                          f"columns are {', '.join(columns) or 'none'}")

    def text(column: str) -> str:
        if column not in columns:
            return "NULL"
        if columns[column] in ("VARCHAR", "JSON"):
            return f'"{column}"::VARCHAR'
        if column == "id":
            return '"id"::VARCHAR'
        return f'to_json("{column}")::VARCHAR'

    rejected: dict[int, str] = {}
    total: int | None = None
    try:
        if fmt == "csv":
            # rows DuckDB cannot parse are left out of the scan; count them first, so every
            # row keeps its own number and each rejected one is reported where it is
            con.execute(f"SELECT count(*) FROM {scan}", [path]).fetchall()
            for line, message in con.execute(
                    "SELECT line, error_message FROM reject_errors ORDER BY line").fetchall():
                rejected.setdefault(int(line) - 1, str(message).splitlines()[0])
        else:
            total = int(con.execute(f"SELECT count(*) FROM {scan}", [path]).fetchall()[0][0])
        cursor = con.execute(
            f"SELECT {text('facts')}, {text('id')}, {text('verdict')} FROM {scan}", [path])
    except duckdb.Error as exc:
        con.close()
        raise ImpactError(f"{path}: not a readable {fmt.upper()} file: "
                          f"{str(exc).splitlines()[0]}") from None
    return _rows(con, cursor, rejected, size, path), total


def _rows(con: Any, cursor: Any, rejected: dict[int, str], size: int,
          path: str) -> Iterator[list[Record]]:
    duckdb = _duckdb()
    number = 0
    part: list[Record] = []
    bad = sorted(rejected)
    try:
        while True:
            try:
                rows = cursor.fetchmany(size)
            except duckdb.Error as exc:
                raise ImpactError(f"{path}: reading stopped after row {number}: "
                                  f"{str(exc).splitlines()[0]}") from None
            if not rows:
                break
            for facts, rid, verdict in rows:
                number += 1
                while bad and bad[0] == number:
                    part.append((number, Unreadable("csv", rejected[bad.pop(0)]), None, None))
                    number += 1
                if facts is None:
                    part.append((number, Unreadable("record", "the facts column is empty"),
                                 rid, None))
                else:
                    part.append((number, facts, rid, verdict))
            if len(part) >= size:
                yield part
                part = []
        for line in bad:  # rejected rows after the last good one
            part.append((line, Unreadable("csv", rejected[line]), None, None))
        if part:
            yield part
    finally:
        con.close()
