"""Running the studio: the workbench of the working folder's project, the socket, uvicorn."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import IO

import uvicorn

from ta_rules.errors import TaRulesError
from ta_rules.studio._app import Workbench, create_app

__all__ = ["studio", "workbench"]


def _has_git(root: Path) -> bool:
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def workbench(rules: str | None = None) -> Workbench:
    """The workbench of the rules a command uses: ``rules``, else the project's folder.

    The folder's rules are not loaded here: a folder whose files have problems is where
    the studio is most needed.

    Raises:
        TaRulesError: There is no rules folder on disk to work on (the bundled rulesets,
            a ``git:`` revision or a single file cannot be edited).
    """
    from ta_rules.project import choose_rules
    from ta_rules.refs import BUNDLED, GIT

    choice = choose_rules(rules)
    if choice.folder is None or choice.folder.startswith((BUNDLED, GIT)) \
            or not Path(choice.folder).is_dir():
        raise TaRulesError("ta-rules studio edits a rules folder: run it in a project "
                           "([tool.ta-rules] rules in pyproject.toml) or give --rules DIR"
                           + (f" ({choice.folder} is not a folder)" if choice.folder else ""))
    folder = Path(choice.folder).resolve()
    project = choice.project
    root = project.root.resolve() if project is not None else folder.parent
    examples = root / "examples" / "claims"
    return Workbench(rules=folder, root=root,
                     scenarios=[str(p) for p in project.scenarios] if project else [],
                     examples=examples if examples.is_dir() else None,
                     locales=_locales(folder, project.locales if project else ()),
                     base="git:HEAD" if _has_git(root) else "bundled:")


def _locales(folder: Path, required: tuple[str, ...]) -> list[str]:
    """English, the locales the project requires, and those its catalogs ship."""
    from ta_rules.errors import RulesetError
    from ta_rules.messages import shipped_locales
    from ta_rules.rulesets.registry import Registry

    locales = ["en", *required]
    try:
        rulesets = Registry.from_folder(folder).rulesets
    except RulesetError:  # the page shows the problems; messages are still English
        rulesets = ()
    for rs in rulesets:
        if rs.spec.catalog is not None:
            locales += shipped_locales(rs.spec.catalog, rs.catalog_root)
    return list(dict.fromkeys(locales))


def studio(wb: Workbench, *, host: str = "127.0.0.1", port: int = 0,
           announce: IO[str]) -> int:
    """Serve the studio until SIGTERM or SIGINT; the first line on ``announce`` is its URL.

    Raises:
        TaRulesError: The address cannot be bound.
    """
    from ta_rules.serve._run import _listen

    if host in ("", "0.0.0.0", "::"):
        raise TaRulesError(f"--host {host or repr(host)}: the studio answers one address it "
                           "can name (requests naming another are refused): bind 127.0.0.1 "
                           "or one address of this machine")
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    wb.bind(bound_host, bound_port)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    announce.write(f"ta-rules studio: http://{shown}:{bound_port}/  (rules: {wb.rules})\n")
    announce.flush()
    config = uvicorn.Config(create_app(wb), log_config=None, access_log=False,
                            lifespan="off", server_header=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    # uvicorn raises the signal it stopped on again once it has finished: let that be a
    # no-op, so a stop on SIGTERM or Ctrl-C exits 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
    return 0
