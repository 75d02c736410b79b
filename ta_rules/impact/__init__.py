"""Impact analysis: what a policy change does to a history of real claims.

Every claim of a history is judged under two sides (a base and a candidate: bundled
versions, rule files, folders, or the verdict recorded with each claim), and the
differences are counted: outcome transitions, refund moved per currency, reason codes
gained and lost, rules whose firing changed, examples, and the records that could not be
judged, each with its line number.

The work is a plain function of picklable data, :func:`judge_partition`, whose results
(:class:`Tally`) fold in partition order; :func:`run_impact` runs it here, on worker
processes or on a Dask cluster. ``docs/impact.md`` shows the command line and how to run
the function on an existing Dask or Spark cluster.
"""

from ta_rules.impact._core import ImpactConfig, Tally, judge_partition
from ta_rules.impact._history import Record, Unreadable, history_format, read_history
from ta_rules.impact._render import render_html, render_text, report_json
from ta_rules.impact._run import run_impact
from ta_rules.impact._sides import Decision, ImpactError, Side, resolve_side

__all__ = [
    "Decision",
    "ImpactConfig",
    "ImpactError",
    "Record",
    "Side",
    "Tally",
    "Unreadable",
    "history_format",
    "judge_partition",
    "read_history",
    "render_html",
    "render_text",
    "report_json",
    "resolve_side",
    "run_impact",
]
