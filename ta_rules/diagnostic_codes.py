"""Every diagnostic code, declared once: its severity, summary and documentation anchor.

Call sites use these constants (never the code as a string literal; a test checks it).
``docs/diagnostics.md`` is :func:`docs_list` (a test keeps them equal), and
``tests/test_bad_rules.py`` derives from :data:`CODES` the codes that need a broken file in
``tests/data/bad_rules/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final, Literal

__all__ = ["CODES", "DOCS", "CodeSpec", "docs_list"]

#: Where the codes are documented.
DOCS: Final = "docs/diagnostics.md"

#: Prefixes of codes about what a rule file, vocabulary or catalog says (each has a broken
#: file in tests/data/bad_rules/); the others are about reading files, projects,
#: scenarios or the service.
CONTENT_PREFIXES: Final = ("yaml", "schema", "compile", "registry", "messages", "vocabulary",
                            "check")


#: Codes about a file's content that no broken file can show reliably (a solver's time).
NO_EXAMPLE: Final = frozenset({"check.solver-gave-up"})


@dataclasses.dataclass(frozen=True)
class CodeSpec:
    """One diagnostic code.

    Attributes:
        code: The stable identifier (``compile.type-mismatch``).
        severity: ``error`` or ``warning``.
        summary: What it means, in one line.
    """

    code: str
    severity: Literal["error", "warning"]
    summary: str

    @property
    def anchor(self) -> str:
        """The code's place in the docs (``docs/diagnostics.md#compile-type-mismatch``)."""
        return f"{DOCS}#{self.code.replace('.', '-')}"

    @property
    def content(self) -> bool:
        """Whether it is about what a file says (then a broken file shows it)."""
        return self.code.split(".")[0] in CONTENT_PREFIXES and self.code not in NO_EXAMPLE


_ALL: list[CodeSpec] = []


def _code(code: str, severity: Literal["error", "warning"], summary: str) -> str:
    _ALL.append(CodeSpec(code, severity, summary))
    return code

# --- yaml ---
YAML_SYNTAX: Final = _code("yaml.syntax", "error", "The file is not valid YAML.")
YAML_ENCODING: Final = _code("yaml.encoding", "error", "The file is not UTF-8 text.")
YAML_TOO_LARGE: Final = _code("yaml.too-large", "error", "The file is larger than the limit read.")
YAML_TOO_DEEP: Final = _code("yaml.too-deep", "error", "The document nests too deeply.")
YAML_DUPLICATE_KEY: Final = _code(
    "yaml.duplicate-key", "error",
    "A key appears twice in one mapping (YAML would keep the last silently).")
YAML_COMPLEX_KEY: Final = _code(
    "yaml.complex-key", "error", "A mapping key is not a plain string.")
YAML_ANCHOR: Final = _code(
    "yaml.anchor", "error", "An anchor (&name): values are written out in full.")
YAML_ALIAS: Final = _code(
    "yaml.alias", "error", "An alias (*name): values are written out in full.")
YAML_MERGE_KEY: Final = _code(
    "yaml.merge-key", "error", "A merge key (<<): values are written out in full.")
YAML_TAG: Final = _code(
    "yaml.tag", "error", "An explicit YAML tag: values are typed by the file format.")
YAML_FLOW_COMMA: Final = _code(
    "yaml.flow-comma", "error", "A comma inside { } or [ ] cut an expression.")
YAML_NON_FINITE: Final = _code(
    "yaml.non-finite", "error", "A number that is not finite (.inf, .nan).")
YAML_NUMBER_TOO_LARGE: Final = _code(
    "yaml.number-too-large", "error", "An integer with more digits than are read.")
# --- schema ---
SCHEMA_MISSING: Final = _code("schema.missing", "error", "A required field is missing.")
SCHEMA_UNKNOWN_FIELD: Final = _code(
    "schema.unknown-field", "error",
    "A field the file format does not have (often a misspelling).")
SCHEMA_CHOICE: Final = _code(
    "schema.choice", "error", "A value that is not one of the allowed choices.")
SCHEMA_PATTERN: Final = _code(
    "schema.pattern", "error", "A value that does not match the required pattern.")
SCHEMA_YAML_COERCION: Final = _code(
    "schema.yaml-coercion", "error",
    "YAML read a value as another type (2015.10 as a number, no as false): quote it.")
SCHEMA_INVALID: Final = _code("schema.invalid", "error", "A value the file format refuses.")
# --- compile ---
COMPILE_SYNTAX: Final = _code("compile.syntax", "error", "An expression that does not parse.")
COMPILE_TOO_DEEP: Final = _code("compile.too-deep", "error", "An expression nested too deeply.")
COMPILE_UNKNOWN_NAME: Final = _code(
    "compile.unknown-name", "error", "A name that is no value, parameter, fact, group or local.")
COMPILE_UNKNOWN_FACT: Final = _code(
    "compile.unknown-fact", "error", "A fact path the vocabulary does not have.")
COMPILE_UNKNOWN_FUNCTION: Final = _code(
    "compile.unknown-function", "error",
    "A call of a function that is no built-in and no ruleset function.")
COMPILE_UNKNOWN_REASON: Final = _code(
    "compile.unknown-reason", "error", "A reason code not declared under reasons:.")
COMPILE_UNKNOWN_TABLE: Final = _code(
    "compile.unknown-table", "error", "use: names a table the group does not have.")
COMPILE_UNKNOWN_CURRENCY: Final = _code(
    "compile.unknown-currency", "error", "A currency code that is not ISO 4217.")
COMPILE_UNKNOWN_VOCABULARY: Final = _code(
    "compile.unknown-vocabulary", "error", "vocabulary: names no vocabulary file found.")
COMPILE_UNKNOWN_CATALOG: Final = _code(
    "compile.unknown-catalog", "error", "catalog: names no message catalog found.")
COMPILE_TYPE_MISMATCH: Final = _code(
    "compile.type-mismatch", "error", "An operand or argument of the wrong type.")
COMPILE_CURRENCY_MISMATCH: Final = _code(
    "compile.currency-mismatch", "error", "Money of two currencies compared or added.")
COMPILE_IMPOSSIBLE_VALUE: Final = _code(
    "compile.impossible-value", "error", "A comparison with a value the field can never hold.")
COMPILE_ARITY: Final = _code(
    "compile.arity", "error", "A call with the wrong number of arguments.")
COMPILE_BAD_DATE: Final = _code(
    "compile.bad-date", "error", "A date literal that is no calendar date.")
COMPILE_BAD_DEFAULT: Final = _code(
    "compile.bad-default", "error", "A parameter default that is not of its type.")
COMPILE_BAD_TYPE: Final = _code(
    "compile.bad-type", "error", "A declared type that does not exist.")
COMPILE_BAD_MESSAGE: Final = _code(
    "compile.bad-message", "error", "A message placeholder that is not {name}.")
COMPILE_BAD_ORDER_DATE: Final = _code(
    "compile.bad-order-date", "error",
    "effective.order_date names something that is not a date fact.")
COMPILE_BAD_USE: Final = _code(
    "compile.bad-use", "error", "use: outside a table of a for_each group.")
COMPILE_MESSAGE_PLACEHOLDER: Final = _code(
    "compile.message-placeholder", "error", "A message placeholder no rule provides.")
COMPILE_NAME_CLASH: Final = _code(
    "compile.name-clash", "error", "Two declarations share a name (or one takes a reserved name).")
COMPILE_DUPLICATE_RULE_ID: Final = _code(
    "compile.duplicate-rule-id", "error", "Two rules share an id.")
COMPILE_CYCLE: Final = _code(
    "compile.cycle", "error", "Values or functions defined in terms of each other.")
COMPILE_DIVISION_BY_ZERO: Final = _code(
    "compile.division-by-zero", "error", "A division by a constant zero.")
COMPILE_OVERFLOW: Final = _code(
    "compile.overflow", "error", "A constant calculation out of range.")
COMPILE_REASON_OUTSIDE_RULE: Final = _code(
    "compile.reason-outside-rule", "error", "A reason code used outside a rule's reasons.")
COMPILE_OUTCOME_INCOMPLETE: Final = _code(
    "compile.outcome-incomplete", "error", "The outcome rules do not always decide.")
COMPILE_UNREACHABLE_RULE: Final = _code(
    "compile.unreachable-rule", "error", "A rule after one that always applies in a first list.")
COMPILE_NEVER_APPLIES: Final = _code(
    "compile.never-applies", "error", "A condition whose parts contradict each other.")
COMPILE_NULLABLE_NOT: Final = _code(
    "compile.nullable-not", "warning",
    "not of a condition that may be null: null makes the rule not apply.")
COMPILE_UNUSED_PARAMETER: Final = _code(
    "compile.unused-parameter", "warning", "A parameter nothing uses.")
COMPILE_UNUSED_REASON: Final = _code(
    "compile.unused-reason", "warning", "A reason code no rule gives.")
COMPILE_UNUSED_VALUE: Final = _code("compile.unused-value", "warning", "A value nothing uses.")
COMPILE_UNUSED_FUNCTION: Final = _code(
    "compile.unused-function", "warning", "A function nothing calls.")
COMPILE_UNUSED_GROUP: Final = _code(
    "compile.unused-group", "warning", "A group whose reasons never reach a verdict.")
COMPILE_UNUSED_MESSAGE_VALUE: Final = _code(
    "compile.unused-message-value", "warning", "A with value no message shows.")
# --- registry ---
REGISTRY_OVERLAP: Final = _code(
    "registry.overlap", "error", "Two versions in force on the same day.")
REGISTRY_GAP: Final = _code(
    "registry.gap", "error", "Days between versions when none is in force.")
REGISTRY_DUPLICATE_VERSION: Final = _code(
    "registry.duplicate-version", "error", "Two files with the same version.")
REGISTRY_ORDER_DATE_MISMATCH: Final = _code(
    "registry.order-date-mismatch", "error",
    "Versions that read the order date from different facts.")
# --- messages ---
MESSAGES_BAD_CATALOG: Final = _code(
    "messages.bad-catalog", "error", "A message catalog that cannot be read.")
MESSAGES_BAD_PLACEHOLDER: Final = _code(
    "messages.bad-placeholder", "error", "A translated message placeholder that is not {name}.")
MESSAGES_PLACEHOLDER_MISMATCH: Final = _code(
    "messages.placeholder-mismatch", "error",
    "A translation whose placeholders differ from the message's.")
MESSAGES_MISSING_TRANSLATION: Final = _code(
    "messages.missing-translation", "error", "A message with no translation in a shipped locale.")
MESSAGES_MISSING_LOCALE: Final = _code(
    "messages.missing-locale", "error", "A locale asked for that the catalog does not ship.")
# --- vocabulary ---
VOCABULARY_BAD_CODE: Final = _code(
    "vocabulary.bad-code", "error", "A code that does not follow the code pattern.")
VOCABULARY_BAD_CONSTRAINT: Final = _code(
    "vocabulary.bad-constraint", "error", "A constraint a field of that type cannot have.")
VOCABULARY_BAD_DEFAULT: Final = _code(
    "vocabulary.bad-default", "error", "A field default that is not of its type.")
VOCABULARY_BAD_DIMENSION: Final = _code(
    "vocabulary.bad-dimension", "error",
    "A currency dimension read from a field that is not money.")
VOCABULARY_BAD_TYPE: Final = _code(
    "vocabulary.bad-type", "error", "A field type that cannot be read.")
VOCABULARY_REDEFINED: Final = _code(
    "vocabulary.redefined", "error",
    "An extension that changes a field of the vocabulary it extends.")
VOCABULARY_REQUIRED_FIELD: Final = _code(
    "vocabulary.required-field", "error", "An extension that adds a field without a default.")
VOCABULARY_UNKNOWN_BASE: Final = _code(
    "vocabulary.unknown-base", "error", "extends: names no vocabulary (or itself).")
VOCABULARY_UNKNOWN_CODE_SET: Final = _code(
    "vocabulary.unknown-code-set", "error", "A code[SET] whose set is not declared.")
VOCABULARY_UNKNOWN_CURRENCY: Final = _code(
    "vocabulary.unknown-currency", "error", "A currency code that is not ISO 4217.")
VOCABULARY_UNKNOWN_FIELD: Final = _code(
    "vocabulary.unknown-field", "error", "A field the vocabulary format does not have.")
VOCABULARY_UNKNOWN_TYPE: Final = _code(
    "vocabulary.unknown-type", "error", "A record type that is not declared.")
VOCABULARY_RESERVED_NAME: Final = _code(
    "vocabulary.reserved-name", "error",
    "A field name the facts models use themselves, or one starting with an underscore.")
VOCABULARY_RECURSIVE_RECORD: Final = _code(
    "vocabulary.recursive-record", "error", "A record that contains itself.")
VOCABULARY_TOO_LARGE: Final = _code(
    "vocabulary.too-large", "error", "More record places in a document than are allowed.")
VOCABULARY_TOO_DEEP: Final = _code(
    "vocabulary.too-deep", "error", "Records nested more deeply than allowed.")
VOCABULARY_EXTENDS_CYCLE: Final = _code(
    "vocabulary.extends-cycle", "error", "Vocabularies that extend each other in a circle.")
# --- check: rules that can never matter ---
CHECK_SHADOWED_RULE: Final = _code(
    "check.shadowed-rule", "warning",
    "A rule of a first list that never decides: earlier rules apply whenever it would.")
CHECK_IMPOSSIBLE_CONDITION: Final = _code(
    "check.impossible-condition", "warning",
    "A rule whose condition no valid facts can make true.")
CHECK_UNREACHABLE_REASON: Final = _code(
    "check.unreachable-reason", "warning", "A reason code no rule that can apply gives.")
CHECK_SOLVER_GAVE_UP: Final = _code(
    "check.solver-gave-up", "warning",
    "The solver could not tell within its time whether a rule can matter.")
# --- engine ---
ENGINE_REFUSED: Final = _code(
    "engine.refused", "error", "An evaluation engine cannot take the ruleset (its limits).")

# --- property ---
PROPERTY_INVALID: Final = _code(
    "property.invalid", "error", "A properties file that is not a list of properties.")

# --- file ---
FILE_UNREADABLE: Final = _code("file.unreadable", "error", "A file that cannot be read.")
FILE_MISSING: Final = _code("file.missing", "error", "A path that does not exist.")
FILE_EMPTY_FOLDER: Final = _code("file.empty-folder", "error", "A folder without rule files.")
FILE_NOT_A_FOLDER: Final = _code("file.not-a-folder", "error", "A path that should be a folder.")
FILE_TOO_LARGE: Final = _code("file.too-large", "error", "A file over its size bound.")
FILE_NOT_REGULAR: Final = _code(
    "file.not-regular", "error", "A device, FIFO or folder where a rule file is expected.")
FILE_OUTSIDE_FOLDER: Final = _code(
    "file.outside-folder", "error", "A link to a file outside the rules folder (not read).")
FILE_NO_CATALOG: Final = _code("file.no-catalog", "error", "No rule file names a message catalog.")
FILE_SCHEMA_COMMENT: Final = _code(
    "file.schema-comment", "warning", "The editor schema a file names is not beside it.")
# --- project ---
PROJECT_SYNTAX: Final = _code(
    "project.syntax", "error", "A project file (pyproject.toml, ta-rules.toml) that is not TOML.")
PROJECT_INVALID: Final = _code(
    "project.invalid", "error", "A [tool.ta-rules] setting that is not valid.")
PROJECT_UNREADABLE: Final = _code(
    "project.unreadable", "error", "A project file that cannot be read.")
# --- scenario ---
SCENARIO_INVALID: Final = _code(
    "scenario.invalid", "error", "A scenario file or value the scenario format refuses.")
SCENARIO_TOO_LARGE: Final = _code(
    "scenario.too-large", "error", "Base facts shared by more scenarios than the limit.")
SCENARIO_MISSING: Final = _code("scenario.missing", "error", "A scenario lacks a required field.")
SCENARIO_UNKNOWN_FIELD: Final = _code(
    "scenario.unknown-field", "error", "A field the scenario format does not have.")
SCENARIO_CHOICE: Final = _code(
    "scenario.choice", "error", "A scenario value that is not one of the allowed choices.")
SCENARIO_PATTERN: Final = _code(
    "scenario.pattern", "error", "A scenario value that does not match the required pattern.")
SCENARIO_YAML_COERCION: Final = _code(
    "scenario.yaml-coercion", "error", "YAML read a scenario value as another type: quote it.")
# --- serve ---
SERVE_NO_FOLDER: Final = _code(
    "serve.no-folder", "error", "The service needs a rules folder to reload.")
SERVE_NO_RULESETS: Final = _code(
    "serve.no-rulesets", "error", "The service's folder holds no ruleset file.")

#: Every code by name, in the order above.
CODES: Final[Mapping[str, CodeSpec]] = {c.code: c for c in _ALL}


def docs_list() -> str:
    """The list of codes in ``docs/diagnostics.md``."""
    lines = []
    section = ""
    for c in CODES.values():
        prefix = c.code.split(".")[0]
        if prefix != section:
            section = prefix
            lines += ["", f"## {prefix}", ""]
        lines.append(f'- <a id="{c.code.replace(".", "-")}"></a>`{c.code}` ({c.severity}): '
                     f"{c.summary}")
    return "\n".join(lines[1:]) + "\n"
