"""A QUERY that starts with `-` is the query, not an unknown option (`bot.cli.query_argv`)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main, query_argv

NEEDS_POSITIVE = "a query needs at least one positive term at column 1"


@pytest.fixture
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "x"}\n'))


@pytest.mark.parametrize("query", ["-шахед", "-channel:x", "-/re/", "-Witkoff~", "-drone"])
@pytest.mark.parametrize("command", ["match", "check-query", "search"])
def test_a_negative_only_query_is_the_query_error_not_a_usage_error(
    command: str, query: str, no_stdin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, query]) == 2
    captured = capsys.readouterr()
    assert captured.err == NEEDS_POSITIVE + "\n"
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["match", "-шахед", "--input", "{posts}"],
        ["match", "--input", "{posts}", "-шахед"],
        ["match", "-i", "{posts}", "-шахед", "--explain"],
        ["match", "--input={posts}", "-шахед"],
        ["match", "--inp", "{posts}", "-шахед"],  # an abbreviation stays an option
        ["match", "--", "-шахед"],
        ["check-query", "-шахед", "--json"],
        ["check-query", "--json", "-шахед"],
        ["--debug", "check-query", "-шахед"],
        ["search", "-ППО", "--limit", "5", "--config", "{absent}"],
        ["search", "--limit", "5", "-ППО"],
        ["search", "--config={absent}", "-ППО"],
        ["export", "-ППО", "--format", "csv", "--config", "{absent}"],
    ],
)
def test_a_dash_query_beside_options(
    argv: list[str], tmp_path: Path, no_stdin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"text": "шахед"}\n', encoding="utf-8")
    names = {"posts": str(posts), "absent": str(tmp_path / "absent.toml")}
    status = main([arg.format(**names) for arg in argv])
    err = capsys.readouterr().err
    assert status == 2
    # check-query --json also prints the error as JSON on stdout; the stderr line is the same
    assert err.splitlines()[-1] == NEEDS_POSITIVE and (
        len(err.splitlines()) == 1 or "--debug" in argv
    )


def test_a_query_inside_a_longer_one_still_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"id": "a", "text": "шахед"}\n{"id": "b", "text": "дрон"}\n', encoding="utf-8"
    )
    assert main(["match", "-i", str(posts), "дрон OR шахед -дрон"]) == 0
    assert capsys.readouterr().out == "a\nb\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["match", "-шахед", "--input", "f"], ["match", "--input", "f", "--", "-шахед"]),
        (["match", "-шахед", "-i", "-"], ["match", "-i", "-", "--", "-шахед"]),
        (["match", "-x", "y"], ["match", "--", "-x", "y"]),  # order kept: `y` is left over
        (["match", "-x", "--", "-y"], ["match", "--", "-x", "-y"]),
        (["--debug", "search", "-x", "--json"], ["--debug", "search", "--json", "--", "-x"]),
        (["search", "--limit", "-5", "-x"], ["search", "--limit", "-5", "--", "-x"]),
    ],
)
def test_query_argv_moves_a_dash_query_behind_double_dash(
    argv: list[str], expected: list[str]
) -> None:
    assert query_argv(build_parser(), argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["match", "шахед", "--input", "f"],
        ["match", "--", "-шахед"],
        ["match", "-h"],
        ["match", "-ifile", "q"],  # -i with its value attached, as argparse reads it
        ["match", "q", "-ifile"],
        ["match", "q", "--explian"],  # an unknown long option is left for argparse to report
        ["search", "x", "--limit", "-5"],  # -5 is the value of --limit, not a query
        ["search", "--limit", "-ППО", "x"],  # the value of --limit, however odd
        ["backfill", "-x"],  # a command without a QUERY
        ["--debug"],
        [],
    ],
)
def test_query_argv_leaves_everything_else_alone(argv: list[str]) -> None:
    assert query_argv(build_parser(), argv) == argv


def test_a_negative_limit_is_still_an_error_of_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["search", "шахед", "--limit", "-5", "--config", str(tmp_path / "absent.toml")]
    assert main(argv) == 2
    assert capsys.readouterr().err == "--limit: must be a positive integer, got -5\n"


def test_an_option_typo_is_still_argparse_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["match", "шахед", "--explian"])
    assert info.value.code == 2
    assert "unrecognized arguments: --explian" in capsys.readouterr().err


def test_help_names_the_dash_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["match", "-h"])
    assert "it may start with -" in " ".join(capsys.readouterr().out.split())
