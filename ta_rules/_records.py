"""Every JSON Lines input is read here: ``eval --batch``, ``impact`` histories, partial files.

:func:`numbered_lines` numbers a stream's lines reading at most :data:`MAX_LINE` + 1 bytes
at a time: a longer line is read past in bounded pieces and comes as ``None`` (its error
record), so no line is ever held whole beyond the bound. :func:`loads_record` reads one
line's JSON document refusing what ``ta-rules eval FILE`` refuses (duplicate keys, NaN,
huge integers, too many fields). :func:`records` does both and gives each line that cannot
be read a :class:`BadRecord` with its line number and kind.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, Final, NamedTuple, Protocol

__all__ = ["MAX_FIELDS", "MAX_INT_DIGITS", "MAX_LINE", "BadRecord", "Line", "RecordError",
           "loads_record", "numbered_lines", "records"]

#: Longest line read: the size limit of a facts file (``ta-rules eval FILE``).
MAX_LINE: Final = 2 * 1024 * 1024
#: Most fields (keys of every object) one line's document may have.
MAX_FIELDS: Final = 10_000
#: Most digits of an integer in a line.
MAX_INT_DIGITS: Final = 64
#: Bytes read at a time past the end of an oversized line.
_SKIP_PIECE: Final = 1024 * 1024

Line = tuple[int, bytes | str | None, int]  # (number, content or None when too long, size)


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


class RecordError(ValueError):
    """A line that is not one JSON document as ta-rules reads them."""


class BadRecord(NamedTuple):
    """A line that cannot be read: its kind (``too-large``, ``encoding``, ``json``) and why."""

    kind: str
    message: str


def numbered_lines(lines: IO[bytes] | Iterable[bytes | str], *, max_line: int = MAX_LINE,
                   digest: _Digest | None = None) -> Iterator[Line]:
    """Number the input's lines; a line over ``max_line`` bytes is read past, never held.

    Args:
        lines: A binary stream (read with ``readline(max_line + 1)``) or an iterable of lines.
        max_line: Longest line kept, in bytes (its end of line included).
        digest: Updated with every byte read, in order (a hash of what was consumed).
    """
    readline: Any = getattr(lines, "readline", None)
    if readline is None:
        for number, line in enumerate(lines, 1):
            if digest is not None:
                digest.update(line.encode("utf-8") if isinstance(line, str) else line)
            size = len(line)
            yield number, (line if size <= max_line else None), size
        return
    for number in itertools.count(1):
        line = readline(max_line + 1)
        if not line:
            return
        if digest is not None:
            digest.update(line)
        size = len(line)
        if size <= max_line or line[max_line:] in (b"\n", "\n"):
            yield number, line, size
            continue
        while line[-1:] not in (b"\n", "\n"):  # read past the rest of an oversized line
            line = readline(_SKIP_PIECE)
            if not line:
                break
            if digest is not None:
                digest.update(line)
            size += len(line)
        yield number, None, size


def _refuse_constant(name: str) -> Any:
    raise RecordError(f"{name} is not a number JSON allows here")


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise RecordError(f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are read")
    return int(text)


def loads_record(text: str | bytes) -> Any:
    """One line's JSON document, refusing what ``ta-rules eval FILE`` refuses.

    Duplicate keys (JSON would keep the last silently), NaN and Infinity, integers of more
    than :data:`MAX_INT_DIGITS` digits and more than :data:`MAX_FIELDS` fields.

    Raises:
        ValueError: Saying what is wrong (:class:`RecordError`, or the JSON syntax error).
    """
    fields = [0]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        fields[0] += len(items)
        if fields[0] > MAX_FIELDS:
            raise RecordError(f"more than {MAX_FIELDS} fields in one document")
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise RecordError(f"duplicate key {key[:80]!r}; JSON would silently keep only "
                                  "the last value")
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs, parse_constant=_refuse_constant,
                      parse_int=_int)


def decode_line(raw: bytes | str | None, size: int, *,
                max_line: int = MAX_LINE) -> str | BadRecord:
    """A line's text, or why it cannot be read (too large, not UTF-8)."""
    if raw is None:
        return BadRecord("too-large", f"line is {size} bytes; at most {max_line}")
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadRecord("encoding", f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at "
                         f"byte {exc.start + 1} of the line cannot start a character")


def records(lines: IO[bytes] | Iterable[bytes | str], *, max_line: int = MAX_LINE,
            ) -> Iterator[tuple[int, Any | BadRecord]]:
    """The JSON document of each line that is not blank, or the :class:`BadRecord` of it."""
    for number, raw, size in numbered_lines(lines, max_line=max_line):
        text = decode_line(raw, size, max_line=max_line)
        if isinstance(text, BadRecord):
            yield number, text
            continue
        if not text.strip():
            continue
        try:
            yield number, loads_record(text)
        except (ValueError, RecursionError) as exc:
            yield number, BadRecord("json", f"not a JSON document: {exc}"[:500])
