"""``ta-rules messages extract|update|compile``: keep the message catalogs of a rules folder.

The reason messages are written in the rule files (English); their translations live in
gettext catalogs ``locales/<locale>/LC_MESSAGES/<catalog>.po`` beside the rule files (or one
level up, the layout of the bundled rules: ``ta_rules/locales``). These commands do what
``pybabel extract/update/compile`` do, on babel's API, so that the catalogs change only
where a message changed:

- ``extract`` writes the template ``<catalog>.pot`` from every reason message, with the
  reason code as context; it leaves the file alone when nothing changed;
- ``update`` brings each locale's ``.po`` up to the template: new messages come in
  untranslated (never a "fuzzy" guess from a similar message), removed ones are kept as
  obsolete entries, the order is the template's, and lines are wrapped as the catalog
  already was; ``--locale NEW`` starts a catalog for a new locale. An English catalog
  takes the rule file's text as its translation;
- ``compile`` writes each ``.mo`` (untranslated entries left out), and says how many
  entries of each locale are untranslated.

``ta-rules check`` and ``ta-rules eval`` read a ``.po`` that is newer than its ``.mo``, so a
translator's fix is seen before it is compiled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ta_rules import diagnostic_codes as dc
from ta_rules._files import FileRefused, OutputRefused, inside, read_guarded, write_output
from ta_rules._version import __version__
from ta_rules.errors import Diagnostic, Location, RulesetError, TaRulesError
from ta_rules.messages import MAX_CATALOG_BYTES, extract_rules
from ta_rules.rulesets.changes import read_flat
from ta_rules.rulesets.load import read_rule_file, rule_files

__all__ = ["CatalogSet", "compile_catalogs", "extract", "find_catalogs", "run", "update"]

_DEFAULT_WIDTH = 76


@dataclasses.dataclass(frozen=True)
class CatalogSet:
    """The catalog of one domain for a rules folder.

    Attributes:
        domain: The catalog name (``catalog:`` of the rule files).
        root: The ``locales`` folder.
        rule_files: The rule files that use the catalog.
        base: Locations in the catalog are written relative to this folder.
    """

    domain: str
    root: Path
    rule_files: tuple[Path, ...]
    base: Path

    @property
    def template(self) -> Path:
        """The ``.pot`` file."""
        return self.root / f"{self.domain}.pot"

    def po(self, locale: str) -> Path:
        """The ``.po`` file of ``locale``."""
        return self.root / locale / "LC_MESSAGES" / f"{self.domain}.po"

    def locales(self) -> list[str]:
        """The locales with a ``.po`` file."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if self.po(p.name).is_file())


def find_catalogs(folder: str | os.PathLike[str], base: str | os.PathLike[str] | None = None
                  ) -> list[CatalogSet]:
    """The catalogs the rule files of ``folder`` name, each with its ``locales`` folder.

    A catalog with no ``locales`` folder yet gets one beside the rule files.

    Raises:
        RulesetError: When the folder has no rule file naming a catalog.
    """
    from ta_rules.messages import find_catalog_root

    rules = Path(folder)
    by_domain: dict[str, list[Path]] = {}
    for path in rule_files(rules):
        try:
            content = read_rule_file(path, folder=rules)
        except RulesetError:
            continue  # `ta-rules check` reports it
        doc = read_flat(content, str(path))  # a version written as changes: its base's
        if doc is None:
            continue  # `ta-rules check` reports it
        domain = doc.data.get("catalog")
        if isinstance(domain, str):
            by_domain.setdefault(domain, []).append(path)
    if not by_domain:
        raise RulesetError([Diagnostic(
            dc.FILE_NO_CATALOG, "no rule file here names a message catalog (catalog: NAME)",
            Location(str(rules)))])
    return [CatalogSet(domain, Path(find_catalog_root(str(rules), domain) or rules / "locales"),
                       tuple(files), Path(base) if base is not None else Path.cwd())
            for domain, files in sorted(by_domain.items())]


def _refused(path: Path, message: str, line: int = 0) -> RulesetError:
    return RulesetError([Diagnostic(dc.MESSAGES_BAD_CATALOG, message,
                                    Location(str(path), line, 1 if line else 0))])


def _text(path: Path, root: Path) -> str:
    """A catalog's text: a regular file inside the ``locales`` folder, UTF-8, bounded."""
    try:
        data = read_guarded(path, max_bytes=MAX_CATALOG_BYTES, folder=root, what="catalog")
    except FileRefused as exc:
        raise _refused(path, exc.reason) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refused(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start a "
                       "character; catalogs are written in UTF-8", line) from None


def _read(path: Path, root: Path, **options: Any) -> Catalog:
    text = _text(path, root)
    try:
        return read_po(io.StringIO(text), **options)
    except Exception as exc:  # babel raises ValueError, LookupError... on a broken catalog
        raise _refused(path, f"not a valid catalog ({str(exc)[:200] or type(exc).__name__})"
                       ) from None


def _width(path: Path, root: Path) -> int:
    """The wrapping width a catalog was written with: 0 (none) when any line is longer."""
    if not path.is_file():
        return _DEFAULT_WIDTH
    longest = max((len(line) for line in _text(path, root).splitlines()), default=0)
    return 0 if longest > _DEFAULT_WIDTH + 3 else _DEFAULT_WIDTH


def _put(path: Path, root: Path, data: bytes) -> None:
    """Write a file of the catalogs: inside their ``locales`` folder only, whole."""
    if not inside(path, root):
        raise _refused(path, f"outside the catalogs folder {root} (a link, or a locale name "
                       "that leads out of it); it is not written")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_output(path, data, option="catalog")
    except OutputRefused as exc:
        raise _refused(path, str(exc)) from None


def _current(path: Path, root: Path) -> bytes | None:
    """The bytes of a compiled catalog, or None when it cannot be read (it is rewritten)."""
    try:
        return read_guarded(path, max_bytes=MAX_CATALOG_BYTES, folder=root, what="catalog")
    except FileRefused:
        return None


def _write(path: Path, root: Path, catalog: Catalog, width: int) -> bool:
    """Write a catalog; False (and nothing written) when the text would not change."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=width)
    data = buffer.getvalue()
    if path.is_file() and _text(path, root).encode("utf-8") == data:
        return False
    _put(path, root, data)
    return True


_LOCALE_NAME = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")


def check_locale_name(name: str) -> str:
    """A locale name to start a catalog for (``fr``, ``pt_BR``, ``zh_Hans``).

    Raises:
        TaRulesError: A name that is not a locale (``../x``), so no path is made of it.
    """
    from ta_rules.messages import resolve_locale

    if not _LOCALE_NAME.fullmatch(name):
        raise TaRulesError(f"--locale {name!r}: not a locale name such as 'fr', 'pt_BR' or "
                           "'zh_Hans'")
    resolve_locale(name)
    return name.replace("-", "_")


def _entries(catalog: Catalog) -> list[tuple[Any, ...]]:
    return [(m.context, m.id, tuple(m.locations), tuple(m.auto_comments), tuple(sorted(m.flags)))
            for m in catalog if m.id]


def _location(path: Path, base: Path) -> str:
    return os.path.relpath(os.path.realpath(path), os.path.realpath(base)).replace(os.sep, "/")


def extract(catalogs: CatalogSet) -> bool:
    """Write the template from the rule files; False when it was already current."""
    root = catalogs.root
    old = _read(catalogs.template, root) if catalogs.template.is_file() else None
    template = Catalog(domain=catalogs.domain, project="ta-rules", version=__version__,
                       copyright_holder="ta-rules", fuzzy=True,
                       creation_date=dt.datetime.now(dt.UTC))
    if old is not None:  # keep what the template's header already says
        template.project, template.version = old.project, old.version
        template.copyright_holder = old.copyright_holder
        template.msgid_bugs_address = old.msgid_bugs_address
        template.header_comment = old.header_comment
    for path in catalogs.rule_files:
        # read as find_catalogs read it: a regular file inside the rules folder, bounded
        content = io.BytesIO(read_rule_file(path, folder=path.parent))
        for line, _, (code, text), comments in extract_rules(content, None, None, None):
            template.add(text, None, [(_location(path, catalogs.base), line)],
                         auto_comments=comments, context=code,
                         flags=("python-brace-format",) if "{" in text else ())
    if old is not None and _entries(old) == _entries(template):
        return False
    return _write(catalogs.template, root, template, _width(catalogs.template, root))


def update(catalogs: CatalogSet, new_locales: Iterable[str] = ()) -> list[str]:
    """Bring each locale's catalog up to the template (and start ``new_locales``).

    Returns:
        The locales whose ``.po`` changed.
    """
    changed = []
    root = catalogs.root
    new = {check_locale_name(name) for name in new_locales}
    for locale in sorted({*catalogs.locales(), *new}):
        # read for each locale: update() puts the template's own entries into the catalog
        template = _read(catalogs.template, root)
        path = catalogs.po(locale)
        if path.is_file():
            catalog = _read(path, root, locale=locale, domain=catalogs.domain)
            width = _width(path, root)
        else:
            catalog = Catalog(locale=locale, domain=catalogs.domain, project=template.project,
                              version=template.version,
                              copyright_holder=template.copyright_holder, fuzzy=False)
            width = _width(catalogs.template, root)
        catalog.update(template, no_fuzzy_matching=True)
        if catalog.locale is not None and catalog.locale.language == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id  # the rule file's text is English
        if _write(path, root, catalog, width):
            changed.append(locale)
    return changed


def compile_catalogs(catalogs: CatalogSet) -> dict[str, int]:
    """Write each locale's ``.mo``.

    Returns:
        The number of untranslated entries of each locale.
    """
    untranslated = {}
    for locale in catalogs.locales():
        catalog = _read(catalogs.po(locale), catalogs.root, locale=locale,
                        domain=catalogs.domain)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo = catalogs.po(locale).with_suffix(".mo")
        if not inside(mo, catalogs.root):
            raise _refused(mo, f"outside the catalogs folder {catalogs.root}; it is not "
                           "written")
        if not mo.is_file() or _current(mo, catalogs.root) != buffer.getvalue():
            _put(mo, catalogs.root, buffer.getvalue())
        else:
            os.utime(mo)  # current again: newer than its .po
        untranslated[locale] = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
    return untranslated


def run(action: str, folder: str, *, base: str | None = None,
        new_locales: Iterable[str] = ()) -> list[str]:
    """Run one ``ta-rules messages`` action on a rules folder; returns the lines to print."""
    out = []
    for catalogs in find_catalogs(folder, base):
        where = _location(catalogs.root, catalogs.base)
        if action == "extract":
            done = extract(catalogs)
            out.append(f"{_location(catalogs.template, catalogs.base)}: "
                       + ("written" if done else "already current"))
        elif action == "update":
            if not catalogs.template.is_file():
                extract(catalogs)
            changed = update(catalogs, new_locales)
            out.append(f"{where}: " + (f"updated {', '.join(changed)}" if changed
                                       else "every locale already current"))
        else:
            counts = compile_catalogs(catalogs)
            out.append(f"{where}: compiled " + ", ".join(
                f"{locale} ({n} untranslated)" if n else locale
                for locale, n in counts.items()))
    return out
