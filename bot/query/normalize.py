"""The one text normaliser: tokens, folding and lemmas, shared by matching and indexing.

Rules (applied to posts and query words alike):

* A token is a run of letters and digits; an apostrophe (U+0027, U+2019 or U+02BC) between
  two letters stays inside the word, any other punctuation (``«»``, quotes, dashes, dots)
  separates words and is dropped. Underscores separate words too.
* **Hyphenated words** (``дронам-перехоплювачам``, ``19-й``) are split into their parts,
  which are ordinary adjacent tokens: a query word matches any part, and a hyphenated query
  word matches the same parts adjacent and in order (each part in any form), like a phrase.
* Each token is folded: Unicode NFKC, case folding, ``ё`` -> ``е``, the three apostrophes
  -> U+02BC (a letter for SQLite's ``unicode61`` tokenizer, so the word stays one term),
  combining marks such as stress accents removed, and Latin/Cyrillic look-alike letters
  inside a word unified to the script most of its letters are in (``Kиїв`` -> ``київ``).
* Tokens keep their offsets into the original text.

Each text is analysed once (``Normalizer.analyse``); folding is cached by whitespace-
separated chunk of text and lemmas by token, and the Normalizer records every form it
lemmatised under each of its lemmas, so that the positions of a lemma in a text are found
from the text's forms (a set intersection and a ``list.index`` per form) instead of testing
every token. Lookups an Analysis builds (forms of a lemma, positions of a form, prefix and
name matches) are computed on first use, per term, and cached on the Analysis.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, islice, repeat
from typing import TYPE_CHECKING, Final, cast

from bot.query.lemmas import MODE_BOTH, MODE_RU, MODE_UK, Lemmatizer
from bot.query.names import (
    deletions,
    name_key,
    name_reach,
    within,
    word_keys,
    word_probes,
)

if TYPE_CHECKING:
    from bot.query.regex import BoundedRegex

NORMALIZER_VERSION: Final = 2
"""Bump when tokenising, folding, dictionaries or lemma rules change (``chanwatch reindex``)."""

_MARKS: Final = (
    "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u00ad\u200c\u200d"
)
_WORD_CHAR: Final = rf"(?:[^\W_]|[{_MARKS}])"
TOKEN_RE: Final = re.compile(rf"{_WORD_CHAR}+(?:['\u2019]{_WORD_CHAR}+)*")
"""A token of text or query: letters/digits, with apostrophes only inside."""
# The same tokens for a text without underscores, about three times faster.
_FAST_TOKEN_RE: Final = re.compile(rf"[\w{_MARKS}]+(?:['\u2019][\w{_MARKS}]+)*")


def chunk_tokens(chunk: str) -> list[str]:
    """The tokens, as written, of one whitespace-separated chunk of a text.

    No token spans whitespace (no whitespace character is a word character, a mark or an
    apostrophe), so the tokens of a text are those of its chunks in order.
    """
    return (TOKEN_RE if "_" in chunk else _FAST_TOKEN_RE).findall(chunk)


APOSTROPHE: Final = "\u02bc"
_APOSTROPHES: Final = str.maketrans({"'": APOSTROPHE, "\u2019": APOSTROPHE, "ё": "е"})
_LATIN_TO_CYRILLIC: Final = str.maketrans("aceiopxykmhtb", "асеіорхукмнтв")
_CYRILLIC_TO_LATIN: Final = str.maketrans("асеіорхукмнтвѕјһԁӏ", "aceiopxykmhtbsjhdl")
_ASCII_LETTER: Final = re.compile(r"[a-z]")
_CYRILLIC_LETTER: Final = re.compile(r"[\u0400-\u04ff]")
_NO_FORMS: Final[frozenset[str]] = frozenset()
_UK_LETTERS: Final = "іїєґІЇЄҐ"
_RU_LETTERS: Final = "ыэъёЫЭЪЁ"


def _unify_lookalikes(word: str) -> str:
    latin = len(_ASCII_LETTER.findall(word))
    if not latin:
        return word
    cyrillic = len(_CYRILLIC_LETTER.findall(word))
    if not cyrillic:
        return word
    if cyrillic > latin:
        return word.translate(_LATIN_TO_CYRILLIC)
    if latin > cyrillic:
        return word.translate(_CYRILLIC_TO_LATIN)
    return word


@lru_cache(maxsize=1 << 18)
def fold_token(raw: str) -> str:
    """Fold one token as matched by ``TOKEN_RE`` (see the module docstring)."""
    text = unicodedata.normalize("NFKC", raw).casefold().translate(_APOSTROPHES)
    if not text.isascii():
        # drops combining marks (stress accents) and anything else that is not a letter
        # or digit; U+02BC is a letter
        text = _unify_lookalikes("".join(ch for ch in text if ch.isalnum()))
    elif not text.isalnum():
        text = "".join(ch for ch in text if ch.isalnum())
    return text.strip(APOSTROPHE)


def text_mode(text: str) -> str:
    """Which dictionary comes first for ambiguous words: by Ukrainian/Russian-only letters."""
    ru = sum(map(text.count, _RU_LETTERS))
    if not ru:  # the usual case: only whether a Ukrainian letter occurs matters
        return MODE_UK if any(map(text.__contains__, _UK_LETTERS)) else MODE_BOTH
    uk = sum(map(text.count, _UK_LETTERS))
    if uk > ru:
        return MODE_UK
    if ru > uk:
        return MODE_RU
    return MODE_BOTH


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its original slice and offsets, folded form and lemma set."""

    text: str
    start: int
    end: int
    folded: str
    lemmas: frozenset[str]


def _indexes(values: Sequence[object], value: object) -> list[int]:
    """Every index of ``value`` in ``values``, ascending (``count`` and ``index`` scan in
    C; no exception is raised, which costs more than the scan)."""
    found: list[int] = []
    find = values.index
    i = -1
    for _ in range(values.count(value)):
        i = find(value, i + 1)
        found.append(i)
    return found


def split_words(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded)`` of each token of ``text`` (query words use this too)."""
    out = []
    for m in TOKEN_RE.finditer(text):
        folded = fold_token(m.group())
        if folded:
            out.append((m.start(), m.end(), folded))
    return out


class Analysis:
    """A text normalised once: tokens plus the lookups matching needs, built lazily.

    Positions are indexes into ``folded``/``lemmas`` (and ``tokens``). The lazily built
    lookups are facts about the text, so one Analysis can serve any number of queries and
    indexes (also from several threads: a race only computes the same value twice).
    """

    __slots__ = (
        "_form_positions",
        "_generation",
        "_joined",
        "_lemma_forms",
        "_name_matches",
        "_prefix_matches",
        "_regex_results",
        "_sorted_forms",
        "_source",
        "_spans",
        "_tokens",
        "_unique",
        "folded",
        "form_set",
        "lemma_set",
        "lemmas",
        "mode",
        "text",
    )

    def __init__(
        self,
        text: str,
        mode: str,
        folded: list[str],
        lemmas: list[frozenset[str]],
        spans: list[tuple[int, int]] | None = None,
        source: Normalizer | None = None,
        generation: int = 0,
    ) -> None:
        self.text = text
        self._source = source
        self._generation = generation
        self.mode = mode
        self.folded = folded
        self.lemmas = lemmas
        self.form_set: frozenset[str] = frozenset(folded)
        self.lemma_set: frozenset[str] = frozenset().union(*lemmas)
        self._spans = spans
        self._tokens: tuple[Token, ...] | None = None
        self._form_positions: dict[str, list[int]] | None = None
        self._lemma_forms: dict[frozenset[str], list[str]] | None = None
        self._joined: str | None = None
        self._sorted_forms: list[str] | None = None
        self._prefix_matches: dict[str, list[int]] = {}
        self._unique: dict[str, frozenset[str]] | None = None
        self._name_matches: dict[tuple[str, int], list[str]] = {}
        self._regex_results: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self.folded)

    @property
    def spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` offsets into ``text`` of each token."""
        if self._spans is None:
            spans = []
            for m in TOKEN_RE.finditer(self.text):
                if fold_token(m.group()):
                    spans.append((m.start(), m.end()))
            self._spans = spans
        return self._spans

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The tokens, with original slices and offsets."""
        if self._tokens is None:
            text = self.text
            self._tokens = tuple(
                Token(text[s:e], s, e, f, lem)
                for (s, e), f, lem in zip(self.spans, self.folded, self.lemmas, strict=True)
            )
        return self._tokens

    # -- lookups by position -----------------------------------------------------------
    # Each lookup scans the tokens once in C (``map`` and ``list.index``) and is cached;
    # a post is usually asked about a handful of terms, so no table of every lemma or
    # form is built.
    def form_positions(self, form: str) -> list[int]:
        """Positions of tokens whose folded form is ``form``."""
        if form not in self.form_set:
            return []
        table = self._form_positions
        if table is None:
            table = self._form_positions = {}
        found = table.get(form)
        if found is None:
            found = table[form] = _indexes(self.folded, form)
        return found

    def lemma_forms(self, lemmas: frozenset[str]) -> list[str]:
        """The distinct folded forms of the text sharing a lemma with ``lemmas``."""
        if lemmas.isdisjoint(self.lemma_set):
            return []
        table = self._lemma_forms
        if table is None:
            table = self._lemma_forms = {}
        found = table.get(lemmas)
        if found is None:
            found = self._forms_by_lemma(lemmas)
            if found is None:
                found = [form for form, lem in self.words().items() if not lemmas.isdisjoint(lem)]
            table[lemmas] = found
        return found

    def _forms_by_lemma(self, lemmas: frozenset[str]) -> list[str] | None:
        """``lemma_forms`` through the normaliser's record of forms by lemma (the forms it
        gives are checked); None when the normaliser forgot forms since this analysis."""
        source = self._source
        if source is None or source.generation != self._generation:
            return None
        candidates: set[str] = set()
        for lemma in lemmas:
            candidates.update(self.form_set.intersection(source.forms_with(lemma)))
        if source.generation != self._generation:
            return None
        mode = self.mode
        return [form for form in candidates if not lemmas.isdisjoint(source.lemmas(form, mode))]

    def lemma_positions(self, lemmas: frozenset[str]) -> list[int]:
        """Positions of tokens sharing a lemma with ``lemmas``, ascending."""
        forms = self.lemma_forms(lemmas)
        if len(forms) == 1:
            return self.form_positions(forms[0])
        return sorted(p for form in forms for p in self.form_positions(form))

    @property
    def joined(self) -> str:
        """The folded forms joined and surrounded by single spaces: adjacent forms are
        found by a substring search (folded forms hold no spaces)."""
        joined = self._joined
        if joined is None:
            joined = self._joined = " " + " ".join(self.folded) + " "
        return joined

    def has_prefix(self, prefix: str) -> bool:
        """Whether some token's folded form starts with ``prefix``."""
        forms = self._sorted_forms
        if forms is None:
            forms = self._sorted_forms = sorted(self.form_set)
        i = bisect_left(forms, prefix)
        return i < len(forms) and forms[i].startswith(prefix)

    def prefix_positions(self, prefix: str) -> list[int]:
        """Positions of tokens whose folded form starts with ``prefix``."""
        cached = self._prefix_matches.get(prefix)
        if cached is None:
            flags = list(map(str.startswith, self.folded, repeat(prefix)))
            cached = self._prefix_matches[prefix] = _indexes(flags, True)
        return cached

    def words(self) -> dict[str, frozenset[str]]:
        """Each distinct folded form with its lemma set."""
        if self._unique is None:
            self._unique = dict(zip(self.folded, self.lemmas, strict=True))
        return self._unique

    def name_forms(self, key: str, edits: int) -> list[str]:
        """The distinct folded forms whose own key or a lemma's key is near ``key``."""
        cached = self._name_matches.get((key, edits))
        if cached is not None:
            return cached
        reach = name_reach(key, edits)
        found = [
            form
            for form, lemmas in self.words().items()
            if not reach.isdisjoint(word_probes(form, lemmas))
            and any(within(key, k, edits) for k in word_keys(form, lemmas))
        ]
        self._name_matches[(key, edits)] = found
        return found

    def name_positions(self, key: str, edits: int) -> list[int]:
        """Positions of tokens whose folded form or a lemma has a key near ``key``."""
        forms = self.name_forms(key, edits)
        if len(forms) == 1:
            return self.form_positions(forms[0])
        return sorted(p for form in forms for p in self.form_positions(form))

    def regex_result(self, regex: BoundedRegex) -> bool:
        """Whether ``regex`` finds a match in the original text (cached per pattern)."""
        result = self._regex_results.get(regex.pattern)
        if result is None:
            result = regex.search(self.text)
            self._regex_results[regex.pattern] = result
        return result

    def remember_regex_results(self, results: dict[str, bool]) -> None:
        """Record regex outcomes found elsewhere (an index's RE2 set) for later lookups."""
        self._regex_results.update(results)


class Normalizer:
    """Analyses texts and query words; caches folding and lemmas by token. Thread-safe.

    Folding is cached per whitespace-separated chunk of text (a word, maybe with
    punctuation around it): no token spans whitespace, so a text's folded tokens are its
    chunks' in order, found with one ``str.split`` and one ``dict.get`` per chunk (the
    cache is emptied beyond ``cache_size`` chunks). Lemmas are cached per text mode in
    plain dicts (a hit is one ``dict.get``; beyond ``cache_size`` entries the oldest half
    of a mode's cache is dropped). Every form
    lemmatised is also recorded under each of its lemmas (``forms_with``), so that the
    positions of a lemma in a text are found by scanning for a form or two rather than by
    testing every token. That record is a superset of the forms any cached lemma set came
    from; it is only ever reset together with the caches, under the lock, and a reset bumps
    ``generation`` so that an Analysis made before it falls back to scanning.
    """

    def __init__(self, lemmatizer: Lemmatizer | None = None, cache_size: int = 1 << 18) -> None:
        self.lemmatizer = lemmatizer or Lemmatizer()
        self._lock = threading.Lock()
        self._cache_size = max(2, cache_size)
        self._caches: dict[str, dict[str, frozenset[str]]] = {
            mode: {} for mode in (MODE_UK, MODE_RU, MODE_BOTH)
        }
        # whitespace-separated chunk of text (a word, maybe with punctuation) -> its folded
        # tokens: a text's tokens are found with one ``str.split`` and a lookup per chunk
        self._chunks: dict[str, tuple[str, ...]] = {}
        self._forms_by_lemma: dict[str, set[str]] = {}
        self._forms_recorded = 0
        self.generation = 0
        """Bumped whenever ``forms_with`` forgets forms (see the class docstring)."""

    def _lemmatize(self, folded: str, mode: str) -> frozenset[str]:
        """A cache miss: lemmatise, record the form under its lemmas, then cache it."""
        with self._lock:
            cache = self._caches[mode]
            found = cache.get(folded)
            if found is not None:
                return found
            found = self.lemmatizer.lemmas(folded, mode)
            if self._forms_recorded >= 4 * self._cache_size:
                self._reset()
                cache = self._caches[mode]
            if len(cache) >= self._cache_size:
                for old in list(islice(cache, len(cache) // 2)):
                    del cache[old]
            table = self._forms_by_lemma
            for lemma in found:
                forms = table.get(lemma)
                if forms is None:
                    table[lemma] = {folded}
                else:
                    forms.add(folded)
            self._forms_recorded += 1
            cache[folded] = found
            return found

    def _reset(self) -> None:
        # with the lock held; the generation changes before anything is forgotten
        self.generation += 1
        self._caches = {mode: {} for mode in self._caches}
        self._forms_by_lemma = {}
        self._forms_recorded = 0

    def forms_with(self, lemma: str) -> set[str] | frozenset[str]:
        """Folded forms lemmatised since the last reset that had ``lemma`` (a superset of
        the forms of any text analysed since then whose lemma set holds ``lemma``).
        Read-only for the caller."""
        return self._forms_by_lemma.get(lemma, _NO_FORMS)

    def clear_cache(self) -> None:
        """Forget cached lemmas (benchmarks measure a cold cache with this)."""
        with self._lock:
            self._reset()
            self._chunks = {}
        fold_token.cache_clear()
        for cached in (name_key, deletions, word_keys, word_probes):
            cached.cache_clear()

    def lemmas(self, folded: str, mode: str = MODE_BOTH) -> frozenset[str]:
        """The lemma set of one folded token (cached)."""
        found = self._caches[mode].get(folded)
        return self._lemmatize(folded, mode) if found is None else found

    def query_lemmas(self, folded: str) -> frozenset[str]:
        """The lemmas a query word stands for (see ``Lemmatizer.query_lemmas``)."""
        return self.lemmatizer.query_lemmas(folded)

    def analyse(self, text: str) -> Analysis:
        """Normalise ``text`` once into an Analysis."""
        generation = self.generation  # read first: a reset during the lookups shows
        chunks = text.split()
        parts = list(map(self._chunks.get, chunks))
        if None in parts:
            for i, part in enumerate(parts):
                if part is None:
                    parts[i] = self.chunk_forms(chunks[i])
        folded = list(chain.from_iterable(cast("list[tuple[str, ...]]", parts)))
        mode = text_mode(text)
        found_lemmas = list(map(self._caches[mode].get, folded))
        if None in found_lemmas:
            for i, form in enumerate(folded):
                if found_lemmas[i] is None:
                    found_lemmas[i] = self._lemmatize(form, mode)
        lemmas = cast("list[frozenset[str]]", found_lemmas)
        return Analysis(text, mode, folded, lemmas, source=self, generation=generation)

    def chunk_forms(self, chunk: str) -> tuple[str, ...]:
        """The folded tokens of one whitespace-separated chunk of a text (cached).

        Tokens that fold to nothing (marks only) are left out; ``Analysis.spans`` leaves
        out the same ones."""
        cache = self._chunks
        found = cache.get(chunk)
        if found is None:
            if len(cache) >= self._cache_size:
                cache = self._chunks = {}
            found = cache[chunk] = tuple(
                form for form in map(fold_token, chunk_tokens(chunk)) if form
            )
        return found

    def index_terms(self, source: str | Analysis) -> list[str]:
        """Terms for an FTS5 column: per token its folded form, then its other lemmas.

        Every term is letters and digits (U+02BC included), so SQLite's ``unicode61``
        tokenizer (``remove_diacritics 0``) keeps each one as one token. The caller joins
        them with spaces.
        """
        analysis = source if isinstance(source, Analysis) else self.analyse(source)
        terms: list[str] = []
        for form, lemmas in zip(analysis.folded, analysis.lemmas, strict=True):
            terms.append(form)
            terms.extend(sorted(lemmas - {form}))
        return terms

    def query_words(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, folded)`` of the words of a query fragment."""
        return split_words(text)


_shared: Normalizer | None = None
_shared_lock = threading.Lock()


def get_normalizer() -> Normalizer:
    """The process-wide Normalizer (dictionaries load on first use, not on import)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = Normalizer()
    return _shared


__all__ = [
    "APOSTROPHE",
    "NORMALIZER_VERSION",
    "TOKEN_RE",
    "Analysis",
    "Normalizer",
    "Token",
    "fold_token",
    "get_normalizer",
    "split_words",
    "text_mode",
]
