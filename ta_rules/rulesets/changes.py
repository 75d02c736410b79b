"""A version written as changes to another: ``based_on:`` flattened into a whole ruleset.

A rule file that says ``based_on: "2017.12"`` holds only what its version changes; the rest
is read from the base version of the same ruleset (found beside the file, else among the
bundled rulesets, the lookup vocabularies use too). Flattening happens on the YAML data,
before the file schema and the compiler, so a flattened version is checked and compiled
exactly as a whole file would be; every part keeps where it was written, and a problem is
reported in the file (and at the line) that wrote it.

What a change file may say::

    ruleset: trade-assurance          # the same ruleset as the base
    version: "2025.1"
    based_on: "2017.12"
    effective: {from: 2025-01-01}     # its own dates; order_date is inherited
    parameters:                       # a new parameter, or only the keys that change
      min_order_amount_usd: {default: "150.00"}
    reasons:                          # added, or only the keys that change
      SANCTIONED_DESTINATION: {kind: denial, message: ...}
    values: {...}                     # added or replaced, whole
    functions: {...}                  # added or replaced, whole
    remove:                           # names the base declares and this version drops
      parameters: [deny_if_chargeback_filed]
    groups:
      gates:                          # a group of the base: its rules by id
        remove: [gate.chargeback-filed]
        replace:
          gate.below-minimum:         # the whole rule; its id, if written, is this one
            when: ...
            reasons: [BELOW_MINIMUM]
        add:
          - id: gate.sanctioned
            after: gate.excluded-category   # or before: ID; required in a mode: first group
            when: ...
      grounds:
        tables:                       # a for_each group: each table's rules by id
          late_shipment: {remove: [...], replace: {...}, add: [...]}
      new_group: {mode: all, rules: [...]}   # a group the base has not: written whole
    outcome: {remove: [...], replace: {...}, add: [...]}   # placement required
    amounts: {max_refund: ...}        # only the amounts that change

Everything else (``title``, ``description``, ``catalog``, ``vocabulary``) is inherited
unless given.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator, Sequence
from importlib.resources import files
from typing import Any, Final

from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.rulesets._suggest import Suggester
from ta_rules.rulesets._yaml import MAX_BYTES, Path, YamlDocument, load_yaml
from ta_rules.texts import PolicyText

__all__ = ["MAX_CHAIN", "FlatDocument", "Origin", "flatten", "read_flat"]

#: The longest chain of versions based on one another.
MAX_CHAIN: Final = 32

_RULE_SUFFIXES: Final = (".yaml", ".yml")
_VOCABULARY_SUFFIX: Final = ".vocabulary.yaml"
_NAMED_SECTIONS: Final = ("parameters", "reasons", "functions", "values", "groups")
_KEYWISE: Final = ("parameters", "reasons")
_RULE_CHANGES: Final = ("remove", "replace", "add")
_PLACEMENT: Final = ("before", "after")


@dataclasses.dataclass(frozen=True)
class Origin:
    """Which file wrote a part of a flattened ruleset, and where in it."""

    document: YamlDocument
    path: Path

    def location(self, *, key: bool = False) -> Location:
        """Where it is written."""
        return self.document.location(self.path, key=key)


@dataclasses.dataclass
class FlatDocument(YamlDocument):
    """The flattened data of a version written as changes, with every part's origin.

    Positions are those of the file that wrote each part: a path of the flattened data is
    mapped, by its longest prefix with a known origin, to a path of that file.
    """

    origins: dict[Path, Origin] = dataclasses.field(default_factory=dict)
    bases: tuple[YamlDocument, ...] = ()
    #: The version it is based on.
    based_on: str = ""

    def origin(self, path: Path) -> tuple[YamlDocument, Path]:
        """The document and path that wrote the flattened ``path``."""
        probe = tuple(path)
        while probe not in self.origins and probe:
            probe = probe[:-1]
        found = self.origins[probe]  # () is always there: the change file itself
        return found.document, (*found.path, *path[len(probe):])

    def location(self, path: Path, *, key: bool = False) -> Location:
        """The location in the file that wrote the part at ``path``."""
        doc, where = self.origin(path)
        return doc.location(where, key=key)

    def offset_location(self, path: Path, offset: int) -> Location:
        """The location of a character of a string, in the file that wrote it."""
        doc, where = self.origin(path)
        return doc.offset_location(where, offset)

    def plain_non_string(self, path: Path) -> str | None:
        """As :meth:`YamlDocument.plain_non_string`, read in the file that wrote it."""
        doc, where = self.origin(path)
        return doc.plain_non_string(where)

    def versions(self) -> dict[str, str]:
        """The version each file of the chain writes, by file name."""
        out = {self.source: str(self.data.get("version"))}
        for base in self.bases:
            out.update(base.versions() if isinstance(base, FlatDocument) else
                       {base.source: str(base.data.get("version"))})
        return out

    def texts(self) -> dict[str, str]:
        """The text of this file and of every base, by name."""
        out = {self.source: self.text}
        for base in self.bases:
            out.update(base.texts())
        return out


# --- finding a base --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Candidate:
    source: str            # the name diagnostics show
    data: bytes
    folder: str | None     # the folder its own base is looked up in (None: bundled)
    text_path: str         # where it lies in the virtual policy folder


def _header(data: bytes) -> tuple[Any, Any]:
    doc, _ = load_yaml(data, "<candidate>")
    if doc is None or not isinstance(doc.data, dict):
        return None, None
    return doc.data.get("ruleset"), doc.data.get("version")


def _in_folder(folder: str, name: str, version: str, exclude: str | None,
               max_bytes: int) -> Iterator[tuple[_Candidate, tuple[Any, Any]]]:
    """The rule files of a folder with their (ruleset, version), the conventional name first."""
    from ta_rules.rulesets.load import read_rule_file

    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return
    conventional = [e for e in entries if e in (f"{name}-{version}.yaml", f"{name}-{version}.yml")]
    for entry in (*conventional, *(e for e in entries if e not in conventional)):
        path = os.path.join(folder, entry)
        if not entry.endswith(_RULE_SUFFIXES) or entry.endswith(_VOCABULARY_SUFFIX) or (
                exclude is not None and os.path.abspath(path) == exclude):
            continue
        try:
            data = read_rule_file(path, folder=folder, max_bytes=max_bytes)
        except RulesetError:
            continue
        yield _Candidate(path, data, folder, f"rules/{entry}"), _header(data)


def _bundled() -> Iterator[tuple[_Candidate, tuple[Any, Any]]]:
    """The bundled rule files with their (ruleset, version)."""
    folder = files("ta_rules") / "rules"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(_RULE_SUFFIXES) or entry.name.endswith(_VOCABULARY_SUFFIX):
            continue
        data = entry.read_bytes()
        name = f"rules/{entry.name}"
        yield _Candidate(name, data, None, name), _header(data)


def _among(texts: Sequence[PolicyText], name: str, version: str,
           folder: str | None) -> _Candidate | None:
    for text in texts:
        if text.role in ("rules", "base") and _header(text.data) == (name, version):
            return _Candidate(text.path, text.data, folder, text.path)
    return None


# --- flattening ------------------------------------------------------------------------


class _Flattener:
    def __init__(self, candidates: Sequence[PolicyText], max_bytes: int) -> None:
        self.candidates = candidates
        self.max_bytes = max_bytes
        self.used: dict[str, PolicyText] = {}

    def flatten(self, doc: YamlDocument, folder: str | None,
                chain: tuple[tuple[str, str], ...]) -> YamlDocument:
        data = doc.data
        if not isinstance(data, dict) or "based_on" not in data:
            return doc
        version = doc.plain_non_string(("based_on",)) or data["based_on"]
        name = data.get("ruleset")
        where = doc.location(("based_on",))
        if not isinstance(version, str) or not isinstance(name, str):
            raise _error(doc, "based-on.invalid", "based_on names a version of the same ruleset "
                         "(a text such as \"2017.12\"), and the file names its ruleset:", where)
        own = (name, str(data.get("version")))
        if (name, version) in (*chain, own):
            cycle = " -> ".join(v for _, v in (*chain, own, (name, version)))
            raise _error(doc, "based-on.cycle", f"versions based on one another in a cycle: "
                         f"{cycle}", where, "a version is based on an older one")
        if len(chain) >= MAX_CHAIN:
            raise _error(doc, "based-on.too-deep", f"more than {MAX_CHAIN} versions based on "
                         "one another", where)
        found = _among(self.candidates, name, version, folder)
        known: set[str] = set()
        places = [_in_folder(folder, name, version, os.path.abspath(doc.source),
                             self.max_bytes)] if folder is not None else []
        for candidate, header in itertools.chain(*places, _bundled()):
            if found is not None:
                break
            if header == (name, version):
                found = candidate
            elif header[0] == name and isinstance(header[1], str):
                known.add(header[1])
        if found is None:
            place = f"in {folder} or " if folder is not None else ""
            raise _error(doc, "based-on.unknown-base", f"no version {version} of {name} "
                         f"{place}among the bundled rulesets", where,
                         f"known versions of {name}: {', '.join(sorted(known))}" if known
                         else "based_on names the version: of another file of the same "
                         "ruleset")
        from ta_rules.rulesets.load import _yaml_document

        base_doc = _yaml_document(found.data, found.source, max_bytes=self.max_bytes)
        base = self.flatten(base_doc, found.folder, (*chain, own))
        self.used.setdefault(found.text_path, PolicyText("base", found.text_path, found.data))
        return _Merge(base, doc, version).result()


def flatten(doc: YamlDocument, folder: str | None, *,
            candidates: Sequence[PolicyText] = (),
            max_bytes: int = MAX_BYTES) -> tuple[YamlDocument, tuple[PolicyText, ...]]:
    """The whole ruleset a file means, and the texts of the bases it was flattened with.

    A file without ``based_on`` comes back as it is. The base is looked up among
    ``candidates`` (rule texts, for example those a verdict was judged with), then in
    ``folder`` (the folder of the file), then among the bundled rulesets; its own base the
    same way from where it was found.

    Raises:
        RulesetError: An unknown base, a cycle, or a change that does not fit the base,
            each at the line that wrote it.
    """
    flattener = _Flattener(candidates, max_bytes)
    flat = flattener.flatten(doc, folder, ())
    return flat, tuple(flattener.used.values())


def read_flat(content: bytes, source: str) -> YamlDocument | None:
    """A rule file's data as the compiler reads it (flattened when it has ``based_on``).

    For tools that read rule files without compiling them (the message catalogs): None when
    the file or a change in it is wrong (``ta-rules check`` reports it).
    """
    doc, problems = load_yaml(content, source)
    if doc is None or problems or not isinstance(doc.data, dict):
        return None
    try:
        return flatten(doc, os.path.dirname(os.path.abspath(source)))[0]
    except RulesetError:
        return None


def _error(doc: YamlDocument, code: str, message: str, where: Location,
           hint: str | None = None) -> RulesetError:
    return RulesetError([Diagnostic(code, message, where, hint)], sources=doc.texts())


class _Merge:
    """Apply one change file onto its (flattened) base."""

    def __init__(self, base: YamlDocument, change: YamlDocument, version: str) -> None:
        self.base = base
        self.change = change
        self.version = version
        self.origins: dict[Path, Origin] = {(): Origin(change, ())}
        self.problems: list[Diagnostic] = []
        self.suggest = Suggester()

    def problem(self, code: str, message: str, path: Path, hint: str | None = None, *,
                key: bool = False) -> None:
        self.problems.append(Diagnostic(code, message, self.change.location(path, key=key),
                                        hint))

    def from_base(self, path: Path, base_path: Path | None = None) -> None:
        self.origins[path] = Origin(self.base, base_path if base_path is not None else path)

    def from_change(self, path: Path, change_path: Path | None = None) -> None:
        self.origins[path] = Origin(self.change, change_path if change_path is not None
                                    else path)

    def result(self) -> FlatDocument:
        base: dict[str, Any] = self.base.data
        change: dict[str, Any] = self.change.data
        out: dict[str, Any] = {}
        for key, value in base.items():
            if key != "effective":
                out[key] = value
                self.from_base((key,))
        for key, value in change.items():
            if key in ("based_on", "remove"):
                continue
            if key in _NAMED_SECTIONS and isinstance(value, dict) and isinstance(
                    base.get(key), dict):
                out[key] = self.named(key, base[key], value)
            elif key == "outcome" and isinstance(base.get(key), list):
                out[key] = self.rule_list(base[key], value, ("outcome",), ("outcome",),
                                          first=True, what="the outcome rules")
            elif key == "amounts" and isinstance(value, dict) and isinstance(base.get(key),
                                                                             dict):
                out[key] = self.keywise((key,), base[key], value)
            else:
                out[key] = value
                self.from_change((key,))
        self.effective(base, change, out)
        self.removals(change.get("remove"), out)
        if self.problems:
            raise RulesetError(self.problems, sources={**self.base.texts(),
                                                       **self.change.texts()})
        return FlatDocument(self.change.source, self.change.text, out, origins=self.origins,
                            bases=(self.base,), based_on=self.version)

    def effective(self, base: dict[str, Any], change: dict[str, Any],
                  out: dict[str, Any]) -> None:
        own = change.get("effective")
        if not isinstance(own, dict):
            if own is None:
                self.problem("based-on.effective", "a version written as changes gives its "
                             "own effective dates (effective: from:)", ("version",),
                             key=True)
            return
        merged = dict(own)
        inherited = base.get("effective")
        if "order_date" not in own and isinstance(inherited, dict) and "order_date" in inherited:
            merged["order_date"] = inherited["order_date"]
            self.from_base(("effective", "order_date"))
        out["effective"] = merged

    def keywise(self, path: Path, base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        merged = dict(base)
        for key, value in change.items():
            merged[key] = value
            self.from_change((*path, key))
        return merged

    def named(self, section: str, base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for name in base:
            self.from_base((section, name))
        for name, value in change.items():
            path = (section, name)
            old = base.get(name)
            if section in _KEYWISE and isinstance(old, dict) and isinstance(value, dict):
                self.from_base(path)
                out[name] = self.keywise(path, old, value)
            elif section == "groups" and isinstance(old, dict):
                out[name] = self.group(name, old, value)
            else:
                out[name] = value
                self.from_change(path)
        return out

    def group(self, name: str, base: dict[str, Any], change: Any) -> dict[str, Any]:
        path = ("groups", name)
        self.from_base(path)
        if not isinstance(change, dict):
            self.problem("based-on.group-change", f"group {name} is in the base: write what "
                         "changes under remove:, replace: and add:", path)
            return base
        allowed = (*_RULE_CHANGES, "tables", "doc")
        for key in change:
            if key not in allowed:
                self.problem("based-on.group-change", f"group {name} is in the base; a change "
                             f"to it says {', '.join(allowed)}, not {key}:", (*path, key),
                             "to write the group anew, remove it (remove: groups: "
                             f"[{name}]) and add it under another name", key=True)
        out = dict(base)
        if "doc" in change:
            out["doc"] = change["doc"]
            self.from_change((*path, "doc"))
        first = base.get("mode") == "first"
        own = {k: v for k, v in change.items() if k in _RULE_CHANGES}
        if isinstance(base.get("rules"), list):
            if own:
                out["rules"] = self.rule_list(base["rules"], own, (*path, "rules"), path,
                                              first=first, what=f"group {name}")
            else:
                self.base_rules(base["rules"], (*path, "rules"))
        elif own:
            self.problem("based-on.group-change", f"group {name} has tables, not rules: its "
                         "rules change under tables: NAME: {remove:, replace:, add:}", path)
        tables = change.get("tables")
        if isinstance(base.get("tables"), dict):
            out["tables"] = dict(base["tables"])
            for tname, rules in base["tables"].items():
                if isinstance(rules, list):
                    self.base_rules(rules, (*path, "tables", tname))
            if isinstance(tables, dict):
                for tname, tchange in tables.items():
                    tpath = (*path, "tables", tname)
                    old = base["tables"].get(tname)
                    if isinstance(old, list) and isinstance(tchange, dict):
                        out["tables"][tname] = self.rule_list(
                            old, tchange, tpath, tpath, first=first,
                            what=f"table {tname} of group {name}")
                    else:  # a new table, or one written anew
                        out["tables"][tname] = tchange
                        self.from_change(tpath)
        elif tables is not None:
            self.problem("based-on.group-change", f"group {name} has rules, not tables",
                         (*path, "tables"), key=True)
        return out

    def base_rules(self, rules: list[Any], path: Path) -> None:
        for i in range(len(rules)):
            self.from_base((*path, i))

    def rule_list(self, base: list[Any], change: Any, path: Path, cpath: Path, *,
                  first: bool, what: str) -> list[Any]:
        """The rules of a list after ``remove``, ``replace`` and ``add``."""
        if not isinstance(change, dict):
            self.problem("based-on.rules-change", f"{what}: in a version written as changes, "
                         "the rules of the base change under remove:, replace: and add:",
                         cpath)
            self.base_rules(base, path)
            return base
        for key in change:
            if key not in _RULE_CHANGES:
                self.problem("based-on.rules-change", f"{what}: a change says remove:, "
                             f"replace: or add:, not {key}:", (*cpath, key), key=True)
        # each entry: (rule data, its origin)
        rules: list[tuple[Any, Origin]] = [(r, Origin(self.base, (*path, i)))
                                           for i, r in enumerate(base)]
        ids = [r.get("id") if isinstance(r, dict) else None for r in base]
        removed = self.removed_rules(change.get("remove"), ids, cpath, what)
        rules = [(r, o) for r, o in rules
                 if not (isinstance(r, dict) and isinstance(r.get("id"), str)
                         and r["id"] in removed)]
        rules = self.replaced_rules(rules, change.get("replace"), ids, removed, cpath, what)
        added = change.get("add") or []
        if not isinstance(added, list):
            self.problem("based-on.rules-change", "add: lists the new rules",
                         (*cpath, "add"))
            added = []
        for i, rule in enumerate(added):
            rules = self.place(rules, rule, (*cpath, "add", i), first=first, what=what)
        out = []
        for i, (rule, origin) in enumerate(rules):
            out.append(rule)
            self.origins[(*path, i)] = origin
        return out

    def unknown_rule(self, rid: Any, ids: list[Any], at: Path, what: str, verb: str) -> bool:
        """Report (and say True) when ``rid`` is not a rule of the base list."""
        if isinstance(rid, str) and rid in ids:
            return False
        close = self.suggest(str(rid), [i for i in ids if isinstance(i, str)])
        self.problem("based-on.unknown-rule", f"no rule {rid} in {what} of {self.version} "
                     f"to {verb}", at, close)
        return True

    def removed_rules(self, removed: Any, ids: list[Any], cpath: Path, what: str) -> set[str]:
        """The ids of ``remove:`` that name rules of the base."""
        if removed is None:
            return set()
        if not isinstance(removed, list):
            self.problem("based-on.rules-change", "remove: lists rule ids", (*cpath, "remove"))
            return set()
        return {rid for i, rid in enumerate(removed)
                if not self.unknown_rule(rid, ids, (*cpath, "remove", i), what, "remove")}

    def replaced_rules(self, rules: list[tuple[Any, Origin]], replaced: Any, ids: list[Any],
                       removed: set[str], cpath: Path, what: str) -> list[tuple[Any, Origin]]:
        """``rules`` with each rule of ``replace:`` in the place of the one it names."""
        if replaced is None:
            return rules
        if not isinstance(replaced, dict):
            self.problem("based-on.rules-change", "replace: maps a rule id to its new rule",
                         (*cpath, "replace"))
            return rules
        for rid, rule in replaced.items():
            at = (*cpath, "replace", rid)
            if self.unknown_rule(rid, ids, at, what, "replace"):
                continue
            if rid in removed:
                self.problem("based-on.rules-change", f"rule {rid} is both removed and "
                             "replaced", at, key=True)
                continue
            if isinstance(rule, dict):
                if "id" in rule and rule["id"] != rid:
                    self.problem("based-on.id-mismatch", f"the rule replacing {rid} is named "
                                 f"{rule['id']!r}", (*at, "id"), "a replacement keeps the id it "
                                 "replaces (to add a rule, use add:)")
                rule = {"id": rid, **rule}
            rules = [(rule, Origin(self.change, at)) if isinstance(r, dict) and
                     r.get("id") == rid else (r, o) for r, o in rules]
        return rules

    def place(self, rules: list[tuple[Any, Origin]], rule: Any, at: Path, *, first: bool,
              what: str) -> list[tuple[Any, Origin]]:
        """``rules`` with an added rule at the place it names."""
        origin = Origin(self.change, at)
        if not isinstance(rule, dict):
            return [*rules, (rule, origin)]
        anchors = [k for k in _PLACEMENT if k in rule]
        data = {k: v for k, v in rule.items() if k not in _PLACEMENT}
        present = [r.get("id") for r, _ in rules if isinstance(r, dict)]
        if rule.get("id") in present:
            self.problem("based-on.duplicate-rule", f"{what} already has a rule "
                         f"{rule.get('id')}", (*at, "id"), "to change it, use replace:")
            return rules
        if len(anchors) > 1:
            self.problem("based-on.placement", "an added rule goes before: a rule or "
                         "after: one, not both", (*at, anchors[1]), key=True)
            return rules
        if not anchors:
            if first:
                self.problem("based-on.placement", f"in {what} the first rule that applies "
                             "decides: say where the new rule goes (before: ID or after: ID)",
                             at)
            return [*rules, (data, origin)]
        anchor = anchors[0]
        target = rule[anchor]
        if target not in present:
            close = self.suggest(str(target), [p for p in present if isinstance(p, str)])
            self.problem("based-on.unknown-rule", f"no rule {target} in {what} to add "
                         f"{anchor}", (*at, anchor), close)
            return rules
        index = present.index(target) + (1 if anchor == "after" else 0)
        return [*rules[:index], (data, origin), *rules[index:]]

    def removals(self, remove: Any, out: dict[str, Any]) -> None:
        """``remove: {parameters: [...], ...}``: names of the base this version drops."""
        if remove is None:
            return
        if not isinstance(remove, dict):
            self.problem("based-on.remove", "remove: maps a section (" +
                         ", ".join(_NAMED_SECTIONS) + ") to the names it drops", ("remove",))
            return
        for section, names in remove.items():
            at = ("remove", section)
            if section not in _NAMED_SECTIONS:
                self.problem("based-on.remove", f"remove: names {', '.join(_NAMED_SECTIONS)}, "
                             f"not {section}", at, key=True)
                continue
            if not isinstance(names, list):
                self.problem("based-on.remove", f"remove: {section}: lists names", at)
                continue
            table = out.get(section)
            known = dict(self.base.data.get(section) or {})
            for i, name in enumerate(names):
                if not isinstance(name, str) or name not in known:
                    close = self.suggest(str(name), list(known))
                    self.problem("based-on.remove", f"no {section[:-1]} {name} in "
                                 f"{self.version} to remove", (*at, i), close)
                elif isinstance(table, dict) and isinstance(
                        (self.change.data.get(section) or {}), dict) and name in (
                        self.change.data.get(section) or {}):
                    self.problem("based-on.remove", f"{section[:-1]} {name} is both removed "
                                 "and changed", (*at, i))
                elif isinstance(table, dict):
                    table = {k: v for k, v in table.items() if k != name}
            if isinstance(table, dict):
                out[section] = table

