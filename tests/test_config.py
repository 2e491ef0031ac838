"""Config: every kind of mistake is one line naming the key, and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings, parse_settings
from bot.errors import ConfigError
from tests.conftest import REPO_ROOT

NO_ENV: dict[str, str] = {}


def _run_cli(tmp_path: Path, toml: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    status = main(["run", "--config", str(path)])
    err = capsys.readouterr().err.strip()
    return status, err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[web]\ninterval_seconds = "fast"\n',
            'web.interval_seconds: must be a positive integer, got "fast"',
        ),
        (
            "[web]\ninterval_seconds = -5\n",
            "web.interval_seconds: must be a positive integer, got -5",
        ),
        ("[web]\nintervall = 5\n", "web.intervall: unknown key"),
        ("[webb]\n", "webb: unknown key"),
        ('[telegram]\nenabled = "yes"\n', 'telegram.enabled: must be true or false, got "yes"'),
        (
            '[[channels]]\nusername = "x"\n',
            "channels[0].username: must be a public channel username",
        ),
        (
            '[[channels]]\nusername = "good_name"\nsource = "rss"\n',
            "channels[0].source: must be one of 'telegram' or 'web', got \"rss\"",
        ),
        ('[bot]\nadmins = ["me"]\n', 'bot.admins[0]: must be an integer, got "me"'),
        ("[storage\n", "invalid TOML"),
    ],
)
def test_config_mistakes_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    status, err = _run_cli(tmp_path, toml, capsys)
    assert status == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(str(tmp_path / "config.toml") + ": ")
    assert expected in err


def test_missing_config_file_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["run", "--config", str(tmp_path / "absent.toml")])
    err = capsys.readouterr().err
    assert status == 2
    assert "config file not found" in err and "config.example.toml" in err


def test_missing_credentials_name_key_and_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "CHANWATCH_BOT_TOKEN",
        "CHANWATCH_API_ID",
        "CHANWATCH_API_HASH",
        "CHANWATCH_SESSION",
    ):
        monkeypatch.delenv(name, raising=False)
    status, err = _run_cli(tmp_path, "[telegram]\nenabled = true\n", capsys)
    assert status == 2
    for needed in (
        "bot.token",
        "CHANWATCH_BOT_TOKEN",
        "telegram.api_id",
        "CHANWATCH_API_ID",
        "telegram.api_hash",
        "CHANWATCH_API_HASH",
        "chanwatch login",
        "CHANWATCH_SESSION",
    ):
        assert needed in err
    assert len(err.splitlines()) == 1


def test_environment_wins_over_file_and_secrets_stay_hidden() -> None:
    settings = parse_settings(
        {"bot": {"token": "1:file"}, "telegram": {"api_id": 1, "api_hash": "filehash"}},
        environ={
            "CHANWATCH_BOT_TOKEN": "2:env",
            "CHANWATCH_API_ID": "77",
            "CHANWATCH_API_HASH": "envhash",
            "CHANWATCH_SESSION": "1Aabc",
        },
    )
    assert settings.bot.token is not None and settings.bot.token.get_secret_value() == "2:env"
    assert settings.telegram.api_id == 77
    assert settings.telegram.api_hash is not None
    assert settings.telegram.api_hash.get_secret_value() == "envhash"
    assert settings.telegram.session_string is not None
    assert "envhash" not in repr(settings) and "2:env" not in repr(settings)


def test_secret_of_wrong_type_is_not_printed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"telegram": {"api_hash": 1234567}}, environ=NO_ENV)
    assert "1234567" not in str(info.value)
    assert "telegram.api_hash" in str(info.value)


def test_bad_env_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CHANWATCH_API_ID: must be a positive integer"):
        parse_settings({}, environ={"CHANWATCH_API_ID": "abc"})


def test_duplicate_channel_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"channels\[1\]\.username: 'Chan_A' is listed twice"):
        parse_settings(
            {"channels": [{"username": "chan_a"}, {"username": "Chan_A"}]}, environ=NO_ENV
        )


def test_links_and_at_signs_are_accepted_as_usernames() -> None:
    settings = parse_settings(
        {"channels": [{"username": "@chan_a"}, {"username": "https://t.me/chan_b"}]},
        environ=NO_ENV,
    )
    assert [c.username for c in settings.channels] == ["chan_a", "chan_b"]


def test_example_config_is_valid_and_documents_every_key() -> None:
    settings = load_settings(REPO_ROOT / "config.example.toml", environ=NO_ENV)
    text = (REPO_ROOT / "config.example.toml").read_text(encoding="utf-8")
    for section, model in (
        ("bot", settings.bot),
        ("storage", settings.storage),
        ("telegram", settings.telegram),
        ("web", settings.web),
        ("telegram.catchup", settings.telegram.catchup),
        ("delivery", settings.delivery),
    ):
        for key, field in type(model).model_fields.items():
            if field.annotation is not None and hasattr(field.annotation, "model_fields"):
                assert f"[{section}.{key}]" in text, f"[{section}.{key}] undocumented"
                continue
            assert f"{key} =" in text or f"# {key} =" in text, f"{section}.{key} undocumented"


def test_example_config_runs_with_a_bot_token_alone() -> None:
    path = REPO_ROOT / "config.example.toml"
    without = load_settings(path, environ=NO_ENV).missing_for_run()
    assert len(without) == 1 and without[0].startswith("bot.token is not set")
    settings = load_settings(path, environ={"CHANWATCH_BOT_TOKEN": "123456:ABC"})
    assert settings.missing_for_run() == []
    assert settings.web.enabled and not settings.telegram.enabled
    assert ("V_Zelenskiy_official", "web") in {(c.username, c.source) for c in settings.channels}
    assert all(c.source == "web" for c in settings.channels)  # every starter channel is served


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("[web]\ninterval_seconds = 90\n", encoding="utf-8")
    monkeypatch.setenv("CHANWATCH_CONFIG", str(path))
    assert load_settings(None, environ=NO_ENV).web.interval_seconds == 90
