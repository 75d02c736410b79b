"""Reading a request body: JSON by a JSON parser, anything else by the YAML loader.

``ta-rules eval FILE`` reads JSON and YAML alike with the YAML loader, which keeps
positions for its messages and closes YAML's traps; on a JSON body that costs about 18
times what a JSON parser takes. So a body is first read by :func:`json.loads`, with hooks
that give up (and hand the body to the YAML loader) wherever the two readings could
differ: a number YAML would read as text (``1e5``), a surrogate escape, a tab, a character
YAML refuses or reads as a line break, a duplicate key, ``NaN``, an integer too long, or a
document nearer the loader's depth or size limits than a margin. Whatever comes back is
then exactly what the YAML loader would have read, and every error, with its line and
column, still comes from the loader.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from ta_rules.errors import Diagnostic
from ta_rules.rulesets._yaml import MAX_DEPTH, MAX_INT_DIGITS, MAX_NODES, load_yaml

__all__ = ["DocumentError", "read_document"]

#: Text the two readings may treat differently: a tab (YAML refuses it as indentation),
#: an escaped surrogate (JSON pairs them, YAML does not), characters YAML refuses
#: (DEL, C1 controls, U+FFFE/U+FFFF) or reads as line breaks (NEL, U+2028, U+2029), and
#: a key whose ``:`` is on another line or far after it (YAML wants a key's ``:`` on its
#: line, within 1,024 characters of its start).
_UNSURE = re.compile("\t|\\\\u[dD][89abAB]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
                     "\u2028\u2029\ufffe\uffff]|\" *+[\r\n][ \r\n]*+:|\" {16,}+:")
#: The longest key read here: escaped, its text is at most 6 times longer (``\\u0061``).
_MAX_KEY = 160
#: A JSON number that YAML reads as a float too: a dot, and a signed exponent if any.
_YAML_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")
SOURCE: Final = "<request>"


class DocumentError(ValueError):
    """A body that is not a document: the YAML loader's problems (empty if none said)."""

    def __init__(self, problems: list[Diagnostic]) -> None:
        super().__init__("; ".join(f"{d.location}: {d.message}" for d in problems)
                         or "not a document")
        self.problems = problems


class _Unsure(Exception):
    """The JSON reading may differ from the YAML loader's: ask the loader."""


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(items)
    if len(out) != len(items) or any(len(key) > _MAX_KEY for key in out):
        raise _Unsure
    return out


def _float(text: str) -> float:
    if not _YAML_FLOAT.fullmatch(text):
        raise _Unsure
    return float(text)


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise _Unsure
    return int(text)


def _constant(name: str) -> Any:
    raise _Unsure


def _within_limits(data: Any) -> bool:
    """Nesting and value count well inside the loader's limits (it decides near them)."""
    stack = [(data, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth >= MAX_DEPTH - 1 or count >= MAX_NODES:
            return False
        if type(value) is dict:
            stack.extend((v, depth + 1) for v in value.values())
        elif type(value) is list:
            stack.extend((v, depth + 1) for v in value)
    return True


def _json(raw: bytes, max_bytes: int) -> Any:
    if len(raw) > max_bytes:
        raise _Unsure
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise _Unsure from None
    if not text.lstrip(" \r\n").startswith(("{", "[")) or _UNSURE.search(text):
        raise _Unsure
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_float=_float,
                          parse_int=_int, parse_constant=_constant)
    except (ValueError, RecursionError):
        raise _Unsure from None
    if not _within_limits(data):
        raise _Unsure
    return data


def read_document(raw: bytes, *, max_bytes: int) -> Any:
    """The data of a JSON or YAML body, as ``ta-rules eval`` reads a file.

    Raises:
        DocumentError: With the loader's problems (code, line, column).
    """
    try:
        return _json(raw, max_bytes)
    except _Unsure:
        pass
    doc, problems = load_yaml(raw, SOURCE, max_bytes=max_bytes)
    if doc is None or problems:
        raise DocumentError(problems)
    return doc.data
