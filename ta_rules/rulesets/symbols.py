"""The names a rule file declares, where each is written, and where reason codes are used.

Editors and other tools need a table of names to locations (go to a value's definition,
list a file's parameters) also while the file does not compile. :func:`ruleset_symbols`
reads it from the YAML alone, without the file schema or the compiler, so it answers for
any file whose YAML can be read::

    >>> text = '''
    ... parameters:
    ...   minimum: {type: "money[USD]", default: "100.00", doc: The least order.}
    ... reasons:
    ...   TOO_SMALL: {kind: denial, message: "Below {minimum}."}
    ... values:
    ...   usd_amount: money(contract.order_amount.amount, "USD")
    ... '''
    >>> table = ruleset_symbols(text, "mini.yaml")
    >>> table.find("minimum").kind, str(table.find("minimum").location)
    ('parameter', 'mini.yaml:3:3')
    >>> table.find("usd_amount").detail
    'money(contract.order_amount.amount, "USD")'
    >>> [str(loc) for loc in code_uses(text, "mini.yaml", "TOO_SMALL")]
    ['mini.yaml:5:3']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal

from ta_rules.errors import Location
from ta_rules.rulesets._yaml import YamlDocument, load_yaml

__all__ = ["SECTIONS", "Symbol", "SymbolKind", "SymbolTable", "code_uses", "ruleset_symbols"]

SymbolKind = Literal["parameter", "reason", "value", "function", "group", "rule"]

#: The top-level sections of a rule file whose keys declare names, and the kind of each.
SECTIONS: Final[Mapping[str, SymbolKind]] = {
    "parameters": "parameter", "reasons": "reason", "values": "value",
    "functions": "function", "groups": "group",
}


@dataclasses.dataclass(frozen=True)
class Symbol:
    """One declared name.

    Attributes:
        kind: What it is.
        name: Its name (a rule's id for rules).
        location: Where it is declared (the key, or a rule's ``id``).
        spec: What the file says about it, as plain data (``type``, ``default``, ``doc``,
            ``kind``, ``message``, ``expr``, ``params``, ``mode``...).
    """

    kind: SymbolKind
    name: str
    location: Location
    spec: Mapping[str, Any]

    @property
    def doc(self) -> str | None:
        """Its ``doc``, when written."""
        doc = self.spec.get("doc")
        return doc if isinstance(doc, str) else None

    @property
    def detail(self) -> str:
        """One line: a parameter's type, a reason's kind, a value's or function's expression."""
        s = self.spec
        if self.kind == "parameter":
            return str(s.get("type", "?"))
        if self.kind == "reason":
            return str(s.get("kind", "?"))
        if self.kind in ("value", "function"):
            return str(s.get("expr", "")).strip()
        if self.kind == "group":
            return f"mode: {s.get('mode', '?')}"
        return str(s.get("when", "")).strip()


@dataclasses.dataclass(frozen=True)
class SymbolTable:
    """The names of one rule file.

    Attributes:
        source: The file name.
        symbols: Every declared name, in file order.
        vocabulary: The vocabulary the file names (None: the default).
        catalog: The message catalog it names, if any.
    """

    source: str
    symbols: tuple[Symbol, ...] = ()
    vocabulary: str | None = None
    catalog: str | None = None

    def find(self, name: str, kind: SymbolKind | None = None) -> Symbol | None:
        """The symbol called ``name`` (of ``kind`` when given), or None."""
        return next((s for s in self.symbols
                     if s.name == name and (kind is None or s.kind == kind)), None)

    def of_kind(self, kind: SymbolKind) -> list[Symbol]:
        """Every symbol of one kind, in file order."""
        return [s for s in self.symbols if s.kind == kind]


def _document(content: str | bytes, source: str) -> YamlDocument | None:
    doc, _ = load_yaml(content, source)
    return doc if doc is not None and isinstance(doc.data, dict) else None


def _rule_lists(group: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    rules = group.get("rules")
    if isinstance(rules, list):
        yield ("rules",), rules
    tables = group.get("tables")
    if isinstance(tables, dict):
        for table, rows in tables.items():
            if isinstance(rows, list):
                yield ("tables", table), rows


def _rules(doc: YamlDocument) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """Every rule mapping of the file with its data path."""
    groups = doc.data.get("groups")
    if isinstance(groups, dict):
        for name, group in groups.items():
            if isinstance(group, dict):
                for where, rows in _rule_lists(group):
                    for i, rule in enumerate(rows):
                        if isinstance(rule, dict):
                            yield ("groups", name, *where, i), rule
    outcome = doc.data.get("outcome")
    if isinstance(outcome, list):
        for i, rule in enumerate(outcome):
            if isinstance(rule, dict):
                yield ("outcome", i), rule


def ruleset_symbols(content: str | bytes, source: str) -> SymbolTable:
    """The names a rule file declares, read from its YAML (empty when that cannot be read)."""
    doc = _document(content, source)
    if doc is None:
        return SymbolTable(source)
    out: list[Symbol] = []
    for section, kind in SECTIONS.items():
        entries = doc.data.get(section)
        if not isinstance(entries, dict):
            continue
        for name, spec in entries.items():
            if kind == "value" and isinstance(spec, str):
                spec = {"expr": spec}
            out.append(Symbol(kind, str(name), doc.location((section, name), key=True),
                              spec if isinstance(spec, dict) else {}))
    for path, rule in _rules(doc):
        if isinstance(rule.get("id"), str):
            out.append(Symbol("rule", rule["id"], doc.location((*path, "id")), rule))
    out.sort(key=lambda s: (s.location.line, s.location.column))
    vocabulary, catalog = doc.data.get("vocabulary"), doc.data.get("catalog")
    return SymbolTable(source, tuple(out),
                       vocabulary if isinstance(vocabulary, str) else None,
                       catalog if isinstance(catalog, str) else None)


_WORD_CHARS: Final = "A-Za-z0-9_"


def code_uses(content: str | bytes, source: str, code: str) -> list[Location]:
    """Every place a reason code is written in a rule or scenario file, in file order.

    A code is written as a word of its own (``reasons: [LATE]``, ``reason(LATE)``, a
    scenario's ``expect.reasons``, a comparison in an expression); comments are skipped.
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    pattern = re.compile(rf"(?<![{_WORD_CHARS}.]){re.escape(code)}(?![{_WORD_CHARS}])")
    out: list[Location] = []
    for number, line in enumerate(content.splitlines(), start=1):
        for m in pattern.finditer(line):
            if "#" in line[:m.start()] and _in_comment(line, m.start()):
                break
            out.append(Location(source, number, m.start() + 1))
    return out


def _in_comment(line: str, at: int) -> bool:
    """Whether column ``at`` of a YAML line is inside a comment (outside quotes)."""
    quote: str | None = None
    for i, ch in enumerate(line[:at]):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return True
    return False
