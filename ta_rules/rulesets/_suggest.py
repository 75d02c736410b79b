"""'Did you mean' hints, bounded so that a file full of misspellings stays fast to check."""

from __future__ import annotations

import difflib
from typing import Final

__all__ = ["Suggester"]

#: Candidate comparisons one check may spend on hints; past it, problems come without one.
BUDGET: Final = 200_000


class Suggester:
    """Finds the closest known name for a misspelled one.

    Results are remembered per (name, candidates), and the total work is bounded: each
    lookup costs as many comparisons as it has candidates, and once :data:`BUDGET` is spent
    no more hints are computed (the diagnostics themselves are all still reported).
    """

    def __init__(self, budget: int = BUDGET) -> None:
        self.left = budget
        self._seen: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def __call__(self, name: str, candidates: list[str]) -> str | None:
        """``did you mean 'x'?`` for the closest candidate, or None."""
        key = (name, tuple(candidates))
        if key in self._seen:
            return self._seen[key]
        hint = None
        if self.left >= len(candidates):
            self.left -= len(candidates)
            close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else None
        self._seen[key] = hint
        return hint
