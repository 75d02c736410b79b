"""The compile cache: a rule file's front-end result, kept between processes.

Loading a ruleset reads its YAML, validates it and resolves every expression (tens of
milliseconds a file); a command such as ``ta-rules eval FILE`` does that for every version
before judging one claim. A file that compiled without error is stored as its
:class:`~ta_rules.rulesets.compile.FrontEnd` under a key made of everything its result
depends on: the file's bytes and name, its folder, the library's version and the
fingerprint of the library's own source files (so an edited compiler never reads an entry
of another), Python's and pydantic's versions. The vocabulary it was resolved against and
the message catalogs it declares are checked on every read: an entry whose vocabulary or
catalog files have changed is not used.

Entries live in ``$TA_RULES_CACHE_DIR``, else the user's cache folder (``~/.cache/ta-rules``,
``$XDG_CACHE_HOME/ta-rules``, ``~/Library/Caches/ta-rules`` or ``%LOCALAPPDATA%/ta-rules/Cache``).
The cache is off unless ``TA_RULES_CACHE=on``: it saves little next to compiling only
the program a claim needs, and a version written as changes (``based_on:``) is never
cached, since its bases can change under it. Writes are atomic (a temporary file renamed
into place); an entry that cannot be read, for any reason, is ignored and rebuilt. Entries
are pickles, so one is read only when it and its folder belong to the user and nobody else
can write into the folder (the folder is created with mode 0700).
Diagnostics are never cached: a file with problems is compiled, and reported, every time.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from ta_rules._version import __version__
from ta_rules.rulesets._types import TypeEnv

__all__ = ["CacheEntry", "cache_dir", "catalog_signature", "entry_key", "read", "write"]

#: Bumped whenever what an entry holds changes shape.
_FORMAT: Final = b"ta-rules compile cache 1\n"


def cache_dir() -> Path | None:
    """The folder of the compile cache, or None when the cache is off."""
    # opt-in: TA_RULES_CACHE=on
    if os.environ.get("TA_RULES_CACHE", "").lower() not in ("on", "1", "yes", "true"):
        return None
    given = os.environ.get("TA_RULES_CACHE_DIR")
    if given:
        return Path(given)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "ta-rules" / "Cache" if base else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ta-rules"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "ta-rules" if xdg else Path.home() / ".cache" / "ta-rules"


@functools.cache
def _library_fingerprint() -> str:
    """The library's version and the size and time of each of its source files."""
    import pydantic

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(f"{__version__}\0{sys.implementation.cache_tag}\0{sys.version}\0"
                       f"{pydantic.VERSION}\0{pickle.HIGHEST_PROTOCOL}".encode())
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def entry_key(content: bytes, source: str, rules_folder: str | None) -> str:
    """The key of a rule file's entry."""
    h = hashlib.sha256(_FORMAT + _library_fingerprint().encode())
    h.update(f"\0{source}\0{rules_folder}\0".encode())
    h.update(content)
    return h.hexdigest()


def catalog_signature(domain: str | None, root: str | None) -> tuple[Any, ...]:
    """Name, size and time of each catalog file of ``domain`` (what declaration reads)."""
    if domain is None:
        return ()
    from ta_rules.messages import _locales_dir

    folder = Path(str(_locales_dir(root)))
    out = []
    try:
        for path in sorted(folder.glob(f"*/LC_MESSAGES/{domain}.*")):
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
    except OSError:
        return ("unreadable",)
    return (str(folder), *out)


class CacheEntry:
    """What an entry holds: the front end's result and what it was checked against.

    Attributes:
        front: The :class:`~ta_rules.rulesets.compile.FrontEnd`.
        vocabulary: The name of the vocabulary it was resolved against.
        vocabulary_repr: That vocabulary, written out (compared on every read).
        catalog: :func:`catalog_signature` of its message catalog when it was compiled.
    """

    def __init__(self, front: Any, vocabulary: str, vocabulary_repr: str,
                 catalog: tuple[Any, ...]) -> None:
        self.front = front
        self.vocabulary = vocabulary
        self.vocabulary_repr = vocabulary_repr
        self.catalog = catalog


def _models(env: TypeEnv) -> dict[str, type]:
    return {name: model for model, name in env.models.record_of.items()}


class _Pickler(pickle.Pickler):
    """Facts models are written by name (each process makes them from the vocabulary)."""

    def __init__(self, file: io.BytesIO, env: TypeEnv) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._names = {model: name for name, model in _models(env).items()}

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, type):
            name = self._names.get(obj)
            if name is not None:
                return ("model", name)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return MappingProxyType, (dict(obj),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, env: TypeEnv) -> None:
        super().__init__(file)
        self._by_name = _models(env)

    def persistent_load(self, pid: Any) -> Any:
        return self._by_name[pid[1]]


def _trusted(folder: Path, path: Path) -> bool:
    """Whether an entry may be read: it and its folder are this user's, nobody else's.

    An entry is a pickle: whoever can write it runs code in the process that reads it, so
    a folder others can write into is not read.
    """
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: the folder is under the user's own profile
        return True
    uid = getuid()
    folder_stat, entry_stat = folder.stat(), path.stat()
    return (folder_stat.st_uid == uid and entry_stat.st_uid == uid
            and not folder_stat.st_mode & 0o022)


def write(key: str, entry: CacheEntry, env: TypeEnv) -> None:
    """Store an entry (atomically); a cache that cannot be written is left alone."""
    folder = cache_dir()
    if folder is None:
        return
    buf = io.BytesIO()
    buf.write(_FORMAT + key.encode() + b"\n")
    try:
        pickle.dump((entry.vocabulary, entry.vocabulary_repr, entry.catalog), buf,
                    protocol=pickle.HIGHEST_PROTOCOL)
        _Pickler(buf, env).dump(entry.front)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".entry")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
            os.replace(tmp, folder / f"{key}.entry")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except Exception:
        return


def read(key: str, env_of: Callable[[str], TypeEnv | None]
         ) -> tuple[CacheEntry, TypeEnv] | None:
    """The entry of ``key`` and the environment of its vocabulary, or None.

    ``env_of(name)`` gives the current environment of a vocabulary (None if there is none):
    an entry resolved against a vocabulary that has changed since is not used.
    """
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.entry"
    try:
        if not _trusted(folder, path):
            return None
        data = path.read_bytes()
    except OSError:
        return None
    head = _FORMAT + key.encode() + b"\n"
    if not data.startswith(head):
        return None
    stream = io.BytesIO(data)
    stream.seek(len(head))
    try:
        vocabulary, vocabulary_repr, catalog = pickle.load(stream)
        env = env_of(vocabulary)
        if env is None or repr(env.vocabulary) != vocabulary_repr:
            return None
        front = _Unpickler(stream, env).load()
    except Exception:
        return None
    return CacheEntry(front, vocabulary, vocabulary_repr, catalog), env
