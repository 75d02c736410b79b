"""Safe YAML loading that keeps the position of every value and closes YAML's traps.

PyYAML's node tree is walked into plain data and a map of data path -> position, so later
stages (pydantic, the compiler, the scenario runner) can point at ``file:line:column``.

Traps closed here:
- duplicate keys (PyYAML silently keeps the last) are errors;
- anchors, aliases and merge keys are refused in rule files (a rule is written in one
  place, so every position is unambiguous). Files that share values (scenario files, with
  ``aliases=True``) may use them: an alias is expanded as a copy whose positions are those
  of the anchored value, and every value of the expansion counts against
  :data:`MAX_NODES`, so "billion laughs" expansion is refused at the alias that would pass
  the bound;
- explicit tags (``!!python/object``...) are refused;
- only ``true``/``false`` are booleans (``no``, ``on``, ``yes`` stay strings), octal-looking
  and sexagesimal numbers are not numbers, and every plain scalar YAML read as something
  other than a string is remembered so a schema error can say "quote it";
- non-UTF-8 bytes, tabs, oversized files and excessive nesting are reported with a place;
- ``.inf``/``.nan`` and integers of more than :data:`MAX_INT_DIGITS` digits are refused
  with a place (no policy or fact needs them, and Python refuses to read integers of more
  than 4,300 digits).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
from typing import Any, Final

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location

__all__ = ["MAX_BYTES", "MAX_DEPTH", "YamlDocument", "load_yaml", "path_str"]

MAX_BYTES: Final = 2 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_NODES: Final = 200_000
#: Most digits an integer may have (the same bound as the characters of an amount).
MAX_INT_DIGITS: Final = 64

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Trap(Exception):
    def __init__(self, code: str, message: str, mark: Any, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark
        self.hint = hint


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.2-like implicit typing: only true/false are booleans, no octal or sexagesimal."""


_Resolver.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for key, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Resolver.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_RESOLVER = _Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
# libyaml's parser when PyYAML was built with it (ten times faster), else the pure-Python one
_PARSER_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True)
class _ScalarInfo:
    tag: str
    style: str | None
    start: int
    end: int
    line: int
    column: int


@dataclasses.dataclass
class YamlDocument:
    """A loaded YAML document with the position of every value.

    Attributes:
        source: The file name used in diagnostics.
        text: The decoded file text.
        data: The plain data (dicts, lists, str, int, float, bool, None, date).
    """

    source: str
    text: str
    data: Any
    _marks: dict[Path, tuple[int, int]] = dataclasses.field(default_factory=dict)
    _key_marks: dict[Path, tuple[int, int]] = dataclasses.field(default_factory=dict)
    _scalars: dict[Path, _ScalarInfo] = dataclasses.field(default_factory=dict)

    def location(self, path: Path, *, key: bool = False) -> Location:
        """The location of the value (or key) at ``path``, or of its nearest ancestor."""
        marks = self._key_marks if key else self._marks
        probe = tuple(path)
        while probe and probe not in marks and probe not in self._marks:
            probe = probe[:-1]
        line, col = marks.get(probe) or self._marks.get(probe) or (1, 1)
        return Location(self.source, line, col, path_str(path))

    def plain_non_string(self, path: Path) -> str | None:
        """If the value at ``path`` was an unquoted scalar YAML read as a non-string, its text."""
        info = self._scalars.get(tuple(path))
        if info is None or info.style is not None or info.tag in (_STR, _NULL):
            return None
        return self.text[info.start : info.end]

    def offset_location(self, path: Path, offset: int) -> Location:
        """Location of character ``offset`` of the string value at ``path``.

        The characters of a YAML string value appear, in order, in its source text (folding
        only removes line breaks, indentation and quotes), so the offset is found by walking
        the value along the source.
        """
        info = self._scalars.get(tuple(path))
        if info is None:
            return self.location(path)
        value = self.data_at(path)
        if not isinstance(value, str):
            return self.location(path)
        src = self.text
        i = info.start
        if info.style in ("|", ">"):
            nl = src.find("\n", i)
            i = nl + 1 if nl != -1 else i
        elif info.style in ("'", '"'):
            i += 1
        for ch in value[: max(0, min(offset, len(value)))]:
            j = src.find(ch, i, info.end) if not ch.isspace() else i
            if ch.isspace():
                # a space may come from a folded line break; skip any run of whitespace
                while i < info.end and src[i].isspace():
                    i += 1
                continue
            if j == -1:
                return Location(self.source, info.line, info.column, path_str(path))
            i = j + 1
        while i < info.end and src[i].isspace():
            i += 1
        line = src.count("\n", 0, i) + 1
        col = i - (src.rfind("\n", 0, i) + 1) + 1
        return Location(self.source, line, col, path_str(path))

    def positions_under(self, root: Path) -> list[tuple[dict[Path, Any], Path, Any]]:
        """Every position recorded strictly below ``root``: (table, path from root, position)."""
        n = len(root)
        tables: tuple[dict[Path, Any], ...] = (self._marks, self._key_marks, self._scalars)
        return [(table, path[n:], value) for table in tables for path, value in table.items()
                if path[:n] == root and len(path) > n]

    def share_positions(self, shared: list[tuple[dict[Path, Any], Path, Any]], dst: Path,
                        prefixes: set[Path]) -> None:
        """Give ``dst`` positions of :meth:`positions_under` where it has none of its own.

        Only those whose path (from the root) starts with one of ``prefixes``.
        """
        for table, rel, value in shared:
            if any(rel[:k] in prefixes for k in range(1, len(rel) + 1)):
                table.setdefault((*dst, *rel), value)

    def texts(self) -> dict[str, str]:
        """The text of each file this document was read from, by name (for carets)."""
        return {self.source: self.text}

    def data_at(self, path: Path) -> Any:
        """The data at ``path`` (``None`` when it does not exist)."""
        cur = self.data
        for part in path:
            try:
                cur = cur[part]
            except (KeyError, IndexError, TypeError):
                return None
        return cur


def path_str(path: Path) -> str:
    """Render a data path as ``gates[2].when``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _diag(source: str, code: str, message: str, mark: Any,
          hint: str | None = None, path: Path = ()) -> Diagnostic:
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    return Diagnostic(code, message, Location(source, line, col, path_str(path)), hint)


def _decode(raw: bytes, source: str) -> tuple[str | None, list[Diagnostic]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [
            Diagnostic(
                dc.YAML_ENCODING,
                f"the file is not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot start a "
                "character",
                Location(source, line, col),
                "save the file as UTF-8",
            )
        ]
    return text.removeprefix("\ufeff"), []


def load_yaml(
    content: str | bytes, source: str, *, max_bytes: int = MAX_BYTES, aliases: bool = False
) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse one YAML document, keeping positions.

    Args:
        content: The file content (bytes are decoded as UTF-8).
        source: The file name to use in diagnostics.
        max_bytes: Files larger than this are refused before parsing.
        aliases: Allow anchors, aliases and merge keys (``<<: *name``); an expanded value
            keeps the positions of the anchored one, and expansion is bounded.

    Returns:
        The document (``None`` when it cannot be read) and the problems found.
    """
    size = len(content.encode("utf-8") if isinstance(content, str) else content)
    if size > max_bytes:
        return None, [
            Diagnostic(
                dc.YAML_TOO_LARGE,
                f"the file is {size} bytes; at most {max_bytes} bytes are read",
                Location(source, 1, 1),
            )
        ]
    if isinstance(content, bytes):
        decoded, bad = _decode(content, source)
        if decoded is None:
            return None, bad
        text = decoded
    else:
        text = content
    doc = YamlDocument(source=source, text=text, data=None)
    found: list[Diagnostic] = []
    # when the text cannot be read as YAML the document (without data) still comes back
    # with the problem, so the diagnostic can quote the offending line
    try:
        events = yaml.parse(text, Loader=_PARSER_LOADER)
        doc.data = _Composer(events, doc, found, aliases=aliases).document()
    except _Trap as trap:
        return doc, [_diag(source, trap.code, trap.message, trap.mark, trap.hint)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        hint = _syntax_hint(text, mark, message) if mark is not None else None
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        return doc, [_diag(source, dc.YAML_SYNTAX, message, mark, hint)]
    except yaml.YAMLError as exc:
        return doc, [Diagnostic(dc.YAML_SYNTAX, str(exc), Location(source, 1, 1))]
    except RecursionError:
        return doc, [Diagnostic(dc.YAML_TOO_DEEP, "the document is nested too deeply",
                                Location(source, 1, 1))]
    return doc, found


# `key: "quoted" and more`: the value ended at its closing quote
_QUOTED_THEN_MORE = re.compile(r"""^\s*(?:-\s+)?[^\s#'"][^#]*?:\s+(["'])[^"']*\1\s*[^\s#]""")
_FLOW_CALL = re.compile(r"\{[^{}]*\w\([^()]*,")
_PLAIN_WITH_COLON = re.compile(r"""^\s*(?:-\s+)?[^\s#'"][^:#]*:\s+[^'"{\[|>\s][^#]*?:\s""")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _syntax_hint(text: str, mark: Any, problem: str) -> str | None:
    """A hint for the usual ways a hand-written YAML file goes wrong at ``mark``."""
    lines = text.splitlines()
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    if "\t" in line[: _indent(line) + 1]:
        return "YAML does not allow tabs for indentation; use spaces"
    if _QUOTED_THEN_MORE.match(line):
        key, _, value = line.partition(": ")
        value = value.strip()
        quoted = f"'{value}'" if "'" not in value else '"' + value.replace('"', '\\"') + '"'
        return (f"a value that starts with a quote ends at the closing quote, so YAML cannot "
                f"read what follows it; quote the whole value: {key.strip()}: {quoted}")
    if _FLOW_CALL.search(line):
        return ("inside { } a comma separates entries, so an expression with a comma "
                "(a call with several arguments) is cut in two; write the mapping one "
                "key per line, or quote the expression")
    if "mapping values are not allowed" in problem and _PLAIN_WITH_COLON.match(line):
        return "a value that contains ': ' must be quoted"
    previous = next((p for p in reversed(lines[: mark.line])
                     if p.strip() and not p.lstrip().startswith("#")), None)
    if previous is not None and _indent(line) != _indent(previous) and (
            "expected key" in problem or "mapping values" in problem
            or "block end" in problem):
        return (f"check the indentation: this line is indented {_indent(line)} spaces and the "
                f"line above {_indent(previous)}; the keys of one mapping line up, and a "
                "nested block is indented further than its key")
    return None


class _Composer:
    """Builds plain data and the position map from the parser's event stream."""

    def __init__(self, events: Any, doc: YamlDocument, problems: list[Diagnostic], *,
                 aliases: bool = False) -> None:
        self.events = iter(events)
        self.doc = doc
        self.problems = problems
        self.count = 0
        self.aliases = aliases
        # anchor -> (its path, its data, its values, where its positions are in the log)
        self.anchors: dict[str, tuple[Path, Any, int, int, int]] = {}
        # every position recorded, in order: (table, path), so an anchored value's
        # positions can be copied to each place it is used
        self.log: list[tuple[dict[Path, Any], Path]] = []

    def record(self, table: dict[Path, Any], path: Path, value: Any) -> None:
        table[path] = value
        if self.aliases:
            self.log.append((table, path))

    def copy_positions(self, start: int, end: int, src: Path, dst: Path,
                       keys: frozenset[Any] | None = None) -> None:
        """Give ``dst`` (and below) the positions recorded for ``src`` (and below).

        With ``keys``, only those of the entries directly below ``src`` (and below them).
        """
        n = len(src)
        for table, path in self.log[start:end]:
            if path[:n] == src and (keys is None or (len(path) > n and path[n] in keys)):
                target = (*dst, *path[n:])
                if target not in table:
                    self.record(table, target, table[path])

    def alias(self, event: Any, path: Path) -> Any:
        """A copy of the anchored value, with the anchored value's positions."""
        found = self.anchors.get(event.anchor)
        if found is None:
            raise _Trap(dc.YAML_ALIAS, f"*{event.anchor} names no anchor (&{event.anchor}) "
                        "written before it", event.start_mark,
                        "an anchor is defined before its first use, and not inside it")
        src, data, size, start, end = found
        self.count += size
        if self.count > MAX_NODES:
            raise _Trap(dc.YAML_TOO_LARGE, f"more than {MAX_NODES} values in one document once "
                        f"its aliases are expanded (*{event.anchor} is {size} values)",
                        event.start_mark)
        mark: Any = event.start_mark
        self.record(self.doc._marks, path, (mark.line + 1, mark.column + 1))
        self.copy_positions(start, end, src, path)
        return copy.deepcopy(data)

    def next(self) -> Any:
        return next(self.events)

    def document(self) -> Any:
        event = self.next()  # StreamStart
        event = self.next()
        if isinstance(event, StreamEndEvent):
            return None
        assert isinstance(event, DocumentStartEvent)
        data = self.node(self.next(), (), 0)
        self.next()  # DocumentEnd
        event = self.next()
        if isinstance(event, DocumentStartEvent):
            raise _Trap(dc.YAML_SYNTAX, "a file holds one YAML document; found a second one",
                        event.start_mark, "remove the '---' and what follows it")
        return data

    def node(self, event: Any, path: Path, depth: int) -> Any:
        """Compose one node (and its children) into plain data, recording positions."""
        if isinstance(event, AliasEvent):
            if not self.aliases:
                raise _Trap(dc.YAML_ALIAS, f"aliases (*{event.anchor}) are not allowed in these "
                            "files", event.start_mark, "write the value out in full")
            return self.alias(event, path)
        anchor = event.anchor
        if anchor is None:
            return self.plain_node(event, path, depth)
        if not self.aliases:
            raise _Trap(dc.YAML_ANCHOR, f"anchors (&{anchor}) are not allowed in these "
                        "files", event.start_mark, "write each value out in full")
        count, start = self.count, len(self.log)
        data = self.plain_node(event, path, depth)
        self.anchors[anchor] = (path, data, self.count - count, start, len(self.log))
        return data

    def plain_node(self, event: Any, path: Path, depth: int) -> Any:
        """Compose a node that is not an alias (its anchor, if any, handled by the caller)."""
        tag = event.tag
        if tag is not None and tag != "!" and not (
                isinstance(event, CollectionStartEvent) and event.implicit):
            raise _Trap(dc.YAML_TAG, f"explicit YAML tags ({tag}) are not allowed",
                        event.start_mark, "remove the tag; values are typed by the file format")
        if depth >= MAX_DEPTH:
            raise _Trap(dc.YAML_TOO_DEEP, f"nesting deeper than {MAX_DEPTH} levels",
                        event.start_mark)
        self.count += 1
        if self.count > MAX_NODES:
            raise _Trap(dc.YAML_TOO_LARGE, f"more than {MAX_NODES} values in one document",
                        event.start_mark)
        mark: Any = event.start_mark
        self.record(self.doc._marks, path, (mark.line + 1, mark.column + 1))
        if isinstance(event, MappingStartEvent):
            return self.mapping(path, depth, flow=bool(event.flow_style))
        if isinstance(event, SequenceStartEvent):
            out: list[Any] = []
            flow = bool(event.flow_style)
            event = self.next()
            while not isinstance(event, SequenceEndEvent):
                if flow:
                    self.cut_by_comma(event, (*path, len(out)))
                out.append(self.node(event, (*path, len(out)), depth + 1))
                event = self.next()
            return out
        assert isinstance(event, ScalarEvent)
        resolve: Any = _RESOLVER.resolve
        tag = resolve(ScalarNode, event.value, event.implicit)
        end: Any = event.end_mark
        self.record(self.doc._scalars, path, _ScalarInfo(
            tag, event.style or None, mark.index, end.index, mark.line + 1, mark.column + 1))
        refused = _refused_number(tag, event.value)
        if refused is not None:
            self.problems.append(_diag(self.doc.source, refused[0], refused[1], mark,
                                       "quote it if it is text", path))
            return None
        return _scalar(tag, event.value)

    def cut_by_comma(self, event: Any, path: Path) -> None:
        """In ``{ }`` or ``[ ]``, a plain value with an open parenthesis was cut at a comma."""
        if isinstance(event, ScalarEvent) and not event.style and (
                event.value.count("(") > event.value.count(")")):
            self.problems.append(_diag(
                self.doc.source, dc.YAML_FLOW_COMMA,
                f"inside {{ }} or [ ] a comma ends a value, so YAML reads {event.value!r} "
                "here: an expression was cut at its comma", event.start_mark,
                "write the mapping one key per line, or quote the expression", path))

    def mapping(self, path: Path, depth: int, *, flow: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Any] = {}
        merges: list[tuple[Any, int, int, Any]] = []
        event = self.next()
        while not isinstance(event, MappingEndEvent):
            key_mark = event.start_mark
            if not isinstance(event, ScalarEvent):
                self.problems.append(_diag(self.doc.source, dc.YAML_COMPLEX_KEY,
                                           "mapping keys must be plain strings", key_mark,
                                           path=path))
                self.node(event, (*path, "?"), depth + 1)
                self.node(self.next(), (*path, "?"), depth + 1)
                event = self.next()
                continue
            if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                if (event.tag is not None and event.tag != "!") or not self.aliases:
                    self.node(event, path, depth + 1)  # raises the anchor/tag trap
                self.problems.append(_diag(self.doc.source, dc.YAML_ANCHOR, "an anchor on a "
                                           "key is not allowed", key_mark,
                                           "anchor a value, not a key", path))
            key = str(event.value)
            value_event = self.next()
            if flow:
                self.cut_by_comma(event, (*path, key))
                self.cut_by_comma(value_event, (*path, key))
            if key == "<<" and not event.style:
                if not self.aliases:
                    self.problems.append(_diag(self.doc.source, dc.YAML_MERGE_KEY,
                                               "merge keys (<<) are not allowed in these files",
                                               key_mark, "write the keys out in full", path))
                    self.node(value_event, (*path, "<<"), depth + 1)
                else:
                    start = len(self.log)
                    merged = self.node(value_event, (*path, "<<"), depth + 1)
                    merges.append((merged, start, len(self.log), key_mark))
                event = self.next()
                continue
            child = (*path, key)
            if key in first_seen:
                prev = first_seen[key]
                self.problems.append(Diagnostic(
                    dc.YAML_DUPLICATE_KEY,
                    f"duplicate key '{key}' (first defined at line {prev.line + 1}); YAML "
                    "would silently keep only the last value",
                    Location(self.doc.source, key_mark.line + 1, key_mark.column + 1,
                             path_str(child)),
                    "remove or rename one of them",
                ))
                self.node(value_event, (*path, "?"), depth + 1)
                event = self.next()
                continue
            first_seen[key] = key_mark
            self.record(self.doc._key_marks, child, (key_mark.line + 1, key_mark.column + 1))
            out[key] = self.node(value_event, child, depth + 1)
            event = self.next()
        for merged, start, end, mark in merges:
            self.merge(out, merged, start, end, path, mark)
        return out

    def merge(self, out: dict[str, Any], merged: Any, start: int, end: int, path: Path,
              mark: Any) -> None:
        """``<<: *a`` or ``<<: [*a, *b]``: the keys not written here, the first merge first."""
        sources = [(merged, (*path, "<<"))] if isinstance(merged, dict) else [
            (m, (*path, "<<", i)) for i, m in enumerate(merged)] if isinstance(merged, list) \
            else []
        if not sources or not all(isinstance(m, dict) for m, _ in sources):
            self.problems.append(_diag(self.doc.source, dc.YAML_MERGE_KEY, "a merge key (<<) "
                                       "takes a mapping (*name) or a list of them ([*a, *b])",
                                       mark, path=path))
            return
        for data, src in sources:
            taken = [key for key in data if key not in out]
            for key in taken:
                out[key] = data[key]
            self.copy_positions(start, end, src, path, keys=frozenset(taken))


def _refused_number(tag: str, value: str) -> tuple[str, str] | None:
    """(code, message) when a plain scalar is a number these files refuse."""
    if tag == _FLOAT and value.lstrip("+-").startswith("."):
        word = value.lstrip("+-").lower()
        if word in (".inf", ".nan"):
            return dc.YAML_NON_FINITE, f"{value} is not a finite number; none is allowed here"
    if tag == _INT:
        digits = len(value.lstrip("+-").replace("_", ""))
        if digits > MAX_INT_DIGITS:
            return (dc.YAML_NUMBER_TOO_LARGE,
                    f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are read")
    return None


def _scalar(tag: str, value: str) -> Any:
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _INT:
        text = value.replace("_", "")
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)
    if tag == _FLOAT:
        return float(value)
    if tag == _TIMESTAMP:
        try:
            stamp = _CONSTRUCTOR.construct_yaml_timestamp(ScalarNode(tag, value))
        except ValueError:
            return value
        if isinstance(stamp, dt.datetime | dt.date):
            return stamp
        return value
    return value
