"""JSON Schemas of the rule-file format and of the facts document, for editors and tools.

Each rule file starts with a ``yaml-language-server`` comment naming
``ruleset.schema.json`` beside it, so an editor with the YAML extension completes keys and
flags errors inline whether the folder is opened as ``rules/``, as ``ta_rules/rules/`` or
as a copy (``ta-rules schema rules --out FOLDER/ruleset.schema.json`` writes one for a
new folder, and ``ta-rules check`` warns when it is missing). The facts schema ships as
``ta_rules/schemas/facts.schema.json``. The shipped files are generated from the pydantic
models and a test keeps them identical.

The schemas are for validating documents as ``yaml.safe_load`` reads them, too: an
unquoted date is a :class:`datetime.date` there, which no JSON type describes, so a date
is "an ISO date string, or a value of no JSON type". Money in facts is never negative
(not even ``-0.00``), has at most the currency's decimal places (more only when they are
zeros) and is of a known currency; a rate is greater than zero. What JSON Schema cannot
say (a real calendar day such as 2015-02-30, a payment in the contract's currency) only
the library checks.
"""

from __future__ import annotations

from typing import Any, Literal

from ta_rules.facts import default_vocabulary, facts_models
from ta_rules.money import MAX_INTEGER_DIGITS, known_currencies, minor_unit
from ta_rules.rulesets.schema import RulesetSpec
from ta_rules.vocabulary import Vocabulary

__all__ = ["SCHEMA_FILES", "json_schema"]

_IDS = {
    "rules": "https://ta-rules.invalid/schemas/ruleset.schema.json",
    "facts": "https://ta-rules.invalid/schemas/facts.schema.json",
}
#: Where each schema ships, relative to the package.
SCHEMA_FILES = {"rules": "rules/ruleset.schema.json", "facts": "schemas/facts.schema.json"}
_JSON_TYPES = ["null", "boolean", "object", "array", "number", "string"]
_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_FACT_DATE = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def json_schema(kind: Literal["rules", "facts"],
                vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of rule files (``rules``) or facts documents.

    Args:
        kind: Which schema.
        vocabulary: For ``facts``, the vocabulary (default: that of the bundled rules);
            ``ta-rules schema facts --rules DIR`` passes the vocabulary of a rules folder.
    """
    if kind == "rules":
        schema = _rules_schema()
        title = "ta-rules ruleset file"
    else:
        voc = vocabulary or default_vocabulary()
        models = facts_models(voc)
        schema = models.root.model_json_schema(by_alias=True, mode="validation")
        _optional_filled(schema, models.filled_fields())
        title = "ta-rules facts document"
        if voc.name != default_vocabulary().name:
            title += f" ({voc.name})"
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": _IDS[kind],
        "title": title, **{k: v for k, v in schema.items() if k != "title"}}
    out = _rewrite(out, _FACT_DATE if kind == "facts" else _DATE)
    if kind == "facts":
        out.setdefault("$defs", {})["Money"] = _money()
    return out


def _rules_schema() -> dict[str, Any]:
    """A whole rule file, or (with ``based_on``) a version written as changes to another."""
    full = RulesetSpec.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = full.pop("$defs")
    defs["Ruleset"] = full
    defs["RulesetChanges"] = _changes_schema(full, defs)
    return {"description": full.get("description"), "$defs": defs,
            "if": {"type": "object", "required": ["based_on"]},
            "then": {"$ref": "#/$defs/RulesetChanges"}, "else": {"$ref": "#/$defs/Ruleset"}}


def _changes_schema(full: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of a change file (see :mod:`ta_rules.rulesets.changes`)."""
    props = full["properties"]

    def partial(name: str) -> dict[str, Any]:
        return {k: v for k, v in defs[name].items() if k != "required"}

    def named(entry: dict[str, Any], section: str) -> dict[str, Any]:
        return {**props[section], "patternProperties": {
            pattern: entry for pattern in props[section]["patternProperties"]}}

    def with_place(rule: str) -> dict[str, Any]:
        return {**defs[rule], "properties": {
            **defs[rule]["properties"],
            "before": {"type": "string", "description": "the rule it goes before"},
            "after": {"type": "string", "description": "the rule it goes after"}}}

    def rules_change(rule: str) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "properties": {
            "remove": {"type": "array", "items": {"type": "string"},
                       "description": "ids of the base's rules this version drops"},
            "replace": {"type": "object", "additionalProperties": partial(rule),
                        "description": "a base rule's id: the whole rule that replaces it"},
            "add": {"type": "array", "items": with_place(rule),
                    "description": "new rules; in a first list each says before: or after:"},
        }}

    group_change = {**rules_change("RuleSpec"), "description": "a group of the base: its "
                    "rules by id (tables: the same for each table)"}
    group_change["properties"] = {
        **group_change["properties"], "doc": {"type": "string"},
        "tables": {"type": "object", "additionalProperties": {"anyOf": [
            rules_change("RuleSpec"), {"type": "array", "items": {"$ref": "#/$defs/RuleSpec"}}]}}}
    sections = list(props["groups"]["patternProperties"])
    return {
        "type": "object", "additionalProperties": False, "required": ["ruleset", "version",
                                                                      "based_on", "effective"],
        "description": "A version written as changes to another (based_on): only what changes.",
        "properties": {
            **{k: props[k] for k in ("ruleset", "version", "title", "description", "catalog",
                                     "vocabulary", "functions", "values")},
            "based_on": {"type": ["string", "number"],
                         "description": "the version of the same ruleset this one changes"},
            "effective": partial("EffectiveSpec"),
            "parameters": named(partial("ParameterSpec"), "parameters"),
            "reasons": named(partial("ReasonSpec"), "reasons"),
            "groups": {**props["groups"], "patternProperties": {
                sections[0]: {"anyOf": [{"$ref": "#/$defs/GroupSpec"}, group_change]}}},
            "outcome": rules_change("OutcomeRuleSpec"),
            "amounts": partial("AmountsSpec"),
            "remove": {"type": "object", "additionalProperties": False, "properties": {
                section: {"type": "array", "items": {"type": "string"}}
                for section in ("parameters", "reasons", "functions", "values", "groups")}},
        },
    }


def _rewrite(node: Any, date_pattern: str) -> Any:
    """Dates as YAML reads them, and every money object as a reference to one definition."""
    if isinstance(node, list):
        return [_rewrite(n, date_pattern) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "string" and node.get("format") == "date":
        return {"anyOf": [
            {**node, "pattern": date_pattern},
            {"not": {"type": _JSON_TYPES},
             "description": "an unquoted date, as yaml.safe_load reads it"},
        ]}
    if node.get("title") == "Money" and set(node.get("properties", ())) == {"amount",
                                                                           "currency"}:
        return {"$ref": "#/$defs/Money"}
    return {k: _rewrite(v, date_pattern) for k, v in node.items()}


def _money() -> dict[str, Any]:
    """Money in a facts document: a non-negative amount of a known currency."""
    codes = known_currencies()
    by_places: dict[int, list[str]] = {}
    for code in codes:
        by_places.setdefault(minor_unit(code), []).append(code)
    integer = f"(0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})"
    return {
        "type": "object",
        "title": "Money",
        "description": "A non-negative decimal amount (a string, or an integer) with an "
                       "ISO-4217 currency; digits beyond the currency's decimal places are "
                       "zeros.",
        "properties": {
            "amount": {"oneOf": [
                {"type": "string", "pattern": f"^{integer}(\\.[0-9]+)?$"},
                {"type": "integer", "minimum": 0, "maximum": 10 ** MAX_INTEGER_DIGITS - 1},
            ]},
            "currency": {"type": "string", "enum": codes},
        },
        "required": ["amount", "currency"],
        "additionalProperties": False,
        "allOf": [
            {"if": {"properties": {"currency": {"enum": group}}, "required": ["currency"]},
             "then": {"properties": {"amount": {"anyOf": [
                 {"type": "integer"},
                 {"type": "string", "pattern": "^[0-9]+(\\.0+)?$" if places == 0
                  else f"^[0-9]+(\\.[0-9]{{1,{places}}}0*)?$"}]}}}}
            for places, group in sorted(by_places.items())
        ],
    }


def _optional_filled(schema: dict[str, Any], filled: list[tuple[str, str]]) -> None:
    """Money defaults in a currency dimension come from the document itself.

    The schema shows such a field as money, optional, with no default of its own.
    """
    defs = schema.get("$defs", {})
    for model_name, field in filled:
        target = schema if schema.get("title") == model_name else defs.get(model_name)
        prop = (target or {}).get("properties", {}).get(field)
        if prop is not None:
            prop.pop("default", None)
