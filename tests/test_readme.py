"""The README's examples run, so the documentation cannot drift from the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_has_exactly_two_commands() -> None:
    commands = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert len(commands) == 2
    install_and_eval, test_suite = (c.strip() for c in commands)
    assert "pip install ." in install_and_eval and "ta-rules eval" in install_and_eval
    assert test_suite == "bash .ci/run"
    assert (ROOT / ".ci" / "run").is_file()


def test_readme_policy_snippet_is_in_the_bundled_rules() -> None:
    snippet = re.findall(r"```yaml\n(.*?)```", README, re.S)[0]
    rules = (ROOT / "ta_rules" / "rules" / "trade-assurance-2015.1.yaml").read_text()
    assert snippet in rules


def test_main_job_command_from_another_directory(tmp_path: Path) -> None:
    claim = ROOT / "examples" / "claims" / "late-shipment.json"
    script = Path(sys.executable).parent / "ta-rules"
    out = subprocess.run([str(script), "eval", str(claim)], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("COVERED")
