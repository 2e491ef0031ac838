"""Lemma sets of folded tokens: pymorphy3 for Ukrainian and Russian, simplemma for English.

A token's lemma set is the union of its plausible parses, so that an ambiguous or guessed
form still meets the other forms of its word (``шахедів``, ``шахеда`` and ``шахеди`` all
share ``шахед``), while a derived word with a lemma of its own (``санкційний``) never
shares the lemma of its base (``санкція``).

Which dictionary is asked depends on the token's letters and on the text around it:

* letters only Ukrainian has (``і ї є ґ``) mean Ukrainian, letters only Russian has
  (``ы э ъ``) mean Russian;
* otherwise the text's language decides the order (``MODE_UK``/``MODE_RU``), and the first
  dictionary that knows the word gives its lemmas; a text with no hint (``MODE_BOTH``, also
  used for query words) takes the union of every dictionary that knows the word;
* a word no dictionary knows gets the union of the guesses of every dictionary tried.

Dictionaries load on first use, not on import.
"""

from __future__ import annotations

import threading
from typing import Any, Final

MODE_UK: Final = "uk"
MODE_RU: Final = "ru"
MODE_BOTH: Final = "both"

_UK_ONLY: Final = frozenset("іїєґ")
_CITED_CASES: Final = frozenset((None, "nomn"))
"""Cases of a parse in which a word is cited: the nominative, or no case (verbs, adverbs)."""
_ENGLISH_FIXES: Final = {"gone": "go"}
"""Forms the English lemmatiser's data gets wrong (it gives ``gone`` the lemma ``gan``)."""
_RU_ONLY: Final = frozenset("ыэъ")
_CANON_APOSTROPHE: Final = "\u02bc"


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _clean(lemma: str) -> str:
    """A lemma as an index term: folded like a token, letters and digits only."""
    lemma = lemma.casefold().replace("ё", "е").replace("'", _CANON_APOSTROPHE)
    lemma = lemma.replace("\u2019", _CANON_APOSTROPHE)
    if lemma.isalnum():
        return lemma
    return "".join(ch for ch in lemma if ch.isalnum())


class Lemmatizer:
    """Maps a folded token (see ``normalize.fold_token``) to its frozenset of lemmas."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._morph: dict[str, Any] = {}
        self._dictionary_unit: type | None = None
        self._simplemma: Any = None

    # -- loading -----------------------------------------------------------------------
    def _analyzer(self, lang: str) -> Any:
        morph = self._morph.get(lang)
        if morph is None:
            with self._lock:
                morph = self._morph.get(lang)
                if morph is None:
                    import pymorphy3
                    from pymorphy3.units.by_lookup import DictionaryAnalyzer

                    morph = pymorphy3.MorphAnalyzer(lang=lang)
                    self._dictionary_unit = DictionaryAnalyzer
                    self._morph[lang] = morph
        return morph

    def _english(self) -> Any:
        if self._simplemma is None:
            with self._lock:
                if self._simplemma is None:
                    import simplemma

                    self._simplemma = simplemma
        return self._simplemma

    def load(self) -> None:
        """Load every dictionary now (e.g. before forking workers)."""
        self._analyzer("uk")
        self._analyzer("ru")
        self._english().lemmatize("loaded", lang="en")

    # -- lemmas ------------------------------------------------------------------------
    def lemmas(self, folded: str, mode: str = MODE_BOTH) -> frozenset[str]:
        """The lemma set of one folded token in a text of the given mode."""
        if not folded:
            return frozenset()
        if not folded.isalpha():
            # numbers and letter-digit codes (``g7``, ``19``) are their own lemma
            return frozenset((folded,))
        if any(_is_cyrillic(ch) for ch in folded):
            return self._cyrillic(folded, mode)
        return self._latin(folded)

    def query_lemmas(self, folded: str) -> frozenset[str]:
        """The lemmas a query word stands for: of its lemma set (``MODE_BOTH``), the lemmas
        it is a cited form of when a dictionary knows it.

        A user types a word in its nominative (or infinitive) form: ``київ`` means the city,
        not the genitive plural of ``кий``, while ``діти`` keeps both of its nominative
        readings (``дитина`` and the verb ``діти``) and ``атаки`` both ``атака`` and the
        plural-only ``атаки``. A word in an oblique case only (``києві``), and a word no
        dictionary knows (``шахеди``), keep the whole union of their parses."""
        everything = self.lemmas(folded, MODE_BOTH)
        if len(everything) < 2 or not folded.isalpha():
            return everything
        if not any(_is_cyrillic(ch) for ch in folded):
            return everything
        word = folded.replace(_CANON_APOSTROPHE, "'")
        cited: set[str] = set()
        for lang in self._languages(folded, MODE_BOTH):
            morph = self._analyzer(lang)
            if not morph.word_is_known(word):
                continue
            for parse in morph.parse(word):
                stack = parse.methods_stack
                if len(stack) == 1 and type(stack[0][0]) is self._dictionary_unit:
                    if parse.tag.case in _CITED_CASES:
                        cited.add(_clean(parse.normal_form))
        cited &= everything
        return frozenset(cited) if cited else everything

    def _latin(self, folded: str) -> frozenset[str]:
        """English lemmas: the lemmatiser's, and its lemma of that lemma (``defences`` →
        ``defence`` → ``defense``, which is what ``defence`` gives); a word it does not know
        in lower case is also tried capitalised (``ukrainians`` → ``Ukrainian``)."""
        word = folded.replace(_CANON_APOSTROPHE, "'")
        lemmatize = self._english().lemmatize
        first = _ENGLISH_FIXES.get(word) or str(lemmatize(word, lang="en"))
        found = {first, str(lemmatize(first, lang="en"))}
        if first == word:
            found.add(str(lemmatize(word.capitalize(), lang="en")))
        cleaned = frozenset(lemma for lemma in map(_clean, found) if lemma)
        return cleaned or frozenset((folded,))

    def _languages(self, folded: str, mode: str) -> tuple[str, ...]:
        letters = set(folded)
        if letters & _UK_ONLY:
            return ("uk",)
        if letters & _RU_ONLY:
            return ("ru",)
        if mode == MODE_RU:
            return ("ru", "uk")
        return ("uk", "ru")

    def _cyrillic(self, folded: str, mode: str) -> frozenset[str]:
        langs = self._languages(folded, mode)
        word = folded.replace(_CANON_APOSTROPHE, "'")
        known: set[str] = set()
        guessed: set[str] = set()
        for lang in langs:
            morph = self._analyzer(lang)
            parses = morph.parse(word)
            if morph.word_is_known(word):
                for parse in parses:
                    stack = parse.methods_stack
                    if len(stack) == 1 and type(stack[0][0]) is self._dictionary_unit:
                        known.add(_clean(parse.normal_form))
                if known and mode != MODE_BOTH:
                    break
            else:
                guessed.update(_clean(parse.normal_form) for parse in parses)
        result = known or guessed
        result.discard("")
        return frozenset(result) if result else frozenset((folded,))
