"""The wheel carries the rules, catalogs and schemas the library reads at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT


def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("ta_rules-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "ta_rules/rules/trade-assurance-2015.1.yaml",
        "ta_rules/rules/trade-assurance-2017.12.yaml",
        "ta_rules/locales/zh_Hans/LC_MESSAGES/ta_rules.mo",
        "ta_rules/locales/es/LC_MESSAGES/ta_rules.mo",
        "ta_rules/locales/en/LC_MESSAGES/ta_rules.mo",
        "ta_rules/rules/ruleset.schema.json",
        "ta_rules/schemas/facts.schema.json",
        "ta_rules/py.typed",
        # the studio's page and its bundled editor: nothing is fetched at run time
        "ta_rules/studio/static/index.html",
        "ta_rules/studio/static/studio.js",
        "ta_rules/studio/static/studio.css",
        "ta_rules/studio/static/editor.js",
    ):
        assert required in names, required
    assert not [n for n in names if n.startswith(("tests/", "bench/", "examples/",
                                                  "studio-src/"))]
