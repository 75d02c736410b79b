"""Compile a :class:`~ta_rules.rulesets.schema.RulesetSpec` into a fast :class:`Ruleset`.

The stages, each its own module:

1. :mod:`~ta_rules.rulesets.parse`: every expression of the file, parsed once;
2. :mod:`~ta_rules.rulesets.declare`: typed parameters and reason codes;
3. :mod:`~ta_rules.rulesets.resolve` and :mod:`~ta_rules.rulesets.structure`: names and
   types resolved against the facts vocabulary, into the typed intermediate form
   (:mod:`~ta_rules.rulesets.ir`), values and groups ordered by their dependencies;
4. :mod:`~ta_rules.rulesets.passes`: static checks, and what traces read;
5. backends: :mod:`~ta_rules.rulesets.emit_python` (the plain, traced and external-engine
   programs) and :mod:`~ta_rules.rulesets._lower` (conditions for external engines).

Every problem is a :class:`~ta_rules.errors.Diagnostic` with the file, line and column of
the offending character; all are raised together as one
:class:`~ta_rules.errors.RulesetError`.

The generated code is built only from the intermediate form: names are the compiler's own,
literals are constants or ``repr``; nothing a rule file says is executed as Python. Its
source is registered with :mod:`linecache` under the ruleset's name, and every line knows
which rule (or value) it evaluates and where that is written, so a failure inside it names
the rule and its ``file:line`` (:meth:`Ruleset.failure`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import itertools
import weakref
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from ta_rules.errors import Diagnostic, Location, ParameterError, RulesetError, TaRulesError
from ta_rules.messages import json_value
from ta_rules.rulesets import ir
from ta_rules.rulesets._runtime import HELPERS
from ta_rules.rulesets._types import T, TypeEnv, type_env
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.declare import Parameter, ReasonDef, declare, parameter_value
from ta_rules.rulesets.emit_python import Emitter
from ta_rules.rulesets.parse import Parsed, parse_ruleset
from ta_rules.rulesets.passes import (
    MAX_DAY_COUNT,
    check_rule_lists,
    check_unused,
    collect_trace_refs,
    day_count_parameters,
)
from ta_rules.rulesets.program import Decision, Program, ProgramMode, Programs
from ta_rules.rulesets.resolve import Bail, Resolver, Scope
from ta_rules.rulesets.schema import RulesetSpec
from ta_rules.rulesets.structure import build_ir
from ta_rules.texts import PolicyText

__all__ = ["FrontEnd", "Parameter", "ReasonDef", "Rule", "Ruleset", "assemble_ruleset",
           "compile_ruleset", "parameter_value"]


@dataclasses.dataclass(frozen=True)
class Rule:
    """A compiled rule: id, group (and table), where it is written, the codes it can give."""

    id: str
    group: str
    table: str | None
    location: Location
    codes: tuple[str, ...]
    when: str | None


class Ruleset:
    """A compiled, immutable ruleset, ready to evaluate facts.

    Attributes:
        name: The ruleset name (``trade-assurance``).
        version: The version string (``2015.1``).
        title: A human title.
        effective_from: First order date in force (inclusive), or None.
        effective_until: First order date no longer in force (exclusive), or None.
        source: The file it came from.
        content_hash: The policy identity: a digest of every text it was built from (the
            rule file, its vocabularies and message catalogs; see :mod:`ta_rules.texts`).
        texts: Those texts (empty for a ruleset compiled from a spec alone); a version
            written as changes has its bases' texts among them (role ``base``).
        parameters: The declared parameters by name.
        reasons: The declared reason codes.
        rules: Every rule by id.
        python_source: The generated plain and traced programs (for review and debugging).
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
        programs: Programs,
        intermediate: ir.RulesetIR | None = None,
        effective_location: Location,
        warnings: tuple[Diagnostic, ...] = (),
        catalog_root: str | None = None,
        env: TypeEnv | None = None,
        front: FrontEnd | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.spec = spec
        #: What the compiler's front end made of the file (the compile cache stores it).
        self.front = front
        self.name = spec.ruleset
        self.version = spec.version
        self.title = spec.title
        self.effective_from: dt.date | None = spec.effective.from_
        self.effective_until: dt.date | None = spec.effective.until
        self.source = source
        self.content_hash = content_hash
        self.texts: tuple[PolicyText, ...] = ()
        #: The folder its file was read from (None: from text alone).
        self.rules_folder: str | None = None
        #: Vocabularies of newer versions of this ruleset (set by the registries that hold
        #: it): facts they add are ignored by this version rather than refused.
        self.newer_vocabularies: tuple[Any, ...] = ()
        #: The version this one is written as changes to (``based_on:``), or None.
        self.based_on: str | None = None
        #: The (flattened) document it was compiled from: where each part is written.
        self.document: YamlDocument | None = None
        #: For each rule, the version whose file wrote it (an inherited rule: its base's).
        self.written_by: Mapping[str, str] = MappingProxyType(
            dict.fromkeys(rules, spec.version))
        #: For each reason code, the version whose file declared it (last).
        self.reasons_written_by: Mapping[str, str] = MappingProxyType(
            dict.fromkeys(reasons, spec.version))
        self.parameters: Mapping[str, Parameter] = MappingProxyType(dict(parameters))
        self.reasons: Mapping[str, ReasonDef] = MappingProxyType(dict(reasons))
        self.rules: Mapping[str, Rule] = MappingProxyType(dict(rules))
        #: The typed intermediate form it was compiled from (for other backends).
        self.ir = intermediate
        self._programs = programs
        #: The names it was resolved with: properties are resolved against them (None
        #: for a ruleset from the compile cache, which is compiled again for that).
        self._resolver = resolver
        self.effective_location = effective_location
        self.warnings = warnings
        self.catalog_root = catalog_root
        #: The facts vocabulary it is written against (its facts are validated with it).
        self.env = env
        self.vocabulary = env.vocabulary if env is not None else None
        #: The date facts whose first non-null value selects the version.
        self.order_date: tuple[str, ...] = tuple(spec.effective.order_date)
        self._defaults: Mapping[str, Any] = MappingProxyType(
            {n: p.default for n, p in self.parameters.items()}
        )

    def __repr__(self) -> str:
        return f"<Ruleset {self.name} {self.version} from {self.source}>"

    @functools.cached_property
    def _day_counts(self) -> frozenset[str]:
        """The parameters that shift dates (found when an override first needs them)."""
        return day_count_parameters(self.ir) if self.ir else frozenset()

    def program(self, mode: ProgramMode = "plain") -> Program:
        """The compiled program of ``mode`` (``plain``, ``traced``, ``holds`` or ``values``).

        Each is generated from the intermediate form and compiled the first time it is
        asked for; see :mod:`ta_rules.rulesets.program`.
        """
        return self._programs.get(mode)

    @property
    def programs(self) -> Programs:
        """Every program of this ruleset (compiled on first use; holds no reference back)."""
        return self._programs

    @property
    def python_source(self) -> str:
        """The generated plain and traced programs (for review and debugging)."""
        return self.program("plain").source + "\n" + self.program("traced").source

    @property
    def lowered_conditions(self) -> Mapping[str, list[tuple[str, Any]]]:
        """Each block's rule conditions, lowered for external engines (tag -> [(rule, cond)])."""
        return self.program("holds").lowered

    def failure(self, exc: BaseException) -> tuple[str, Location] | None:
        """What part of this ruleset was running when ``exc`` was raised, and where it is written.

        Returns:
            ("rule gates.minimum", its location) for the innermost frame of this ruleset's
            generated code in the exception's traceback, or None when it was not there.
        """
        found = None
        names = {p.filename for p in self._programs.compiled()}
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in names:
                found = self._programs.owner(filename, tb.tb_lineno) or found
            tb = tb.tb_next
        return found

    def resolve_elsewhere(self, doc: YamlDocument, parsed: Parsed, paths: Iterable[Path], *,
                          verdict: Mapping[str, T]) -> tuple[dict[Path, ir.Node],
                                                             list[Diagnostic]]:
        """Resolve conditions written in another file (properties) against this ruleset.

        They see the ruleset's facts, values, parameters and groups, and the ``verdict``
        names; every problem is a diagnostic located in that file.
        """
        if self._resolver is None:
            raise TaRulesError(f"{self.name} {self.version} was compiled without its names")
        r = self._resolver.elsewhere(doc, parsed)
        nodes: dict[Path, ir.Node] = {}
        for path in paths:
            tree = parsed.get(path)
            if tree is None:
                continue
            try:
                node = r.resolve(tree, Scope({}, verdict=verdict), path)
                r.need_bool(node.t, path, tree.pos, "a property")
            except Bail:
                continue
            nodes[path] = node
        return nodes, [*parsed.diagnostics, *r.diags]

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
            if name in self._day_counts and value is not None and abs(value) > MAX_DAY_COUNT:
                raise ParameterError(f"parameter {name!r} shifts dates: at most "
                                     f"{MAX_DAY_COUNT} days, found {value}")
            values[name] = value
            shown[name] = json_value(value)
        return MappingProxyType(values), shown




_SERIAL = itertools.count(1)


def compile_ruleset(
    spec: RulesetSpec, doc: YamlDocument, *, source: str, content_hash: str,
    catalog_root: str | None = None,
    broken: tuple[frozenset[str], frozenset[tuple[Any, ...]]] | None = None,
    env: TypeEnv | None = None,
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
        env: The types of the facts vocabulary the ruleset is written against (default:
            the bundled vocabulary).

    Returns:
        The compiled ruleset.

    Raises:
        RulesetError: With every problem found.
    """
    from ta_rules.rulesets.vocabulary_load import bundled_vocabulary, check_order_date

    env = env or type_env(bundled_vocabulary())

    def fields(t: T) -> Mapping[str, T] | None:
        return env.fields(t.model) if t.model is not None else None

    broken_names, broken_rules = broken or (frozenset(), frozenset())
    parsed = parse_ruleset(spec, doc, broken_rules)
    decl = declare(spec, doc, fact_roots=env.roots, parse_type=env.parse_type,
                   catalog_root=catalog_root)
    resolver = Resolver(spec, doc, parsed, params=decl.params, reasons=decl.reasons,
                        fact_roots=env.roots, fields=fields, parse_type=env.parse_type,
                        broken_names=broken_names)
    rir = build_ir(resolver, broken_rules)
    diags = [*parsed.diagnostics, *decl.diagnostics, *resolver.diags,
             *check_rule_lists(spec, doc, parsed, broken_rules),
             *check_order_date(spec, doc, env)]
    if not any(d.severity == "error" for d in diags) and not broken_names and not broken_rules:
        diags.extend(check_unused(resolver, rir))
    if any(d.severity == "error" for d in diags):
        raise RulesetError(_dedupe(diags), sources=doc.texts())
    collect_trace_refs(rir)

    def locate(at: ir.Src) -> Location:
        return doc.offset_location(at[0], parsed.offset(at[0]) + at[1])

    # the emitters locate values, functions and amounts: kept, so a program can be emitted
    # later (and in another process, from the compile cache) without the YAML document
    nodes = [*(f.node for f in rir.functions.values()), *(v.node for v in rir.values.values()),
             *(n for n in rir.amounts.values() if n is not None)]
    front = FrontEnd(
        spec=spec, parameters=decl.params, reasons=decl.reasons,
        rules={rid: Rule(rid, r.group, r.table, r.location, r.codes, r.when_text)
               for rid, r in rir.rules.items()},
        intermediate=rir, locations={n.at: locate(n.at) for n in nodes},
        effective_location=doc.location(("effective",), key=True),
        warnings=tuple(d for d in _dedupe(diags) if d.severity == "warning"))
    ruleset = assemble_ruleset(front, source=source, content_hash=content_hash,
                               catalog_root=catalog_root, env=env)
    ruleset._resolver = resolver
    return ruleset


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """What the compiler's front end makes of a valid file: all a :class:`Ruleset` needs.

    Plain data (the compile cache stores it): the programs are emitted from the IR when
    first asked for, with ``locations`` standing in for the YAML document.
    """

    spec: RulesetSpec
    parameters: Mapping[str, Parameter]
    reasons: Mapping[str, ReasonDef]
    rules: Mapping[str, Rule]
    intermediate: ir.RulesetIR
    locations: Mapping[ir.Src, Location]
    effective_location: Location
    warnings: tuple[Diagnostic, ...]


def assemble_ruleset(front: FrontEnd, *, source: str, content_hash: str,
                     catalog_root: str | None, env: TypeEnv) -> Ruleset:
    """The :class:`Ruleset` of a front end's result (its programs compiled on first use)."""
    rir, locate = front.intermediate, front.locations.__getitem__

    def build(mode: ProgramMode) -> tuple[str, list[Any], dict[str, Any], dict[str, Any]]:
        # one emitter per program: each numbers its names and constants on its own, so a
        # program's text does not depend on which was compiled first
        emitter = Emitter(rir, locate)
        text, owners = emitter.program(mode)
        return text, owners, emitter.consts, dict(emitter.lowered)

    spec = front.spec
    programs = Programs(f"<ruleset {spec.ruleset} {spec.version} #{next(_SERIAL)}>", build,
                        _namespace)
    ruleset = Ruleset(
        spec=spec,
        source=source,
        content_hash=content_hash,
        parameters=front.parameters,
        reasons=front.reasons,
        rules=front.rules,
        programs=programs,
        intermediate=rir,
        effective_location=front.effective_location,
        warnings=front.warnings,
        catalog_root=catalog_root,
        env=env,
        front=front,
    )
    # the generated sources are readable by tracebacks while the ruleset lives, not after
    weakref.finalize(ruleset, programs.forget)
    return ruleset


def _namespace() -> dict[str, Any]:
    from ta_rules.rulesets._lower import RUNTIME as LOWER_RUNTIME

    return {"__builtins__": _SAFE_BUILTINS, **HELPERS, **LOWER_RUNTIME,
            "_none_table": _none_table, "_Decision": Decision}


def _none_table(_: Any) -> list[Any]:
    return []


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
