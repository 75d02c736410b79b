"""One broken rule file per diagnostic code: each gives its code at its line and column.

A file in tests/data/bad_rules/ starts with a comment ``# expect: CODE LINE:COLUMN`` (and
optionally ``max_bytes=N``); a folder holds several files that break together (versions
that overlap, or a ruleset and its message catalog) and an ``EXPECT`` file
``CODE FILE:LINE:COLUMN``. Every case is checked as ``ta-rules check`` checks it, and every
code of ta_rules/diagnostic_codes.py about what a file says has a case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ta_rules
from ta_rules import RulesetError
from ta_rules.diagnostic_codes import CODES

DATA = Path(__file__).parent / "data" / "bad_rules"
HEADER = re.compile(rb"^# expect: (?P<code>[a-z]+\.[a-z-]+) (?P<line>\d+):(?P<col>\d+)"
                    rb"(?: max_bytes=(?P<max>\d+))?")

def cases() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if p.suffix == ".yaml" or p.is_dir())


def emitted_codes() -> set[str]:
    """The codes about what a file says, from the one table of codes."""
    return {c.code for c in CODES.values() if c.content}


def expected(path: Path) -> tuple[str, str, int, int, int | None]:
    if path.is_dir():
        code, where = (path / "EXPECT").read_text().split()
        name, line, col = where.rsplit(":", 2)
        return code, str(path / name), int(line), int(col), None
    m = HEADER.match(path.read_bytes())
    assert m, f"{path.name} lacks an '# expect: CODE LINE:COL' header"
    limit = int(m["max"]) if m["max"] else None
    return m["code"].decode(), str(path), int(m["line"]), int(m["col"]), limit


def diagnostics(path: Path, limit: int | None) -> list[ta_rules.Diagnostic]:
    from ta_rules.tools.check import check_paths

    if limit is not None:
        with pytest.raises(RulesetError) as info:
            ta_rules.load_ruleset(path, max_bytes=limit)
        return list(info.value.diagnostics)
    found, _, _ = check_paths([path], never_matter=True)
    return found


@pytest.mark.parametrize("path", cases(), ids=lambda p: p.stem)
def test_bad_file_gives_its_code_at_its_place(path: Path) -> None:
    code, source, line, col, limit = expected(path)
    found = diagnostics(path, limit)
    assert [d.code for d in found] == [code], [d.render() for d in found]
    (d,) = found
    assert (d.location.source, d.location.line, d.location.column) == (source, line, col)
    assert d.severity == CODES[code].severity
    assert d.message


def test_every_diagnostic_code_has_a_bad_file() -> None:
    covered = {expected(p)[0] for p in cases()}
    missing = emitted_codes() - covered
    assert not missing, f"no file in tests/data/bad_rules/ for: {sorted(missing)}"


def test_file_names_say_the_code() -> None:
    for path in cases():
        assert path.name.startswith(expected(path)[0]), path.name
