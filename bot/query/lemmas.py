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
_RU_ONLY: Final = frozenset("ыэъ")
_NAME_TAGS: Final = frozenset(("Name", "Surn", "Patr"))
"""Grammemes of personal names: ``ніколи`` is not a plural of ``Нікола``."""
_ENGLISH_FIXES: Final = {"gone": "go"}
"""Forms the English lemmatiser's data gets wrong (it gives ``gone`` the lemma ``gan``)."""
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
        """The lemmas a query word stands for.

        A word that is itself a lemma means that lemma (``київ`` is the city, not the
        genitive plural of ``кий``; ``день`` is not the imperative of ``деть``), and also
        each lemma it is the nominative plural of, except personal names: ``атаки``
        (plural-only noun) is also ``атака``, ``діти`` (a verb) also ``дитина``, ``кроки``
        also ``крок``, but ``ніколи`` is not a plural of ``Нікола``. Any other
        word, typed in an oblique case (``перемогу``, ``влади``) or unknown to the
        dictionaries (``шахеди``), keeps the whole union of its parses."""
        everything = self.lemmas(folded, MODE_BOTH)
        if folded not in everything or len(everything) < 2:
            return everything
        word = folded.replace(_CANON_APOSTROPHE, "'")
        meant: set[str] = set()
        itself = False  # a dictionary, not a guess, has the word as a lemma
        for lang in self._languages(folded, MODE_BOTH):
            morph = self._analyzer(lang)
            if not morph.word_is_known(word):
                continue
            parses = [
                parse
                for parse in morph.parse(word)
                if len(parse.methods_stack) == 1
                and type(parse.methods_stack[0][0]) is self._dictionary_unit
            ]
            itself = itself or any(_clean(parse.normal_form) == folded for parse in parses)
            meant.update(
                _clean(parse.normal_form)
                for parse in parses
                if parse.tag.case == "nomn"
                and parse.tag.number == "plur"
                and not _NAME_TAGS & parse.tag.grammemes
            )
        if not itself:
            return everything
        return frozenset((meant | {folded}) & everything)

    def _latin(self, folded: str) -> frozenset[str]:
        """English lemmas: the lemmatiser's lemma and the word itself, so that spelling
        variants it maps apart still meet (``defences`` → ``defence``, ``defence`` →
        ``defense``); a word it does not know in lower case is also tried capitalised
        (``ukrainians`` → ``Ukrainian``)."""
        word = folded.replace(_CANON_APOSTROPHE, "'")
        lemmatize = self._english().lemmatize
        first = _ENGLISH_FIXES.get(word) or str(lemmatize(word, lang="en"))
        found = {first, word}
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
