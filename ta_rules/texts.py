"""The texts a ruleset was built from, and the identity they give it.

Everything that can change a verdict is a text: the rule file (and, for a version written as
changes, the file it is based on), the facts vocabulary with every vocabulary it extends, and
the message catalog of each locale. A ruleset keeps them as :class:`PolicyText` values, each
at a path of a virtual policy folder::

    rules/trade-assurance-2015.1.yaml              role "rules"
    rules/trade-assurance.vocabulary.yaml          role "vocabulary"
    locales/es/LC_MESSAGES/ta_rules.po             role "catalog"

The ruleset's ``content_hash`` is :func:`policy_identity` of them: a digest of each text's
role, path and bytes. Any change to any of them (a default in the vocabulary, one translated
message, a comment in the rule file) gives another identity, so a verdict names exactly the
texts that decided it; :mod:`ta_rules.store` keeps them under that identity, and laying them
out again as files (:func:`materialize`) loads the very same ruleset.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Final, Literal

__all__ = [
    "ROLES",
    "PolicyText",
    "catalog_texts",
    "materialize",
    "policy_identity",
]

Role = Literal["rules", "base", "vocabulary", "catalog"]
#: The kinds of text, in the order an identity lists them.
ROLES: Final[tuple[Role, ...]] = ("rules", "base", "vocabulary", "catalog")


@dataclasses.dataclass(frozen=True)
class PolicyText:
    """One text a ruleset was built from.

    Attributes:
        role: ``rules`` (the rule file), ``base`` (a rule file it is based on),
            ``vocabulary`` or ``catalog``.
        path: Where it lies in the virtual policy folder (POSIX, relative, no ``..``).
        data: Its bytes.
        meaning: For a catalog, a digest of the messages it holds (msgid to msgstr), which
            stands for it in the identity: the ``.po`` and the ``.mo`` compiled from it
            mean the same, and which of the two is read depends on file times that a
            checkout or an install sets anew.
    """

    role: Role
    path: str
    data: bytes = dataclasses.field(repr=False)
    meaning: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        pure = PurePosixPath(self.path)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise ValueError(f"a policy text's path is relative and inside its folder, "
                             f"found {self.path!r}")

    @functools.cached_property
    def digest(self) -> str:
        """``sha256:<hex>`` of the bytes."""
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    @property
    def key(self) -> str:
        """What stands for this text in an identity: its meaning, else its bytes' digest."""
        return self.meaning or self.digest


def policy_identity(texts: Iterable[PolicyText]) -> str:
    """The content hash of a set of texts: ``sha256:`` of their sorted (role, path, digest).

    Example:
        >>> a = PolicyText("rules", "rules/a.yaml", b"ruleset: a")
        >>> b = PolicyText("catalog", "locales/es/LC_MESSAGES/a.po", b"msgid")
        >>> policy_identity([a, b]) == policy_identity([b, a])
        True
        >>> policy_identity([a]) == policy_identity([a, b])
        False
    """
    manifest = sorted((ROLES.index(t.role), _identity_path(t), t.key) for t in texts)
    return "sha256:" + hashlib.sha256(
        json.dumps(manifest, separators=(",", ":")).encode()).hexdigest()


def _identity_path(text: PolicyText) -> str:
    # a catalog is one locale's messages, whichever of its two files was read
    return text.path.removesuffix(".po").removesuffix(".mo") if text.role == "catalog" \
        else text.path


def catalog_meaning(data: bytes, is_po: bool, domain: str) -> str:
    """A digest of the messages of a catalog file (header entry left out).

    Raises:
        CatalogError: The file is not a valid catalog.
    """
    from ta_rules.messages import parse_catalog

    messages = parse_catalog(data, is_po, domain)._catalog  # msgid -> msgstr
    pairs = sorted((str(k), str(v)) for k, v in messages.items() if k != "")
    return "sha256:" + hashlib.sha256(
        json.dumps(pairs, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def catalog_texts(domain: str | None, root: str | None) -> tuple[PolicyText, ...]:
    """The catalog files messages of ``domain`` are rendered from, one per shipped locale.

    ``root`` is the ``locales`` folder (None: the package's). The file is the one rendering
    reads: the ``.po`` when it is newer than its ``.mo``, else the ``.mo``.
    """
    if domain is None:
        return ()
    from ta_rules.messages import CatalogError, catalog_file, read_catalog_bytes, shipped_locales

    out = []
    for locale in shipped_locales(domain, root):
        path, is_po = catalog_file(locale, domain, root)
        try:
            data = read_catalog_bytes(path)
            meaning = catalog_meaning(data, is_po, domain)
        except CatalogError:
            continue  # not usable: `check` reports it, and rendering refuses it
        suffix = ".po" if is_po else ".mo"
        out.append(PolicyText("catalog", f"locales/{locale}/LC_MESSAGES/{domain}{suffix}",
                              data, meaning))
    return tuple(out)


def materialize(texts: Iterable[PolicyText], folder: str | os.PathLike[str]) -> Path:
    """Write texts as files under ``folder`` (which must be empty or new).

    Returns:
        The ``rules`` folder inside it, from which the ruleset loads as it did.
    """
    root = Path(folder)
    for text in texts:
        target = root.joinpath(*PurePosixPath(text.path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.data)
    (root / "rules").mkdir(exist_ok=True)
    return root / "rules"
