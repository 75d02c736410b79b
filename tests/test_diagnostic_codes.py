"""Diagnostic codes are one table: call sites use its constants, the docs list is made
from it, and every code in it is given somewhere."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import ta_rules
from ta_rules import diagnostic_codes as dc
from ta_rules.diagnostic_codes import CODES, docs_list

from conftest import ROOT

PACKAGE = Path(ta_rules.__file__).parent
TABLE = PACKAGE / "diagnostic_codes.py"
PREFIXES = sorted({c.split(".")[0] for c in CODES})
CODE_LIKE = re.compile(rf"^({'|'.join(PREFIXES)})\.[a-z][a-z0-9-]*$")
BUILT = re.compile(rf"""^[a-zA-Z]*[fF][a-zA-Z]*["'].*\b({'|'.join(PREFIXES)})\.(\{{|[a-z-]+\{{)""")


def strings(source: str) -> list[tuple[int, str]]:
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            out.append((tok.start[0], tok.string))
    return out


def test_no_code_is_written_as_a_literal_outside_the_table() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == TABLE:
            continue
        for line, text in strings(path.read_text(encoding="utf-8")):
            if BUILT.match(text):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {text} (built from parts)")
                continue
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str) and (value in CODES or CODE_LIKE.match(value)):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {text}")
    assert not found, "use ta_rules.diagnostic_codes constants:\n" + "\n".join(found)


def test_no_diagnostic_is_made_with_a_literal_code() -> None:
    # whatever its prefix: the first argument of Diagnostic(...) is a constant of the table
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Diagnostic" \
                    and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, found


def test_every_code_in_the_table_is_given_somewhere() -> None:
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path != TABLE:
            used |= set(re.findall(r"\bdc\.([A-Z][A-Z0-9_]+)\b", path.read_text("utf-8")))
    constants = {name for name in dir(dc) if name.isupper() and isinstance(
        getattr(dc, name), str) and getattr(dc, name) in CODES}
    assert constants - used == set()
    assert {getattr(dc, n) for n in constants} == set(CODES)


def test_the_docs_list_is_the_table() -> None:
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    begin, end = "<!-- codes: begin -->\n", "<!-- codes: end -->"
    assert text[text.index(begin) + len(begin):text.index(end)] == docs_list()


def test_each_code_has_a_severity_summary_and_anchor() -> None:
    for c in CODES.values():
        assert c.severity in ("error", "warning") and c.summary.endswith(".")
        assert c.anchor == "docs/diagnostics.md#" + c.code.replace(".", "-")
