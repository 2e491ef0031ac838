"""Settings: a TOML file read with `tomllib`, validated by pydantic, secrets from the environment.

The environment wins over the file for secrets: `CHANWATCH_BOT_TOKEN`, `CHANWATCH_API_ID`,
`CHANWATCH_API_HASH`, `CHANWATCH_SESSION`. Every mistake becomes one `ConfigError` line that
names the file, the key path and what is expected; secrets are never part of a message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError
from bot.models import is_valid_username, username_from_link

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "CHANWATCH_CONFIG"

ENV_BOT_TOKEN = "CHANWATCH_BOT_TOKEN"
ENV_API_ID = "CHANWATCH_API_ID"
ENV_API_HASH = "CHANWATCH_API_HASH"
ENV_SESSION = "CHANWATCH_SESSION"


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"must be a positive integer, got {_short_repr(value)}")
    return value


def _non_negative_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be zero or a positive integer, got {_short_repr(value)}")
    return value


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]
Flag = Annotated[bool, Field(strict=True)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    """`[bot]`: the aiogram bot that takes subscriptions and sends alerts."""

    enabled: Flag = True
    token: SecretStr | None = None
    api_base_url: NonEmptyStr = "https://api.telegram.org"
    admins: list[Annotated[int, Field(strict=True)]] = Field(default_factory=list)
    allowed_users: list[Annotated[int, Field(strict=True)]] = Field(default_factory=list)
    allowed_chats: list[Annotated[int, Field(strict=True)]] = Field(default_factory=list)


class StorageSettings(_Section):
    """`[storage]`: the SQLite archive."""

    path: NonEmptyStr = "chanwatch.db"
    busy_timeout_ms: PositiveInt = 5000


class CatchUpSettings(_Section):
    """`[telegram.catchup]`: fetching what live updates missed, within a request budget."""

    requests_per_minute: PositiveInt = 20
    max_interval_seconds: PositiveInt = 3600
    min_interval_seconds: PositiveInt = 60
    recheck_recent: Annotated[NonNegativeInt, Field(le=100)] = 30
    recheck_max_age_hours: PositiveInt = 48
    flood_sleep_max_seconds: NonNegativeInt = 30


class TelegramSettings(_Section):
    """`[telegram]`: the Telethon user-account listener."""

    enabled: Flag = True
    api_id: PositiveInt | None = None
    api_hash: SecretStr | None = None
    session: NonEmptyStr = "chanwatch.session"
    session_string: SecretStr | None = None
    join_channels: Flag = True
    catchup: CatchUpSettings = Field(default_factory=CatchUpSettings)


class WebSettings(_Section):
    """`[web]`: polling the public t.me/s/<channel> preview (no account needed)."""

    enabled: Flag = False
    base_url: NonEmptyStr = "https://t.me"
    interval_seconds: PositiveInt = 60
    requests_per_minute: PositiveInt = 30
    timeout_seconds: Annotated[float, Field(gt=0)] = 20.0
    max_pages: PositiveInt = 10
    max_backoff_seconds: PositiveInt = 3600


class DeliverySettings(_Section):
    """`[delivery]`: how alerts are sent (Telegram's limits, retries, age)."""

    private_per_second: Annotated[float, Field(gt=0)] = 1.0
    group_per_minute: Annotated[float, Field(gt=0)] = 20.0
    global_per_second: Annotated[float, Field(gt=0)] = 30.0
    max_attempts: PositiveInt = 8
    stale_claim_seconds: PositiveInt = 60
    max_post_age_hours: PositiveInt = 24


class ChannelEntry(_Section):
    """One `[[channels]]` entry: always watched while it is in the file."""

    username: str
    source: Literal["telegram", "web"] = "telegram"

    @field_validator("username", mode="before")
    @classmethod
    def _clean_username(cls, value: object) -> object:
        if isinstance(value, str):
            value = username_from_link(value)
            if not is_valid_username(value):
                raise ValueError(
                    "must be a public channel username (5-32 letters, digits or _, "
                    f"starting with a letter), got {value!r}"
                )
        return value


class Settings(_Section):
    """All of chanwatch's settings."""

    bot: BotSettings = Field(default_factory=BotSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    channels: list[ChannelEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_channels(self) -> Settings:
        seen: set[str] = set()
        for index, channel in enumerate(self.channels):
            key = channel.username.lower()
            if key in seen:
                raise ValueError(
                    f"channels[{index}].username: {channel.username!r} is listed twice"
                )
            seen.add(key)
        return self

    # --- channel sources ----------------------------------------------------------------
    def source_enabled(self, source: str) -> bool:
        """Whether the part that reads channels of this source (`telegram`, `web`) is on."""
        return bool({"telegram": self.telegram.enabled, "web": self.web.enabled}[source])

    @property
    def default_source(self) -> str:
        """The source of a channel named without one: the listener when it is enabled."""
        return "telegram" if self.telegram.enabled else "web"

    # --- what the parts need, as one clear line each -------------------------------
    def missing_for_run(self) -> list[str]:
        """What an enabled part lacks to start, each naming the key and the variable."""
        missing: list[str] = []
        if self.bot.enabled and self.bot.token is None:
            missing.append(
                f"bot.token is not set: put it in the config file or set {ENV_BOT_TOKEN} "
                "(or set bot.enabled = false to run without alerts)"
            )
        if self.telegram.enabled:
            missing.extend(self.missing_for_telegram())
        return missing

    def missing_for_telegram(self) -> list[str]:
        """What the Telegram account's client lacks, whether or not the listener is enabled."""
        missing: list[str] = []
        if self.telegram.api_id is None:
            missing.append(
                f"telegram.api_id is not set: put it in the config file or set {ENV_API_ID} "
                "(get it at my.telegram.org; or set telegram.enabled = false)"
            )
        if self.telegram.api_hash is None:
            missing.append(
                "telegram.api_hash is not set: put it in the config file or set "
                f"{ENV_API_HASH} (or set telegram.enabled = false)"
            )
        if self.telegram.session_string is None and not Path(self.telegram.session).exists():
            missing.append(
                f"no Telegram session: run `chanwatch login` to create {self.telegram.session}, "
                f"or set {ENV_SESSION} to a StringSession"
            )
        return missing


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay secrets from the environment (the environment wins over the file)."""
    data = dict(raw)
    overrides: list[tuple[str, str, str, bool]] = [
        (ENV_BOT_TOKEN, "bot", "token", False),
        (ENV_API_ID, "telegram", "api_id", True),
        (ENV_API_HASH, "telegram", "api_hash", False),
        (ENV_SESSION, "telegram", "session_string", False),
    ]
    for env_name, section, key, numeric in overrides:
        value = environ.get(env_name, "").strip()
        if not value:
            continue
        sect = data.get(section, {})
        if not isinstance(sect, dict):
            continue  # validation reports the wrong section type
        sect = dict(sect)
        if numeric:
            if not value.isdigit():
                raise ConfigError(f"{env_name}: must be a positive integer, got {value!r}")
            sect[key] = int(value)
        else:
            sect[key] = value
        data[section] = sect
    return data


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path


_SECRET_KEYS = {"token", "api_hash", "session_string"}


def _describe(error: Mapping[str, Any]) -> str:
    """One line for the first pydantic error: what is expected and what was given."""
    kind = error["type"]
    loc = tuple(error["loc"])
    given = error.get("input")
    secret = bool(loc) and loc[-1] in _SECRET_KEYS
    shown = "<hidden>" if secret else _short_repr(given)
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "is required"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be an integer, got {shown}"
    if kind in {"greater_than", "greater_than_equal"} and isinstance(given, int):
        bound = error.get("ctx", {})
        if bound.get("gt") == 0 or bound.get("ge") == 1:
            return f"must be a positive integer, got {shown}"
        return f"must be at least {bound.get('ge', bound.get('gt'))}, got {shown}"
    if kind == "less_than_equal":
        return f"must be at most {error.get('ctx', {}).get('le')}, got {shown}"
    if kind in {"bool_type", "bool_parsing"}:
        return f"must be true or false, got {shown}"
    if kind in {"string_type", "string_too_short"}:
        return f"must be a non-empty string, got {shown}"
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected')}, got {shown}"
    if kind in {"list_type"}:
        return f"must be a list, got {shown}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"must be a table, got {shown}"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{error['msg'].lower()}, got {shown}"


def _short_repr(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return '"' + text.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def parse_settings(
    raw: Mapping[str, Any], *, source: str = "config", environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate a parsed TOML mapping (plus environment secrets) into `Settings`."""
    env = os.environ if environ is None else environ
    data = _apply_environment(dict(raw), env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _location(tuple(first["loc"]))
        message = _describe(first)
        if first["type"] == "value_error" and message.startswith("channels["):
            raise ConfigError(f"{source}: {message}") from None
        where = f"{loc}: " if loc else ""
        raise ConfigError(f"{source}: {where}{message}") from None


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """`--config`, else `$CHANWATCH_CONFIG`, else `./config.toml`."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_settings(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read and validate the config file; `ConfigError` (exit 2) on any problem."""
    config_path = resolve_config_path(path)
    name = str(config_path)
    try:
        text = config_path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{name}: config file not found; copy config.example.toml to {name} "
            f"(or pass --config PATH, or set {CONFIG_ENV})"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not valid UTF-8 at byte {exc.start}") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: invalid TOML: {exc}") from None
    return parse_settings(raw, source=name, environ=environ)
