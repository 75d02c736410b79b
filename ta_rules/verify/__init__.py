"""Verification of rulesets with an SMT solver (the optional ``verify`` extra, z3-solver).

The intermediate form of a ruleset (:mod:`ta_rules.rulesets.ir`) is encoded as z3 formulas
over a symbolic facts document (:mod:`ta_rules.verify.encode`, :mod:`ta_rules.verify.space`).
On it stand three analyses, every answer of which the real engine confirms:

* :mod:`ta_rules.verify.prove`: properties declared beside the rules are proven within a
  bound, or violated with a counterexample facts document;
* :mod:`ta_rules.verify.symdiff`: a facts document for every way two versions can decide
  differently, or a proof that there is none;
* :mod:`ta_rules.verify.whynot`: the fewest fact changes that would make a claim covered.

This package imports without z3; each entry point calls :func:`require_z3` first.
"""

from __future__ import annotations

from typing import Any, Final

from ta_rules.errors import TaRulesError

__all__ = ["INSTALL_HINT", "MAX_BOUND", "MAX_TIMEOUT", "MIN_TIMEOUT", "BoundError", "FreeError",
           "VerifyUnavailableError", "check_bound", "check_timeout", "counterfactual",
           "require_z3"]

#: What to install when z3 is missing (one line).
INSTALL_HINT: Final = "this needs the z3 solver: pip install 'ta-rules[verify]'"


#: The largest list bound K a query may use (the encoding grows with K).
MAX_BOUND: Final = 20


class VerifyUnavailableError(TaRulesError):
    """The ``verify`` extra (z3-solver) is not installed."""


class BoundError(TaRulesError):
    """A list bound K out of range, or facts with longer lists than a query can hold."""


class FreeError(TaRulesError, ValueError):
    """A fact path to free (``--free``) that is not a fact of the vocabulary."""


def check_bound(bound: int, what: str = "--bound") -> int:
    """``bound`` when it is from 1 to :data:`MAX_BOUND`.

    Raises:
        BoundError: Naming the value and the range.
    """
    if not 1 <= bound <= MAX_BOUND:
        raise BoundError(f"{what} must be from 1 to {MAX_BOUND}, found {bound}")
    return bound


#: The shortest solver time limit, in seconds: the solver counts whole milliseconds and
#: reads 0 as *no limit*, so anything shorter would switch the limit off.
MIN_TIMEOUT: Final = 0.001
#: The longest solver time limit, in seconds (a day).
MAX_TIMEOUT: Final = 86_400


def check_timeout(timeout: float, what: str = "--timeout") -> int:
    """The solver's time limit in whole milliseconds, for ``timeout`` seconds.

    Raises:
        BoundError: Unless ``timeout`` is from :data:`MIN_TIMEOUT` to :data:`MAX_TIMEOUT`.
    """
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:  # not nan either
        raise BoundError(f"{what} must be at least {MIN_TIMEOUT} seconds (one millisecond: "
                         f"the solver reads 0 as no limit) and at most {MAX_TIMEOUT}, found "
                         f"{timeout}")
    return max(1, int(timeout * 1000))


def require_z3() -> Any:
    """The z3 module.

    Raises:
        VerifyUnavailableError: When z3-solver is not installed (with the install line).
    """
    try:
        import z3
    except ImportError:
        raise VerifyUnavailableError(INSTALL_HINT) from None
    return z3


def counterfactual(facts: Any, **options: Any) -> dict[str, Any]:
    """The fewest fact changes that would make a denied or pending claim covered.

    Args:
        facts: The facts document (a mapping) or validated facts.
        **options: ``ruleset`` (name or compiled ruleset), ``version``, ``parameters``,
            ``registry``, ``fixed`` (fact paths that cannot change; default: the policy's
            list beside the rules), ``free`` (fact paths, or ``["all"]``, that may change
            although fixed or already past: the policy writer's question), ``bound`` (list
            bound K), ``timeout`` (seconds).

    Returns:
        ``{"changes": [{"path", "from", "to"}], "verdict": {...}, "facts": {...}}`` with the
        verdict of the changed facts (``facts``: the changed document), or
        ``{"changes": None, "reason": ...}`` when no change of the changeable facts makes
        the claim covered; the claim's own verdict, the bound and
        what was fixed are included.

    Raises:
        VerifyUnavailableError: Without the ``verify`` extra.
        FactsError: For invalid facts.
    """
    require_z3()
    from ta_rules.verify.whynot import why_not

    answer: dict[str, Any] = why_not(facts, **options)
    return answer
