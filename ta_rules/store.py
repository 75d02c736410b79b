"""A content-addressed store of every policy text that judged.

Loading a ruleset keeps its texts (:mod:`ta_rules.texts`: the rule file, its bases,
vocabularies and message catalogs) in a store, under the ruleset's identity (its
``content_hash``). Years later, ``ta-rules replay`` loads the exact texts a verdict names
from the store and judges again with them, whatever the rules folder holds by then.

Layout, under the store's folder::

    objects/ab/cdef...          one text's bytes, named by their sha256
    policies/<hex>.json         a policy: its identity, name, version, source and texts
    trees/<hex>/                the texts laid out as files (made on first load)

Where it is: ``TA_RULES_STORE`` (a folder, or ``off``), else ``store`` in the project's
``[tool.ta-rules]`` (relative to the configuration file), else ``.ta-rules/store`` beside
the project's configuration, else ``ta-rules/store`` in the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``).

Every write goes to a temporary file in the same folder, is flushed to disk, and is then
renamed into place, so a reader sees a whole entry or none and two processes may keep the
same texts at once. Every read checks the bytes against their name: a damaged entry is an
error naming it, never a wrong policy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ta_rules.errors import TaRulesError
from ta_rules.texts import ROLES, PolicyText, materialize, policy_identity

if TYPE_CHECKING:
    from ta_rules.rulesets.compile import Ruleset

__all__ = [
    "ENV",
    "PolicyNotStoredError",
    "PolicyStore",
    "StoreError",
    "default_store",
    "keep_all",
    "user_store",
]

#: The environment variable naming the store folder (``off``: keep nothing).
ENV: Final = "TA_RULES_STORE"
#: The most file names remembered for one policy's texts.
MAX_SOURCES: Final = 64
#: The largest text kept or read (rule files and catalogs are read bounded well below it).
MAX_TEXT_BYTES: Final = 64 * 1024 * 1024

_log = logging.getLogger("ta_rules.store")


class StoreError(TaRulesError):
    """The store cannot be read or written, or an entry in it is damaged."""


class PolicyNotStoredError(StoreError):
    """The texts of a policy identity are not in the store."""


def _hex(content_hash: str) -> str:
    algo, _, digest = content_hash.partition(":")
    if algo != "sha256" or len(digest) != 64 or any(c not in "0123456789abcdef"
                                                    for c in digest):
        raise StoreError(f"not a content hash: {content_hash[:80]!r} (expected sha256: and "
                         "64 hex digits)")
    return digest


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class PolicyStore:
    """A folder of policy texts, by content.

    Example:
        >>> import tempfile
        >>> from ta_rules.rulesets.registry import default_registry
        >>> rs = default_registry().select(version="2015.1")
        >>> store = PolicyStore(tempfile.mkdtemp())
        >>> store.keep(rs)
        >>> rs.content_hash in store
        True
        >>> store.load(rs.content_hash).content_hash == rs.content_hash
        True
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._loaded: dict[tuple[str, str], Ruleset] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PolicyStore({str(self.root)!r})"

    def _manifest_path(self, content_hash: str) -> Path:
        return self.root / "policies" / f"{_hex(content_hash)}.json"

    def _object_path(self, digest: str) -> Path:
        hexd = _hex(digest)
        return self.root / "objects" / hexd[:2] / hexd[2:]

    def __contains__(self, content_hash: object) -> bool:
        return isinstance(content_hash, str) and self._manifest_path(content_hash).is_file()

    def keep(self, ruleset: Ruleset) -> None:
        """Keep a ruleset's texts under its identity (nothing to do when already kept).

        Raises:
            StoreError: The store cannot be written.
        """
        texts = ruleset.texts
        if not texts:
            return
        manifest = self._manifest_path(ruleset.content_hash)
        if manifest.is_file():
            self._add_source(manifest, ruleset.source)
            return
        try:
            for text in texts:
                target = self._object_path(text.digest)
                if not target.is_file():
                    _write_atomic(target, text.data)
            entry = {
                "content_hash": ruleset.content_hash, "name": ruleset.name,
                "version": ruleset.version, "source": ruleset.source,
                "sources": [ruleset.source],
                "texts": [{"role": t.role, "path": t.path, "digest": t.digest,
                           "meaning": t.meaning} for t in texts],
            }
            _write_atomic(manifest, json.dumps(entry, indent=1).encode())
        except OSError as exc:
            raise StoreError(f"cannot keep the policy texts in the store {self.root}: "
                             f"{exc.strerror or exc}") from None

    def _add_source(self, manifest: Path, source: str) -> None:
        """Remember another name the same texts were loaded under (at most MAX_SOURCES)."""
        try:
            data = json.loads(manifest.read_bytes())
            sources = data.setdefault("sources", [data.get("source")])
            if source in sources or len(sources) >= MAX_SOURCES:
                return
            sources.append(source)
            _write_atomic(manifest, json.dumps(data, indent=1).encode())
        except (OSError, ValueError, AttributeError) as exc:
            raise StoreError(f"cannot keep the policy texts in the store {self.root}: "
                             f"{exc}") from None

    def sources(self, content_hash: str) -> tuple[str, ...]:
        """The file names the texts of a policy were loaded under."""
        entry = self.entry(content_hash)
        names = entry.get("sources") or [entry.get("source")]
        return tuple(str(n) for n in names if n)

    def entry(self, content_hash: str) -> dict[str, Any]:
        """The stored description of a policy: name, version, source and texts.

        Raises:
            PolicyNotStoredError: It is not in the store.
            StoreError: The entry is damaged.
        """
        path = self._manifest_path(content_hash)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise PolicyNotStoredError(
                f"the policy texts of {content_hash[:19]} are not in the store {self.root}: "
                "keep them by loading that policy once with this store (for example "
                "`ta-rules check` or `ta-rules eval` in the project, or TA_RULES_STORE "
                "naming this store), or replay with --rules naming a folder that holds "
                "them") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: a damaged store entry ({exc})") from None
        if not isinstance(data, dict) or data.get("content_hash") != content_hash \
                or not isinstance(data.get("texts"), list):
            raise StoreError(f"{path}: a damaged store entry (not the policy "
                             f"{content_hash[:19]})")
        return data

    def texts(self, content_hash: str) -> tuple[PolicyText, ...]:
        """The texts of a policy, each checked against its digest, and all against the identity.

        Raises:
            PolicyNotStoredError: It is not in the store.
            StoreError: An entry or a text is damaged or missing.
        """
        out = []
        for item in self.entry(content_hash)["texts"]:
            try:
                role, path, digest = item["role"], item["path"], item["digest"]
                meaning = item.get("meaning")
                if role not in ROLES:
                    raise ValueError(f"unknown role {role!r}")
                obj = self._object_path(digest)
                with obj.open("rb") as fh:
                    data = fh.read(MAX_TEXT_BYTES + 1)
                text = PolicyText(role, path, data, meaning)
            except (KeyError, TypeError, ValueError, OSError) as exc:
                raise StoreError(f"the store entry of {content_hash[:19]} in {self.root} is "
                                 f"damaged: {exc}") from None
            if text.digest != digest:
                raise StoreError(f"{obj}: damaged (its bytes no longer match their name)")
            out.append(text)
        if policy_identity(out) != content_hash:
            raise StoreError(f"the store entry of {content_hash[:19]} in {self.root} is "
                             "damaged: its texts do not give its identity")
        return tuple(out)

    def tree(self, content_hash: str) -> Path:
        """The texts of a policy laid out as files (made once, then reused).

        Returns:
            The ``rules`` folder of the laid-out policy.

        Raises:
            PolicyNotStoredError: It is not in the store.
            StoreError: The entry is damaged or cannot be laid out.
        """
        final = self.root / "trees" / _hex(content_hash)
        if not (final / ".complete").is_file():
            texts = self.texts(content_hash)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
                materialize(texts, tmp)
                (tmp / ".complete").write_bytes(b"")
                try:
                    os.replace(tmp, final)
                except OSError:  # laid out meanwhile by another process
                    shutil.rmtree(tmp, ignore_errors=True)
            except OSError as exc:
                raise StoreError(f"cannot lay out the policy {content_hash[:19]} in "
                                 f"{self.root}: {exc.strerror or exc}") from None
        return final / "rules"

    def load(self, content_hash: str, *, source: str | None = None) -> Ruleset:
        """The ruleset of a policy identity, compiled from its stored texts.

        Args:
            content_hash: The identity.
            source: The file name to give it (as a verdict recorded it; default: the name
                it was kept under). Reasons name their rule's place in that file.

        Raises:
            PolicyNotStoredError: It is not in the store.
            StoreError: The entry is damaged, or its texts no longer give the ruleset.
        """
        entry = self.entry(content_hash)
        name = source or str(entry.get("source") or "")
        with self._lock:
            cached = self._loaded.get((content_hash, name))
        if cached is not None:
            return cached
        from ta_rules.errors import RulesetError
        from ta_rules.rulesets.load import loads_ruleset

        folder = self.tree(content_hash)
        rule_path = next((t["path"] for t in entry["texts"] if t.get("role") == "rules"), None)
        if rule_path is None:
            raise StoreError(f"the store entry of {content_hash[:19]} has no rule file")
        content = folder.parent.joinpath(*rule_path.split("/")).read_bytes()
        try:
            ruleset = loads_ruleset(content, name or rule_path, rules_folder=str(folder),
                                    keep=False, file_name=rule_path.rsplit("/", 1)[-1])
        except RulesetError as exc:
            raise StoreError(f"the stored policy {content_hash[:19]} no longer loads with "
                             f"this version of ta-rules: {exc}") from None
        if ruleset.content_hash != content_hash:
            raise StoreError(f"the stored policy {content_hash[:19]} loads as "
                             f"{ruleset.content_hash[:19]}: a text it needs is not stored")
        with self._lock:
            self._loaded[(content_hash, name)] = ruleset
        return ruleset


def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def user_store() -> PolicyStore:
    """The store in the user's cache folder (used outside a project)."""
    return PolicyStore(_cache_home() / "ta-rules" / "store")


def default_store(start: str | os.PathLike[str] | None = None) -> PolicyStore | None:
    """The store loads keep their texts in, seen from ``start`` (default: the working folder).

    Returns:
        None when ``TA_RULES_STORE`` is ``off``.
    """
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() == "off" else PolicyStore(env)
    from ta_rules.project import find_project

    try:
        project = find_project(start)
    except TaRulesError:
        project = None
    if project is not None:
        if project.store is not None:
            return PolicyStore(project.store)
        return PolicyStore(project.root / ".ta-rules" / "store")
    return user_store()


def keep_all(rulesets: Iterable[Ruleset], store: PolicyStore | None) -> None:
    """Keep each ruleset's texts; a store that cannot be written is logged, not raised.

    A verdict does not wait on the store: what cannot be kept is reported by ``replay``
    when it is asked for.
    """
    if store is None:
        return
    for ruleset in rulesets:
        try:
            store.keep(ruleset)
        except StoreError as exc:
            _log.warning("%s", exc)
            return

