"""Transliteration keys for ``Name~``: one spelling-blind key per word, in any script.

The similarity rule (a public contract, documented for users):

1. A word is reduced to a *key*: Cyrillic (Ukrainian and Russian letters alike) is
   transliterated to Latin, then sounds that the usual spellings of a name disagree on are
   merged: ``h``/``g``/``kh`` (``Г``/``Х``), ``w``/``v``, ``c``/``k``/``q``, ``ph``/``f``,
   ``th``/``t``, ``ts``/``tz``/``ц``; a ``y``/``й`` next to a vowel is dropped and elsewhere
   read as ``i`` (``Kyiv``, ``Київ`` -> ``kiv``; ``Yermak``, ``Єрмак``, ``Ермак`` -> ``ermak``);
   an initial ``у`` before a vowel is an English ``w`` (``Уиткофф`` -> ``vitkof``); soft and
   hard signs and apostrophes vanish; doubled letters collapse (``Уитткофф`` -> ``vitkof``).
2. A token matches ``Name~`` when the key of its folded form or of one of its lemmas is
   within the bound of the name's key: **exactly equal for keys shorter than 5 letters, at
   most one edit (insertion, deletion, substitution or swap of neighbours) for keys of 5
   letters or more**. Lemmas bring inflected forms (``Уиткоффом`` -> ``уиткофф``,
   ``Києві`` -> ``київ``); a derived word keeps its own lemma and stays apart
   (``Київщина`` -> ``kivSina``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

EDIT_MIN_KEY_LENGTH: Final = 5
"""Keys of at least this many letters allow one edit; shorter keys must be equal."""

_CYR_TO_LAT: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "i",
    "ь": "", "э": "e", "ю": "yu", "я": "ya", "ё": "yo", "ў": "u", "ʼ": "", "'": "",
}  # fmt: skip

# Longest first: each replacement yields a one-letter sound class (upper case = digraph).
_DIGRAPHS: Final = (
    ("shch", "Q"), ("sch", "S"), ("dzh", "J"), ("tch", "C"), ("zh", "Z"), ("sh", "S"),
    ("ch", "C"), ("kh", "g"), ("gh", "g"), ("ph", "f"), ("th", "t"), ("ts", "T"),
    ("tz", "T"), ("ck", "k"), ("wh", "v"), ("dj", "J"),
)  # fmt: skip
_SINGLE: Final = str.maketrans({"h": "g", "w": "v", "q": "k", "j": "J", "x": "ks"})
_VOWELS: Final = frozenset("aeiou")


def _latin(word: str) -> str:
    out = []
    for ch in word:
        mapped = _CYR_TO_LAT.get(ch)
        out.append(ch if mapped is None else mapped)
    text = unicodedata.normalize("NFKD", "".join(out))
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def _collapse(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _semivowels(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch != "y":
            out.append(ch)
            continue
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if before in _VOWELS or after in _VOWELS:
            continue
        out.append("i")
    return "".join(out)


@lru_cache(maxsize=1 << 16)
def name_key(folded: str) -> str:
    """The spelling-blind key of one folded word (see the module docstring)."""
    word = folded
    if word.isascii() and word.endswith("ʼs"):
        word = word[:-2]
    text = _latin(word.casefold())
    if len(text) > 1 and text[0] == "u" and text[1] in _VOWELS:
        text = "v" + text[1:]
    for digraph, sound in _DIGRAPHS:
        if digraph in text:
            text = text.replace(digraph, sound)
    if "c" in text:
        text = "".join(
            ("s" if text[i + 1 : i + 2] in ("e", "i", "y") else "k") if ch == "c" else ch
            for i, ch in enumerate(text)
        )
    text = _collapse(text.translate(_SINGLE))
    return _collapse(_semivowels(text))


def max_edits(key: str) -> int:
    """How many edits a name key tolerates: one from five letters on, else none."""
    return 1 if len(key) >= EDIT_MIN_KEY_LENGTH else 0


@lru_cache(maxsize=1 << 16)
def deletions(key: str) -> frozenset[str]:
    """Every string made by deleting one letter of ``key``."""
    return frozenset(key[:i] + key[i + 1 :] for i in range(len(key)))


def within(a: str, b: str, edits: int) -> bool:
    """True when ``a`` and ``b`` differ by at most ``edits`` (0 or 1) edits, swaps included."""
    if a == b:
        return True
    if edits < 1:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    # b is one letter longer: deleting one letter of b must give a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=1 << 18)
def word_keys(folded: str, lemmas: frozenset[str]) -> frozenset[str]:
    """The name keys of a token: of its folded form and of each of its lemmas."""
    return frozenset(key for key in map(name_key, (folded, *lemmas)) if key)


@lru_cache(maxsize=1 << 18)
def word_probes(folded: str, lemmas: frozenset[str]) -> frozenset[str]:
    """A token's name keys and their one-letter deletions: what ``Name~`` anchors meet."""
    keys = word_keys(folded, lemmas)
    return keys.union(*map(deletions, keys))


@lru_cache(maxsize=1 << 16)
def name_reach(key: str, edits: int) -> frozenset[str]:
    """The probes a token within ``edits`` of ``key`` must share with the key's own."""
    return deletions(key) | {key} if edits else frozenset((key,))
