"""When two posts are "the same statement": a documented, bounded text similarity.

Two texts are near-identical when both have at least `MIN_WORDS` words, at least
`OVERLAP` of the smaller word-bigram set is in the other (words folded by the one
normaliser: case, `ё`, apostrophes, punctuation), and the shorter text has at least
`LENGTH_RATIO` of the longer one's words; shorter texts must be equal after folding. Bigrams keep word
order, so a reordered text with the same words is not a copy, while a repost with an added
signature line or link still is, and a long commentary that merely quotes a sentence is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from bot.query import Analysis

OVERLAP = 0.8
LENGTH_RATIO = 0.5
MIN_WORDS = 6


def fingerprint(analysis: Analysis) -> frozenset[str]:
    """The word-bigram set of a text (its folded words when it has fewer than two)."""
    words: Sequence[str] = analysis.folded
    if len(words) < 2:
        return frozenset(words)
    return frozenset(f"{a} {b}" for a, b in pairwise(words))


def near_identical(a: Analysis, b: Analysis) -> bool:
    """Whether two analysed texts are the same statement (see the module docstring)."""
    if len(a.folded) < MIN_WORDS or len(b.folded) < MIN_WORDS:
        return len(a.folded) > 0 and list(a.folded) == list(b.folded)
    shorter, longer = sorted((len(a.folded), len(b.folded)))
    if shorter < LENGTH_RATIO * longer:
        return False
    first, second = fingerprint(a), fingerprint(b)
    smaller = min(len(first), len(second))
    return smaller > 0 and len(first & second) / smaller >= OVERLAP
