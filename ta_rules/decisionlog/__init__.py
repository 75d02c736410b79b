"""A decision log: every verdict recorded with an id, chained, verifiable and replayable.

See docs/decision-log.md. :class:`DecisionLog` writes records to a store named by a URL
(``jsonl:PATH``, ``sqlite:PATH``, ``parquet:DIR``, ``postgresql://...``);
:func:`open_log` reads one; :func:`replay_records` re-judges what it holds.
"""

from ta_rules.decisionlog._log import (
    Acknowledged,
    Decision,
    DecisionLog,
    DecisionLogFull,
    read_records,
)
from ta_rules.decisionlog._record import (
    DecisionLogError,
    DecisionRecord,
    MaskMismatch,
    check_chain,
    check_masked,
)
from ta_rules.decisionlog._sinks import Sink, open_sink

__all__ = [
    "Acknowledged",
    "Decision",
    "DecisionLog",
    "DecisionLogError",
    "DecisionLogFull",
    "DecisionRecord",
    "MaskMismatch",
    "Sink",
    "check_chain",
    "check_masked",
    "open_sink",
    "read_records",
]
