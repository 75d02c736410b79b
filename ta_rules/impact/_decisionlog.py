"""A decision log as a history of claims (``impact --claims jsonl:PATH`` or ``sqlite:PATH``).

Each record becomes an envelope ``{"id": decision id, "facts": ..., "verdict": ...}``: its
canonical facts as judged and the verdict recorded (the ``recorded`` side). A record whose
facts are masked cannot be judged again without the original document, so it is a bad
record naming the masked fields (``ta-rules log replay --facts`` takes the originals).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ta_rules.impact._history import PARTITION, Record, Unreadable
from ta_rules.impact._sides import ImpactError

__all__ = ["LOG_SCHEMES", "is_log_url", "read_decision_log"]

#: The URL prefixes of decision logs.
LOG_SCHEMES = ("jsonl:", "sqlite:", "parquet:", "postgresql://", "postgres://")


def is_log_url(text: str) -> bool:
    """Whether ``--claims`` names a decision log rather than a file."""
    return text.startswith(LOG_SCHEMES)


def read_decision_log(url: str, *, size: int = PARTITION,
                      ) -> tuple[Iterator[list[Record]], int | None]:
    """The partitions of a decision log, in stored order (record numbers from 1).

    Raises:
        ImpactError: The log cannot be opened.
    """
    from ta_rules.decisionlog import DecisionLogError, open_sink
    from ta_rules.decisionlog._record import parse_stored

    try:
        sink = open_sink(url, write=False)
    except DecisionLogError as exc:
        raise ImpactError(str(exc)) from None

    def partitions() -> Iterator[list[Record]]:
        part: list[Record] = []
        try:
            for number, (where, text) in enumerate(sink.read(), 1):
                part.append((number, _document(where, parse_stored(text)), None, None))
                if len(part) >= size:
                    yield part
                    part = []
        except DecisionLogError as exc:
            raise ImpactError(str(exc)) from None
        finally:
            sink.close()
        if part:
            yield part

    return partitions(), None


def _document(where: str, data: object) -> str | Unreadable:
    from ta_rules.decisionlog._record import restored_facts

    if not isinstance(data, dict) or not isinstance(data.get("facts"), dict):
        return Unreadable("json", f"{where}: not a decision record")
    ident = data.get("decision_id")
    facts = restored_facts(data)
    if facts is None:
        masked = data.get("masked")
        hidden = [str(p) for p, v in masked.items() if v is not None] \
            if isinstance(masked, dict) else []
        return Unreadable("masked", f"decision {ident}: its facts are masked "
                          f"({', '.join(hidden)}); judge it with 'ta-rules log replay "
                          "--facts' and the original document")
    return json.dumps({"id": ident, "facts": facts, "verdict": data.get("verdict")},
                      ensure_ascii=False)
