"""Compile a :class:`~ta_rules.rulesets.schema.RulesetSpec` into a fast :class:`Ruleset`.

Compilation resolves every name against the facts model, the parameters, the values, the
groups and the reason codes; checks the type of every operation; orders values and groups by
their dependencies (a cycle is an error); and generates one plain Python function per
ruleset (and a second that records a trace). Every problem is a
:class:`~ta_rules.errors.Diagnostic` with the file, line and column of the offending
character; all are raised together as one :class:`~ta_rules.errors.RulesetError`.

The generated code is built only from the checked syntax tree: names are the compiler's own,
literals are emitted with ``repr``; nothing a rule file says is executed as Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import difflib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from ta_rules.errors import Diagnostic, Location, ParameterError, RulesetError
from ta_rules.facts import _date
from ta_rules.messages import json_value, placeholders
from ta_rules.money import ROUNDING_MODES, Money, is_known_currency, parse_amount
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets._runtime import HELPERS
from ta_rules.rulesets._types import (
    BOOL,
    DATE,
    DECIMAL,
    FACT_ROOTS,
    INT,
    NULL,
    REASON,
    REASONS,
    STR,
    T,
    model_fields_types,
    parse_type_name,
    type_name,
)
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.schema import GroupSpec, RulesetSpec, RuleSpec, ValueSpec

__all__ = ["Parameter", "ReasonDef", "Rule", "Ruleset", "compile_ruleset", "parameter_value"]

KINDS: Final = ("basis", "cap", "denial", "pending", "closed")
OUTCOMES: Final = frozenset({"covered", "denied", "pending", "settled"})
ANY: Final = T("any")
_FOLD_LIMIT: Final = Decimal(10) ** 30
_FOLD_CONTEXT: Final = decimal.Context(prec=60, traps=[decimal.Overflow, decimal.InvalidOperation,
                                                       decimal.DivisionByZero])


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A declared policy parameter.

    Attributes:
        name: The parameter name.
        type: Its rule-language type.
        type_text: The type as written in the file.
        default: The default, in runtime form (Decimal, Money, tuple...).
        choices: Allowed string values, if restricted.
        location: Where it is declared.
        doc: Its documentation.
    """

    name: str
    type: T
    type_text: str
    default: Any
    choices: frozenset[str] | None
    location: Location
    doc: str | None


@dataclasses.dataclass(frozen=True)
class ReasonDef:
    """A declared reason code: kind, message template and the placeholders it needs."""

    code: str
    kind: str
    message: str
    placeholders: frozenset[str]
    location: Location


@dataclasses.dataclass(frozen=True)
class Rule:
    """A compiled rule: id, group (and table), where it is written, the codes it can give."""

    id: str
    group: str
    table: str | None
    location: Location
    codes: tuple[str, ...]
    when: str | None


Decide = Callable[[Any, Mapping[str, Any], list[Any] | None], tuple[Any, ...]]


class Ruleset:
    """A compiled, immutable ruleset, ready to evaluate facts.

    Attributes:
        name: The ruleset name (``trade-assurance``).
        version: The version string (``2015.1``).
        title: A human title.
        effective_from: First order date in force (inclusive), or None.
        effective_until: First order date no longer in force (exclusive), or None.
        source: The file it came from.
        content_hash: ``sha256:`` of the file's bytes.
        parameters: The declared parameters by name.
        reasons: The declared reason codes.
        rules: Every rule by id.
        python_source: The generated code (for review and debugging).
    """

    def __init__(
        self,
        *,
        spec: RulesetSpec,
        source: str,
        content_hash: str,
        parameters: Mapping[str, Parameter],
        reasons: Mapping[str, ReasonDef],
        rules: Mapping[str, Rule],
        python_source: str,
        decide: Decide,
        decide_traced: Decide,
        build_holds: Callable[[], tuple[Callable[..., tuple[Any, ...]], dict[str, Any], str]],
        effective_location: Location,
        warnings: tuple[Diagnostic, ...] = (),
        catalog_root: str | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.ruleset
        self.version = spec.version
        self.title = spec.title
        self.effective_from: dt.date | None = spec.effective.from_
        self.effective_until: dt.date | None = spec.effective.until
        self.source = source
        self.content_hash = content_hash
        self.parameters: Mapping[str, Parameter] = MappingProxyType(dict(parameters))
        self.reasons: Mapping[str, ReasonDef] = MappingProxyType(dict(reasons))
        self.rules: Mapping[str, Rule] = MappingProxyType(dict(rules))
        self.python_source = python_source
        self._decide = decide
        self._decide_traced = decide_traced
        self._build_holds = build_holds
        self._holds: tuple[Callable[..., tuple[Any, ...]], Mapping[str, Any], str] | None = None
        self._holds_lock = threading.Lock()
        self.effective_location = effective_location
        self.warnings = warnings
        self.catalog_root = catalog_root
        self._defaults: Mapping[str, Any] = MappingProxyType(
            {n: p.default for n, p in self.parameters.items()}
        )

    def __repr__(self) -> str:
        return f"<Ruleset {self.name} {self.version} from {self.source}>"

    def _external(self) -> tuple[Callable[..., tuple[Any, ...]], Mapping[str, Any], str]:
        holds = self._holds
        if holds is None:
            with self._holds_lock:
                holds = self._holds
                if holds is None:
                    decide, lowered, source = self._build_holds()
                    holds = (decide, MappingProxyType(lowered), source)
                    self._holds = holds
        return holds

    @property
    def _decide_holds(self) -> Callable[..., tuple[Any, ...]]:
        """The decision that asks an external engine which rules hold."""
        return self._external()[0]

    @property
    def lowered_conditions(self) -> Mapping[str, list[tuple[str, Any]]]:
        """Each block's rule conditions, lowered for external engines (tag -> [(rule, cond)])."""
        return self._external()[1]

    def in_force_on(self, day: dt.date) -> bool:
        """Whether an order placed on ``day`` falls in this version's effective range."""
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day < self.effective_until

    def bind_parameters(
        self, overrides: Mapping[str, Any] | None = None, *, from_text: bool = False
    ) -> tuple[Mapping[str, Any], dict[str, Any]]:
        """Resolve parameter overrides against the declarations.

        Args:
            overrides: Parameter values by name (as read from YAML/JSON, or text).
            from_text: Values are command-line text (``--set NAME=VALUE``) to be read as YAML.

        Returns:
            The runtime parameter mapping, and the overridden values in JSON form.

        Raises:
            ParameterError: For an unknown name (with a suggestion) or a badly typed value.
        """
        if not overrides:
            return self._defaults, {}
        if not isinstance(overrides, Mapping):
            raise ParameterError(f"parameters must be a mapping of names to values, found "
                                 f"{type(overrides).__name__}")
        values = dict(self._defaults)
        shown: dict[str, Any] = {}
        for name, raw in overrides.items():
            param = self.parameters.get(name)
            if param is None:
                close = difflib.get_close_matches(name, list(self.parameters), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ParameterError(
                    f"unknown parameter {name!r} for {self.name} {self.version}{hint}"
                )
            try:
                value = parameter_value(param.type, raw, param.choices, from_text=from_text)
            except ValueError as exc:
                raise ParameterError(f"parameter {name!r}: {exc}") from None
            values[name] = value
            shown[name] = json_value(value)
        return MappingProxyType(values), shown


def parameter_value(
    t: T, raw: Any, choices: frozenset[str] | None, *, from_text: bool = False
) -> Any:
    """Convert a parameter value to its runtime form, checking its type.

    Raises:
        ValueError: Saying what was expected and what was found.
    """
    if from_text and isinstance(raw, str):
        raw = _text_value(t, raw)
    if raw is None:
        if t.nullable:
            return None
        raise ValueError(f"expected {type_name(t)}, found null")
    kind = t.kind
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, found {raw!r}")
        return raw
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, found {raw!r}")
        if abs(raw) > 10**9:
            raise ValueError(f"integer {raw} is out of range")
        return raw
    if kind == "decimal":
        return parse_amount(raw)
    if kind == "str":
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, found {raw!r}")
        if choices is not None and raw not in choices:
            raise ValueError(f"expected one of {', '.join(sorted(choices))}, found {raw!r}")
        return raw
    if kind == "date":
        return _date(raw)
    if kind == "money":
        currency = t.dim if t.dim and t.dim != "contract" else None
        if isinstance(raw, Mapping):
            m = Money.of(raw.get("amount"), str(raw.get("currency")))
            if currency and m.currency != currency:
                raise ValueError(f"expected money in {currency}, found {m.currency}")
            return m
        if currency is None:
            raise ValueError("expected {amount, currency}")
        return Money(parse_amount(raw), currency)
    if kind == "list" and t.item is not None:
        if not isinstance(raw, list | tuple):
            raise ValueError(f"expected a list, found {raw!r}")
        items = tuple(parameter_value(t.item, x, choices) for x in raw)
        return items
    raise ValueError(f"unsupported parameter type {type_name(t)}")  # pragma: no cover


def _text_value(t: T, text: str) -> Any:
    """Read command-line text for a parameter of type ``t``."""
    if t.kind in ("decimal", "money", "str", "date"):
        return None if text in ("null", "~") and t.nullable else text
    from ta_rules.rulesets._yaml import load_yaml

    doc, problems = load_yaml(text, "<--set>")
    if problems or doc is None:
        raise ValueError(f"cannot read {text!r}")
    if t.kind == "list" and isinstance(doc.data, str):
        return [part.strip() for part in doc.data.split(",") if part.strip()]
    return doc.data


# --- the compiler ----------------------------------------------------------------------


class _Bail(Exception):
    """Abandon the current expression; its diagnostic is already recorded."""


@dataclasses.dataclass
class _Scope:
    locals: dict[str, tuple[T, str]]
    rule_id: str | None = None
    subject: str | None = None
    with_var: str | None = None
    allow_outcome: bool = False


@dataclasses.dataclass
class _Compiled:
    code: str
    type: T
    deps: frozenset[tuple[str, str]]


_PLACEHOLDER_RE: Final = re.compile(r"[a-z_][a-z0-9_]*")


def _placeholders(template: str) -> frozenset[str] | None:
    """The template's placeholders, None unless each is a lower-case name."""
    names = placeholders(template)
    if names is None or not all(_PLACEHOLDER_RE.fullmatch(n) for n in names):
        return None
    return names


class _Compiler:
    def __init__(self, spec: RulesetSpec, doc: YamlDocument,
                 catalog_root: str | None = None) -> None:
        self.catalog_root = catalog_root
        self.spec = spec
        self.doc = doc
        self.diags: list[Diagnostic] = []
        self.consts: dict[str, Any] = {}
        self._const_ids: dict[tuple[type, Any], str] = {}
        self.params: dict[str, Parameter] = {}
        self.reasons: dict[str, ReasonDef] = {}
        self.values: dict[str, _Compiled] = {}
        self.functions: dict[str, tuple[_Compiled, list[tuple[str, T]]]] = {}
        self._in_progress: list[tuple[str, str]] = []
        self.deps: set[tuple[str, str]] = set()
        self.used_params: set[str] = set()
        self.rules: dict[str, Rule] = {}
        self._n = 0
        self.codes_produced: set[str] = set()
        self.trace_refs: dict[str, list[tuple[str, str]]] = {}
        self.kind_sets: dict[str, str] = {}
        self.referenced: set[tuple[str, str]] = set()
        self.kind_refs: set[tuple[str, str]] = set()
        self.holds_mode = False
        self.broken_names: frozenset[str] = frozenset()
        self.broken_rules: frozenset[tuple[Any, ...]] = frozenset()
        self.lowered: dict[str, list[tuple[str, Any]]] = {}

    # diagnostics ---------------------------------------------------------------------
    def error(self, code: str, message: str, location: Location, hint: str | None = None,
              related: tuple[Location, ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, location, hint, "error", related))

    def at(self, path: Path, offset: int = 0) -> Location:
        if offset:
            return self.doc.offset_location(path, offset)
        loc = self.doc.offset_location(path, 0)
        return loc

    def fresh(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, value: Any) -> str:
        key = (type(value), value)
        name = self._const_ids.get(key)
        if name is None:
            name = f"_k{len(self._const_ids)}"
            self._const_ids[key] = name
            self.consts[name] = value
        return name

    # declarations ----------------------------------------------------------------------
    def declare(self) -> None:
        if self.spec.catalog is not None:
            from ta_rules.messages import shipped_locales

            if not shipped_locales(self.spec.catalog, self.catalog_root):
                self.error("compile.unknown-catalog",
                           f"no message catalog {self.spec.catalog!r} ships with ta-rules",
                           self.at(("catalog",)), "leave catalog out to show messages as "
                           "written in this file")
        for name, pspec in self.spec.parameters.items():
            path: Path = ("parameters", name)
            try:
                t = parse_type_name(pspec.type)
            except ValueError as exc:
                self.error("compile.bad-type", str(exc), self.at((*path, "type")))
                continue
            if t.kind == "object":
                self.error("compile.bad-type", "parameters cannot be fact objects",
                           self.at((*path, "type")))
                continue
            choices = frozenset(pspec.choices) if pspec.choices is not None else None
            if choices is not None and not (t.kind == "str" or (t.item and t.item.kind == "str")):
                self.error("compile.bad-type", "choices are only for string parameters",
                           self.at((*path, "choices")))
            if choices is not None:
                t = dataclasses.replace(t, choices=choices) if t.kind == "str" else \
                    dataclasses.replace(t, item=dataclasses.replace(t.item or STR,
                                                                    choices=choices))
            try:
                default = parameter_value(t, pspec.default, choices)
            except ValueError as exc:
                self.error("compile.bad-default", f"default of {name}: {exc}",
                           self.at((*path, "default")),
                           self._quote_hint((*path, "default")))
                continue
            self.params[name] = Parameter(name, t, pspec.type, default, choices,
                                          self.doc.location(path, key=True), pspec.doc)
        for code, rspec in self.spec.reasons.items():
            path = ("reasons", code)
            holders = _placeholders(rspec.message)
            if holders is None:
                self.error("compile.bad-message",
                           "message placeholders must be {name} with a lower-case name",
                           self.at((*path, "message")))
                holders = frozenset()
            self.reasons[code] = ReasonDef(code, rspec.kind, rspec.message, holders,
                                           self.doc.location(path, key=True))
        clashes: dict[str, list[str]] = {}
        for ns, names in (("parameter", self.spec.parameters), ("value", self.spec.values),
                          ("group", self.spec.groups), ("function", self.spec.functions),
                          ("fact", FACT_ROOTS)):
            for n in names:
                clashes.setdefault(n, []).append(ns)
        for n, kinds in clashes.items():
            reserved = n in ex.KEYWORDS or n == "outcome"
            if len(kinds) > 1 or reserved:
                where = self._decl_path(n, kinds)
                users = ", ".join(kinds)
                message = (f"the name {n!r} is reserved by the rule language ({users} uses it)"
                           if reserved else f"the name {n!r} is used by more than one thing: "
                           f"{users}")
                self.error("compile.name-clash", message, self.doc.location(where, key=True),
                           "rename one of them" if not reserved else f"rename the {kinds[0]}")

    def _decl_path(self, name: str, kinds: list[str]) -> Path:
        for ns, section in (("value", "values"), ("group", "groups"), ("function", "functions"),
                            ("parameter", "parameters")):
            if ns in kinds:
                return (section, name)
        return ()

    def _quote_hint(self, path: Path) -> str | None:
        raw = self.doc.plain_non_string(path)
        if raw is not None:
            return f"YAML reads {raw} as a {type(self.doc.data_at(path)).__name__}; " \
                   f"quote it: \"{raw}\""
        return None

    # expressions -----------------------------------------------------------------------
    def expression(self, text: str, path: Path, scope: _Scope) -> _Compiled:
        """Parse and compile an expression string found at ``path``."""
        saved = self.deps
        self.deps = set()
        try:
            try:
                node = ex.parse(text)
            except ex.ParseError as err:
                self.error("compile.syntax", err.message, self.at(path, err.pos), err.hint)
                raise _Bail from None
            code, t = self.emit(node, scope, path)
            return _Compiled(code, t, frozenset(self.deps))
        finally:
            self.deps = saved | self.deps

    def safe(self, text: str, path: Path, scope: _Scope) -> _Compiled | None:
        try:
            return self.expression(text, path, scope)
        except _Bail:
            return None

    def fail(self, code: str, message: str, path: Path, pos: int,
             hint: str | None = None) -> _Bail:
        self.error(code, message, self.at(path, pos), hint)
        return _Bail()

    def emit(self, node: ex.Expr, scope: _Scope, path: Path) -> tuple[str, T]:
        method: Callable[[Any, _Scope, Path], tuple[str, T]] = getattr(
            self, "ex_" + type(node).__name__)
        return method(node, scope, path)

    def ex_Lit(self, node: ex.Lit, scope: _Scope, path: Path) -> tuple[str, T]:
        v = node.value
        if v is None:
            return "None", NULL
        if isinstance(v, bool):
            return repr(v), BOOL
        if isinstance(v, int):
            return repr(v), INT
        if isinstance(v, Decimal):
            return self.const(v), DECIMAL
        return repr(v), dataclasses.replace(STR, choices=frozenset({v}))

    def ex_ListLit(self, node: ex.ListLit, scope: _Scope, path: Path) -> tuple[str, T]:
        parts = [self.emit(item, scope, path) for item in node.items]
        item_t: T = NULL
        for (_, t), item in zip(parts, node.items, strict=True):
            item_t = self.unify(item_t, t, path, item.pos)
        if all(isinstance(i, ex.Lit) for i in node.items):
            return self.const(tuple(i.value for i in node.items if isinstance(i, ex.Lit))), \
                T("list", item=item_t)
        return "(" + "".join(c + ", " for c, _ in parts) + ")", T("list", item=item_t)

    def ex_Name(self, node: ex.Name, scope: _Scope, path: Path) -> tuple[str, T]:
        name = node.name
        if name in scope.locals:
            t, py = scope.locals[name]
            return py, t
        if name in self.broken_names:
            raise _Bail  # its definition was refused by the file schema, and reported
        if name in self.spec.values:
            compiled = self.value(name, path, node.pos)
            self.deps.add(("value", name))
            self.referenced.add(("value", name))
            return f"v_{name}", compiled.type
        if name in self.params:
            self.used_params.add(name)
            return f"p_{name}", self.params[name].type
        if name in self.spec.parameters:
            raise _Bail  # declared but broken: already reported
        if name in FACT_ROOTS:
            return f"F.{name}", FACT_ROOTS[name]
        if name in self.spec.groups:
            self.deps.add(("group", name))
            self.referenced.add(("group", name))
            return f"g_{name}", REASONS
        if name == "outcome" and scope.allow_outcome:
            self.deps.add(("outcome", "outcome"))
            return "o_outcome", T("str", choices=OUTCOMES)
        if name in self.reasons:
            if scope.rule_id is None:
                raise self.fail("compile.reason-outside-rule",
                                f"the reason code {name} can only be given in a rule's reasons",
                                path, node.pos)
            self.codes_produced.add(name)
            return (f"({name!r}, {scope.rule_id!r}, {scope.subject or 'None'}, "
                    f"{scope.with_var or 'None'})"), REASON
        if name in self.spec.functions:
            raise self.fail("compile.type-mismatch", f"{name} is a function; call it: {name}(...)",
                            path, node.pos)
        if name.isupper() or re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise self.fail("compile.unknown-reason",
                            f"unknown reason code {name}; declare it under reasons:",
                            path, node.pos, self._suggest(name, list(self.reasons)))
        candidates = [*scope.locals, *self.spec.values, *self.params, *FACT_ROOTS,
                      *self.spec.groups]
        raise self.fail("compile.unknown-name", f"unknown name {name!r}", path, node.pos,
                        self._suggest(name, candidates))

    def _suggest(self, name: str, candidates: list[str]) -> str | None:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        return f"did you mean {close[0]!r}?" if close else None

    def _fact_path(self, node: ex.Expr) -> str | None:
        if isinstance(node, ex.Name) and node.name in FACT_ROOTS:
            return node.name
        if isinstance(node, ex.Attr):
            base = self._fact_path(node.obj)
            return f"{base}.{node.name}" if base else None
        return None

    def ex_Attr(self, node: ex.Attr, scope: _Scope, path: Path) -> tuple[str, T]:
        obj_code, obj_t = self.emit(node.obj, scope, path)
        if obj_t.kind == "any":
            return "None", ANY
        name = node.name
        field_t: T | None = None
        if obj_t.kind == "object" and obj_t.model is not None:
            fields = model_fields_types(obj_t.model)
            field_t = fields.get(name)
            if field_t is None:
                base = self._fact_path(node.obj)
                full = f"{base}.{name}" if base else name
                what = f"fact {full!r}" if base else \
                    f"field {name!r} on {type_name(obj_t)}"
                options = [f"{base}.{f}" if base else f for f in fields]
                raise self.fail("compile.unknown-fact", f"unknown {what}", path,
                                node.name_pos, self._suggest(full, options))
        elif obj_t.kind == "money" and name in ("amount", "currency"):
            field_t = DECIMAL if name == "amount" else T("str", dim=obj_t.dim)
        elif obj_t.kind == "list" and obj_t.item == REASON and name in KINDS:
            return self._kind_filter(obj_code, name), REASONS
        if field_t is None:
            hint = None
            if obj_t.kind == "list" and obj_t.item == REASON:
                hint = f"reason lists have the kinds {', '.join(KINDS)}"
            elif obj_t.kind == "money":
                hint = "money has .amount and .currency"
            raise self.fail("compile.type-mismatch", f"{type_name(obj_t)} has no field {name!r}",
                            path, node.name_pos, hint)
        if obj_t.nullable:
            return f"getattr({obj_code}, {name!r}, None)", field_t.null()
        return f"{obj_code}.{name}", field_t

    def _kind_filter(self, code: str, kind: str) -> str:
        var = self.kind_sets.get(kind)
        if var is None:
            var = self.const(frozenset(c for c, r in self.reasons.items() if r.kind == kind))
            self.kind_sets[kind] = var
        group = code[2:] if code.startswith("g_") else None
        if group in self.spec.groups:
            # a group's reasons of one kind are filtered once, right after the group
            self.kind_refs.add((group, kind))
            return f"g_{group}__{kind}"
        return f"[_r for _r in {code} if _r[0] in {var}]"

    def ex_Unary(self, node: ex.Unary, scope: _Scope, path: Path) -> tuple[str, T]:
        code, t = self.emit(node.operand, scope, path)
        if node.op == "not":
            self.need_bool(t, path, node.operand.pos, "'not'")
            return f"(not {code})", BOOL
        if not (t.numeric or t.kind in ("money", "any")):
            raise self.fail("compile.type-mismatch", f"cannot negate {type_name(t)}", path,
                            node.pos)
        return (f"_neg({code})" if t.nullable else f"(-{code})"), t

    def need_bool(self, t: T, path: Path, pos: int, what: str) -> None:
        if t.kind not in ("bool", "any", "null"):
            raise self.fail("compile.type-mismatch",
                            f"{what} needs a condition (true/false), found {type_name(t)}",
                            path, pos)

    def ex_Bin(self, node: ex.Bin, scope: _Scope, path: Path) -> tuple[str, T]:
        lc, lt = self.emit(node.left, scope, path)
        rc, rt = self.emit(node.right, scope, path)
        op = node.op
        nullable = lt.nullable or rt.nullable
        if op in ("and", "or"):
            self.need_bool(lt, path, node.left.pos, f"'{op}'")
            self.need_bool(rt, path, node.right.pos, f"'{op}'")
            return f"({lc} {op} {rc})", BOOL.null(nullable)
        if op == "??":
            t = self.unify(lt, rt, path, node.op_pos)
            return f"_coalesce({lc}, {rc})", t.null(rt.nullable)
        if "any" in (lt.kind, rt.kind):
            return "None", ANY
        result = self._arith_type(op, lt, rt, path, node)
        self._check_constant(node, path)
        if op == "/":
            return f"_div({lc}, {rc})", result.null()
        if lt.kind == "date" and rt.kind == "int":
            fn = "_add_days" if op == "+" else "_sub_days"
            return f"{fn}({lc}, {rc})", DATE.null()
        if lt.kind == "date" and rt.kind == "date":
            return (f"_days_between({lc}, {rc})" if nullable else f"({lc} - {rc}).days"), \
                INT.null(nullable)
        helper = {"+": "_add", "-": "_sub", "*": "_mul"}[op]
        if nullable:
            return f"{helper}({lc}, {rc})", result.null()
        return f"({lc} {op} {rc})", result

    def _constant(self, node: ex.Expr) -> Any:
        """The value of an expression made only of literals (None when it is not one)."""
        if isinstance(node, ex.Lit) and not isinstance(node.value, bool | str):
            return node.value
        if isinstance(node, ex.Call) and node.name == "date" and len(node.args) == 1 \
                and isinstance(node.args[0], ex.Lit) and isinstance(node.args[0].value, str):
            try:
                return _date(node.args[0].value)
            except ValueError:
                return None
        if isinstance(node, ex.Unary) and node.op == "-":
            inner = self._constant(node.operand)
            return None if inner is None or isinstance(inner, dt.date) else -inner
        if isinstance(node, ex.Bin) and node.op in ("+", "-", "*", "/"):
            try:
                return self._fold(node)
            except (ArithmeticError, OverflowError, ValueError, TypeError):
                return None
        return None

    def _fold(self, node: ex.Bin) -> Any:
        a, b = self._constant(node.left), self._constant(node.right)
        if a is None or b is None:
            return None
        if isinstance(a, dt.date):
            return a + dt.timedelta(days=b if node.op == "+" else -b)
        with decimal.localcontext(_FOLD_CONTEXT):
            x, y = Decimal(a), Decimal(b)
            if node.op == "+":
                value = x + y
            elif node.op == "-":
                value = x - y
            elif node.op == "*":
                value = x * y
            elif y == 0:
                return None  # reported as division by zero
            else:
                value = x / y
        if abs(value) >= _FOLD_LIMIT:
            raise OverflowError
        return value

    def _check_constant(self, node: ex.Bin, path: Path) -> None:
        """Division by zero and overflow among literals are mistakes in the file."""
        if node.op == "/" and self._constant(node.right) in (0, Decimal(0)):
            raise self.fail("compile.division-by-zero", "division by zero", path, node.op_pos)
        if self._constant(node.left) is None or self._constant(node.right) is None:
            return
        try:
            self._fold(node)
        except (ArithmeticError, OverflowError, ValueError):
            raise self.fail("compile.overflow",
                            f"this calculation overflows (numbers up to 10^30, dates from "
                            f"{dt.date.min} to {dt.date.max})", path, node.op_pos) from None

    def _arith_type(self, op: str, lt: T, rt: T, path: Path, node: ex.Bin) -> T:
        if lt.numeric and rt.numeric:
            if op == "/" or "decimal" in (lt.kind, rt.kind):
                return DECIMAL
            return INT
        if op in ("+", "-") and lt.kind == "money" and rt.kind == "money":
            return T("money", dim=self._same_dim(lt, rt, path, node.op_pos))
        if op == "-" and lt.kind == "date" and rt.kind == "date":
            return INT
        if op in ("+", "-") and lt.kind == "date" and rt.kind == "int":
            return DATE
        if op == "*" and lt.kind == "money" and rt.numeric:
            return T("money", dim=lt.dim)
        if op == "*" and rt.kind == "money" and lt.numeric:
            return T("money", dim=rt.dim)
        if op == "/" and lt.kind == "money" and rt.numeric:
            return T("money", dim=lt.dim)
        verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
        hint = None
        if lt.kind == "date" or rt.kind == "date":
            hint = "dates take a number of days: date + 5, date - date"
        raise self.fail("compile.type-mismatch",
                        f"cannot {verb} {type_name(lt.null(False))} and "
                        f"{type_name(rt.null(False))}", path, node.op_pos, hint)

    def _same_dim(self, a: T, b: T, path: Path, pos: int) -> str | None:
        if a.dim and b.dim and a.dim != b.dim:
            raise self.fail(
                "compile.currency-mismatch",
                f"{type_name(a.null(False))} and {type_name(b.null(False))} cannot be combined",
                path, pos, "convert one of them first (for example with a conversion function)")
        return a.dim or b.dim

    def unify(self, a: T, b: T, path: Path, pos: int) -> T:
        """The common type of two branches/items, or a type-mismatch error."""
        nullable = a.nullable or b.nullable
        if a.kind == "null":
            return b.null(True)
        if b.kind == "null":
            return a.null(True)
        if "any" in (a.kind, b.kind):
            return ANY
        if a.numeric and b.numeric:
            return (DECIMAL if "decimal" in (a.kind, b.kind) else INT).null(nullable)
        if a.kind != b.kind or (a.kind == "object" and a.model is not b.model):
            raise self.fail("compile.type-mismatch",
                            f"{type_name(a.null(False))} and {type_name(b.null(False))} do not "
                            "mix", path, pos)
        if a.kind == "money":
            return T("money", nullable, dim=self._same_dim(a, b, path, pos))
        if a.kind == "list":
            item = self.unify(a.item or NULL, b.item or NULL, path, pos)
            return T("list", nullable, item=item)
        if a.kind == "str":
            choices = a.choices | b.choices if a.choices and b.choices else None
            return T("str", nullable, dim=a.dim if a.dim == b.dim else None, choices=choices)
        return a.null(nullable)

    def comparable(self, a: T, b: T, path: Path, pos: int, op: str,
                   lit_pos: tuple[int, int] | None = None) -> None:
        if "any" in (a.kind, b.kind) or "null" in (a.kind, b.kind):
            return
        if a.numeric and b.numeric:
            return
        if a.kind == b.kind and a.kind in ("money",):
            self._same_dim(a, b, path, pos)
            return
        ordered = a.kind == b.kind and a.kind in ("date", "str", "money")
        equal = a.kind == b.kind and a.kind in ("bool", "str", "date", "money", "object")
        if (op in ("==", "!=") and equal) or ordered:
            if a.kind == "str" and a.choices and b.choices and not (a.choices & b.choices):
                lit, field = (b, a) if len(b.choices) == 1 else (a, b)
                if lit_pos is not None:
                    pos = lit_pos[0] if lit is a else lit_pos[1]
                raise self.fail(
                    "compile.impossible-value",
                    f"{sorted(lit.choices or ())[0]!r} is never a value here; expected one of "
                    f"{', '.join(sorted(field.choices or ()))}", path, pos,
                    self._suggest(sorted(lit.choices or ())[0], sorted(field.choices or ())))
            return
        raise self.fail("compile.type-mismatch",
                        f"cannot compare {type_name(a.null(False))} with "
                        f"{type_name(b.null(False))}", path, pos)

    def ex_Cmp(self, node: ex.Cmp, scope: _Scope, path: Path) -> tuple[str, T]:
        lc, lt = self.emit(node.left, scope, path)
        rc, rt = self.emit(node.right, scope, path)
        op = node.op
        if op in ("in", "not in"):
            if rt.kind == "any":
                return "None", ANY
            if rt.kind != "list":
                raise self.fail("compile.type-mismatch",
                                f"'{op}' needs a list on the right, found {type_name(rt)}",
                                path, node.right.pos)
            self.comparable(lt, rt.item or NULL, path, node.left.pos, "==",
                            (node.left.pos, node.right.pos))
            if isinstance(node.right, ex.ListLit) and all(
                    isinstance(i, ex.Lit) for i in node.right.items):
                rc = self.const(frozenset(i.value for i in node.right.items
                                          if isinstance(i, ex.Lit)))
            code = f"_in({lc}, {rc})" if rt.nullable else f"({lc} in {rc})"
            return (f"(not {code})" if op == "not in" else code), BOOL
        self.comparable(lt, rt, path, node.op_pos, op, (node.left.pos, node.right.pos))
        if op in ("==", "!="):
            if rt.kind == "null" or lt.kind == "null":
                other = lc if rt.kind == "null" else rc
                return f"({other} is {'not ' if op == '!=' else ''}None)", BOOL
            return f"({lc} {op} {rc})", BOOL
        if lt.nullable or rt.nullable:
            helper = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}[op]
            return f"{helper}({lc}, {rc})", BOOL
        return f"({lc} {op} {rc})", BOOL

    def ex_IsNull(self, node: ex.IsNull, scope: _Scope, path: Path) -> tuple[str, T]:
        code, _ = self.emit(node.operand, scope, path)
        return f"({code} is {'not ' if node.negated else ''}None)", BOOL

    def ex_Cond(self, node: ex.Cond, scope: _Scope, path: Path) -> tuple[str, T]:
        tc, tt = self.emit(node.test, scope, path)
        self.need_bool(tt, path, node.test.pos, "'if'")
        ac, at = self.emit(node.then, scope, path)
        if node.other is None:
            return f"({ac} if {tc} else None)", at.null()
        bc, bt = self.emit(node.other, scope, path)
        return f"({ac} if {tc} else {bc})", self.unify(at, bt, path, node.other.pos)

    def ex_Call(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        name = node.name
        if name in self.broken_names:
            raise _Bail
        if name in self.spec.functions:
            return self.call_function(node, scope, path)
        handler = getattr(self, "fn_" + name, None)
        if handler is None:
            builtins = sorted(n[3:] for n in dir(self) if n.startswith("fn_"))
            raise self.fail("compile.unknown-function", f"unknown function {name}()", path,
                            node.pos, self._suggest(name, [*builtins, *self.spec.functions]))
        result: tuple[str, T] = handler(node, scope, path)
        return result

    def _args(self, node: ex.Call, n: int | tuple[int, int], scope: _Scope,
              path: Path) -> list[tuple[str, T]]:
        lo, hi = (n, n) if isinstance(n, int) else n
        if node.gen is not None or not lo <= len(node.args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise self.fail("compile.arity", f"{node.name}() takes {want} argument(s)", path,
                            node.pos)
        return [self.emit(a, scope, path) for a in node.args]

    def _gen(self, node: ex.Call, scope: _Scope, path: Path,
             extra: int = 0) -> tuple[str, str, T, str, list[tuple[str, T]]]:
        """Compile ``f(x for v in list if cond, ...)`` or ``f(list, ...)``.

        Returns the iteration code, the element code, element type, a ready generator
        expression, and the extra arguments.
        """
        gen = node.gen
        if gen is None:
            if not node.args:
                raise self.fail("compile.arity", f"{node.name}() needs a list", path, node.pos)
            lc, lt = self.emit(node.args[0], scope, path)
            rest = node.args[1:]
            if lt.kind == "any":
                raise _Bail
            if lt.kind != "list":
                raise self.fail("compile.type-mismatch",
                                f"{node.name}() needs a list, found {type_name(lt)}", path,
                                node.args[0].pos)
            it = f"_iter({lc})" if lt.nullable else lc
            if len(rest) > extra:
                raise self.fail("compile.arity", f"too many arguments to {node.name}()", path,
                                node.pos)
            return it, "_x", lt.item or ANY, it, [self.emit(a, scope, path) for a in rest]
        ic, itype = self.emit(gen.iterable, scope, path)
        if itype.kind == "any":
            raise _Bail
        if itype.kind != "list":
            raise self.fail("compile.type-mismatch",
                            f"'for' needs a list, found {type_name(itype)}", path,
                            gen.iterable.pos)
        var = self.fresh(f"l_{gen.var}_")
        inner = _Scope({**scope.locals, gen.var: (itype.item or ANY, var)}, scope.rule_id,
                       scope.subject, scope.with_var, scope.allow_outcome)
        ec, et = self.emit(gen.elt, inner, path)
        it = f"_iter({ic})" if itype.nullable else ic
        cond = ""
        if gen.cond is not None:
            cc, ct = self.emit(gen.cond, inner, path)
            self.need_bool(ct, path, gen.cond.pos, "'if' in a 'for'")
            cond = f" if {cc}"
        if len(node.args) > extra:
            raise self.fail("compile.arity", f"too many arguments to {node.name}()", path,
                            node.pos)
        genexp = f"({ec} for {var} in {it}{cond})"
        return it, ec, et, genexp, [self.emit(a, scope, path) for a in node.args]

    def fn_count(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        it, _, _, genexp, _ = self._gen(node, scope, path)
        if node.gen is None:
            return f"len({it})", INT
        return f"_count{genexp}", INT

    def fn_empty(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        it, _, _, genexp, _ = self._gen(node, scope, path)
        if node.gen is None:
            return f"(not {it})", BOOL
        return f"(not any(True for _ in {genexp}))", BOOL

    def _bool_gen(self, node: ex.Call, scope: _Scope, path: Path, fn: str) -> tuple[str, T]:
        _, _, et, genexp, _ = self._gen(node, scope, path)
        self.need_bool(et, path, node.pos, f"{fn}()")
        return f"{fn}{genexp}", BOOL

    def fn_any(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        return self._bool_gen(node, scope, path, "any")

    def fn_all(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        return self._bool_gen(node, scope, path, "all")

    def fn_sum(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        _, _, et, genexp, extra = self._gen(node, scope, path, extra=1)
        if not (et.numeric or et.kind in ("money", "any")):
            raise self.fail("compile.type-mismatch", f"sum() adds numbers or money, found "
                            f"{type_name(et)}", path, node.pos)
        if extra:
            sc, st = extra[0]
            t = self.unify(et.null(False), st, path, node.pos)
            return f"_sum({genexp}, {sc})", t
        if et.numeric:
            return f"_sum({genexp}, 0)", et.null(False)
        return f"_sum({genexp}, None)", et.null()

    def fn_first(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        _, _, et, genexp, _ = self._gen(node, scope, path)
        return f"next(iter({genexp}), None)", et.null()

    def _minmax(self, node: ex.Call, scope: _Scope, path: Path, fn: str) -> tuple[str, T]:
        args = self._args(node, (2, 20), scope, path)
        t: T = NULL
        for (_, at), a in zip(args, node.args, strict=True):
            if not (at.numeric or at.kind in ("money", "date", "any", "null")):
                raise self.fail("compile.type-mismatch",
                                f"{fn}() compares numbers, money or dates, found {type_name(at)}",
                                path, a.pos)
            t = self.unify(t, at, path, a.pos)
        codes = ", ".join(c for c, _ in args)
        if t.nullable:
            return f"_{fn}({codes})", t
        return f"{fn}({codes})", t

    def fn_min(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        return self._minmax(node, scope, path, "min")

    def fn_max(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        return self._minmax(node, scope, path, "max")

    def fn_abs(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        ((code, t),) = self._args(node, 1, scope, path)
        if not (t.numeric or t.kind in ("money", "any")):
            raise self.fail("compile.type-mismatch", f"abs() needs a number or money, found "
                            f"{type_name(t)}", path, node.pos)
        return f"_abs({code})", t

    def fn_round(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        if len(node.args) == 2 and node.gen is None:
            # round(money, mode): to the minor unit of the money's currency (JPY 0, BHD 3)
            (xc, xt), _ = self._args(node, 2, scope, path)
            mode = node.args[1]
            if xt.kind not in ("money", "any"):
                raise self.fail("compile.type-mismatch", "round(x, mode) rounds money to its "
                                "currency's minor unit; for numbers give the places: "
                                "round(x, 2, mode)", path, node.args[0].pos)
            if not (isinstance(mode, ex.Lit) and mode.value in ROUNDING_MODES):
                raise self.fail("compile.type-mismatch",
                                f"round() needs a rounding mode: {', '.join(ROUNDING_MODES)}",
                                path, mode.pos)
            return f"_round_minor({xc}, {mode.value!r})", xt
        args = self._args(node, 3, scope, path)
        (xc, xt), (pc, _), _ = args
        if not (xt.numeric or xt.kind in ("money", "any")):
            raise self.fail("compile.type-mismatch",
                            f"round() needs a number or money, found {type_name(xt)}", path,
                            node.args[0].pos)
        places, mode = node.args[1], node.args[2]
        if not (isinstance(places, ex.Lit) and isinstance(places.value, int)
                and not isinstance(places.value, bool) and 0 <= places.value <= 12):
            raise self.fail("compile.type-mismatch",
                            "round() needs a whole number of places from 0 to 12", path,
                            places.pos)
        if not (isinstance(mode, ex.Lit) and mode.value in ROUNDING_MODES):
            raise self.fail("compile.type-mismatch",
                            f"round() needs a rounding mode: {', '.join(ROUNDING_MODES)}",
                            path, mode.pos)
        t = DECIMAL.null(xt.nullable) if xt.numeric else xt
        return f"_round({xc}, {pc}, {mode.value!r})", t

    def fn_money(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        (ac, at), (cc, ct) = self._args(node, 2, scope, path)
        if not (at.numeric or at.kind == "any"):
            raise self.fail("compile.type-mismatch",
                            f"money() needs a number, found {type_name(at)}", path,
                            node.args[0].pos)
        if ct.kind not in ("str", "any"):
            raise self.fail("compile.type-mismatch",
                            f"money() needs a currency code, found {type_name(ct)}", path,
                            node.args[1].pos)
        dim = ct.dim
        cur = node.args[1]
        if isinstance(cur, ex.Lit) and isinstance(cur.value, str):
            if not is_known_currency(cur.value):
                raise self.fail("compile.unknown-currency",
                                f"unknown currency code {cur.value!r}", path, cur.pos)
            dim = cur.value
        amount = node.args[0]
        if isinstance(amount, ex.Lit) and isinstance(amount.value, int | Decimal) \
                and not isinstance(amount.value, bool) and isinstance(cur, ex.Lit) \
                and isinstance(cur.value, str):
            return self.const(Money(Decimal(amount.value), cur.value)), T("money", dim=dim)
        return f"_money({ac}, {cc})", T("money", at.nullable or ct.nullable, dim=dim)

    def fn_date(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        arg = node.args[0] if len(node.args) == 1 and node.gen is None else None
        if not (isinstance(arg, ex.Lit) and isinstance(arg.value, str)):
            raise self.fail("compile.type-mismatch", 'date() takes one literal "YYYY-MM-DD"',
                            path, node.pos)
        try:
            day = _date(arg.value)
        except ValueError as exc:
            raise self.fail("compile.bad-date", str(exc), path, arg.pos) from None
        return self.const(day), DATE

    def call_function(self, node: ex.Call, scope: _Scope, path: Path) -> tuple[str, T]:
        name = node.name
        compiled, params = self.function(name, path, node.pos)
        self.referenced.add(("function", name))
        if node.gen is not None or len(node.args) != len(params):
            raise self.fail("compile.arity", f"{name}() takes {len(params)} argument(s)", path,
                            node.pos)
        codes = []
        guard: list[bool] = []
        for (pname, pt), arg in zip(params, node.args, strict=True):
            ac, at = self.emit(arg, scope, path)
            guard.append(at.nullable and not pt.nullable)
            if at.kind not in ("any", "null") and (
                (at.kind != pt.kind and not (at.numeric and pt.numeric))
                or (at.kind == "object" and at.model is not pt.model)
            ):
                raise self.fail("compile.type-mismatch",
                                f"argument {pname} of {name}() must be {type_name(pt)}, found "
                                f"{type_name(at)}", path, arg.pos)
            codes.append(ac)
        self.deps |= compiled.deps
        if any(guard):
            # null in, null out: a function never sees null where its parameter has no "?"
            return (f"_call_guarded(f_{name}, {tuple(guard)!r}, {', '.join(codes)})",
                    compiled.type.null())
        return f"f_{name}({', '.join(codes)})", compiled.type

    # named things, compiled on first use -----------------------------------------------
    def _enter(self, key: tuple[str, str], path: Path, pos: int) -> None:
        if key in self._in_progress:
            cycle = [*self._in_progress[self._in_progress.index(key):], key]
            raise self.fail("compile.cycle",
                            "circular definition: " + " -> ".join(k[1] for k in cycle),
                            path, pos, "a value cannot depend on itself")
        self._in_progress.append(key)

    def value(self, name: str, path: Path, pos: int) -> _Compiled:
        if name in self.values:
            return self.values[name]
        self._enter(("value", name), path, pos)
        try:
            spec = self.spec.values[name]
            text = spec.expr if isinstance(spec, ValueSpec) else spec
            vpath: Path = ("values", name, "expr") if isinstance(spec, ValueSpec) \
                else ("values", name)
            saved = self.deps
            self.deps = set()
            try:
                compiled = self.expression(text, vpath, _Scope({}))
            except _Bail:
                compiled = _Compiled("None", ANY, frozenset())
            finally:
                self.deps = saved
            self.values[name] = compiled
            return compiled
        finally:
            self._in_progress.pop()

    def function(self, name: str, path: Path,
                 pos: int) -> tuple[_Compiled, list[tuple[str, T]]]:
        if name in self.functions:
            return self.functions[name]
        self._enter(("function", name), path, pos)
        try:
            spec = self.spec.functions[name]
            params: list[tuple[str, T]] = []
            scope = _Scope({})
            for pname, ptext in spec.params.items():
                try:
                    pt = parse_type_name(ptext)
                except ValueError as exc:
                    self.error("compile.bad-type", str(exc),
                               self.at(("functions", name, "params", pname)))
                    pt = ANY
                params.append((pname, pt))
                scope.locals[pname] = (pt, f"a_{pname}")
            saved = self.deps
            self.deps = set()
            try:
                compiled = self.expression(spec.expr, ("functions", name, "expr"), scope)
            except _Bail:
                compiled = _Compiled("None", ANY, frozenset())
            finally:
                self.deps = saved
            self.functions[name] = (compiled, params)
            return compiled, params
        finally:
            self._in_progress.pop()

    # rules -----------------------------------------------------------------------------
    def rule_body(self, rule: RuleSpec | Any, path: Path, group: str, table: str | None,
                  scope: _Scope, out: str, indent: str, traced: bool,
                  emit_return: bool, outcome: str | None = None,
                  index: int = 0) -> list[str] | None:
        """Lines that evaluate one rule; None if it failed to compile."""
        if tuple(path) in self.broken_rules:
            return []
        rid = rule.id
        cond: _Compiled | None = None
        ok = True
        if rule.when is not None:
            cond = self.safe(rule.when, (*path, "when"), scope)
            if cond is None:
                ok = False
            elif cond.type.kind not in ("bool", "any"):
                self.error("compile.type-mismatch",
                           f"'when' needs a condition (true/false), found {type_name(cond.type)}",
                           self.at((*path, "when")))
                ok = False
        with_var = None
        with_lines: list[str] = []
        with_values = getattr(rule, "with_", {}) or {}
        if with_values:
            with_var = "w"
            items = []
            for key, text in with_values.items():
                c = self.safe(text, (*path, "with", key), _Scope(dict(scope.locals)))
                if c is None:
                    ok = False
                    continue
                items.append(f"{key!r}: {c.code}")
            with_lines.append(f"w = {{{', '.join(items)}}}")
        rscope = _Scope(dict(scope.locals), rid, scope.subject, with_var, scope.allow_outcome)
        before = set(self.codes_produced)
        self.codes_produced = set()
        reason_lines: list[str] = []
        for i, text in enumerate(rule.reasons):
            c = self.safe(text, (*path, "reasons", i), rscope)
            if c is None:
                ok = False
                continue
            if c.type.kind == "reason" and not c.type.nullable:
                reason_lines.append(f"{out}.append({c.code})")
            elif c.type.kind == "list" and c.type.item == REASON and not c.type.nullable:
                reason_lines.append(f"{out}.extend({c.code})")
            elif c.type.kind == "reason" or (c.type.kind == "list" and c.type.item == REASON) \
                    or c.type.kind in ("any", "null"):
                reason_lines.append(f"_reasons({out}, {c.code})")
            else:
                self.error("compile.type-mismatch",
                           f"reasons must be reason codes (or lists of reasons), found "
                           f"{type_name(c.type)}", self.at((*path, "reasons", i)))
                ok = False
        codes = tuple(sorted(self.codes_produced))
        for code in codes:
            missing = self.reasons[code].placeholders - set(with_values)
            if missing:
                self.error("compile.message-placeholder",
                           f"the message of {code} uses {{{', '.join(sorted(missing))}}} but "
                           f"rule {rid} does not provide {'it' if len(missing) == 1 else 'them'}",
                           self.doc.location((*path, "with") if with_values else
                                             (*path, "reasons"), key=True),
                           f"add them under with: in rule {rid}")
        self.codes_produced = before | self.codes_produced
        use = getattr(rule, "use", None)
        if not traced:
            if rid in self.rules:
                self.error("compile.duplicate-rule-id", f"duplicate rule id {rid!r}",
                           self.at((*path, "id")), None, (self.rules[rid].location,))
            else:
                self.rules[rid] = Rule(rid, group, table, self.doc.location(path), codes,
                                       rule.when)
        if not ok:
            return None
        lines = []
        cond_code = cond.code if cond is not None else "True"
        if self.holds_mode or traced:
            # a trace entry, in the shape of ta_rules.verdict.TraceEntry
            refs = self.trace_refs.get(rid, [])
            ref_code = "{" + ", ".join(f"{k!r}: {v}" for k, v in refs) + "}"
            entry = (f"{{'rule': {rid!r}, 'group': {group!r}, 'subject': "
                     f"{scope.subject or 'None'}, 'applied': c, 'values': {ref_code}}}")
            if self.holds_mode:
                # an external engine decided which rules hold (see holds_prelude)
                lines.append(f"c = {index} in _h")
                lines.append(f"if T is not None: T.append({entry})")
            else:
                lines.append(f"c = bool({cond_code})")
                lines.append(f"T.append({entry})")
            cond_code = "c"
        body = [*with_lines]
        if use is not None:
            body.append(f"return t_{group}_{use}({scope.subject})")
        else:
            if emit_return or outcome is not None:
                body.insert(0, f"{out} = []")
            body.extend(reason_lines)
            if outcome is not None:
                body.append(f"return ({outcome!r}, {out})")
            elif emit_return:
                body.append(f"return {out}")
        if cond_code == "True":
            lines.extend(body)
        else:
            lines.append(f"if {cond_code}:")
            lines.extend("    " + b for b in (body or ["pass"]))
        return [indent + line for line in lines]

    def collect_trace_refs(self) -> None:
        """For every rule condition, the names and fact paths it reads (shown in traces)."""
        def walk(node: ex.Expr, out: dict[str, ex.Expr], locals_: set[str]) -> None:
            if isinstance(node, ex.Attr):
                fp = self._fact_path(node)
                if fp is not None:
                    out.setdefault(fp, node)
                    return
                walk(node.obj, out, locals_)
            elif isinstance(node, ex.Name):
                n = node.name
                if n in locals_ or n in self.spec.values or n in self.params:
                    out.setdefault(n, node)
            elif isinstance(node, ex.Call):
                if node.gen is not None:
                    walk(node.gen.iterable, out, locals_)
                for a in node.args:
                    walk(a, out, locals_)
                for a in node.args:
                    if isinstance(a, ex.Name) and a.name in locals_:
                        out.setdefault(a.name, a)
            else:
                for f in dataclasses.fields(node):
                    v = getattr(node, f.name)
                    for x in v if isinstance(v, tuple) else (v,):
                        if isinstance(x, _NODE_TYPES):
                            walk(x, out, locals_)

        for rid, rule in self.rules.items():
            if rule.when is None:
                continue
            try:
                node = ex.parse(rule.when)
            except ex.ParseError:
                continue
            found: dict[str, ex.Expr] = {}
            group = self.spec.groups.get(rule.group)
            locals_ = set()
            if group is not None and group.for_each:
                locals_.add(group.for_each.split(" in ", 1)[0].strip())
            walk(node, found, locals_)
            refs = []
            scope = _Scope({})
            if group is not None and group.for_each:
                var = group.for_each.split(" in ", 1)[0].strip()
                scope.locals[var] = (self._for_each_type(group), "s")
            for key, sub in found.items():
                saved = self.deps
                n = len(self.diags)
                try:
                    code, _ = self.emit(sub, scope, ())
                    refs.append((key, code))
                except _Bail:
                    del self.diags[n:]
                finally:
                    self.deps = saved
            self.trace_refs[rid] = refs

    def _for_each_type(self, group: GroupSpec) -> T:
        text = group.for_each or ""
        _, _, iterable = text.partition(" in ")
        try:
            node = ex.parse(iterable.strip())
            n = len(self.diags)
            _, t = self.emit(node, _Scope({}), ())
            del self.diags[n:]
        except (ex.ParseError, _Bail):
            return ANY
        return t.item or ANY if t.kind == "list" else ANY

    def holds_prelude(self, rules: list[Any], path: Path, scope: _Scope, tag: str,
                      indent: str) -> list[str]:
        """In holds mode, the lines that compute a block's atoms and ask the engine.

        The engine answers which of the block's rules hold (``_h``); the lowered conditions
        are recorded for it.
        """
        if not self.holds_mode:
            return []
        from ta_rules.rulesets._lower import LNode, Lowerer, Truth

        def emit(node: ex.Expr) -> tuple[str, T]:
            return self.emit(node, scope, path)

        lowerer = Lowerer(emit)
        conditions: list[tuple[str, LNode]] = []
        reported = len(self.diags)
        for rule in rules:
            lnode: LNode = Truth(True)
            if rule.when is not None:
                try:
                    lnode = lowerer.lower(ex.parse(rule.when))
                except (ex.ParseError, _Bail):
                    lnode = Truth(False)
            conditions.append((rule.id, lnode))
        del self.diags[reported:]  # every problem was reported by the plain build
        self.lowered[tag] = conditions
        body = [f"_f = {{'t': {tag!r}}}", *lowerer.lines, f"_h = E.holds({tag!r}, _f)"]
        return [indent + line for line in body]

    # groups ----------------------------------------------------------------------------
    def group(self, name: str, spec: GroupSpec, traced: bool) -> tuple[list[str], set[Any]]:
        path: Path = ("groups", name)
        saved = self.deps
        self.deps = set()
        lines: list[str] = []
        try:
            if spec.for_each is None:
                rules = spec.rules or []
                for i, rule in enumerate(rules):
                    if rule.use is not None and not traced:
                        self.error("compile.bad-use", "use: is only for tables of a "
                                   "for_each group", self.at((*path, "rules", i, "use")))
                if any(rule.use is not None for rule in rules):
                    return lines, set(self.deps)
                if spec.mode == "all":
                    lines.append(f"g_{name} = []")
                    lines.extend(self.holds_prelude(rules, (*path, "rules"), _Scope({}), name,
                                                    ""))
                    for i, rule in enumerate(rules):
                        body = self.rule_body(rule, (*path, "rules", i), name, None, _Scope({}),
                                              f"g_{name}", "", traced, False, index=i)
                        lines.extend(body or [])
                else:
                    lines.append(f"def grp_{name}():")
                    lines.extend(self.holds_prelude(rules, (*path, "rules"), _Scope({}), name,
                                                    "    "))
                    for i, rule in enumerate(rules):
                        body = self.rule_body(rule, (*path, "rules", i), name, None, _Scope({}),
                                              "out", "    ", traced, True, index=i)
                        lines.extend(body or [])
                    lines.append("    return []")
                    lines.append(f"g_{name} = grp_{name}()")
                return lines, set(self.deps)
            lines.extend(self.table_group(name, spec, traced))
            return lines, set(self.deps)
        finally:
            self.deps = saved | self.deps

    def table_group(self, name: str, spec: GroupSpec, traced: bool) -> list[str]:
        path: Path = ("groups", name)
        var, sep, iterable = (spec.for_each or "").partition(" in ")
        var = var.strip()
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", var):
            self.error("compile.syntax", "for_each must read 'name in list'",
                       self.at((*path, "for_each")))
            return []
        offset = (spec.for_each or "").index(iterable)
        try:
            node = ex.parse(iterable)
            ic, it = self.emit(node, _Scope({}), (*path, "for_each"))
        except ex.ParseError as err:
            self.error("compile.syntax", err.message, self.at((*path, "for_each"),
                                                              offset + err.pos))
            return []
        except _Bail:
            return []
        if it.kind != "list":
            self.error("compile.type-mismatch", f"for_each needs a list, found {type_name(it)}",
                       self.at((*path, "for_each"), offset))
            return []
        item_t = it.item or ANY
        tables = spec.tables or {}
        used = {r.use for rules in tables.values() for r in rules if r.use}
        for tname in tables:
            if item_t.choices is not None and tname not in item_t.choices \
                    and tname not in used and tname != spec.default:
                self.error("compile.unknown-table",
                           f"table {tname!r} is never selected: {var} is one of "
                           f"{', '.join(sorted(item_t.choices))}",
                           self.doc.location((*path, "tables", tname), key=True),
                           self._suggest(tname, sorted(item_t.choices)))
        for tname, rules in tables.items():
            for i, rule in enumerate(rules):
                if rule.use is not None and rule.use not in tables \
                        and rule.use not in self.broken_names:
                    self.error("compile.unknown-table", f"use: names no table {rule.use!r}",
                               self.at((*path, "tables", tname, i, "use")),
                               self._suggest(rule.use, list(tables)))
        if spec.default is not None and spec.default not in tables:
            self.error("compile.unknown-table", f"default names no table {spec.default!r}",
                       self.at((*path, "default")), self._suggest(spec.default, list(tables)))
        self._check_use_cycles(name, tables, path)
        lines = []
        first = spec.mode == "first"
        for tname, rules in tables.items():
            lines.append(f"def t_{name}_{_ident(tname)}(s):")
            if not first:
                lines.append("    out = []")
            scope = _Scope({var: (item_t, "s")}, subject="s")
            lines.extend(self.holds_prelude(rules, (*path, "tables", tname), scope,
                                            f"{name}.{tname}", "    "))
            for i, rule in enumerate(rules):
                if not first and rule.use is not None:
                    self.error("compile.bad-use", "use: needs mode: first",
                               self.at((*path, "tables", tname, i, "use")))
                body = self.rule_body(rule, (*path, "tables", tname, i), name, tname, scope,
                                      "out", "    ", traced, first, index=i)
                lines.extend(body or [])
            lines.append("    return []" if first else "    return out")
        table_map = ", ".join(f"{t!r}: t_{name}_{_ident(t)}" for t in tables)
        default = f"t_{name}_{_ident(spec.default)}" if spec.default else "_none_table"
        iter_code = f"_unique({ic})"
        lines.append(f"_tbl_{name} = {{{table_map}}}")
        lines.append(f"g_{name} = []")
        lines.append(f"for _s in {iter_code}:")
        lines.append(f"    g_{name}.extend(_tbl_{name}.get(_s, {default})(_s))")
        return lines

    def _check_use_cycles(self, group: str, tables: Mapping[str, list[RuleSpec]],
                          path: Path) -> None:
        edges = {t: [(i, r.use) for i, r in enumerate(rules) if r.use] for t, rules in
                 tables.items()}
        for start in tables:
            stack = [(start, [start])]
            seen = set()
            while stack:
                node, trail = stack.pop()
                for i, nxt in edges.get(node, []):
                    if nxt == start:
                        self.error("compile.cycle",
                                   "tables hand over in a circle: " + " -> ".join([*trail, nxt]),
                                   self.at((*path, "tables", node, i, "use")))
                        return
                    if nxt not in seen and nxt in tables:
                        seen.add(nxt)
                        stack.append((nxt, [*trail, nxt]))

    def outcome_lines(self, traced: bool) -> tuple[list[str], set[Any]]:
        saved = self.deps
        self.deps = set()
        lines = ["def grp_outcome():"]
        try:
            rules = self.spec.outcome
            lines.extend(self.holds_prelude(rules, ("outcome",), _Scope({}), "outcome", "    "))
            for i, rule in enumerate(rules):
                path: Path = ("outcome", i)
                body = self.rule_body(rule, path, "outcome", None, _Scope({}), "out", "    ",
                                      traced, False, outcome=rule.outcome, index=i)
                lines.extend(body or [])
            if rules and rules[-1].when is not None and not traced \
                    and ("outcome", len(rules) - 1) not in self.broken_rules:
                self.error("compile.outcome-incomplete",
                           "the last outcome rule must apply always (leave out 'when'), so "
                           "every claim gets an outcome",
                           self.at(("outcome", len(rules) - 1, "when")))
            lines.append("    return (None, [])")
            lines.append("o_outcome, o_reasons = grp_outcome()")
            return lines, set(self.deps)
        finally:
            self.deps = saved | self.deps

    def amounts(self) -> tuple[list[str], set[Any]]:
        saved = self.deps
        self.deps = set()
        lines = []
        try:
            for field, text in (("max_refund", self.spec.amounts.max_refund),
                                ("coverage_cap", self.spec.amounts.coverage_cap)):
                c = self.safe(text, ("amounts", field), _Scope({}, allow_outcome=True))
                if c is None:
                    lines.append(f"a_{field} = None")
                    continue
                if c.type.kind not in ("money", "any", "null"):
                    self.error("compile.type-mismatch",
                               f"{field} must be money, found {type_name(c.type)}",
                               self.at(("amounts", field)))
                elif field == "max_refund" and c.type.nullable:
                    self.error("compile.type-mismatch",
                               "max_refund must never be null; give a zero amount instead",
                               self.at(("amounts", field)), "add ?? money(0, <currency>)")
                elif c.type.kind == "money" and c.type.dim not in (None, "contract"):
                    self.error("compile.currency-mismatch",
                               f"{field} must be in the contract currency, found "
                               f"{type_name(c.type)}", self.at(("amounts", field)))
                lines.append(f"a_{field} = {c.code}")
            return lines, set(self.deps)
        finally:
            self.deps = saved | self.deps

    # static checks -----------------------------------------------------------------
    def warn(self, code: str, message: str, location: Location, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, location, hint, "warning"))

    def rule_lists(self) -> Iterator[tuple[Path, str, list[Any]]]:
        """Every ordered list of rules: (path, mode, rules)."""
        for name, g in self.spec.groups.items():
            if g.rules is not None:
                yield ("groups", name, "rules"), g.mode, g.rules
            for tname, rules in (g.tables or {}).items():
                yield ("groups", name, "tables", tname), g.mode, rules
        yield ("outcome",), "first", self.spec.outcome

    def analyse(self) -> None:
        """Checks beyond types.

        Unreachable and impossible rules; then, when everything compiled (so that every use
        was seen), dead declarations.
        """
        self.check_rule_lists()
        if not any(d.severity == "error" for d in self.diags) and not self.broken_names \
                and not self.broken_rules:
            self.check_unused()

    def check_unused(self) -> None:
        for name, param in self.params.items():
            if name not in self.used_params:
                self.warn("compile.unused-parameter", f"parameter {name!r} is never used",
                          param.location, "use it in a rule or remove it")
        for code, reason in self.reasons.items():
            if code not in self.codes_produced:
                self.warn("compile.unused-reason",
                          f"reason code {code} is declared but no rule gives it",
                          reason.location)
        for kind, section in (("value", self.spec.values), ("function", self.spec.functions),
                              ("group", self.spec.groups)):
            for name in section:
                if (kind, name) not in self.referenced:
                    self.warn(f"compile.unused-{kind}",
                              f"{kind} {name!r} is never used"
                              + (" (its reasons never reach a verdict)" if kind == "group"
                                 else ""),
                              self.doc.location((f"{kind}s", name), key=True))
        for path, _, rules in self.rule_lists():
            for i, rule in enumerate(rules):
                with_values = getattr(rule, "with_", None) or {}
                codes = self.rules[rule.id].codes if rule.id in self.rules else ()
                used = set().union(*(self.reasons[c].placeholders for c in codes
                                     if c in self.reasons)) if codes else set()
                for key in with_values:
                    if codes and key not in used:
                        self.warn("compile.unused-message-value",
                                  f"rule {rule.id!r} provides {key!r} but no message of "
                                  f"{', '.join(codes)} uses it",
                                  self.doc.location((*path, i, "with", key), key=True))

    def check_rule_lists(self) -> None:
        from ta_rules.rulesets._analysis import contradiction

        for path, mode, rules in self.rule_lists():
            always_at: int | None = None
            for i, rule in enumerate(rules):
                rpath = (*path, i)
                if rpath in self.broken_rules:
                    continue
                if always_at is not None and mode == "first":
                    self.error("compile.unreachable-rule",
                               f"rule {rule.id!r} can never be reached: rule "
                               f"{rules[always_at].id!r} before it always applies",
                               self.at((*rpath, "id")),
                               "move it before that rule, or give that rule a condition")
                    break
                when = rule.when
                if when is None or when.strip() == "true":
                    always_at = i
                    continue
                try:
                    node = ex.parse(when)
                except ex.ParseError:
                    continue
                clash = contradiction(node)
                if clash is not None:
                    first, second = clash
                    what = "is always false" if first is second else \
                        "contradicts an earlier part of the same condition"
                    self.error("compile.never-applies",
                               f"rule {rule.id!r} can never apply: this part {what}",
                               self.at((*rpath, "when"), second.pos))

    # the whole ruleset -----------------------------------------------------------------
    def build(self, traced: bool, holds: bool = False) -> str:
        steps: dict[tuple[str, str], tuple[list[str], set[Any]]] = {}
        for name in self.spec.values:
            compiled = self.value(name, ("values", name), 0)
            steps[("value", name)] = ([f"v_{name} = {compiled.code}"], set(compiled.deps))
        for name, gspec in self.spec.groups.items():
            steps[("group", name)] = self.group(name, gspec, traced)
        steps[("outcome", "outcome")] = self.outcome_lines(traced)
        amount_lines, amount_deps = self.amounts()
        order = self.order(steps)
        fn_lines: list[str] = []
        for fname in self.spec.functions:
            compiled, params = self.function(fname, ("functions", fname), 0)
            args = ", ".join(f"a_{p}" for p, _ in params)
            fn_lines.append(f"def f_{fname}({args}):")
            fn_lines.append(f"    return {compiled.code}")
        _ = amount_deps
        body: list[str] = []
        for p in sorted(self.params):
            body.append(f"p_{p} = P[{p!r}]")
        body.extend(fn_lines)
        for key in order:
            body.extend(steps[key][0])
            if key[0] == "group":
                for group, kind in sorted(self.kind_refs):
                    if group == key[1]:
                        body.append(f"g_{group}__{kind} = [_r for _r in g_{group} "
                                    f"if _r[0] in {self.kind_sets[kind]}]")
        body.extend(amount_lines)
        body.append("return (o_outcome, o_reasons, a_max_refund, a_coverage_cap)")
        if holds:
            return "def _decide_holds(F, P, T, E):\n" + "".join(f"    {line}\n" for line in body)
        name = "_decide_traced" if traced else "_decide"
        return f"def {name}(F, P, T):\n" + "".join(f"    {line}\n" for line in body)

    def order(self, steps: Mapping[tuple[str, str], tuple[list[str], set[Any]]]
              ) -> list[tuple[str, str]]:
        order: list[tuple[str, str]] = []
        state: dict[tuple[str, str], int] = {}

        def visit(key: tuple[str, str], trail: list[tuple[str, str]]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                cycle = [*trail[trail.index(key):], key]
                kind, name = key
                where: Path = ("groups", name) if kind == "group" else \
                    ("outcome",) if kind == "outcome" else ("values", name)
                self.error("compile.cycle",
                           "circular dependency: " + " -> ".join(k[1] for k in cycle),
                           self.doc.location(where, key=True))
                return
            state[key] = 1
            for dep in sorted(steps.get(key, ([], set()))[1]):
                if dep in steps and dep != key:
                    visit(dep, [*trail, key])
                elif dep == key and key[0] == "group":
                    self.error("compile.cycle", f"group {key[1]} refers to itself",
                               self.doc.location(("groups", key[1]), key=True))
            state[key] = 2
            order.append(key)

        for key in steps:
            visit(key, [])
        return order


_NODE_TYPES: Final = (ex.Lit, ex.Name, ex.Attr, ex.Call, ex.Unary, ex.Bin, ex.Cmp, ex.IsNull,
                      ex.Cond, ex.ListLit)


def _ident(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def _none_table(_: Any) -> list[Any]:
    return []


def compile_ruleset(
    spec: RulesetSpec, doc: YamlDocument, *, source: str, content_hash: str,
    catalog_root: str | None = None,
    broken: tuple[frozenset[str], frozenset[tuple[Any, ...]]] | None = None,
) -> Ruleset:
    """Compile a validated ruleset file.

    Args:
        spec: The validated file.
        doc: The YAML document it came from (for positions).
        source: The file name for diagnostics.
        content_hash: The file's content hash.
        catalog_root: The ``locales`` folder of the ruleset's message catalog (None: the
            package's).
        broken: Names and rule paths the file schema refused (already reported): they are
            known but cause no further problem. Such a ruleset is only checked, never run.

    Returns:
        The compiled ruleset.

    Raises:
        RulesetError: With every problem found.
    """
    comp = _Compiler(spec, doc, catalog_root)
    if broken is not None:
        comp.broken_names, comp.broken_rules = broken
    comp.declare()
    plain = comp.build(traced=False)
    comp.analyse()
    comp.collect_trace_refs()
    traced = comp.build(traced=True)
    if any(d.severity == "error" for d in comp.diags):
        raise RulesetError(_dedupe(comp.diags), sources={source: doc.text})
    from ta_rules.rulesets._lower import RUNTIME as LOWER_RUNTIME

    filename = f"<ruleset {spec.ruleset} {spec.version}>"

    def namespace() -> dict[str, Any]:
        return {"__builtins__": _SAFE_BUILTINS, **HELPERS, **LOWER_RUNTIME, **comp.consts,
                "_none_table": _none_table}

    code = plain + "\n" + traced
    compiled_ns = namespace()
    exec(compile(code, filename, "exec"), compiled_ns)

    def build_holds() -> tuple[Callable[..., tuple[Any, ...]], dict[str, Any], str]:
        # only external engines need this variant: built on their first use
        comp.holds_mode = True
        try:
            holds = comp.build(traced=True, holds=True)
        finally:
            comp.holds_mode = False
        holds_ns = namespace()
        exec(compile(holds, filename, "exec"), holds_ns)
        return holds_ns["_decide_holds"], dict(comp.lowered), holds

    return Ruleset(
        spec=spec,
        source=source,
        content_hash=content_hash,
        parameters=comp.params,
        reasons=comp.reasons,
        rules=comp.rules,
        python_source=code,
        decide=compiled_ns["_decide"],
        decide_traced=compiled_ns["_decide_traced"],
        build_holds=build_holds,
        effective_location=doc.location(("effective",), key=True),
        warnings=tuple(d for d in _dedupe(comp.diags) if d.severity == "warning"),
        catalog_root=catalog_root,
    )


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.code, d.location, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


_SAFE_BUILTINS: Final = {
    "len": len, "min": min, "max": max, "any": any, "all": all, "next": next, "iter": iter,
    "bool": bool, "getattr": getattr, "True": True, "False": False, "None": None,
}
