"""Verdict outputs byte-identical to another revision's (opt-in: ``TA_RULES_DIFF_BASE=REV``).

A change meant to keep every behaviour (a refactoring, an optimisation) is checked against
the revision before it: ``TA_RULES_DIFF_BASE=26211eb pytest tests/test_verdict_corpus.py``
checks that revision out into a temporary worktree, and both revisions write every verdict
output of ``bench/verdict_corpus.py`` (generated claims and broken ones, every engine,
traced and not, the fixtures through the command line) for the same inputs. Verdicts the
base revision recorded must also replay. Skipped without the variable: a change of policy
changes verdicts on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BASE = os.environ.get("TA_RULES_DIFF_BASE")
pytestmark = pytest.mark.skipif(not BASE, reason="TA_RULES_DIFF_BASE names no revision")


def _corpus(python_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(python_path), "TA_RULES_CACHE": "off"}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "verdict_corpus.py"), *args],
                          env=env, cwd=cwd, capture_output=True, text=True, check=False)


def test_every_verdict_output_is_byte_identical_to_the_base_revision(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    base = tmp_path / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                    str(BASE)], check=True, capture_output=True)
    try:
        inputs, old, new = tmp_path / "inputs.pickle", tmp_path / "old.txt", tmp_path / "new.txt"
        made = _corpus(ROOT, "inputs", str(inputs), "--claims", "600", cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        engines = "compiled,durable"
        try:
            import durable_rules_engine  # noqa: F401
        except ImportError:
            engines = "compiled"
        for path, out in ((base, old), (ROOT, new)):
            done = _corpus(path, "outputs", str(inputs), str(out), "--engines", engines,
                           cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        assert old.read_bytes() == new.read_bytes()
        records = tmp_path / "records.pickle"
        assert _corpus(base, "record", str(inputs), str(records), cwd=tmp_path).returncode == 0
        replayed = _corpus(ROOT, "replay", str(records), cwd=tmp_path)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                       check=False, capture_output=True)
