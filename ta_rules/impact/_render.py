"""An impact report in JSON, text and HTML: the same content in each.

The HTML report is one self-contained file (inline CSS, SVG and a few lines of script for
the search box; nothing is fetched), for a policy writer to open or attach to a review.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal
from typing import Any

from ta_rules.impact._core import ImpactConfig, Tally, example_json, money_json
from ta_rules.impact._sides import OUTCOMES, Side, judge_with

__all__ = ["render_html", "render_text", "report_json"]


def _side_json(side: Side, name: str, tally: Tally) -> dict[str, Any]:
    used = sorted((key[1:], n) for key, n in tally.rulesets.items() if key[0] == name)
    rulesets = [{"name": n, "version": v, "content_hash": h, "claims": count}
                for (n, v, h), count in used]
    one: dict[str, Any] = {"name": None, "version": None, "content_hash": None}
    if side.kind in ("file", "version"):
        rs = judge_with(side).candidates()[0]
        one = {"name": rs.name, "version": rs.version, "content_hash": rs.content_hash}
    elif len(rulesets) == 1:
        one = {k: rulesets[0][k] for k in ("name", "version", "content_hash")}
    return {"kind": side.kind, "label": side.label, **one,
            "overrides": dict(side.overrides), "rulesets": rulesets}


def _by_code(items: dict[str, tuple[int, dict[str, Decimal]]]) -> dict[str, Any]:
    return {code: {"claims": n, "refund_delta": money_json(delta)}
            for code, (n, delta) in sorted(items.items(), key=lambda kv: (-kv[1][0], kv[0]))}


def report_json(tally: Tally, config: ImpactConfig) -> dict[str, Any]:
    """The report as JSON data; its keys are fixed (see ``docs/impact.md``)."""
    order = {o: i for i, o in enumerate(OUTCOMES)}
    transitions = sorted(tally.transitions.items(),
                         key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
    return {
        "claims": tally.claims,
        "changed": tally.changed,
        "transitions": {f"{a}->{b}": n for (a, b), n in transitions},
        "refund_delta": money_json(tally.refund_delta),
        "reasons_gained": _by_code(tally.reasons_gained),
        "reasons_lost": _by_code(tally.reasons_lost),
        "by_rule": {rule: {"gained": g, "lost": lost}
                    for rule, (g, lost) in sorted(tally.by_rule.items())},
        "examples": {f"{a}->{b}": [example_json(e) for e in items]
                     for (a, b), items in sorted(tally.examples.items(), key=lambda kv: (
                         order[kv[0][0]], order[kv[0][1]]))},
        "errors": {"count": tally.errors, "by_kind": dict(sorted(tally.error_kinds.items())),
                   "first": tally.first_errors},
        "base": _side_json(config.base, "base", tally),
        "candidate": _side_json(config.candidate, "candidate", tally),
    }


def _money_text(amounts: dict[str, str]) -> str:
    return ", ".join(f"{_signed(a)} {c}" for c, a in amounts.items()) or "none"


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") or Decimal(amount) == 0 else f"+{amount}"


def _side_text(side: dict[str, Any]) -> str:
    if side["kind"] == "recorded":
        return "recorded verdicts"
    versions = ", ".join(f"{r['name']} {r['version']} ({r['content_hash'][:15]}, "
                         f"{r['claims']} claims)" for r in side["rulesets"]) or "none used"
    overrides = ", ".join(f"{k}={json.dumps(v)}" for k, v in side["overrides"].items())
    return f"{side['label']}: {versions}" + (f"; overrides {overrides}" if overrides else "")


def render_text(report: dict[str, Any]) -> str:
    """The report as readable text."""
    lines = [f"base:      {_side_text(report['base'])}",
             f"candidate: {_side_text(report['candidate'])}",
             f"{report['claims']} claims judged, {report['changed']} changed, "
             f"{report['errors']['count']} bad record(s)",
             f"refund delta: {_money_text(report['refund_delta'])}",
             "transitions:"]
    lines.extend(f"  {key:<22} {n:>9}" for key, n in report["transitions"].items())
    for title, key in (("reasons gained", "reasons_gained"), ("reasons lost", "reasons_lost")):
        if report[key]:
            lines.append(f"{title}:")
            lines.extend(f"  {code:<40} {v['claims']:>9}  {_money_text(v['refund_delta'])}"
                         for code, v in report[key].items())
    if report["by_rule"]:
        lines.append("rules whose firing changed (gained / lost):")
        lines.extend(f"  {rule:<40} +{v['gained']} -{v['lost']}"
                     for rule, v in report["by_rule"].items())
    if report["examples"]:
        lines.append("examples:")
        for key, items in report["examples"].items():
            shown = ", ".join(e["id"] or f"line {e['line']}" for e in items)
            lines.append(f"  {key}: {shown}")
    errors = report["errors"]
    if errors["count"]:
        kinds = ", ".join(f"{k} {n}" for k, n in errors["by_kind"].items())
        lines.append(f"bad records: {errors['count']} ({kinds}); the first:")
        lines.extend(f"  line {e['line']}" + (f" ({e['id']})" if e["id"] else "")
                     + f": {e['kind']}: {e['message']}" for e in errors["first"])
    return "\n".join(lines)


# --- HTML ----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1d2433;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.3rem .6rem;border:1px solid #dde;
text-align:right}th{background:#f4f6fa}td.l,th.l{text-align:left}
td.same{color:#889}td.hot{background:#fff1e6;font-weight:600}
.kpi{display:flex;gap:1rem;flex-wrap:wrap}.kpi div{border:1px solid #dde;border-radius:6px;
padding:.6rem 1rem}.kpi b{display:block;font-size:1.4rem}
.neg{color:#b42318}.pos{color:#067647}code{font-size:.92em}
input[type=search]{padding:.35rem .6rem;width:22rem;max-width:100%}
svg text{font:12px system-ui,sans-serif}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_JS = """
(function () {
  var box = document.getElementById('search');
  var rows = document.querySelectorAll('#examples tbody tr');
  var count = document.getElementById('shown');
  function filter() {
    var q = box.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (tr) {
      var hit = !q || tr.textContent.toLowerCase().indexOf(q) !== -1;
      tr.hidden = !hit;
      if (hit) { n += 1; }
    });
    count.textContent = String(n);
  }
  box.addEventListener('input', filter);
  filter();
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cls(amount: str) -> str:
    d = Decimal(amount)
    return "neg" if d < 0 else "pos" if d > 0 else ""


def _matrix(report: dict[str, Any]) -> str:
    cells = report["transitions"]
    head = "".join(f"<th>{_e(o)}</th>" for o in OUTCOMES)
    rows = []
    for a in OUTCOMES:
        tds = []
        for b in OUTCOMES:
            n = cells.get(f"{a}->{b}", 0)
            cls = "same" if a == b else "hot" if n else ""
            tds.append(f'<td class="{cls}" data-from="{a}" data-to="{b}">{n}</td>')
        rows.append(f'<tr><th class="l">{_e(a)}</th>{"".join(tds)}</tr>')
    return (f'<table id="matrix"><thead><tr><th class="l">base \\ candidate</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def _chart(report: dict[str, Any]) -> str:
    """Horizontal bars: refund delta of the claims that gained or lost each code."""
    bars: list[tuple[str, str, str, Decimal]] = []
    for sign, key in (("+", "reasons_gained"), ("-", "reasons_lost")):
        for code, v in report[key].items():
            for currency, amount in v["refund_delta"].items():
                bars.append((f"{sign}{code}", currency, amount, Decimal(amount)))
    if not bars:
        return '<p id="chart-empty">No reason was gained or lost.</p>'
    width, label_w, row_h = 900, 330, 24
    biggest = max(abs(b[3]) for b in bars) or Decimal(1)
    half = (width - label_w - 170) / 2
    zero = label_w + half
    parts = [f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{row_h * len(bars) + 10}" role="img" '
             f'aria-label="refund delta by reason">',
             f'<line x1="{zero}" x2="{zero}" y1="0" y2="{row_h * len(bars)}" stroke="#889"/>']
    for i, (label, currency, amount, value) in enumerate(bars):
        y = i * row_h + 4
        w = float(abs(value) / biggest) * half
        x = zero - w if value < 0 else zero
        color = "#d92d20" if value < 0 else "#17b26a"
        parts.append(
            f'<g class="bar" data-reason="{_e(label)}" data-currency="{_e(currency)}" '
            f'data-amount="{_e(amount)}"><text x="0" y="{y + 13}">{_e(label)}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{color}"/><text x="{width - 165}" y="{y + 13}">'
            f'{_e(_signed(amount))} {_e(currency)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _reason_table(report: dict[str, Any]) -> str:
    rows = []
    for sign, key in (("gained", "reasons_gained"), ("lost", "reasons_lost")):
        for code, v in report[key].items():
            money = "".join(
                f'<span class="{_cls(a)}" data-currency="{_e(c)}">{_e(_signed(a))} {_e(c)}</span> '
                for c, a in v["refund_delta"].items())
            rows.append(f'<tr data-reason="{_e(code)}" data-change="{sign}"><td class="l">'
                        f'<code>{_e(code)}</code></td><td class="l">{sign}</td>'
                        f'<td class="claims">{v["claims"]}</td><td>{money}</td></tr>')
    if not rows:
        return ""
    return ('<table id="reasons"><thead><tr><th class="l">reason</th><th class="l">change</th>'
            '<th>claims</th><th>refund delta</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _rules_table(report: dict[str, Any]) -> str:
    if not report["by_rule"]:
        return '<p id="rules-empty">No rule fires differently.</p>'
    rows = "".join(f'<tr data-rule="{_e(rule)}"><td class="l"><code>{_e(rule)}</code></td>'
                   f'<td class="gained">{v["gained"]}</td><td class="lost">{v["lost"]}</td></tr>'
                   for rule, v in report["by_rule"].items())
    return ('<table id="rules"><thead><tr><th class="l">rule</th><th>newly fires</th>'
            f'<th>no longer fires</th></tr></thead><tbody>{rows}</tbody></table>')


def _decision_html(d: dict[str, Any]) -> str:
    m = d["max_refund"]
    return (f'<b>{_e(d["outcome"])}</b> {_e(m["amount"])} {_e(m["currency"])}<br>'
            f'<small>{_e(" ".join(d["reasons"]) or "-")}</small>')


def _examples_table(report: dict[str, Any]) -> str:
    rows = []
    for key, items in report["examples"].items():
        for e in items:
            rows.append(f'<tr data-transition="{_e(key)}"><td class="l">{_e(key)}</td>'
                        f'<td class="l">{_e(e["id"] or "")}</td><td>{e["line"]}</td>'
                        f'<td class="l">{_decision_html(e["base"])}</td>'
                        f'<td class="l">{_decision_html(e["candidate"])}</td></tr>')
    return ('<p><input id="search" type="search" placeholder="search id, outcome, reason" '
            'aria-label="search examples"> <span id="shown"></span> shown</p>'
            '<table id="examples"><thead><tr><th class="l">transition</th><th class="l">id</th>'
            '<th>line</th><th class="l">base</th><th class="l">candidate</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _errors_html(report: dict[str, Any]) -> str:
    errors = report["errors"]
    if not errors["count"]:
        return '<p id="errors" data-count="0">No bad records.</p>'
    rows = "".join(f'<tr><td>{e["line"]}</td><td class="l">{_e(e["kind"])}</td>'
                   f'<td class="l">{_e(e["message"])}</td></tr>' for e in errors["first"])
    return (f'<p id="errors" data-count="{errors["count"]}">{errors["count"]} record(s) could '
            f'not be judged; the first:</p><table><thead><tr><th>line</th><th class="l">kind'
            f'</th><th class="l">problem</th></tr></thead><tbody>{rows}</tbody></table>')


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    deltas = "".join(
        f'<div><b class="{_cls(a)}" data-refund-currency="{_e(c)}">{_e(_signed(a))}</b>'
        f'refund delta, {_e(c)}</div>' for c, a in report["refund_delta"].items())
    base, cand = report["base"], report["candidate"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Impact: {_e(base['label'])} to {_e(cand['label'])}</title>
<style>{_CSS}</style></head><body>
<h1>Impact of a policy change</h1>
<p>base <b id="base">{_e(_side_text(base))}</b><br>
candidate <b id="candidate">{_e(_side_text(cand))}</b></p>
<div class="kpi"><div><b id="claims">{report['claims']}</b>claims judged</div>
<div><b id="changed">{report['changed']}</b>verdicts changed</div>
<div><b id="error-count">{report['errors']['count']}</b>bad records</div>{deltas}</div>
<h2>Transitions (rows: base outcome, columns: candidate outcome)</h2>
{_matrix(report)}
<h2>Refund delta by reason</h2>
<p>Each bar sums the change in maximum refund of the claims that gained (+) or lost (-)
the reason; a claim with several changed reasons counts under each.</p>
{_chart(report)}
{_reason_table(report)}
<h2>Rules whose firing changed</h2>
{_rules_table(report)}
<h2>Examples</h2>
{_examples_table(report)}
<h2>Bad records</h2>
{_errors_html(report)}
<script>{_JS}</script>
</body></html>
"""
