"""Project configuration: the rules folder a project names is the one every command uses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ta_rules
from ta_rules.cli import ExitCode, main

from conftest import EXAMPLES, ROOT

RAISE_MINIMUM = ('default: "1000.00"', 'default: "2000.00"')


def clone_layout(target: Path, pyproject: str | None = None) -> Path:
    """A checkout's layout: rules/ -> ta_rules/rules, examples/, and a pyproject.toml."""
    shutil.copytree(ROOT / "ta_rules" / "rules", target / "ta_rules" / "rules")
    os.symlink(Path("ta_rules") / "rules", target / "rules")
    shutil.copytree(EXAMPLES, target / "examples")
    (target / "pyproject.toml").write_text(
        pyproject if pyproject is not None else (ROOT / "pyproject.toml").read_text())
    return target


def raise_minimum(project: Path) -> None:
    path = project / "rules" / "trade-assurance-2015.1.yaml"
    text = path.read_text()
    assert RAISE_MINIMUM[0] in text
    path.write_text(text.replace(*RAISE_MINIMUM, 1))


def run(*argv: str) -> tuple[int, str, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_this_project_names_its_rules_folder() -> None:
    from ta_rules.project import find_project

    project = find_project(ROOT / "tests")
    assert project is not None and project.config == ROOT / "pyproject.toml"
    assert project.rules == ROOT / "rules"
    assert project.scenarios == (ROOT / "examples" / "scenarios",)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ta-rules installed from its wheel (not editable): the bin/ folder of the install."""
    work = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("ta_rules-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-compile", "--target", str(work / "site"), str(wheel)],
                   check=True, capture_output=True)
    return work / "site"


def console(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    return subprocess.run([str(site / "bin" / "ta-rules"), *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def test_an_edit_to_rules_is_seen_by_the_installed_command(installed: Path,
                                                           tmp_path: Path) -> None:
    project = clone_layout(tmp_path / "clone")
    where = console(installed, project, "eval", "examples/claims/late-shipment.json")
    assert where.returncode == 0, where.stderr
    # the script runs the installed copy, not the checkout's
    probe = subprocess.run([sys.executable, "-c", "import ta_rules; print(ta_rules.__file__)"],
                           env={**os.environ, "PYTHONPATH": str(installed)}, cwd=project,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.startswith(str(installed))
    before = console(installed, project, "test", "examples/")
    assert before.returncode == 0, before.stdout[-2000:]
    raise_minimum(project)
    after = console(installed, project, "test", "examples/")
    assert after.returncode == ExitCode.PROBLEMS, after.stdout[-2000:]
    *_, summary = after.stdout.rstrip().splitlines()
    assert summary.endswith(" failed") and " 0 failed" not in summary
    assert "\nrules: rules (from pyproject.toml): trade-assurance 2015.1 " in after.stdout


def test_every_command_uses_and_names_the_configured_rules(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    project = clone_layout(tmp_path)
    raise_minimum(project)
    monkeypatch.chdir(project / "examples")  # found upward from a subfolder
    claim = "claims/late-shipment.json"
    code, out, _ = run("eval", claim, "--set", "min_order_amount_usd=1000.00")
    assert code == 0 and "rules: ../rules (from ../pyproject.toml)" in out
    code, out, _ = run("eval", claim)  # the 5,000 USD order is still above 2,000
    assert code == 0 and out.startswith("COVERED")
    code, out, _ = run("eval", claim, "--format", "json")
    assert json.loads(out)["ruleset"]["source"] == "../rules/trade-assurance-2015.1.yaml"
    code, out, _ = run("test", "scenarios/minimum.yaml")
    assert code == ExitCode.PROBLEMS and "MIN-02" in out
    code, out, _ = run("test")  # no path: the configured scenarios
    assert code == ExitCode.PROBLEMS and "MIN-02" in out and "LATE-01" not in out
    code, out, _ = run("check")
    assert code == 0
    assert out.splitlines()[1].startswith("rules: ../rules (from ../pyproject.toml): "
                                          "trade-assurance-2015.1.yaml sha256:")
    code, out, _ = run("diff", "2015.1", "2017.12")
    assert code == 0 and "min_order_amount_usd" in out
    assert out.rstrip().splitlines()[-1].startswith(
        "new: 2017.12: ../rules (from ../pyproject.toml)")
    code, out, _ = run("test", "scenarios/minimum.yaml", "--format", "json")
    data = json.loads(out)["rules"]
    assert data["folder"] == "../rules" and data["origin"] == "from ../pyproject.toml"
    assert [r["version"] for r in data["rulesets"]] == ["2015.1", "2017.12"]
    assert all(r["content_hash"].startswith("sha256:") for r in data["rulesets"])
    # --rules still wins over the configuration
    bundled = str(ROOT / "ta_rules" / "rules")
    code, out, _ = run("test", "scenarios/minimum.yaml", "--rules", bundled)
    assert code == 0 and f"rules: {bundled} (--rules)" in out


def test_registry_from_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               tmp_path_factory: pytest.TempPathFactory) -> None:
    project = clone_layout(tmp_path)
    raise_minimum(project)
    registry = ta_rules.Registry.from_project(project / "examples")
    rs = registry.select(version="2015.1")
    assert rs.parameters["min_order_amount_usd"].default == ta_rules.Money.of("2000.00", "USD")
    monkeypatch.chdir(project)
    assert ta_rules.Registry.from_project().select(version="2015.1").content_hash == \
        rs.content_hash
    # no configuration at all: the bundled rulesets
    bare = tmp_path_factory.mktemp("bare")
    assert ta_rules.Registry.from_project(bare) is ta_rules.default_registry()


def test_ta_rules_toml_and_a_pyproject_without_the_table(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "ta_rules" / "rules", tmp_path / "policy")
    (tmp_path / "ta-rules.toml").write_text('rules = "policy"\n')
    inner = tmp_path / "service"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "service"\n')
    from ta_rules.project import find_project

    project = find_project(inner)
    assert project is not None and project.rules == tmp_path / "policy"
    monkeypatch.chdir(inner)
    code, out, _ = run("check")
    assert code == 0 and "rules: ../policy (from ../ta-rules.toml)" in out


@pytest.mark.parametrize("text,needle", [
    ('[tool.ta-rules]\nrule = "rules"\n', "pyproject.toml:2:1: error[project.invalid]: "
     "unknown key 'rule'"),
    ('[tool.ta-rules]\nrules = ["rules"]\n', "rules must be a string, found ['rules']"),
    ('[tool.ta-rules]\nrules = "nowhere"\n', "the rules folder 'nowhere' does not exist"),
    ('[tool.ta-rules\n', "pyproject.toml:1:15: error[project.syntax]: not valid TOML"),
])
def test_a_bad_configuration_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                text: str, needle: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("eval", str(EXAMPLES / "claims" / "late-shipment.json"))
    assert code == ExitCode.PROBLEMS and needle in err, err
    assert "Traceback" not in err


def test_no_configuration_and_no_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("check")
    assert code == ExitCode.USAGE and "give rule files or folders" in err
    code, _, err = run("test")
    assert code == ExitCode.USAGE and "give scenario files or folders" in err
    code, out, _ = run("eval", str(EXAMPLES / "claims" / "late-shipment.json"))
    assert code == 0 and "rules: bundled in the ta-rules package: trade-assurance 2015.1" in out


def test_the_pytest_plugin_uses_the_configured_rules(pytester: pytest.Pytester) -> None:
    project = clone_layout(pytester.path, pyproject=(
        '[tool.ta-rules]\nrules = "rules"\nscenarios = ["examples/scenarios/minimum.yaml"]\n'))
    raise_minimum(project)
    failing = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    failing.assert_outcomes(passed=6, failed=5)
    failing.stdout.fnmatch_lines(["ta-rules rules: rules (from pyproject.toml): "
                                  "trade-assurance 2015.1 sha256:*", "*MIN-02*"])
    # a rules folder given to the plugin wins over the configuration
    bundled = str(ROOT / "ta_rules" / "rules")
    chosen = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--ta-rules-rules={bundled}")
    chosen.assert_outcomes(passed=11)
    chosen.stdout.fnmatch_lines([f"ta-rules rules: {bundled} (--ta-rules-rules)*"])
    broken = project / "broken"
    broken.mkdir()
    (broken / "x.yaml").write_text("ruleset: [\n")
    bad = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--ta-rules-rules={broken}")
    bad.assert_outcomes(failed=11)
    bad.stdout.fnmatch_lines(["*x.yaml:2:1: error[[]yaml.syntax[]]*"])
    bad.stdout.no_fnmatch_line("*Traceback*")


def test_a_folder_with_its_own_project_runs_with_its_own_rules() -> None:
    import io

    from ta_rules.cli import main

    out = io.StringIO()
    assert main(["test", "examples/"], stdout=out) == 0
    text = out.getvalue()
    assert "rules: examples/extending/rules (from examples/extending/ta-rules.toml): " \
           "counterfeit-cover 1.0" in text
    assert text.rstrip().endswith("0 failed")
    passed = int(text.rstrip().splitlines()[-1].split()[0])
    alone = io.StringIO()
    assert main(["test", "examples/scenarios/"], stdout=alone) == 0
    assert "rules: examples/changes/rules (from examples/changes/ta-rules.toml): " \
           "trade-assurance 2025.1" in text
    # examples/extending's 10 scenarios and examples/changes' 9 come on top
    assert passed == int(alone.getvalue().rstrip().splitlines()[-1].split()[0]) + 10 + 9
