"""'Did you mean' hints, bounded so that a file full of misspellings stays fast to check."""

from __future__ import annotations

import difflib
import heapq
import itertools
from collections import Counter
from typing import Final

__all__ = ["Suggester"]

#: Candidate comparisons one check may spend on hints; past it, problems come without one.
BUDGET: Final = 200_000
#: How many candidates, those sharing the most letter pairs with the name, are compared.
SHORTLIST: Final = 12
#: How many index entries one lookup reads at most (beyond the rarest pair's).
POSTINGS: Final = 1024


class Suggester:
    """Finds the closest known name for a misspelled one.

    Results are remembered per (name, candidates), and the total work is bounded: each
    lookup compares the name with at most :data:`SHORTLIST` candidates - those sharing the
    most of its rarer pairs of adjacent letters, found in an index of the candidates built
    once per list and read for at most :data:`POSTINGS` entries - so a file of many
    misspellings among many names costs about what a file of as many correct names does.
    Once :data:`BUDGET` comparisons are spent no more hints are computed (the diagnostics
    themselves are all still reported).
    """

    def __init__(self, budget: int = BUDGET) -> None:
        self.left = budget
        self._seen: dict[tuple[str, tuple[str, ...]], str | None] = {}
        self._index: dict[tuple[str, ...], dict[str, list[int]]] = {}

    def __call__(self, name: str, candidates: list[str]) -> str | None:
        """``did you mean 'x'?`` for the closest candidate, or None."""
        names = tuple(candidates)
        key = (name, names)
        if key in self._seen:
            return self._seen[key]
        hint = None
        pool = self._shortlist(name, names)
        if self.left >= len(pool):
            self.left -= len(pool)
            close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else None
        self._seen[key] = hint
        return hint

    def _shortlist(self, name: str, names: tuple[str, ...]) -> list[str]:
        if len(names) <= SHORTLIST or len(name) < 2:
            return list(names)
        index = self._index.get(names)
        if index is None:
            index = {}
            for i, candidate in enumerate(names):
                for pair in _pairs(candidate):
                    index.setdefault(pair, []).append(i)
            self._index[names] = index
        # the rarest pairs say most; reading only them bounds the work of one lookup
        lists = sorted((index[p] for p in _pairs(name) if p in index), key=len)
        taken: list[list[int]] = []
        total = 0
        for postings in lists:
            if taken and total + len(postings) > POSTINGS:
                break
            taken.append(postings)
            total += len(postings)
        shared = Counter(itertools.chain.from_iterable(taken))
        best = heapq.nlargest(SHORTLIST, shared.items(), key=lambda item: item[1])
        return [names[i] for i, _ in best]


def _pairs(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}
