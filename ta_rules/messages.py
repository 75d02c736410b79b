"""Reason messages: gettext catalogs, locale-aware values, and the babel extractor.

Where a message lives: the English template is written in the rule file, beside its reason
code (``reasons: CODE: message: "... {amount} ..."``). Translations live in gettext catalogs
``ta_rules/locales/<locale>/LC_MESSAGES/ta_rules.po``, one entry per code with the code as
context (``msgctxt``) and the English template as ``msgid``; the compiled ``.mo`` files ship
in the package. Values are formatted for the reader's locale by babel: money with the
locale's currency pattern to the ISO-4217 minor unit, dates with ``format_date``.

Adding a message for a new code: write it in the rule file, then run
``ta-rules messages extract``, ``ta-rules messages update``, translate the new entries of
each ``.po``, and ``ta-rules messages compile`` (see :mod:`ta_rules.tools.catalogs`). A ``.po``
newer than its ``.mo`` is read directly, so a fix is seen before it is compiled.

``ta-rules check`` reports a code with no translation in a shipped locale, and a
translation whose placeholders differ from the English template.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import functools
import io
import os
import re
import string
from collections.abc import Iterator
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import IO, Any, Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, TaRulesError
from ta_rules.money import MONEY_CONTEXT, Money, minor_unit

__all__ = [
    "DOMAIN",
    "CatalogError",
    "catalog_entries",
    "catalog_file",
    "catalog_problems",
    "exact_key",
    "extract_rules",
    "find_catalog_root",
    "format_value",
    "json_value",
    "parse_catalog",
    "placeholders",
    "read_catalog_bytes",
    "render",
    "require_catalog",
    "resolve_locale",
    "shipped_locales",
    "translations",
]

DOMAIN = "ta_rules"


#: Most spellings of locale names remembered (``en-GB``, ``EN_gb``...: one locale each).
MAX_LOCALE_SPELLINGS: Final = 256
#: One object per locale, whatever its spelling: at most one per CLDR locale.
_LOCALES: dict[str, Locale] = {}


@functools.lru_cache(maxsize=MAX_LOCALE_SPELLINGS)
def resolve_locale(name: str) -> Locale:
    """Parse a locale name (``en``, ``zh_Hans_CN``, ``es-ES``, in any case).

    Every spelling of one locale gives the same object, and only CLDR's locales exist, so
    what is held per locale (catalogs, formatting caches) is bounded however many
    spellings callers send. A modifier (``en_US@euro``) is refused: it is free text.

    Raises:
        TaRulesError: For an unknown or malformed locale.
    """
    if not isinstance(name, str):
        raise TaRulesError(f"a locale is a name such as 'en' or 'zh_Hans', found {name!r}")
    try:
        parsed = Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise TaRulesError(f"unknown locale {name!r}: {exc}") from None
    if parsed.modifier:
        raise TaRulesError(f"unknown locale {name!r}: a locale is a name such as 'en' or "
                           "'zh_Hans_CN', without a modifier")
    return _LOCALES.setdefault(str(parsed), parsed)


def _locales_dir(root: str | None = None) -> Any:
    if root is not None:
        return Path(root)
    return files("ta_rules") / "locales"


def find_catalog_root(rules_folder: str, domain: str) -> str | None:
    """The ``locales`` folder that holds ``domain`` for rule files in ``rules_folder``.

    Looked up beside the rule files (``<folder>/locales``), then one level up
    (``<folder>/../locales``, the layout of the bundled rules), also from where a linked
    folder leads; None means the package's.
    """
    base, real = Path(rules_folder).absolute(), Path(os.path.realpath(rules_folder))
    # the folder may be a link (rules/ -> ta_rules/rules): look beside where it leads too
    candidates = dict.fromkeys((base / "locales", base.parent / "locales",
                                real / "locales", real.parent / "locales"))
    for candidate in candidates:
        if candidate.is_dir() and (any(candidate.glob(f"*/LC_MESSAGES/{domain}.mo"))
                                   or any(candidate.glob(f"*/LC_MESSAGES/{domain}.po"))):
            return str(candidate)
    return None


@functools.cache
def shipped_locales(domain: str = DOMAIN, root: str | None = None) -> tuple[str, ...]:
    """The locales with a catalog of ``domain`` (in ``root``, else in the package)."""
    folder = _locales_dir(root)
    if not folder.is_dir():
        return ()
    return tuple(sorted(
        entry.name for entry in folder.iterdir()
        if entry.is_dir() and any((entry / "LC_MESSAGES" / f"{domain}{suffix}").is_file()
                                  for suffix in (".mo", ".po"))
    ))


def _stamp(entry: Any) -> int | None:
    if not isinstance(entry, Path):
        return None
    try:
        return entry.stat().st_mtime_ns
    except OSError:
        return None


def _catalog_file(locale_name: str, domain: str, root: str | None) -> tuple[Any, bool, Any]:
    """The catalog file to read: the ``.po`` when it is newer than its ``.mo`` (or alone).

    A translator's fix in the ``.po`` is then seen by ``ta-rules check`` and ``eval``
    before anyone compiles it. Returns (file, is_po, stamp).
    """
    folder = _locales_dir(root) / locale_name / "LC_MESSAGES"
    po, mo = folder / f"{domain}.po", folder / f"{domain}.mo"
    po_time, mo_time = _stamp(po), _stamp(mo)
    if po.is_file() and (not mo.is_file() or (po_time or 0) > (mo_time or 0)):
        return po, True, (po_time, mo_time)
    return mo, False, (po_time, mo_time)


#: Largest catalog file read (the shipped ones are a few kB).
MAX_CATALOG_BYTES = 8 * 1024 * 1024


class CatalogError(TaRulesError):
    """A message catalog (``.mo`` or ``.po``) cannot be used.

    Attributes:
        path: The catalog file.
        message: What is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _catalog_bytes(path: Any) -> bytes:
    """A catalog file's bytes: a regular file of at most :data:`MAX_CATALOG_BYTES`.

    A catalog of a rules folder (``locales/<locale>/LC_MESSAGES/<domain>.po``) is read as a
    rule file is: a link out of its ``locales`` folder, a FIFO or a device is not read.
    """
    from ta_rules._files import FileRefused, read_guarded

    name = str(path)
    if isinstance(path, Path):
        try:
            return read_guarded(path, max_bytes=MAX_CATALOG_BYTES, folder=path.parents[2],
                                what="catalog")
        except FileRefused as exc:
            raise CatalogError(name, exc.reason) from None
    try:
        with path.open("rb") as fh:
            data: bytes = fh.read(MAX_CATALOG_BYTES + 1)
    except OSError as exc:
        raise CatalogError(name, f"cannot read the catalog: {exc.strerror or exc}") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise CatalogError(name, f"the catalog is over {MAX_CATALOG_BYTES} bytes")
    return data


@functools.lru_cache(maxsize=256)
def _read_catalog(path: Any, is_po: bool, domain: str, stamp: Any) -> Translations:
    """The catalog at ``path`` (see :func:`_parse_catalog`), never an internal error.

    Raises:
        CatalogError: The file is not a regular file, too large, or not a valid catalog
            (empty, truncated, corrupt, a broken header).
    """
    data = _catalog_bytes(path)
    try:
        return _parse_catalog(data, is_po, domain)
    except Exception as exc:  # gettext and babel raise OSError, struct.error, LookupError...
        detail = str(exc)[:200] or type(exc).__name__
        raise CatalogError(str(path), f"not a valid {'.po' if is_po else 'compiled'} catalog "
                           f"({detail})") from None


def _parse_catalog(data: bytes, is_po: bool, domain: str) -> Translations:
    """A catalog as gettext translations; a ``.po`` is compiled in memory (fuzzy left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if not is_po:
        return Translations(io.BytesIO(data), domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, read_po(io.BytesIO(data), domain=domain))
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def catalog_file(locale_name: str, domain: str, root: str | None) -> tuple[Any, bool]:
    """The catalog file rendering reads for a shipped locale, and whether it is a ``.po``."""
    path, is_po, _ = _catalog_file(locale_name, domain, root)
    return path, is_po


def read_catalog_bytes(path: Any) -> bytes:
    """A catalog file's bytes, read as rendering reads them (regular file, bounded).

    Raises:
        CatalogError: The file cannot be read, is not a regular file, or is too large.
    """
    return _catalog_bytes(path)


def parse_catalog(data: bytes, is_po: bool, domain: str) -> Translations:
    """A catalog file's bytes as translations.

    Raises:
        CatalogError: They are not a valid catalog.
    """
    try:
        return _parse_catalog(data, is_po, domain)
    except Exception as exc:  # gettext and babel raise OSError, struct.error, LookupError...
        detail = str(exc)[:200] or type(exc).__name__
        raise CatalogError("<catalog>", f"not a valid {'.po' if is_po else 'compiled'} "
                           f"catalog ({detail})") from None


def _catalog(locale_name: str, domain: str, root: str | None) -> Translations:
    path, is_po, stamp = _catalog_file(locale_name, domain, root)
    return _read_catalog(path, is_po, domain, stamp)


def _candidates(locale: Locale) -> list[str]:
    out = [str(locale)]
    if locale.script:
        out.append(f"{locale.language}_{locale.script}")
    if locale.territory:
        out.append(f"{locale.language}_{locale.territory}")
    out.append(locale.language)
    return list(dict.fromkeys(out))


@functools.lru_cache(maxsize=1024)
def translations(locale: Locale, domain: str | None = DOMAIN,
                 root: str | None = None) -> NullTranslations:
    """The catalog for ``locale``: its own, its script's or language's, else none (English)."""
    if domain is None:
        return NullTranslations()
    available = set(shipped_locales(domain, root))
    for name in _candidates(locale):
        if name in available:
            return _catalog(name, domain, root)
    return NullTranslations()


@functools.lru_cache(maxsize=1024)
def require_catalog(locale: Locale, domain: str, root: str | None = None) -> None:
    """Refuse a locale the catalog ``domain`` has no translation for.

    A message in such a locale would be the English template with the locale's number and
    date formats, so it is an error rather than a silent fallback. ``en`` is always
    accepted: the templates in the rule files are English.

    Raises:
        TaRulesError: Naming the locales the catalog has.
    """
    available = shipped_locales(domain, root)
    if locale.language == "en" or any(name in available for name in _candidates(locale)):
        return
    raise TaRulesError(
        f"no {locale} translation of the messages (catalog {domain!r}); the locales shipped "
        f"are: {', '.join(available) or 'none'}")


def exact_key(value: Any) -> Any:
    """A hashable key equal for two values exactly when they print the same way.

    Equality is not enough for caches of printed values: ``Decimal("1.0") == Decimal("1.00")``,
    ``Money(-0.00) == Money(0.00)`` and ``1 == True`` print differently.

    Raises:
        TypeError: For a value that cannot be a key (a mapping, a fact object).
    """
    if isinstance(value, Money):
        return (Money, value.currency, str(value.amount))
    if isinstance(value, Decimal):
        return (Decimal, str(value))
    if isinstance(value, tuple | list | frozenset):
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        return (type(value), tuple(exact_key(v) for v in items))
    if value is None or isinstance(value, bool | int | str | dt.date):
        return (type(value), value)
    raise TypeError(f"no exact key for {type(value).__name__}")


def format_value(value: Any, locale: Locale) -> str:
    """Format one message value for ``locale``: money, dates, numbers, lists, text."""
    if isinstance(value, Money | dt.date | Decimal | int | str):
        return _format_cached(exact_key(value), value, locale)
    return _format(value, locale)


@functools.lru_cache(maxsize=4096)
def _format_cached(key: Any, value: Any, locale: Locale) -> str:
    # ``key`` tells apart equal values that print differently; ``value`` rides along
    return _format(value, locale)


def _format(value: Any, locale: Locale) -> str:
    # babel rounds in the current decimal context: that of money, whoever calls
    with decimal.localcontext(MONEY_CONTEXT):
        return _format_in_context(value, locale)


def _format_in_context(value: Any, locale: Locale) -> str:
    if value is None:
        return "-"
    if isinstance(value, Money):
        return _format_money(value, locale)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return str(format_date(value, format="medium", locale=locale))
    if isinstance(value, int | Decimal):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, tuple | list | frozenset):
        return ", ".join(format_value(v, locale) for v in value)
    return str(value)


def _format_money(value: Money, locale: Locale) -> str:
    """Money in the locale's currency pattern, to the ISO-4217 minor unit.

    Never to the locale's display digits, which are fewer for some currencies (HUF
    1,785,714.50, where CLDR shows whole forints).
    """
    places = minor_unit(value.currency)
    exp = value.amount.as_tuple().exponent
    shown = max(places, -exp) if isinstance(exp, int) else places
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (places, shown)
    return str(pattern.apply(value.amount, locale, currency=value.currency,
                             currency_digits=False))


def json_value(value: Any) -> Any:
    """A runtime value in JSON form (money as {amount, currency}, decimals as strings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def render(code: str, template: str, values: dict[str, Any] | None, locale: Locale,
           domain: str | None = DOMAIN, root: str | None = None) -> str:
    """The message of ``code`` in ``locale``, with locale-formatted values."""
    text = str(translations(locale, domain, root).pgettext(code, template))
    if text != template and not _same_placeholders(text, template):
        text = template  # a translation is only ever filled in with names, as its template
    if not values:
        return text
    formatted = {k: format_value(v, locale) for k, v in values.items()}
    try:
        return text.format_map(formatted)
    except (KeyError, IndexError, ValueError):
        # a broken translation must never break a verdict: fall back to English
        return template.format_map(formatted)


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def placeholders(template: str) -> frozenset[str] | None:
    """The ``{name}`` placeholders of a template; None when it is not a valid template.

    A placeholder is a name only: a format spec (``{amount:>9}``), a conversion
    (``{amount!r}``), an attribute or index (``{amount.currency}``, ``{amount[0]}``) and an
    empty or numbered field (``{}``, ``{0}``) make the template invalid, since they run
    Python's formatting on values a message only ever shows.
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return None
    names = set()
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if spec or conversion is not None or not _NAME_RE.fullmatch(field):
            return None
        names.add(field)
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def _same_placeholders(text: str, template: str) -> bool:
    found = placeholders(text)
    return found is not None and found == placeholders(template)


def catalog_problems(domain: str, root: str | None,
                     templates: dict[str, tuple[str, Location]]) -> list[Diagnostic]:
    """Catalogs that cannot be used, and translations whose placeholders are not names.

    Args:
        domain: The catalog domain of a ruleset.
        root: Its locales folder (None: the package's).
        templates: code -> (English template, where the reason is written).
    """
    out: list[Diagnostic] = []
    for locale in shipped_locales(domain, root):
        try:
            entries = catalog_entries(locale, domain, root)
        except CatalogError as exc:
            out.append(Diagnostic(dc.MESSAGES_BAD_CATALOG, exc.message, Location(exc.path),
                                  "recompile it: pybabel compile -d LOCALES -D " + domain))
            continue
        for code, (template, where) in templates.items():
            text = entries.get((code, template))
            if text is not None and placeholders(text) is None:
                out.append(Diagnostic(
                    dc.MESSAGES_BAD_PLACEHOLDER,
                    f"the {locale} message of {code} has a placeholder that is not a plain "
                    f"{{name}} (format specs, conversions, attributes and indexes are "
                    f"refused): {text[:120]!r}",
                    where, f"fix the translation in the {locale} catalog {domain}.po"))
    return out


def catalog_entries(locale_name: str, domain: str = DOMAIN,
                    root: str | None = None) -> dict[tuple[str, str], str]:
    """The (code, English template) -> translation entries of a catalog.

    Read from the ``.po`` when it is newer than the ``.mo``; re-read when either changes.
    """
    catalog = _catalog(locale_name, domain, root)
    out = {}
    for key, text in catalog._catalog.items():
        if isinstance(key, str) and "\x04" in key:
            context, _, msgid = key.partition("\x04")
            out[(context, msgid)] = str(text)
    return out


def extract_rules(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor for rule files: every reason's message, with its code as context.

    A version written as changes (``based_on:``) gives the messages of the whole version,
    those it inherits located at its ``based_on:`` line.

    Registered as the babel extractor ``ta_rules_yaml`` (see ``babel.cfg``).
    """
    from ta_rules.rulesets.changes import FlatDocument, read_flat

    name = getattr(fileobj, "name", "<rules>")
    doc = read_flat(fileobj.read(), name)
    if doc is None:
        return
    reasons = doc.data.get("reasons")
    if not isinstance(reasons, dict):
        return
    for code, spec in reasons.items():
        if isinstance(spec, dict) and isinstance(spec.get("message"), str):
            where = doc.location(("reasons", code, "message"))
            kind = spec.get("kind", "")
            comments = [f"{code} ({kind})"]
            if isinstance(doc, FlatDocument) and where.source != name:
                # a version written as changes carries the messages it inherits
                where = doc.location(("based_on",))
                comments.append(f"inherited from {doc.based_on}")
            yield where.line, "pgettext", (code, spec["message"]), comments
