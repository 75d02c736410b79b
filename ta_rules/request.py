"""One evaluation request as ``ta-rules eval`` and ``ta-rules serve`` both take it.

A request is a facts document and the options a caller gives beside it: a ruleset name, a
pinned version, parameter overrides (typed values, as a scenario file or a JSON body has
them, and ``NAME=VALUE`` text, as ``--set`` or a query string has them), the locale, the
trace. Both front ends call :func:`evaluate_request` and write
:func:`ta_rules.present.verdict_json` (also importable from here), so the same facts and
options give the same bytes from either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ta_rules.evaluate import evaluate, read_facts, select_ruleset
from ta_rules.facts import Facts
from ta_rules.present import verdict_json
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.registry import Registry
from ta_rules.verdict import Verdict

__all__ = ["evaluate_request", "judge_request", "verdict_json"]


def evaluate_request(
    facts: Any,
    *,
    ruleset: str | None = None,
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    text_parameters: Mapping[str, str] | None = None,
    trace: bool = False,
    locale: str = "en",
    engine: str = "compiled",
    registry: Registry | None = None,
) -> Verdict:
    """Judge a facts document with a request's options.

    Args:
        facts: The facts document as read (a mapping; anything else is a :class:`FactsError`).
        ruleset: A ruleset name, or None for the default.
        version: Pin a version instead of the one in force on the order date.
        parameters: Overrides with typed values.
        text_parameters: Overrides written as text (``claim_window_days`` -> ``"2"``), read
            by the parameter's type; they win over ``parameters`` of the same name.
        trace: Record every rule evaluated.
        locale: The locale of the messages.
        engine: The evaluation engine.
        registry: Where rulesets are found (default: the bundled ones).

    Returns:
        The verdict.

    Raises:
        FactsError: The facts are invalid.
        ParameterError: An override is unknown or has a bad value.
        UnknownRulesetError: No ruleset or version matches.

    Example:
        >>> import json
        >>> with open("examples/claims/late-shipment.json") as fh:
        ...     facts = json.load(fh)
        >>> evaluate_request(facts, text_parameters={"claim_window_days": "2"}).outcome
        'denied'
    """
    return judge_request(facts, ruleset=ruleset, version=version, parameters=parameters,
                         text_parameters=text_parameters, trace=trace, locale=locale,
                         engine=engine, registry=registry)[0]


def judge_request(
    facts: Any, *, ruleset: str | None = None, version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    text_parameters: Mapping[str, str] | None = None, trace: bool = False,
    locale: str = "en", engine: str = "compiled", registry: Registry | None = None,
) -> tuple[Verdict, Facts, Ruleset]:
    """:func:`evaluate_request`, also giving the validated facts and the ruleset that judged.

    A decision log records the facts as they were judged (see docs/decision-log.md).
    """
    chosen = select_ruleset(facts, ruleset=ruleset, version=version, registry=registry)
    overrides: dict[str, Any] = dict(parameters or {})
    if text_parameters:
        read_facts(facts, chosen)  # bad facts are reported before bad overrides
        _, shown = chosen.bind_parameters(dict(text_parameters), from_text=True)
        overrides.update(shown)
    # read as the ruleset that judges them (a fact only a newer version has is ignored,
    # and evaluate says so in the trace when it reads the document itself)
    valid, ignored = read_facts(facts, chosen)
    verdict = evaluate(facts if ignored else valid, ruleset=chosen,
                       parameters=overrides or None, trace=trace, locale=locale, engine=engine)
    return verdict, valid, chosen
