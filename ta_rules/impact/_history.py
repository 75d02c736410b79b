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

from ta_rules._records import MAX_LINE, BadRecord, decode_line, numbered_lines
from ta_rules.impact._sides import ImpactError

__all__ = ["PARTITION", "Record", "TableFacts", "Unreadable", "history_format", "read_history"]

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
    """Records of a JSON Lines stream, each line bounded before it is read.

    The lines are read by the record reader of ``eval --batch``, and parsed (with its
    checks) by the worker that judges them.
    """
    part: list[Record] = []
    try:
        for number, raw, length in numbered_lines(stream):
            text = decode_line(raw, length)
            if isinstance(text, BadRecord):
                kind = "json" if text.kind == "too-large" else text.kind
                part.append((number, Unreadable(kind, text.message), None, None))
            elif text.strip():
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


def _csv_header(path: str) -> list[str]:
    """The column names of a CSV file, from its first line (read bounded)."""
    import csv
    import io

    with open(path, "rb") as fh:
        first = fh.readline(MAX_LINE + 1)
    if len(first) > MAX_LINE:
        raise ImpactError(f"{path}: the header line is over {MAX_LINE} bytes")
    try:
        names = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImpactError(f"{path}: not a readable CSV header: {exc}") from None
    if not names or len(set(names)) != len(names):
        raise ImpactError(f"{path}: the first line must name each column once "
                          f"(found {', '.join(names) or 'nothing'})")
    return names


def _tabular(path: str, fmt: str, size: int) -> tuple[Iterator[list[Record]], int | None]:
    """Rows of a CSV or Parquet history.

    The facts of a row are its ``facts`` column (JSON text, or a struct), else the row's
    own columns (a Parquet file written from JSON Lines facts: structs, lists, DATE and
    DECIMAL columns); ``id`` and ``verdict`` columns are read beside them. A CSV is read
    with the column names of its first line and no type sniffing, so a row DuckDB cannot
    read (one over its line limit) is that row's error, and the others are read.
    """
    duckdb = _duckdb()
    con = duckdb.connect(":memory:")
    # rows come back in file order, in bounded batches
    con.execute("SET preserve_insertion_order = true")
    # one reading thread keeps its buffers small, and leaves the cores to the judging
    con.execute("SET threads = 1")
    params: list[Any] = [path]
    if fmt == "csv":
        names = _csv_header(path)
        scan = ("read_csv(?, header = true, auto_detect = false, columns = ?, "
                "store_rejects = true, max_line_size = ?)")
        params += [dict.fromkeys(names, "VARCHAR"), _CSV_LINE]
    else:
        scan = "read_parquet(?)"
    try:
        columns = {row[0]: row[1] for row in con.execute(
            f"DESCRIBE SELECT * FROM {scan}", params).fetchall()}
    except duckdb.Error as exc:
        con.close()
        raise ImpactError(f"{path}: not a readable {fmt.upper()} file: "
                          f"{str(exc).splitlines()[0]}") from None
    if "facts" not in columns and fmt == "csv":
        con.close()
        raise ImpactError(f"{path}: no 'facts' column (the JSON facts document of each claim); "
                          f"columns are {', '.join(columns) or 'none'}")
    envelope = [c for c in ("id", "verdict") if c in columns]
    facts = ["facts"] if "facts" in columns else [c for c in columns if c not in envelope]
    rejected: dict[int, str] = {}
    total: int | None = None
    try:
        if fmt == "csv":
            # rows DuckDB cannot parse are left out of the scan; count them first, so every
            # row keeps its own number and each rejected one is reported where it is
            con.execute(f"SELECT count(*) FROM {scan}", params).fetchall()
            for line, message in con.execute(
                    "SELECT line, error_message FROM reject_errors ORDER BY line").fetchall():
                rejected.setdefault(int(line) - 1, str(message).splitlines()[0])
        else:
            total = int(con.execute(f"SELECT count(*) FROM {scan}", params).fetchall()[0][0])
        quoted = ", ".join(f'"{c}"' for c in [*facts, *envelope])
        cursor = con.execute(f"SELECT {quoted} FROM {scan}", params)
    except duckdb.Error as exc:
        con.close()
        raise ImpactError(f"{path}: not a readable {fmt.upper()} file: "
                          f"{str(exc).splitlines()[0]}") from None
    shape = _Shape(facts == ["facts"], facts, envelope)
    return _rows(con, cursor, rejected, size, path, shape), total


#: DuckDB's line limit for a CSV history: a row over it is that row's error.
_CSV_LINE = MAX_LINE + 64 * 1024


class _Shape(NamedTuple):
    """How a row of a table holds a claim."""

    facts_column: bool  # one ``facts`` column (JSON text or a struct)
    facts: list[str]  # the columns of the facts
    envelope: list[str]  # ``id`` and ``verdict``, those present


class TableFacts(str):
    """The JSON text of facts read from a table's columns (a struct, or the row itself).

    A table has one set of columns for every row, so a field one claim lacks is null in its
    row: where the vocabulary does not allow null (a field with a default, or a field it
    does not declare), the judge reads that null as an absent field.
    """

    __slots__ = ()


def _json_text(value: Any) -> str:
    """A value DuckDB gives (struct, list, DATE, DECIMAL...) as the JSON of a document.

    DECIMAL values are exact decimal strings (as amounts and rates are written in facts),
    dates and times ISO 8601 strings.
    """
    import datetime as dt
    import json
    from decimal import Decimal

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, dt.date | dt.datetime | dt.time):
            return v.isoformat()
        if isinstance(v, bytes):
            raise ValueError("a binary value; facts are JSON values")
        return v

    return json.dumps(plain(value), ensure_ascii=False, allow_nan=False)


def _record(number: int, row: tuple[Any, ...], shape: _Shape) -> Record:
    values = dict(zip([*shape.facts, *shape.envelope], row, strict=True))
    rid = values.get("id")
    rid = None if rid is None else str(rid)
    verdict = values.get("verdict")
    try:
        if verdict is not None and not isinstance(verdict, str):
            verdict = _json_text(verdict)
        if shape.facts_column:
            facts = values["facts"]
            if facts is None:
                return number, Unreadable("record", "the facts column is empty"), rid, None
            text = facts if isinstance(facts, str) else TableFacts(_json_text(facts))
        else:
            text = TableFacts(_json_text({c: values[c] for c in shape.facts}))
    except ValueError as exc:
        return number, Unreadable("record", str(exc)), rid, None
    if len(text) > MAX_LINE:
        return number, Unreadable("json", f"the facts are {len(text)} characters; at most "
                                  f"{MAX_LINE}"), rid, None
    return number, text, rid, verdict


def _rows(con: Any, cursor: Any, rejected: dict[int, str], size: int,
          path: str, shape: _Shape) -> Iterator[list[Record]]:
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
            for row in rows:
                number += 1
                while bad and bad[0] == number:
                    part.append((number, Unreadable("csv", rejected[bad.pop(0)]), None, None))
                    number += 1
                part.append(_record(number, row, shape))
            if len(part) >= size:
                yield part
                part = []
        for line in bad:  # rejected rows after the last good one
            part.append((line, Unreadable("csv", rejected[line]), None, None))
        if part:
            yield part
    finally:
        con.close()
