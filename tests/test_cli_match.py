"""`chanwatch match` and `chanwatch check-query`: in-process through run(), and one real run."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands import check_query, match
from bot.errors import UsageError
from bot.query import QueryError

REPO = Path(__file__).resolve().parents[1]


def _posts(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _run_match(query: str, path: str | None, explain: bool = False) -> int:
    return match.run(argparse.Namespace(query=query, input=path, explain=explain))


def test_prints_ids_as_given_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _posts(
        tmp_path,
        json.dumps({"id": "chan/2", "channel": "chan", "text": "санкції"}, ensure_ascii=False),
        "",
        json.dumps({"id": 17, "text": "Нові санкції"}, ensure_ascii=False),
        json.dumps({"text": "нічого"}, ensure_ascii=False),
        json.dumps({"text": "санкціях"}, ensure_ascii=False),
        json.dumps({"id": 1.5, "text": "санкцій"}, ensure_ascii=False),
    )
    assert _run_match("санкції", path) == 0
    assert capsys.readouterr().out == "chan/2\n17\n5\n1.5\n"


def test_no_match_is_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_match("шахед", _posts(tmp_path, '{"text": "нічого"}')) == 0
    assert capsys.readouterr().out == ""


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": "a", "text": "drones"}\n'))
    assert _run_match("drone", None) == 0
    assert capsys.readouterr().out == "a\n"


def test_channel_of_a_post_becomes_its_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _posts(
        tmp_path,
        '{"id": "a", "channel": "Some_Channel", "text": "x"}',
        '{"id": "b", "channel": -1001234567, "text": "x"}',
        '{"id": "c", "text": "x"}',
    )
    assert _run_match("channel:some_channel OR channel:1234567", path) == 0
    assert capsys.readouterr().out == "a\nb\n"


def test_explain_shows_words_and_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _posts(tmp_path, '{"id": "p", "text": "У Києві діють санкції"}')
    assert _run_match("санкції Kyiv~", path, explain=True) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "p"
    assert "«Києві» [2:7] <- Kyiv~: name variant" in lines[1]
    assert "«санкції» [14:21] <- санкції: lemma (lemma санкція)" in lines[2]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "posts.jsonl: line 2: invalid JSON: "),
        ('{"id": 1}', 'posts.jsonl: line 2: missing "text"'),
        ('["text"]', "posts.jsonl: line 2: expected a JSON object"),
        ('{"text": 5}', 'posts.jsonl: line 2: "text" must be a string'),
    ],
)
def test_malformed_line_is_a_usage_error_naming_it(tmp_path: Path, line: str, message: str) -> None:
    path = _posts(tmp_path, '{"text": "a"}', line)
    with pytest.raises(UsageError) as info:
        _run_match("a", path)
    assert str(info.value).endswith(message) or message in str(info.value)
    assert info.value.exit_code == 2


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        _run_match("a", str(tmp_path / "absent.jsonl"))


def test_invalid_query_raises_query_error(tmp_path: Path) -> None:
    with pytest.raises(QueryError) as info:
        _run_match('санкції "ударні', _posts(tmp_path, '{"text": "a"}'))
    assert str(info.value) == "unclosed quote at column 9" and info.value.exit_code == 2


def test_check_query_prints_the_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_query.run(argparse.Namespace(query="санкції -шахед", json=False)) == 0
    assert capsys.readouterr().out.strip() == (
        "ALL(word «санкції» [lemmas: санкція], NOT word «шахед» [lemmas: шахед])"
    )
    with pytest.raises(QueryError, match="at least one positive term at column 1"):
        check_query.run(argparse.Namespace(query="-шахед", json=False))


def test_check_query_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_query.run(argparse.Namespace(query="=неба", json=True)) == 0
    assert json.loads(capsys.readouterr().out) == {
        "valid": True, "query": "=неба", "description": "exact «неба»"
    }  # fmt: skip
    assert check_query.run(argparse.Namespace(query="a OR", json=True)) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["valid"] is False and payload["column"] == 5
    assert payload["reason"] == "expected a term after OR"


def test_register_adds_the_commands() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    match.register(sub)
    check_query.register(sub)
    args = parser.parse_args(["match", "q", "--input", "f", "--explain"])
    assert (args.query, args.input, args.explain, args.run) == ("q", "f", True, match.run)
    args = parser.parse_args(["check-query", "q", "--json"])
    assert args.run is check_query.run and args.json


@pytest.mark.skipif(not (REPO / "bot" / "cli.py").exists(), reason="bot/cli.py not written yet")
def test_real_cli_run_over_the_labelled_corpus(corpus_dir: Path) -> None:
    base = corpus_dir / "zelensky"
    dev = json.loads((base / "match_dev.json").read_text(encoding="utf-8"))
    posts = base / dev["posts_file"]
    for case in dev["queries"]:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "match", case["query"], "--input", str(posts)],
            capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == case["expect"], case["query"]
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "match", '"unclosed'],
        capture_output=True, text=True, cwd=REPO, check=False, input="",
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip() == "unclosed quote at column 1"


def test_numeric_ids_print_as_their_json_source_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _posts(
        tmp_path,
        '{"id": 1.50, "text": "шахед"}',
        '{"id": 1e3, "text": "шахед"}',
        '{"id": -0, "text": "шахед"}',
        '{"id": -1.0E+2, "text": "шахед"}',
        '{"id": 12345678901234567890123, "text": "шахед"}',
        '{"id": null, "text": "шахед"}',
    )
    assert _run_match("шахед", path) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1.50", "1e3", "-0", "-1.0E+2", "12345678901234567890123", "6"
    ]  # fmt: skip


def test_a_string_id_with_a_line_break_or_control_character_is_json_encoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _posts(
        tmp_path,
        '{"id": "n\\nl", "text": "шахед"}',
        '{"id": "tab\\there", "text": "шахед"}',
        '{"id": "ls\\u2028ps\\u2029nel\\u0085", "text": "шахед"}',
        '{"id": "канал/1 «x» \\"q\\"", "text": "шахед"}',
        '{"id": "", "text": "шахед"}',
    )
    assert _run_match("шахед", path) == 0
    assert capsys.readouterr().out.split("\n") == [
        '"n\\nl"',
        '"tab\\there"',
        '"ls\\u2028ps\\u2029nel\\u0085"',
        'канал/1 «x» "q"',
        '""',  # not an empty line
        "",
    ]


@pytest.mark.parametrize("bad_id", ['{"k": 1}', "[1]", "true", "false"])
def test_an_id_that_is_not_a_string_or_number_is_an_error_after_earlier_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_id: str
) -> None:
    path = _posts(
        tmp_path,
        '{"id": "first", "text": "шахед"}',
        f'{{"id": {bad_id}, "text": "нічого"}}',
        '{"id": "third", "text": "шахед"}',
    )
    assert main(["match", "шахед", "--input", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == "first\n"
    assert captured.err == f"{path}: line 2: id must be a string or a number\n"


def _stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


NOT_UTF8 = '{"id": "a", "text": "шахед"}\n'.encode() + b'{"id": "b", "text": "\xff"}\n'


def test_a_line_that_is_not_utf8_is_named_after_earlier_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(NOT_UTF8)
    assert main(["match", "шахед", "--input", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "a\n"
    assert captured.err == f"{path}: line 2: not UTF-8 text\n"


def test_stdin_that_is_not_utf8_is_an_error_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin_bytes(monkeypatch, NOT_UTF8)
    assert main(["match", "шахед"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "a\n"
    assert captured.err == "<stdin>: line 2: not UTF-8 text\n"


def test_a_byte_order_mark_at_the_start_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"\xef\xbb\xbf" + '{"id": "bom", "text": "шахед"}\r\n{"text": "шахед"}\n'.encode()
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data)
    assert _run_match("шахед", str(path)) == 0
    assert capsys.readouterr().out == "bom\n2\n"
    _stdin_bytes(monkeypatch, data)
    assert _run_match("шахед", None) == 0
    assert capsys.readouterr().out == "bom\n2\n"
    # only at the start: a BOM further on is part of the line (and not JSON)
    path.write_bytes(b'{"text": "x"}\n\xef\xbb\xbf{"text": "x"}\n')
    with pytest.raises(UsageError, match="line 2: invalid JSON"):
        _run_match("шахед", str(path))


HEAVY = ("pydantic", "aiogram", "telethon", "aiohttp", "asyncio", "ssl", "rich")

_WRAPPER = """
import json, runpy, sys
sys.argv = ["chanwatch", "match", "шахед"]
try:
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    status = exc.code
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv_heavy))
print(json.dumps({"status": status, "loaded": loaded}))
"""


def test_match_imports_nothing_heavy() -> None:
    code = _WRAPPER.replace("sys.argv_heavy", repr(HEAVY))
    result = subprocess.run(
        [sys.executable, "-c", code],
        input='{"id": "p", "text": "шахеди"}\n',
        capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[:-1] == ["p"], result.stderr
    assert json.loads(lines[-1]) == {"status": 0, "loaded": []}


@pytest.mark.parametrize(("query", "column"), [("NOT Kharkiv OR Odesa", 1), ("ППО OR -шахед", 8)])
def test_check_query_explains_why_each_side_of_or_needs_a_positive_term(
    capsys: pytest.CaptureFixture[str], query: str, column: int
) -> None:
    assert main(["check-query", query]) == 2
    assert capsys.readouterr().err == (
        "each side of OR needs a positive term (NOT x OR y would match almost every post) "
        f"at column {column}\n"
    )
