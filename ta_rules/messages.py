"""Rendering reason messages: templates with values formatted for a locale by babel."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from ta_rules.errors import TaRulesError
from ta_rules.money import Money

__all__ = ["format_value", "json_value", "render", "resolve_locale"]


@functools.cache
def resolve_locale(name: str) -> Locale:
    """Parse a locale name (``en``, ``zh_Hans_CN``, ``es-ES``).

    Raises:
        TaRulesError: For an unknown or malformed locale.
    """
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise TaRulesError(f"unknown locale {name!r}: {exc}") from None


def format_value(value: Any, locale: Locale) -> str:
    """Format one message value for ``locale``: money, dates, numbers, lists, text."""
    if value is None:
        return "-"
    if isinstance(value, Money):
        return str(format_currency(value.amount, value.currency, locale=locale))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return str(format_date(value, format="medium", locale=locale))
    if isinstance(value, int | Decimal):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, tuple | list | frozenset):
        return ", ".join(format_value(v, locale) for v in value)
    return str(value)


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


def render(template: str, values: dict[str, Any] | None, locale: Locale) -> str:
    """Fill a ``{name}`` template with locale-formatted values."""
    if not values:
        return template
    return template.format_map({k: format_value(v, locale) for k, v in values.items()})
