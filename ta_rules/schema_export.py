"""JSON Schemas of the rule-file format and of the facts document, for editors and tools.

The bundled rule files start with a ``yaml-language-server`` comment pointing at
``ta_rules/schemas/ruleset.schema.json``, so an editor with the YAML extension completes
keys and flags errors inline. The shipped files are generated from the pydantic models
(``ta-rules schema rules``) and a test keeps them identical.
"""

from __future__ import annotations

from typing import Any, Literal

from ta_rules.facts import Facts
from ta_rules.rulesets.schema import RulesetSpec

__all__ = ["json_schema"]

_IDS = {
    "rules": "https://ta-rules.invalid/schemas/ruleset.schema.json",
    "facts": "https://ta-rules.invalid/schemas/facts.schema.json",
}


def json_schema(kind: Literal["rules", "facts"]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of rule files (``rules``) or facts documents."""
    model = RulesetSpec if kind == "rules" else Facts
    schema = model.model_json_schema(by_alias=True, mode="validation")
    title = "ta-rules ruleset file" if kind == "rules" else "ta-rules facts document"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": _IDS[kind],
            "title": title, **{k: v for k, v in schema.items() if k != "title"}}
