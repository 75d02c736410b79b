"""``ta-rules show``: a ruleset as the compiler reads it, each part with where it is written.

For a version written as changes (``based_on:``) this is the flattened ruleset: every
parameter, reason, value, function and rule, inherited or changed, followed by a comment
naming the file and line that wrote it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.changes import FlatDocument
from ta_rules.rulesets.compile import Ruleset

__all__ = ["render_flat", "render_python"]

_SECTIONS = ("parameters", "reasons", "functions", "values", "groups", "amounts")


class _Dumper(yaml.SafeDumper):
    pass


def _date(dumper: yaml.SafeDumper, value: dt.date) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # an expression written over several lines is shown as a block, as it was written
    style = "|" if "\n" in value.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str",
                                   value.rstrip("\n") if style is None else value, style=style)


_Dumper.add_representer(dt.date, _date)
_Dumper.add_representer(str, _text)


def _dump(value: Any, indent: int) -> list[str]:
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=1000)
    text = text.removesuffix("...\n")
    return [" " * indent + line for line in text.splitlines()]


def _where(doc: YamlDocument, path: Path) -> str:
    # the line of the key that names the part (a rule in a list: the line of its first key)
    loc = doc.location(path, key=True)
    return f"{loc.source}:{loc.line}"


def _changed_within(doc: YamlDocument, path: Path) -> str:
    """``; default: file:line`` for the keys of an entry written by another file."""
    if not isinstance(doc, FlatDocument):
        return ""
    own = doc.origin(path)[0]
    parts = []
    for key in doc.origins:
        if len(key) == len(path) + 1 and key[: len(path)] == path and isinstance(
                key[-1], str) and doc.origin(key)[0] is not own:
            parts.append(f"{key[-1]}: {_where(doc, key)}")
    return "; " + ", ".join(parts) if parts else ""


def _entry(doc: YamlDocument, path: Path, name: Any, value: Any, indent: int) -> list[str]:
    head = " " * indent + f"# {_where(doc, path)}{_changed_within(doc, path)}"
    return [head, *_dump({name: value} if not isinstance(name, int) else [value], indent)]


def _rules(doc: YamlDocument, path: Path, rules: list[Any], indent: int) -> list[str]:
    out = []
    for i, rule in enumerate(rules):
        out.append(" " * indent + f"# {_where(doc, (*path, i))}")
        out.extend(_dump([rule], indent))
    return out


def _group(doc: YamlDocument, name: str, group: dict[str, Any]) -> list[str]:
    path = ("groups", name)
    out = [f"  # {_where(doc, path)}", f"  {name}:"]
    for key, value in group.items():
        if key == "rules" and isinstance(value, list):
            out.append("    rules:")
            out.extend(_rules(doc, (*path, "rules"), value, 6))
        elif key == "tables" and isinstance(value, dict):
            out.append("    tables:")
            for tname, rules in value.items():
                out.append(f"      {tname}:")
                out.extend(_rules(doc, (*path, "tables", tname), rules, 8))
        else:
            out.extend(_dump({key: value}, 4))
    return out


def render_flat(ruleset: Ruleset) -> str:
    """The whole ruleset as YAML, each part preceded by ``# file:line`` of where it is written.

    Raises:
        ValueError: For a ruleset compiled from a spec alone (no document to show).
    """
    doc = ruleset.document
    if doc is None:
        raise ValueError(f"{ruleset.name} {ruleset.version} was compiled from a spec alone: "
                         "there is no file to show")
    lines = [f"# {ruleset.name} {ruleset.version} from {ruleset.source} "
             f"({ruleset.content_hash})"]
    if ruleset.based_on is not None:
        lines.append(f"# based on {ruleset.based_on}; each part below says which file wrote it")
    for key, value in doc.data.items():
        if key in _SECTIONS and isinstance(value, dict):
            lines.append(f"{key}:")
            for name, entry in value.items():
                if key == "groups" and isinstance(entry, dict):
                    lines.extend(_group(doc, name, entry))
                else:
                    lines.extend(_entry(doc, (key, name), name, entry, 2))
        elif key == "outcome" and isinstance(value, list):
            lines.append("outcome:")
            lines.extend(_rules(doc, ("outcome",), value, 2))
        else:
            lines.extend(_entry(doc, (key,), key, value, 0))
    return "\n".join(lines) + "\n"


def render_python(ruleset: Ruleset) -> str:
    """The generated Python of a ruleset (plain and traced programs), with a header."""
    return (f"# {ruleset.name} {ruleset.version} from {ruleset.source} "
            f"({ruleset.content_hash})\n" + ruleset.python_source)
