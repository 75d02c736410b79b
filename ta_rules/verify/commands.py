"""The command-line side of verification: ``prove``, ``diff --symbolic``, ``eval --why-not``.

Each function takes the parsed options and the output streams and returns the exit status;
z3 is imported only once :func:`~ta_rules.verify.require_z3` has said it is there (without
it, the one-line install hint is raised as
:class:`~ta_rules.verify.VerifyUnavailableError`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from ta_rules.verify import check_bound, check_timeout, require_z3

__all__ = ["prove_command", "symbolic_diff_command", "why_not_command"]


def _rulesets(paths: Sequence[str]) -> list[Any]:
    """The rulesets policy references name (a file, a folder, 2015.1, git:HEAD...)."""
    from ta_rules.refs import resolve
    from ta_rules.rulesets.registry import default_registry

    if not paths:
        return list(default_registry().rulesets)
    out: list[Any] = []
    for p in paths:
        out.extend(resolve(p).rulesets)
    return sorted(out, key=lambda r: (r.name, r.source))


def prove_command(paths: Sequence[str], *, bound: int, timeout: float, only: str | None,
                  params: Mapping[str, Any], fmt: str, out: TextIO) -> int:
    """``ta-rules prove``: 0 all proven, 1 one is violated, 2 unknown or an error."""
    require_z3()
    check_bound(bound)
    check_timeout(timeout)
    from ta_rules.verify.prove import prove_rulesets, render_results

    results = prove_rulesets(_rulesets(paths), bound=bound, timeout=timeout, params=params,
                             only=only, from_text=True)
    if fmt == "json":
        out.write(json.dumps({"bound": bound, "results": [r.to_json() for r in results]},
                             indent=2) + "\n")
    else:
        out.write(render_results(results) + "\n")
    statuses = {r.status for r in results}
    if "violated" in statuses:
        return 1
    return 0 if statuses == {"proven"} else 2


def symbolic_diff_command(old: Any, new: Any, *, bound: int, timeout: float, fmt: str,
                          out: TextIO) -> int:
    """``ta-rules diff A B --symbolic``: 0 when every change is answered, else 2."""
    require_z3()
    check_bound(bound)
    check_timeout(timeout)
    from ta_rules.verify.symdiff import render_symbolic, symbolic_diff

    result = symbolic_diff(old, new, bound=bound, timeout=timeout)
    if fmt == "json":
        out.write(json.dumps(result, indent=2, default=str) + "\n")
    else:
        out.write(render_symbolic(result) + "\n")
    done = all(c["status"] in ("witness", "impossible") for c in result["changes"])
    return 0 if done else 2


def why_not_command(facts: Any, *, ruleset: Any, parameters: Mapping[str, Any] | None,
                    bound: int | None, fmt: str, out: TextIO, free: Sequence[str] = ()) -> int:
    """``ta-rules eval FACTS --why-not [--free PATH...]``: 0 with an answer, else 2."""
    require_z3()
    from ta_rules.verify.whynot import why_not

    result = why_not(facts, ruleset=ruleset, parameters=parameters, bound=bound, free=free)
    if fmt == "json":
        out.write(json.dumps(result, indent=2, default=str) + "\n")
    else:
        out.write(render_why_not(result) + "\n")
    return 0 if result.get("status") in (None, "found", "none") else 2


def render_why_not(result: Mapping[str, Any]) -> str:
    """A counterfactual as text."""
    claim = result["claim"]
    rs = result["ruleset"]
    lines = [f"{claim['outcome']} {claim['codes']} under {rs['name']} {rs['version']} "
             f"(lists of up to K={result['bound']} items)"]
    if result.get("free"):
        lines.append(f"freed (may change although fixed or past): {', '.join(result['free'])}")
    changes = result.get("changes")
    if changes is None or result.get("status") == "error":
        lines.append(result.get("reason", ""))
        return "\n".join(lines)
    if not changes:
        lines.append(result.get("reason", "no change needed"))
        return "\n".join(lines)
    lines.append(f"covered with {len(changes)} change(s):")
    for c in changes:
        lines.append(f"  {c['path']}: {json.dumps(c['from'])} -> {json.dumps(c['to'])}")
    v = result["verdict"]
    lines.append(f"the engine judges the changed facts {v['outcome']} {v['codes']}, "
                 f"max refund {v['max_refund']['amount']} {v['max_refund']['currency']}")
    return "\n".join(lines)
