"""The OpenAPI document: FastAPI's routes, with the facts schema the library exports.

The request body of ``/v1/evaluate`` is :func:`ta_rules.schema_export.json_schema`
(``ta-rules schema facts``), not a copy, and the verdict is the :class:`Verdict` model's
own schema, so the document follows the vocabulary and the verdict as they change.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ta_rules.schema_export import json_schema
from ta_rules.verdict import Verdict

__all__ = ["openapi_document"]

_REF = "#/components/schemas/"

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["kind", "message"],
        "properties": {
            "kind": {"type": "string", "description": "facts, parameters, unknown-ruleset, "
                     "document, request, too-large, not-found, internal..."},
            "message": {"type": "string"},
            "problems": {"type": "array", "description": "Every bad path (FactsError's "
                         "records: path, message, code), or the document's diagnostics.",
                         "items": {"type": "object"}},
        },
    }},
}

_ENVELOPE = {
    "type": "object",
    "required": ["facts"],
    "description": "Facts with options; a query parameter wins over the same option here. "
                   "A scenario file's name, description, tags and expect are ignored.",
    "properties": {
        "facts": {"$ref": _REF + "Facts"},
        "ruleset": {"type": "string"},
        "version": {"type": "string"},
        "parameters": {"type": "object", "description": "Parameter overrides, typed values."},
        "locale": {"type": "string"},
        "trace": {"type": "boolean"},
        "name": {}, "description": {}, "tags": {}, "expect": {},
    },
    "additionalProperties": False,
}


def _rewrite_refs(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace(old, new, 1) if k == "$ref" and isinstance(v, str)
                    else _rewrite_refs(v, old, new)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, old, new) for v in node]
    return node


def _add_schema(components: dict[str, Any], name: str, schema: dict[str, Any],
                refs: str) -> None:
    """Add a JSON Schema and its ``$defs`` under components, refs pointing there."""
    schema = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    defs = schema.pop("$defs", {})
    for def_name, definition in defs.items():
        if def_name in components and components[def_name] != definition:
            raise ValueError(f"two different schemas are named {def_name}")
        components[def_name] = _rewrite_refs(definition, refs, _REF)
    components[name] = _rewrite_refs(schema, refs, _REF)


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Malformed document, query or request", 404: "Unknown ruleset or version",
            413: "Body over the configured limit", 422: "Bad facts (every bad path) or bad "
            "parameters", 500: "Unexpected error (logged)"}
    return {str(s): {"description": text[s], "content": {"application/json": {
        "schema": {"$ref": _REF + "Error"}}}} for s in statuses}


def openapi_document(app: FastAPI, vocabulary: Any = None) -> dict[str, Any]:
    """The OpenAPI document of ``app``; ``Facts`` is the served rules' ``vocabulary``."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _add_schema(components, "Facts", json_schema("facts", vocabulary), "#/$defs/")
    _add_schema(components, "Verdict", Verdict.model_json_schema(mode="serialization"),
                "#/$defs/")
    components["EvaluateRequest"] = _ENVELOPE
    components["Error"] = _ERROR
    for path in doc["paths"].values():
        for operation in path.values():
            operation["responses"].pop("422", None)
            operation["responses"].update(_errors(400, 500))
    evaluate = doc["paths"]["/v1/evaluate"]["post"]
    body_schema = {"oneOf": [{"$ref": _REF + "Facts"}, {"$ref": _REF + "EvaluateRequest"}]}
    evaluate["requestBody"] = {"required": True, "content": {
        "application/json": {"schema": body_schema},
        "application/yaml": {"schema": body_schema}}}
    evaluate["responses"]["200"] = {
        "description": "The verdict, byte for byte as `ta-rules eval --format json` writes it",
        "content": {"application/json": {"schema": {"$ref": _REF + "Verdict"}}}}
    evaluate["responses"].update(_errors(404, 413, 422))
    batch = doc["paths"]["/v1/evaluate/batch"]["post"]
    batch["requestBody"] = {"required": True, "content": {"application/x-ndjson": {
        "schema": {"type": "string", "description": "One facts document (Facts) a line."},
        "x-line-schema": {"$ref": _REF + "Facts"}}}}
    batch["responses"]["200"] = {
        "description": "One record a line, in input order, as `ta-rules eval --batch` writes "
                       "them: {line, verdict} or {line, error}",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    batch["responses"].update(_errors(404, 413, 422))
    schema_route = doc["paths"]["/v1/rulesets/{name}/{version}/facts-schema"]["get"]
    schema_route["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": _REF + "Facts"}
    schema_route["responses"].update(_errors(404))
    return doc
