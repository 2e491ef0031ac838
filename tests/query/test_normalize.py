"""The normaliser: tokens, offsets, folding, hyphens, FTS terms, lazy dictionaries."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys

from bot.query import NORMALIZER_VERSION, get_normalizer
from bot.query.normalize import TOKEN_RE, Normalizer, fold_token, split_words, text_mode
from tests.query.conftest import load_cases


def test_tokens_keep_offsets_into_the_original_text() -> None:
    text = "«Шахеди»,  об’єкти і ДРОНИ!"
    tokens = get_normalizer().analyse(text).tokens
    assert [t.text for t in tokens] == ["Шахеди", "об’єкти", "і", "ДРОНИ"]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert [t.folded for t in tokens] == ["шахеди", "обʼєкти", "і", "дрони"]


def test_folding_rules() -> None:
    assert fold_token("Всё") == "все"  # case folding, ё -> е
    assert fold_token("об'єкт") == fold_token("об’єкт") == fold_token("обʼєкт") == "обʼєкт"
    assert fold_token("ｓａｎｃｔｉｏｎｓ") == "sanctions"  # NFKC
    assert fold_token("по\u0301мста") == "помста"  # stress mark dropped
    assert fold_token("Kиїв") == "київ"  # Latin K in a Cyrillic word
    assert fold_token("Kyiv") == "kyiv"  # a Latin word stays Latin
    assert fold_token("Рutin") == "putin"  # Cyrillic Р in a Latin word


def test_punctuation_splits_and_apostrophes_only_inside_words() -> None:
    words = [w for _, _, w in split_words("'цитата' про об'єкт, U.S. та V_Zelenskiy")]
    assert words == ["цитата", "про", "обʼєкт", "u", "s", "та", "v", "zelenskiy"]


def test_hyphenated_word_is_its_adjacent_parts() -> None:
    analysis = get_normalizer().analyse("увага дронам-перехоплювачам")
    assert analysis.folded == ["увага", "дронам", "перехоплювачам"]
    assert "дрон" in analysis.lemmas[1] and "перехоплювач" in analysis.lemmas[2]


def test_text_mode_by_language_only_letters() -> None:
    assert text_mode("Україна і Європа") == "uk"
    assert text_mode("Всё решено, объявлено") == "ru"
    assert text_mode("drones") == "both"


def test_index_terms_are_single_fts5_tokens() -> None:
    normalizer = get_normalizer()
    text = "Пошкоджено об’єкти, «шахеди» та Kиїв; 19-й пакет, children's drones"
    terms = normalizer.index_terms(text)
    assert {"обʼєкти", "обʼєкт", "шахеди", "шахед", "київ", "19", "drone"} <= set(terms)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 0')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t(x) VALUES (?)", (" ".join(terms),))
    tokens = [row[0] for row in db.execute("SELECT term FROM v ORDER BY offset")]
    assert tokens == terms


def test_index_terms_accept_an_analysis() -> None:
    normalizer = get_normalizer()
    analysis = normalizer.analyse("санкціях")
    assert normalizer.index_terms(analysis) == normalizer.index_terms("санкціях")
    assert normalizer.index_terms("санкціях") == ["санкціях", "санкція"]


def test_normalizer_version_is_an_int() -> None:
    assert isinstance(NORMALIZER_VERSION, int) and NORMALIZER_VERSION >= 1


def test_importing_the_engine_loads_no_dictionary() -> None:
    code = (
        "import sys, bot.query, bot.commands.match, bot.commands.check_query\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('pymorphy3', 'simplemma', 'aiogram', 'telethon', 'aiosqlite', 'storage')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_analysis_tokens_equal_the_token_regex() -> None:
    # analyse folds whitespace-separated chunks (cached); that must give the tokens of
    # TOKEN_RE over the whole text, with the same spans
    rng = random.Random(5)
    pool = (
        "ab Яз ії 7½ ___ '’ʼ -–— .,:;!?«»\"()[]{}…“”„/ \t\n\u00a0\u2009\u3000\x1c"
        "\u0301\u0483\u00ad\u200c\u200d\u200b ٣ ² Ⅻ 你 ß é ǅ"
    )
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    texts += [text.replace("_", "") for text in texts]
    texts += [case["text"] for case in load_cases()["posts"]]
    normalizer = Normalizer()
    for text in texts:
        kept = [m for m in TOKEN_RE.finditer(text) if fold_token(m.group())]
        analysis = normalizer.analyse(text)
        assert analysis.folded == [fold_token(m.group()) for m in kept], text
        assert analysis.spans == [m.span() for m in kept], text
