"""The two sides of an impact run: what judges each claim, as plain picklable data.

A :class:`Side` names its rules by content (the bytes of the rule files, or a bundled
version), never by a compiled object, so it can travel to a worker process or a Dask
worker on another machine; :func:`judge_with` compiles it there once per process.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from ta_rules.errors import ParameterError, TaRulesError
from ta_rules.evaluate import decide, read_facts, select_ruleset
from ta_rules.facts import Facts
from ta_rules.refs import PolicyReferenceError, Resolved, resolve, resolve_rules
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.load import loads_ruleset
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.vocabulary import FieldType, Vocabulary

__all__ = [
    "RECORDED",
    "Decision",
    "ImpactError",
    "Side",
    "judge_with",
    "resolve_side",
    "side_of",
]

RECORDED: Final = "recorded"
OUTCOMES: Final = ("covered", "denied", "pending", "settled")


class ImpactError(TaRulesError):
    """An impact run cannot start: a bad side, history file or option."""


@dataclasses.dataclass(frozen=True)
class Decision:
    """What one side decided for one claim (all an impact report needs of a verdict).

    Attributes:
        outcome: covered, denied, pending or settled.
        codes: The reason codes, sorted.
        rules: The ids of the rules that gave a reason, sorted.
        refund: The maximum refund, rounded to the currency's minor unit.
        currency: The refund's currency.
        ruleset: (name, version, content hash) of the ruleset that decided, or None for a
            recorded verdict.
    """

    outcome: str
    codes: tuple[str, ...]
    rules: tuple[str, ...]
    refund: Decimal
    currency: str
    ruleset: tuple[str, str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form: outcome, reasons, max_refund."""
        return {"outcome": self.outcome, "reasons": list(self.codes),
                "max_refund": {"amount": format(self.refund, "f"), "currency": self.currency}}


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of the comparison.

    Attributes:
        kind: ``bundled`` (the bundled rulesets, by order date), ``version`` (one
            version: of the rule files given, else bundled), ``file`` (one rule file),
            ``folder`` (a folder of rule files, by order date) or ``recorded`` (the verdict
            stored with each claim).
        label: What the user wrote (``2015.1``, ``rules/x.yaml``, ``recorded``).
        files: ``(source, content)`` of the rule files (file and folder kinds).
        name: The ruleset name pinned (version kind), or None.
        version: The version pinned (version kind), or None.
        overrides: Parameter overrides, in JSON form (already checked).
        folder: The folder of the rule files (file and folder kinds): where a vocabulary
            or message catalog of their own is found, on the workers too.
    """

    kind: str
    label: str
    files: tuple[tuple[str, bytes], ...] = ()
    name: str | None = None
    version: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    folder: str | None = None

    @property
    def key(self) -> str:
        """A digest of everything that decides how this side judges."""
        h = hashlib.sha256(repr((self.kind, self.name, self.version, self.overrides,
                                 self.folder)).encode())
        for source, content in self.files:
            h.update(source.encode())
            h.update(hashlib.sha256(content).digest())
        return h.hexdigest()

    @property
    def recorded(self) -> bool:
        """The side reads the verdict stored with each claim."""
        return self.kind == RECORDED


def resolve_side(spec: str | None, overrides: Mapping[str, str] | None = None) -> Side:
    """Turn a ``--base`` / ``--candidate`` argument into a :class:`Side`, checking it fully.

    Args:
        spec: A policy reference (:mod:`ta_rules.refs`: ``2015.1`` in the project's rules
            folder, ``bundled:2015.1``, ``git:HEAD``, a rule file or a folder),
            ``recorded``, or None for the project's rules folder (outside a project, the
            bundled rulesets), each claim judged by the version its order date selects.
        overrides: ``--set`` values as command-line text.

    Returns:
        The side, with its overrides in JSON form.

    Raises:
        ImpactError: The argument names nothing usable, or overrides are given for
            ``recorded``.
        RulesetError: A rule file has problems.
        ParameterError: An override is unknown or badly typed for a ruleset of the side.
    """
    if spec == RECORDED:
        if overrides:
            raise ImpactError("--set cannot change recorded verdicts")
        return Side(RECORDED, RECORDED)
    try:
        resolved = resolve(spec) if spec is not None else resolve_rules(None)
    except PolicyReferenceError as exc:
        raise ImpactError(str(exc)) from None
    side = side_of(resolved)
    if not overrides:
        judge_with(side)  # compiled here as the workers will, so a problem shows now
        return side
    shown: dict[str, Any] = {}
    for rs in _Judge(side).candidates():
        try:
            _, values = rs.bind_parameters(overrides, from_text=True)
        except ParameterError as exc:
            raise ParameterError(f"{exc} (in {rs.source}; pin one version to change "
                                 f"only it)") from None
        shown.update(values)
    return dataclasses.replace(side, overrides=tuple(sorted(shown.items())))


def side_of(resolved: Resolved) -> Side:
    """The side that judges with what a policy reference resolved to.

    A side carries the rule files' texts (so it travels to workers) and the folder their
    vocabularies and catalogs are read from.
    """
    where = resolved.where()
    label = resolved.label if resolved.kind == "bundled" or where in (
        resolved.label, resolved.label.rstrip("/")) else f"{resolved.label} ({where})"
    pinned = resolved.ruleset
    if resolved.kind == "bundled" or resolved.folder is None:
        if pinned is None:
            return Side("bundled", "bundled rulesets, by order date")
        return Side("version", label, name=pinned.name, version=pinned.version)
    if resolved.kind == "file" and pinned is not None:
        return Side("file", label, files=((pinned.source, pinned.texts[0].data),),
                    folder=resolved.folder)
    files = tuple((rs.source, rs.texts[0].data) for rs in resolved.registry.rulesets)
    if pinned is None:
        return Side("folder", label, files=files, folder=resolved.folder)
    return Side("version", label, files=files, name=pinned.name, version=pinned.version,
                folder=resolved.folder)


class _Judge:
    """A side compiled in this process: decides claims."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self.registry: Registry | None = None
        self.ruleset: Ruleset | None = None
        if side.kind == "file":
            source, content = side.files[0]
            self.ruleset = loads_ruleset(content, source, rules_folder=side.folder)
        elif side.kind == "folder":
            self.registry = Registry(loads_ruleset(content, source, rules_folder=side.folder)
                                     for source, content in side.files)
        elif side.kind == "version":
            registry = Registry(loads_ruleset(content, source, rules_folder=side.folder)
                                for source, content in side.files) if side.files \
                else default_registry()
            self.ruleset = registry.select(side.name, side.version)
        elif side.kind == "bundled":
            self.registry = default_registry()
        self._params: dict[int, Mapping[str, Any]] = {}
        self._refs: dict[int, tuple[str, str, str]] = {}

    def candidates(self) -> list[Ruleset]:
        """Every ruleset this side may judge with."""
        if self.ruleset is not None:
            return [self.ruleset]
        assert self.registry is not None
        name = self.registry.select().name
        return self.registry.versions(name)

    def vocabularies(self) -> tuple[Any, ...]:
        """The vocabularies of every ruleset this side may judge with, newest first."""
        return tuple(dict.fromkeys(rs.vocabulary for rs in reversed(self.candidates())
                                   if rs.vocabulary is not None))

    def decide(self, data: Any, parsed: dict[int, Facts], *,
               wider: Iterable[Any] = (), table: bool = False) -> Decision:
        """Decide the facts document ``data``.

        The document is read with the vocabulary of the ruleset that judges it; ``parsed``
        holds the documents already read by vocabulary, so two sides of one vocabulary
        read it once. A fact that only a newer vocabulary (of this side, or in ``wider``)
        has is ignored (:func:`ta_rules.evaluate.read_facts`). A document read from a
        table's columns (``table``) has a null for every field its row lacks: where the
        vocabulary allows no null, it is absent.

        Raises:
            FactsError: The document is not valid facts for that ruleset.
            UnknownRulesetError: No version of this side is in force on its order date.
        """
        rs = self.ruleset
        if rs is None:
            rs = select_ruleset(data, registry=self.registry)
        facts = parsed.get(id(rs.vocabulary))
        if facts is None:
            if table and rs.vocabulary is not None:
                data = nulls_as_absent(data, rs.vocabulary)
            facts = parsed[id(rs.vocabulary)] = read_facts(data, rs, wider=wider)[0]
        key = id(rs)
        params = self._params.get(key)
        if params is None:
            params, _ = rs.bind_parameters(dict(self.side.overrides))
            self._params[key] = params
            self._refs[key] = (rs.name, rs.version, rs.content_hash)
        decision = decide(rs, facts, params)
        outcome, raw = decision.outcome, decision.reasons
        refund = decision.amount("max_refund").rounded("half_up")
        return Decision(outcome, tuple(sorted({r[0] for r in raw})),
                        tuple(sorted({r[1] for r in raw})), refund.amount, refund.currency,
                        self._refs[key])


def nulls_as_absent(data: Any, vocabulary: Vocabulary) -> Any:
    """``data`` without the null fields the vocabulary allows no null for (nor declares).

    For documents read from a table, where a field a claim lacks is null in its row; a null
    the vocabulary allows (``date?``) stays.
    """
    records = {r.name: r for r in vocabulary.records}

    def typed(value: Any, t: FieldType) -> Any:
        if t.base == "record" and t.arg is not None:
            return walk(value, t.arg)
        if t.base == "list" and t.item is not None and isinstance(value, list):
            return [typed(v, t.item) for v in value]
        return value

    def walk(value: Any, name: str) -> Any:
        record = records.get(name)
        if record is None or not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            field = record.by_name.get(key)
            if item is None and (field is None or not (field.type.nullable or field.required)):
                continue
            out[key] = item if field is None else typed(item, field.type)
        return out

    return walk(data, vocabulary.root)


_JUDGES: dict[str, _Judge] = {}


def judge_with(side: Side) -> _Judge:
    """The compiled judge of ``side`` in this process (compiled on first use)."""
    judge = _JUDGES.get(side.key)
    if judge is None:
        if len(_JUDGES) > 8:
            _JUDGES.clear()
        judge = _JUDGES[side.key] = _Judge(side)
    return judge


def recorded_decision(data: Any) -> Decision:
    """The decision stored with a claim (a ta-rules verdict, or its outcome, reasons, refund).

    Raises:
        ValueError: The recorded verdict is missing or malformed (the message says what).
    """
    if isinstance(data, Mapping) and "verdict" in data and "line" in data:
        data = data["verdict"]  # a line of `ta-rules eval --batch`
    if not isinstance(data, Mapping):
        raise ValueError(f"the recorded verdict is not a mapping but {type(data).__name__}")
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise ValueError(f"verdict.outcome: expected one of {', '.join(OUTCOMES)}, "
                         f"found {outcome!r}")
    codes: set[str] = set()
    rules: set[str] = set()
    reasons = data.get("reasons", [])
    if not isinstance(reasons, list):
        raise ValueError("verdict.reasons: expected a list")
    for i, r in enumerate(reasons):
        if isinstance(r, str):
            codes.add(r)
        elif isinstance(r, Mapping) and isinstance(r.get("code"), str):
            codes.add(r["code"])
            if isinstance(r.get("rule"), str):
                rules.add(r["rule"])
        else:
            raise ValueError(f"verdict.reasons[{i}]: expected a code or {{code, rule}}")
    refund = data.get("max_refund")
    if not (isinstance(refund, Mapping) and isinstance(refund.get("currency"), str)):
        raise ValueError("verdict.max_refund: expected {amount, currency}")
    from ta_rules.money import Money

    money = Money.of(refund.get("amount"), refund["currency"]).rounded("half_up")
    return Decision(outcome, tuple(sorted(codes)), tuple(sorted(rules)), money.amount,
                    money.currency)
