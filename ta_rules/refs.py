"""What a policy reference means: one resolver for every command and the library.

A reference names rules, and every command reads it the same way:

``VERSION`` or ``NAME@VERSION``
    That version in the project's rules folder (``[tool.ta-rules] rules``); outside a
    project, in the rulesets installed with the package.
``bundled:VERSION``, ``bundled:NAME@VERSION``, ``bundled:``
    The copy installed inside the ta-rules package, named explicitly (``bundled:`` alone:
    every bundled version).
``git:REV`` (``git:HEAD``, ``git:main~3``, a tag), ``git:REV@VERSION``
    The project's rules folder as committed at that revision: read with git, nothing
    checked out. ``ta-rules diff git:HEAD rules/`` is what an uncommitted edit changes.
a file or a folder path
    That rule file, or every ruleset in that folder.

A path wins over a version label when both could be meant (a file named ``2015.1``).
Every summary line names what a reference resolved to (:meth:`Resolved.describe`): the
folder, the git revision and each version's content hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

from ta_rules.errors import TaRulesError, UnknownRulesetError

if TYPE_CHECKING:
    from ta_rules.project import Project
    from ta_rules.rulesets.compile import Ruleset
    from ta_rules.rulesets.registry import Registry

__all__ = [
    "BUNDLED",
    "GIT",
    "PolicyReferenceError",
    "Resolved",
    "git_rules_folder",
    "resolve",
    "resolve_rules",
]

BUNDLED: Final = "bundled:"
GIT: Final = "git:"
#: Largest rules folder read from one git revision (all its files together).
MAX_GIT_BYTES: Final = 256 * 1024 * 1024
_VERSION = re.compile(r"^(?:[a-z][a-z0-9\-]*@)?[0-9A-Za-z][0-9A-Za-z.\-_]*$")


class PolicyReferenceError(TaRulesError):
    """A policy reference that names nothing usable (the message says what and why)."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a reference resolved to.

    Attributes:
        label: The reference as written.
        kind: ``project`` (the project's rules folder), ``bundled``, ``git``, ``file`` or
            ``folder``.
        registry: The rulesets it names (for a file: that one).
        ruleset: The one version pinned (a version label or a file), or None for all.
        folder: The rules folder on disk (for ``git``: the revision's files, laid out),
            or None for the bundled rulesets.
        revision: The commit a ``git:`` reference resolved to.
        origin: Why this folder (``--rules``, the configuration file, ``bundled``...).
    """

    label: str
    kind: str
    registry: Registry
    ruleset: Ruleset | None = None
    folder: str | None = None
    revision: str | None = None
    origin: str = ""

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        """The rulesets named: the pinned one, else every one of the registry."""
        return (self.ruleset,) if self.ruleset is not None else self.registry.rulesets

    def where(self) -> str:
        """The folder or revision, as a person reads it."""
        if self.kind == "git":
            return f"{self.label} (commit {(self.revision or '')[:12]})"
        if self.kind == "bundled" or self.folder is None:
            return "bundled in the ta-rules package"
        if self.kind == "file" and self.ruleset is not None:
            return self.ruleset.source
        return f"{_short(self.folder)}{f' ({self.origin})' if self.origin else ''}"

    def describe(self) -> str:
        """``<where>: name version hash, ...``: what the reference judged with."""
        items = ", ".join(f"{r.name} {r.version} {r.content_hash[:19]}"
                          for r in sorted(self.rulesets, key=lambda r: (r.name, r.version)))
        return f"{self.where()}: {items or 'none'}"


def _short(path: str) -> str:
    from ta_rules.project import display_path

    return display_path(Path(path))


def _pin(registry: Registry, text: str, label: str) -> Ruleset:
    name, _, version = text.rpartition("@")
    try:
        return registry.select(name or None, version)
    except UnknownRulesetError as exc:
        raise PolicyReferenceError(f"{label}: {exc}") from None


def resolve(label: str, *, start: str | os.PathLike[str] | None = None,
            rules: str | None = None) -> Resolved:
    """Resolve one reference (see the module's documentation).

    Args:
        label: The reference.
        start: Where to look for the project (default: the working folder).
        rules: The rules folder a version label means (``--rules``), instead of the
            project's.

    Raises:
        PolicyReferenceError: It names nothing usable (the message says what was looked for).
        RulesetError: The rules it names have problems.
    """
    from ta_rules.rulesets.load import load_ruleset
    from ta_rules.rulesets.registry import Registry, default_registry

    if label.startswith(BUNDLED):
        rest = label[len(BUNDLED):]
        reg = default_registry()
        return Resolved(label, "bundled", reg, _pin(reg, rest, label) if rest else None,
                        origin="bundled")
    if label.startswith(GIT):
        return _resolve_git(label, start)
    path = Path(label)
    if path.is_file():
        rs = load_ruleset(path, folder=path.parent)
        return Resolved(label, "file", Registry([rs], folder=str(path.parent)), rs,
                        folder=str(path.parent.absolute()))
    if path.is_dir():
        return Resolved(label, "folder", Registry.from_folder(path), folder=str(path.absolute()))
    if not _VERSION.match(label) or "/" in label or os.sep in label:
        raise PolicyReferenceError(
            f"{label}: no such file or folder, and not a version label (VERSION, "
            "NAME@VERSION, bundled:VERSION or git:REV)")
    base = resolve_rules(rules, start=start)
    return dataclasses.replace(base, label=label, ruleset=_pin(base.registry, label, label))


def resolve_rules(rules: str | None = None, *,
                  start: str | os.PathLike[str] | None = None) -> Resolved:
    """The rules a command judges with: ``rules`` (a folder or a reference), else the project's.

    Args:
        rules: ``--rules``: a folder, ``bundled:``, ``git:REV`` or a file; None for the
            project's rules folder, else the bundled rulesets.
        start: Where to look for the project (default: the working folder).

    Raises:
        PolicyReferenceError: ``rules`` names nothing usable.
        RulesetError: The rules have problems, or the project configuration found is
            malformed.
    """
    from ta_rules.project import choose_rules
    from ta_rules.rulesets.registry import Registry, default_registry

    if rules is not None and (rules.startswith((BUNDLED, GIT)) or Path(rules).is_file()):
        return resolve(rules, start=start)
    choice = choose_rules(rules, start)
    if choice.folder is None:
        return Resolved("bundled:", "bundled", default_registry(), origin="bundled")
    if not Path(choice.folder).is_dir():
        raise PolicyReferenceError(f"{choice.folder}: no such folder of rules ({choice.origin})")
    kind = "folder" if choice.origin == "--rules" else "project"
    folder = str(Path(choice.folder).absolute())
    return Resolved(choice.folder, kind, Registry.from_folder(choice.folder), folder=folder,
                    origin=choice.origin if kind == "project" else "")


# --- git ---------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path, *, binary: bool = False,
         stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                              timeout=120, check=False)
    except FileNotFoundError:
        raise PolicyReferenceError("git: references need the git command, which is not "
                              "installed") from None
    except subprocess.TimeoutExpired:
        raise PolicyReferenceError(f"git {' '.join(args[:2])}: no answer in 120 s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PolicyReferenceError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def _resolve_git(label: str, start: str | os.PathLike[str] | None) -> Resolved:
    from ta_rules.project import find_project
    from ta_rules.rulesets.registry import Registry

    rev, _, version = label[len(GIT):].partition("@")
    if not rev or rev.startswith("-") or "\x00" in rev:
        raise PolicyReferenceError(f"{label}: expected git:REV (git:HEAD, git:main~3, a tag), "
                              "optionally @VERSION")
    project = find_project(start)
    if project is None or project.rules is None:
        raise PolicyReferenceError(f"{label}: a git: reference reads the project's rules folder "
                              "at a revision, and no project configuration names one "
                              "([tool.ta-rules] rules in pyproject.toml, or ta-rules.toml)")
    folder, commit, rel = git_rules_folder(project, rev, label)
    # each file named as git names it: git:HEAD:rules/trade-assurance-2015.1.yaml
    registry = Registry.from_folder(folder, label=f"{GIT}{rev}:{rel}/")
    pinned = _pin(registry, version, label) if version else None
    return Resolved(label, "git", registry, pinned, folder=str(folder), revision=commit,
                    origin=f"{GIT}{rev}")


def git_rules_folder(project: Project, rev: str, label: str) -> tuple[Path, str, str]:
    """The project's rules folder (and its message catalogs) as committed at ``rev``.

    The files are read with ``git ls-tree`` and ``git cat-file`` and laid out once per
    commit under the project's store (``.ta-rules/git/``), so nothing is checked out and
    the working tree is left as it is.

    Returns:
        The laid-out rules folder, the full commit id, and the folder's path in the
        repository.

    Raises:
        PolicyReferenceError: Not a git work tree, an unknown revision, or no rules folder at
            that revision.
    """
    assert project.rules is not None
    root = project.root
    top = Path(_git(["rev-parse", "--show-toplevel"], root).decode().strip())
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{rev}^{{commit}}"], root).decode().strip()
    except PolicyReferenceError:  # --quiet: git says nothing, so say what was not found
        raise PolicyReferenceError(f"{label}: {rev} names no commit of the git repository "
                                   f"{top}") from None
    real_rules = Path(os.path.realpath(project.rules))
    try:
        rel = PurePosixPath(real_rules.relative_to(os.path.realpath(top)).as_posix())
    except ValueError:
        raise PolicyReferenceError(f"{label}: the rules folder {project.rules} is not inside the "
                              f"git work tree {top}") from None
    wanted = {str(rel): "rules", str(rel / "locales"): "rules/locales",
              str(rel.parent / "locales"): "locales"}
    if rel.parent == PurePosixPath("."):
        wanted[str(PurePosixPath("locales"))] = "locales"
    listing = _git(["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--",
                    *dict.fromkeys(wanted)], top)
    entries: list[tuple[str, str, str]] = []
    total = 0
    for item in listing.split(b"\x00"):
        if not item:
            continue
        meta, _, name = item.decode("utf-8", "surrogateescape").partition("\t")
        mode, kind, sha, size = meta.split()
        if kind != "blob" or mode == "120000":
            continue  # links and submodules are not followed out of a revision
        total += int(size) if size.isdigit() else 0
        if total > MAX_GIT_BYTES:
            raise PolicyReferenceError(f"{label}: the rules folder at {commit[:12]} is over "
                                  f"{MAX_GIT_BYTES} bytes")
        target = _target(name, wanted)
        if target is not None:
            entries.append((sha, name, target))
    if not any(t.startswith("rules/") and t.count("/") == 1 for _, _, t in entries):
        raise PolicyReferenceError(f"{label}: the rules folder {rel} has no files at commit "
                              f"{commit[:12]}")
    digest = hashlib.sha256(f"{commit}:{rel}".encode()).hexdigest()[:24]
    final = _git_cache(project) / digest
    if not (final / ".complete").is_file():
        _lay_out(top, entries, final)
    return final / "rules", commit, str(rel)


def _target(name: str, wanted: dict[str, str]) -> str | None:
    for prefix, to in sorted(wanted.items(), key=lambda kv: -len(kv[0])):
        if name == prefix or name.startswith(prefix + "/"):
            rest = name[len(prefix):].lstrip("/")
            parts = PurePosixPath(rest).parts
            if ".." in parts or not parts:
                return None
            return f"{to}/{rest}"
    return None


def _git_cache(project: Project) -> Path:
    from ta_rules.store import ENV

    env = os.environ.get(ENV)
    if env and env.strip().lower() != "off":
        return Path(env) / "git"
    if project.store is not None:
        return project.store / "git"
    return project.root / ".ta-rules" / "git"


def _lay_out(top: Path, entries: list[tuple[str, str, str]], final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
    try:
        batch = _git(["cat-file", "--batch"], top,
                     stdin="".join(f"{sha}\n" for sha, _, _ in entries).encode())
        pos = 0
        for _sha, _name, target in entries:
            header_end = batch.index(b"\n", pos)
            size = int(batch[pos:header_end].split()[2])
            data = batch[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1
            out = tmp.joinpath(*PurePosixPath(target).parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        (tmp / "rules").mkdir(exist_ok=True)
        (tmp / ".complete").write_bytes(b"")
        try:
            os.replace(tmp, final)
        except OSError:  # laid out meanwhile by another process
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
