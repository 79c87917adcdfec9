"""Configuration for the CLI and the production server: ``GAMEPAY_*`` variables and ``.env``.

Most settings have an embedded default good enough to try gamepay (a SQLite file under
``./.gamepay``, the local sandbox's credentials). The websocket token secret has none: a server
that anyone could mint player tokens for must not start by accident. ``Settings.problems()``
lists what ``gamepay serve`` refuses (one line per problem, naming the variable and the rule);
``GAMEPAY_ENV=dev`` turns them into warnings, for the demo and the examples: ``Settings.vet()`` is
that rule, the one both ``gamepay serve`` and ``Economy.from_settings`` apply.

Secrets are ``SecretStr``: their values never appear in ``repr``, logs or the text of a
``ConfigError`` (a malformed value is reported by variable name only). A database URL with a
password is shown with the password masked.

```
GAMEPAY_ENV                       production | dev: dev allows demo values (with a warning)
GAMEPAY_DATABASE_URL              sqlite:///.gamepay/gamepay.db | postgresql://user:pw@host/db
GAMEPAY_BUS_URL                   pushes across replicas: unset = LISTEN/NOTIFY on PostgreSQL
                                  (in-process on SQLite) | nats://host:4222 (NATS JetStream)
GAMEPAY_KRYPTOGO_CLIENT_ID        X-Client-ID
GAMEPAY_KRYPTOGO_API_KEY          X-STUDIO-API-KEY (secret)
GAMEPAY_KRYPTOGO_ORIGIN           Origin header (the application's domain)
GAMEPAY_KRYPTOGO_ENV              production | dev: picks the documented base URL
GAMEPAY_KRYPTOGO_BASE_URL         explicit base URL (wins over the env; e.g. a sandbox)
GAMEPAY_KRYPTOGO_TIMEOUT_S        per-request timeout in seconds
GAMEPAY_CALLBACK_SECRET           HMAC secret of signed callbacks (secret, optional)
GAMEPAY_CALLBACK_PUBLIC_URL       the URL KryptoGO posts callbacks to
GAMEPAY_WS_TOKEN_SECRET           HMAC secret of player websocket tokens (secret, >= 32 bytes)
GAMEPAY_WS_TOKEN_KID              optional: the key id (JWT `kid`) of that secret, for rotation
GAMEPAY_WS_TOKEN_OLD_KEYS         optional: kid=secret,... still accepted while a key rotates
GAMEPAY_WS_TOKEN_ISSUER / _AUDIENCE   optional: the `iss` / `aud` player tokens must carry
GAMEPAY_HOST / GAMEPAY_HTTP_PORT  where `gamepay serve` listens (everything, websocket at /ws)
GAMEPAY_WS_PORT                   optional: also a standalone websocket server on this port
GAMEPAY_CATALOG_FILE              JSON file of the shop's catalog (docs/catalog.md)
GAMEPAY_CREATING_TIMEOUT_S        an order with no intent this long after it was written: failed
GAMEPAY_EXPIRY_SWEEP_S            seconds between two sweeps of expired time-limited lots (0: off)
GAMEPAY_RENEWAL_OFFER_S           seconds between two rounds of subscription renewal offers (0: off)
GAMEPAY_WITHDRAWAL_TOKENS         withdrawable tokens: chain:address:symbol:decimals,...
GAMEPAY_WITHDRAWAL_MIN            minimum withdrawal, whole tokens (decimal string)
GAMEPAY_WITHDRAWAL_DAILY_LIMIT    per-player daily withdrawal limit, whole tokens
GAMEPAY_TIME_ZONE                 IANA zone of reward periods and reports
GAMEPAY_ADMIN_TOKEN               optional: the operator console's sign-in token at /admin
                                  (secret, >= 32 bytes; unset: no console, /admin is 404)
GAMEPAY_ADMIN_SESSION_S           how long a console sign-in lasts (seconds)
GAMEPAY_LOG_LEVEL / GAMEPAY_LOG_FORMAT   INFO | DEBUG ... / auto | json | text
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamepay.core.assets import Token
from gamepay.core.money import parse_amount
from gamepay.errors import AmountError, AssetError, ConfigError
from gamepay.kryptogo.wire import BASE_URLS, DEFAULT_BASE_URL, DEV_BASE_URL

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ENV_PREFIX",
    "MIN_ADMIN_TOKEN_BYTES",
    "MIN_WS_TOKEN_SECRET_BYTES",
    "SANDBOX_API_KEY",
    "SANDBOX_CLIENT_ID",
    "Settings",
    "TokenSigning",
    "UnsafeSettings",
    "load_settings",
    "redact_url",
]

ENV_PREFIX = "GAMEPAY_"
"""Every variable gamepay reads starts with this."""

DEFAULT_DATABASE_URL = "sqlite:///.gamepay/gamepay.db"
"""A SQLite file under ``./.gamepay`` (created on first use)."""

MIN_WS_TOKEN_SECRET_BYTES = 32
"""``gamepay serve`` refuses a shorter ``GAMEPAY_WS_TOKEN_SECRET`` (outside ``GAMEPAY_ENV=dev``)."""

MIN_ADMIN_TOKEN_BYTES = 32
"""``gamepay serve`` refuses a shorter ``GAMEPAY_ADMIN_TOKEN`` (the console's sign-in token)."""

SANDBOX_CLIENT_ID = "sandbox-client-id"
"""The local sandbox's client id (the default, so the CLI reaches ``gamepay sandbox`` as is)."""

SANDBOX_API_KEY = "sandbox-api-key"
"""The local sandbox's API key (public: never valid on a real KryptoGO host)."""

# Websocket token secrets published in our own docs and code at some point: never a real secret.
_KNOWN_DEMO_SECRETS = frozenset({"change-me-demo-only", "shared-with-the-game-backend"})
_REAL_HOSTS = frozenset(urlsplit(url).hostname for url in (DEFAULT_BASE_URL, DEV_BASE_URL))
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_MASK = "**********"


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by asterisks (safe to log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:{_MASK}@{host}", parts.path, parts.query, ""))


@dataclass(frozen=True, repr=False)
class TokenSigning:
    """The key that signs player tokens, the old keys still accepted, and the claims checked."""

    secret: str
    kid: str | None = None
    old_keys: Mapping[str, str] = field(default_factory=dict)
    issuer: str | None = None
    audience: str | None = None

    def __repr__(self) -> str:
        return f"TokenSigning(secret=***, kid={self.kid!r}, old_kids={sorted(self.old_keys)})"

    def accepted_keys(self) -> str | dict[str, str]:
        """The keys a server accepts: the secret alone, or every key by its ``kid``."""
        if self.kid is None:
            return self.secret
        return {self.kid: self.secret, **self.old_keys}


class UnsafeSettings(ConfigError):
    """Settings unsafe to serve players with (``Settings.problems()``), outside GAMEPAY_ENV=dev;
    ``problems`` has one line per problem, each naming the variable and the rule."""

    code = "unsafe_settings"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("unsafe settings: " + "; ".join(self.problems))


class Settings(BaseSettings):
    """Every setting of the CLI and server; read from ``GAMEPAY_*`` variables and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )
    _vetted: frozenset[str] = PrivateAttr(default_factory=frozenset)
    """The dev warnings :meth:`vet` already returned (copies made with ``model_copy`` keep it)."""

    env: Literal["production", "dev"] = "production"
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    bus_url: str | None = Field(default=None, repr=False)
    kryptogo_client_id: str = SANDBOX_CLIENT_ID
    kryptogo_api_key: SecretStr = SecretStr(SANDBOX_API_KEY)
    kryptogo_origin: str = "http://localhost"
    kryptogo_env: Literal["production", "dev"] = "production"
    kryptogo_base_url: str = DEFAULT_BASE_URL
    kryptogo_timeout_s: float = Field(default=10.0, gt=0, le=300)
    callback_secret: SecretStr | None = None
    callback_public_url: str | None = None
    ws_token_secret: SecretStr | None = None
    ws_token_kid: str | None = Field(default=None, min_length=1, max_length=128)
    ws_token_old_keys: SecretStr | None = None
    ws_token_issuer: str | None = Field(default=None, min_length=1)
    ws_token_audience: str | None = Field(default=None, min_length=1)
    host: str = "127.0.0.1"
    ws_port: int | None = Field(default=None, ge=0, le=65535)
    http_port: int = Field(default=8080, ge=0, le=65535)
    withdrawal_tokens: str = "arb:0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9:USDT:6"
    catalog_file: Path | None = None
    creating_timeout_s: float = Field(default=3600.0, gt=0)
    rewards_file: Path | None = None
    rewards_tick_s: float = Field(default=60.0, ge=0)
    reconcile_interval_s: float = Field(default=3600.0, ge=0)
    reconcile_window_s: float = Field(default=86400.0, gt=0)
    expiry_sweep_s: float = Field(default=60.0, ge=0)
    renewal_offer_s: float = Field(default=300.0, ge=0)
    withdrawal_min: str = "1"
    withdrawal_daily_limit: str = "1000"
    time_zone: str = "UTC"
    admin_token: SecretStr | None = None
    admin_session_s: float = Field(default=8 * 3600.0, gt=0, le=7 * 86400)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _base_url_from_env(cls, data: Any) -> Any:
        """No explicit base URL: take the documented one of ``kryptogo_env`` (any case)."""
        if not isinstance(data, dict):
            return data
        data = {
            **data,
            **{
                key: data[key].strip().lower()
                for key in ("env", "log_format")
                if isinstance(data.get(key), str)
            },
        }
        if isinstance(data.get("log_level"), str):
            data["log_level"] = data["log_level"].strip().upper()
        env = data.get("kryptogo_env", "production")
        env = env.strip().lower() if isinstance(env, str) else env
        data = {**data, "kryptogo_env": env}
        if data.get("kryptogo_base_url") is None and env in BASE_URLS:
            data["kryptogo_base_url"] = BASE_URLS[env]
        return data  # a bad env is reported by the field's validation, by variable name

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.split("+", 1)[0]
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("bus_url")
    @classmethod
    def _check_bus_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"nats", "tls", "postgresql", "postgres"} or not parts.netloc:
            raise ValueError("must be a nats://host:port (or tls://, postgresql://) URL")
        return value

    @field_validator("kryptogo_base_url", "callback_public_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if parts.path in {"", "/"} else value

    @field_validator("withdrawal_min", "withdrawal_daily_limit")
    @classmethod
    def _check_decimal(cls, value: str) -> str:
        if not _DECIMAL.fullmatch(value):
            raise ValueError("must be a plain decimal string such as 1 or 2.5")
        return value

    @field_validator("withdrawal_tokens")
    @classmethod
    def _check_tokens(cls, value: str) -> str:
        _parse_tokens(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as UTC or Asia/Taipei") from exc
        return value

    def __repr_args__(self) -> Any:
        """Show every field, the database URL with its password masked."""
        yield "database_url", self.safe_database_url
        yield "bus_url", None if self.bus_url is None else redact_url(self.bus_url)
        yield from super().__repr_args__()

    @property
    def real_kryptogo_host(self) -> bool:
        """True when the base URL is one of KryptoGO's own hosts (production or wallet-dev)."""
        return urlsplit(self.kryptogo_base_url).hostname in _REAL_HOSTS

    def ws_token_secret_value(self) -> str:
        """The websocket token secret; ``ConfigError`` naming the variable when it is unset."""
        if self.ws_token_secret is None or not self.ws_token_secret.get_secret_value():
            raise ConfigError(f"{ENV_PREFIX}WS_TOKEN_SECRET is not set: {_SECRET_RULE}")
        return self.ws_token_secret.get_secret_value()

    def admin_token_value(self) -> str | None:
        """The console's sign-in token, or None when unset or empty (no console)."""
        if self.admin_token is None or not self.admin_token.get_secret_value():
            return None
        return self.admin_token.get_secret_value()

    def ws_token_signing(self) -> TokenSigning:
        """How player tokens are signed and checked; ``ConfigError`` naming the variable."""
        return TokenSigning(
            self.ws_token_secret_value(),
            kid=self.ws_token_kid,
            old_keys=self._old_keys(),
            issuer=self.ws_token_issuer,
            audience=self.ws_token_audience,
        )

    def _old_keys(self) -> dict[str, str]:
        """``GAMEPAY_WS_TOKEN_OLD_KEYS`` as ``{kid: secret}``; ConfigError if malformed."""
        name = f"{ENV_PREFIX}WS_TOKEN_OLD_KEYS"
        text = self.ws_token_old_keys.get_secret_value() if self.ws_token_old_keys else ""
        keys: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in text.split(","))):
            kid, sep, secret = entry.partition("=")
            if not sep or not kid or not secret or kid in keys:
                raise ConfigError(f"{name}: each entry is kid=secret with a new kid")
            if len(secret.encode()) < MIN_WS_TOKEN_SECRET_BYTES:
                raise ConfigError(f"{name}: the key {kid!r} is shorter than 32 bytes")
            keys[kid] = secret
        if keys and self.ws_token_kid is None:
            raise ConfigError(f"{name} needs {ENV_PREFIX}WS_TOKEN_KID (the current key's kid)")
        if self.ws_token_kid in keys:
            raise ConfigError(f"{name} repeats {ENV_PREFIX}WS_TOKEN_KID {self.ws_token_kid!r}")
        return keys

    def vet(self) -> list[str]:
        """THE serving rule, for ``gamepay serve`` and ``Economy.from_settings`` alike.

        ``UnsafeSettings`` naming every problem of :meth:`problems`, unless ``GAMEPAY_ENV=dev``:
        then the problems are warnings, returned for the caller to show, each once: a problem
        this object (or a copy of it) was already vetted for is not returned again, so
        ``serve``'s start-up check and the economy it then builds report every warning once.
        """
        problems = self.problems()
        if problems and self.env != "dev":
            raise UnsafeSettings(problems)
        new = [line for line in problems if line not in self._vetted]
        self._vetted = self._vetted | set(new)
        return new

    def problems(self) -> list[str]:
        """What makes these settings unsafe to serve players with: one line per problem.

        Each line names the variable and the rule. ``gamepay serve`` refuses to start on any of
        them, before it touches the database or a port, unless ``GAMEPAY_ENV=dev`` (then they
        are warnings). Pure: reads no file and calls nothing.
        """
        found: list[str] = []
        secret = self.ws_token_secret.get_secret_value() if self.ws_token_secret else ""
        name = f"{ENV_PREFIX}WS_TOKEN_SECRET"
        if not secret:
            found.append(f"{name} is not set: {_SECRET_RULE}")
        elif secret in _KNOWN_DEMO_SECRETS:
            found.append(f"{name} is a demo value printed in gamepay's docs: {_SECRET_RULE}")
        elif len(secret.encode()) < MIN_WS_TOKEN_SECRET_BYTES:
            found.append(
                f"{name} is {len(secret.encode())} bytes, shorter than "
                f"{MIN_WS_TOKEN_SECRET_BYTES}: {_SECRET_RULE}"
            )
        try:
            self._old_keys()
        except ConfigError as exc:
            found.append(str(exc))
        admin = self.admin_token_value() or ""
        if admin and len(admin.encode()) < MIN_ADMIN_TOKEN_BYTES:
            found.append(
                f"{ENV_PREFIX}ADMIN_TOKEN is {len(admin.encode())} bytes, shorter than "
                f"{MIN_ADMIN_TOKEN_BYTES}: use a random token of at least "
                f"{MIN_ADMIN_TOKEN_BYTES} bytes, or unset it to turn the console off"
            )
        if self.real_kryptogo_host:
            where = f"{ENV_PREFIX}KRYPTOGO_BASE_URL is {self.kryptogo_base_url}"
            if self.kryptogo_client_id == SANDBOX_CLIENT_ID:
                found.append(
                    f"{ENV_PREFIX}KRYPTOGO_CLIENT_ID is the sandbox default while {where}: "
                    "set your organization's client id from KryptoGO Studio"
                )
            if self.kryptogo_api_key.get_secret_value() == SANDBOX_API_KEY:
                found.append(
                    f"{ENV_PREFIX}KRYPTOGO_API_KEY is the sandbox default while {where}: "
                    "set your Studio API key"
                )
            if self.callback_public_url is None:
                found.append(
                    f"{ENV_PREFIX}CALLBACK_PUBLIC_URL is not set while {where}: set the public "
                    "https URL KryptoGO can post callbacks to"
                )
        return found

    @property
    def safe_database_url(self) -> str:
        """The database URL with its password masked (for logs and output)."""
        return redact_url(self.database_url)

    @property
    def tokens(self) -> list[Token]:
        """The on-chain tokens players may withdraw (``GAMEPAY_WITHDRAWAL_TOKENS``)."""
        return _parse_tokens(self.withdrawal_tokens)

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.time_zone)

    def withdrawal_min_units(self, decimals: int) -> int:
        """The minimum withdrawal in base units of an asset with ``decimals``."""
        return _units(self.withdrawal_min, decimals, "GAMEPAY_WITHDRAWAL_MIN")

    def withdrawal_daily_limit_units(self, decimals: int) -> int:
        """The per-player daily withdrawal limit in base units of an asset with ``decimals``."""
        return _units(self.withdrawal_daily_limit, decimals, "GAMEPAY_WITHDRAWAL_DAILY_LIMIT")

    def public_view(self) -> dict[str, Any]:
        """Every setting as JSON-ready data, secrets masked (what ``gamepay config`` prints)."""
        view: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = _MASK if value.get_secret_value() else ""
            elif name == "database_url":
                value = self.safe_database_url
            elif name == "bus_url" and value is not None:
                value = redact_url(value)
            view[name] = value
        return view

    def secret_values(self) -> list[str]:
        """The plain values of every secret (for the log redaction filter; never print them)."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        for url in (self.database_url, self.bus_url or ""):
            password = urlsplit(url).password
            if password:
                found.append(password)
        return found


_SECRET_RULE = (
    f"use a random secret of at least {MIN_WS_TOKEN_SECRET_BYTES} bytes "
    "(python -c 'import secrets; print(secrets.token_hex(32))')"
)


def _parse_tokens(value: str) -> list[Token]:
    """``chain:address:symbol:decimals`` entries, comma-separated."""
    tokens = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        fields = entry.split(":")
        if len(fields) != 4 or not fields[3].isdigit():
            raise ValueError("each token must be chain:address:symbol:decimals")
        try:
            tokens.append(Token(fields[0], fields[1], fields[2], int(fields[3])))
        except AssetError as exc:
            raise ValueError(exc.message) from None
    return tokens


def _units(value: str, decimals: int, variable: str) -> int:
    try:
        return parse_amount(value, decimals)
    except AmountError as exc:
        raise ConfigError(f"{variable} does not fit an asset with {decimals} decimals") from exc


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Read the settings from the environment and ``env_file`` (if it exists), then ``overrides``.

    Raises ``ConfigError`` naming each malformed variable; the offending values are never
    repeated (they may be secrets).
    """
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"{ENV_PREFIX}{where.upper()}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
