"""Settings: GAMEPAY_* variables, .env files, validation, and secrets that never leak."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from gamepay.config import (
    DEFAULT_DATABASE_URL,
    Settings,
    UnsafeSettings,
    load_settings,
    redact_url,
)
from gamepay.errors import ConfigError
from gamepay.kryptogo.wire import DEFAULT_BASE_URL, DEV_BASE_URL

SECRET = "sk_live_9f8e7d6c5b4a"
DB_PASSWORD = "pg-pass-31337"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no GAMEPAY_* variable set and in an empty directory."""
    import os

    for name in list(os.environ):
        if name.startswith("GAMEPAY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_need_nothing() -> None:
    """With nothing configured the embedded defaults apply (SQLite file, production base URL)."""
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.kryptogo_base_url == DEFAULT_BASE_URL
    assert settings.time_zone == "UTC"
    assert settings.callback_secret is None


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each GAMEPAY_* variable sets its field, with types converted."""
    monkeypatch.setenv("GAMEPAY_DATABASE_URL", "postgresql://app@db:5432/game")
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_CLIENT_ID", "client-42")
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_BASE_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("GAMEPAY_WS_PORT", "9001")
    monkeypatch.setenv("GAMEPAY_TIME_ZONE", "Asia/Taipei")
    monkeypatch.setenv("GAMEPAY_WITHDRAWAL_MIN", "2.5")
    settings = load_settings()
    assert settings.database_url == "postgresql://app@db:5432/game"
    assert settings.kryptogo_client_id == "client-42"
    assert settings.kryptogo_api_key.get_secret_value() == SECRET
    assert settings.kryptogo_base_url == "http://127.0.0.1:9999"
    assert settings.ws_port == 9001
    assert settings.zone.key == "Asia/Taipei"
    assert settings.withdrawal_min_units(6) == 2_500_000


def test_dotenv_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .env file in the working directory is read; a real variable overrides it."""
    (tmp_path / ".env").write_text(
        "GAMEPAY_KRYPTOGO_ORIGIN=https://game.example\nGAMEPAY_HTTP_PORT=7000\n"
    )
    assert load_settings().kryptogo_origin == "https://game.example"
    monkeypatch.setenv("GAMEPAY_HTTP_PORT", "7100")
    assert load_settings().http_port == 7100


@pytest.mark.parametrize(
    ("env", "url"),
    [("production", DEFAULT_BASE_URL), ("dev", DEV_BASE_URL), (" Dev ", DEV_BASE_URL)],
)
def test_kryptogo_env_picks_the_documented_base_url(
    monkeypatch: pytest.MonkeyPatch, env: str, url: str
) -> None:
    """GAMEPAY_KRYPTOGO_ENV=production|dev (any case) chooses KryptoGO's host."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_ENV", env)
    settings = load_settings()
    assert settings.kryptogo_base_url == url
    assert settings.kryptogo_env == env.strip().lower()
    assert settings.public_view()["kryptogo_env"] == env.strip().lower()


def test_explicit_base_url_wins_over_the_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GAMEPAY_KRYPTOGO_BASE_URL (variable, .env or argument) beats GAMEPAY_KRYPTOGO_ENV."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_ENV", "dev")
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_BASE_URL", "http://127.0.0.1:9999/")
    assert load_settings().kryptogo_base_url == "http://127.0.0.1:9999"
    monkeypatch.delenv("GAMEPAY_KRYPTOGO_BASE_URL")
    assert load_settings(kryptogo_base_url="http://sandbox:1").kryptogo_base_url == (
        "http://sandbox:1"
    )
    (tmp_path / ".env").write_text("GAMEPAY_KRYPTOGO_BASE_URL=http://from-file:2\n")
    assert load_settings().kryptogo_base_url == "http://from-file:2"
    (tmp_path / ".env").write_text("GAMEPAY_KRYPTOGO_ENV=production\n")
    assert load_settings().kryptogo_base_url == DEV_BASE_URL  # the real variable wins
    monkeypatch.delenv("GAMEPAY_KRYPTOGO_ENV")
    assert load_settings().kryptogo_base_url == DEFAULT_BASE_URL


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    """Pointing at an env file that does not exist falls back to defaults."""
    assert load_settings(tmp_path / "nope.env").http_port == Settings().http_port


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GAMEPAY_DATABASE_URL", "mysql://x/y"),
        ("GAMEPAY_WS_PORT", "seventy"),
        ("GAMEPAY_WS_PORT", "70000"),
        ("GAMEPAY_TIME_ZONE", "Mars/Olympus"),
        ("GAMEPAY_WITHDRAWAL_MIN", "1e3"),
        ("GAMEPAY_WITHDRAWAL_DAILY_LIMIT", "-5"),
        ("GAMEPAY_CALLBACK_PUBLIC_URL", "ftp://x"),
        ("GAMEPAY_LOG_FORMAT", "xml"),
        ("GAMEPAY_KRYPTOGO_TIMEOUT_S", "-7.5"),
        ("GAMEPAY_KRYPTOGO_ENV", "staging"),
    ],
)
def test_malformed_values_raise_config_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A malformed variable raises ConfigError naming the variable, not echoing the value."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)
    assert value not in str(info.value).replace(name, "")


def test_withdrawal_limit_finer_than_asset_is_config_error() -> None:
    """A limit with more decimals than the asset has is a ConfigError, not a silent rounding."""
    settings = load_settings(withdrawal_min="0.001")
    with pytest.raises(ConfigError):
        settings.withdrawal_min_units(2)
    assert settings.withdrawal_min_units(6) == 1000


def test_secrets_never_in_repr_str_or_public_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """API key, callback and token secrets and the DB password are masked everywhere shown."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    monkeypatch.setenv("GAMEPAY_CALLBACK_SECRET", SECRET + "-cb")
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_SECRET", SECRET + "-ws")
    monkeypatch.setenv("GAMEPAY_DATABASE_URL", f"postgresql://app:{DB_PASSWORD}@db:5432/game")
    settings = load_settings()
    shown = [repr(settings), str(settings), str(settings.public_view()), settings.safe_database_url]
    for text in shown:
        assert SECRET not in text
        assert DB_PASSWORD not in text
    assert "app:**********@db:5432/game" in settings.safe_database_url
    assert set(settings.secret_values()) >= {SECRET, SECRET + "-cb", SECRET + "-ws", DB_PASSWORD}


def test_secret_never_in_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret set next to (or inside) a malformed value never reaches the error text."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    monkeypatch.setenv("GAMEPAY_WS_PORT", SECRET)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert info.value.__cause__ is None


def test_secrets_never_in_log_output(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Logging the settings object (as a careless operator might) does not leak a secret."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    settings = load_settings()
    with caplog.at_level(logging.INFO, logger="gamepay.test"):
        logging.getLogger("gamepay.test").info("starting with %s / %r", settings, settings)
    assert "starting with" in caplog.text
    assert SECRET not in caplog.text


def test_redact_url_keeps_everything_but_the_password() -> None:
    """redact_url masks only the password; URLs without one are returned unchanged."""
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"
    assert redact_url("postgresql://u:p@h:1/d?sslmode=require") == (
        "postgresql://u:**********@h:1/d?sslmode=require"
    )


def test_default_credentials_are_the_sandboxs() -> None:
    """Out of the box the client credentials are the ones `gamepay sandbox` accepts."""
    from gamepay.sandbox import DEFAULT_API_KEY, DEFAULT_CLIENT_ID

    settings = load_settings(env_file=None)
    assert settings.kryptogo_client_id == DEFAULT_CLIENT_ID
    assert settings.kryptogo_api_key.get_secret_value() == DEFAULT_API_KEY


def test_withdrawal_tokens_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """GAMEPAY_WITHDRAWAL_TOKENS lists chain:address:symbol:decimals entries."""
    monkeypatch.setenv(
        "GAMEPAY_WITHDRAWAL_TOKENS",
        "arb:0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9:USDT:6, "
        "eth:0x6B175474E89094C44Da98b954EedeAC495271d0F:DAI:18",
    )
    tokens = load_settings().tokens
    assert [(t.chain_id, t.symbol, t.decimals) for t in tokens] == [
        ("arb", "USDT", 6),
        ("eth", "DAI", 18),
    ]
    assert tokens[0].id == "token:arb:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"


@pytest.mark.parametrize("value", ["arb:0xabc:USDT", "arb:0xabc:USDT:six", "ARB:0xabc:USDT:6"])
def test_malformed_withdrawal_tokens(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A token entry that does not parse is a ConfigError naming the variable."""
    monkeypatch.setenv("GAMEPAY_WITHDRAWAL_TOKENS", value)
    with pytest.raises(ConfigError, match="GAMEPAY_WITHDRAWAL_TOKENS"):
        load_settings()


def test_bus_url_picks_nats_and_hides_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """GAMEPAY_BUS_URL takes a nats:// URL; its password is masked and redacted like the DB's."""
    assert load_settings().bus_url is None
    monkeypatch.setenv("GAMEPAY_BUS_URL", f"nats://app:{DB_PASSWORD}@nats:4222")
    settings = load_settings()
    assert settings.bus_url == f"nats://app:{DB_PASSWORD}@nats:4222"
    for text in (repr(settings), str(settings), str(settings.public_view())):
        assert DB_PASSWORD not in text
    assert settings.public_view()["bus_url"] == "nats://app:**********@nats:4222"
    assert DB_PASSWORD in settings.secret_values()


@pytest.mark.parametrize("bad", ["redis://localhost:6379", "nats://", "localhost:4222"])
def test_bus_url_must_be_nats_or_postgresql(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    """Any other bus URL is a ConfigError naming the variable."""
    monkeypatch.setenv("GAMEPAY_BUS_URL", bad)
    with pytest.raises(ConfigError, match="GAMEPAY_BUS_URL"):
        load_settings()


GOOD_WS_SECRET = "x" * 32


def test_problems_out_of_the_box_name_each_variable() -> None:
    """Defaults against the production host: no secret, sandbox credentials, no callback URL."""
    problems = load_settings(env_file=None).problems()
    assert [line.split(" ", 1)[0] for line in problems] == [
        "GAMEPAY_WS_TOKEN_SECRET",
        "GAMEPAY_KRYPTOGO_CLIENT_ID",
        "GAMEPAY_KRYPTOGO_API_KEY",
        "GAMEPAY_CALLBACK_PUBLIC_URL",
    ]
    assert all("\n" not in line for line in problems)


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("change-me-demo-only", "demo value"),
        ("shared-with-the-game-backend", "demo value"),
        ("x" * 31, "31 bytes, shorter than 32"),
        ("é" * 16, None),  # 32 bytes in UTF-8: long enough
    ],
)
def test_token_secret_rules(
    monkeypatch: pytest.MonkeyPatch, secret: str, fragment: str | None
) -> None:
    """A demo value or fewer than 32 bytes is a problem (counted in bytes); the value is never
    repeated in the problem's text."""
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_SECRET", secret)
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_BASE_URL", "http://127.0.0.1:9")
    problems = load_settings(env_file=None).problems()
    if fragment is None:
        assert problems == []
        return
    assert len(problems) == 1
    assert fragment in problems[0]
    assert secret not in problems[0]


def test_no_problem_against_a_sandbox_with_a_good_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sandbox credentials at a local sandbox URL are fine; only real KryptoGO hosts need
    real credentials and a public callback URL."""
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_SECRET", GOOD_WS_SECRET)
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_BASE_URL", "http://127.0.0.1:8099")
    settings = load_settings(env_file=None)
    assert not settings.real_kryptogo_host
    assert settings.problems() == []
    assert settings.ws_token_secret_value() == GOOD_WS_SECRET


def test_real_host_with_real_settings_has_no_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """Own credentials and a callback URL on the production host pass."""
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_SECRET", GOOD_WS_SECRET)
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_CLIENT_ID", "studio-client-1")
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    monkeypatch.setenv("GAMEPAY_CALLBACK_PUBLIC_URL", "https://game.example.com/kryptogo/callback")
    settings = load_settings(env_file=None)
    assert settings.real_kryptogo_host
    assert settings.problems() == []


def test_unset_token_secret_is_a_config_error_naming_it() -> None:
    """A library caller that never set the secret gets ConfigError naming the variable."""
    with pytest.raises(ConfigError, match="GAMEPAY_WS_TOKEN_SECRET"):
        load_settings(env_file=None).ws_token_secret_value()


def test_env_and_log_format_accept_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """GAMEPAY_ENV=Dev and GAMEPAY_LOG_FORMAT=TEXT are read; the log format defaults to auto."""
    assert load_settings(env_file=None).log_format == "auto"
    monkeypatch.setenv("GAMEPAY_ENV", "Dev")
    monkeypatch.setenv("GAMEPAY_LOG_FORMAT", "TEXT")
    monkeypatch.setenv("GAMEPAY_LOG_LEVEL", "debug")
    settings = load_settings(env_file=None)
    assert (settings.env, settings.log_format, settings.log_level) == ("dev", "text", "DEBUG")


OLD_WS_SECRET = "o" * 32


def test_token_rotation_settings_accept_the_current_and_the_old_keys_by_kid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GAMEPAY_WS_TOKEN_KID names the current key; OLD_KEYS adds kid=secret pairs; issuer and
    audience are carried along; the secrets never appear in the signing's repr."""
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_SECRET", GOOD_WS_SECRET)
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_KID", "2026-12")
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_OLD_KEYS", f"2026-11={OLD_WS_SECRET}")
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_ISSUER", "my-game")
    monkeypatch.setenv("GAMEPAY_WS_TOKEN_AUDIENCE", "gamepay")
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_BASE_URL", "http://127.0.0.1:9")
    settings = load_settings(env_file=None)
    signing = settings.ws_token_signing()
    assert signing.accepted_keys() == {"2026-12": GOOD_WS_SECRET, "2026-11": OLD_WS_SECRET}
    assert (signing.issuer, signing.audience, signing.kid) == ("my-game", "gamepay", "2026-12")
    assert GOOD_WS_SECRET not in repr(signing)
    assert OLD_WS_SECRET not in repr(signing)
    assert OLD_WS_SECRET not in repr(settings)
    assert settings.problems() == []


def test_one_secret_without_a_kid_is_accepted_alone() -> None:
    """Without GAMEPAY_WS_TOKEN_KID the one secret checks every token, whatever its kid."""
    signing = Settings(_env_file=None, ws_token_secret=GOOD_WS_SECRET).ws_token_signing()
    assert signing.accepted_keys() == GOOD_WS_SECRET


@pytest.mark.parametrize(
    ("kid", "old_keys", "fragment"),
    [
        (None, f"a={OLD_WS_SECRET}", "needs GAMEPAY_WS_TOKEN_KID"),
        ("new", "a=short", "shorter than 32 bytes"),
        ("new", f"no-equals-{OLD_WS_SECRET}", "kid=secret"),
        ("new", f"a={OLD_WS_SECRET},a={OLD_WS_SECRET}", "kid=secret"),
        ("new", f"new={OLD_WS_SECRET}", "repeats GAMEPAY_WS_TOKEN_KID"),
    ],
)
def test_malformed_old_keys_are_one_problem_naming_the_variable(
    kid: str | None, old_keys: str, fragment: str
) -> None:
    """A bad GAMEPAY_WS_TOKEN_OLD_KEYS is one line in problems() and a ConfigError on use;
    neither repeats a secret."""
    settings = Settings(
        _env_file=None,
        ws_token_secret=GOOD_WS_SECRET,
        ws_token_kid=kid,
        ws_token_old_keys=old_keys,
        kryptogo_base_url="http://127.0.0.1:9",
    )
    problems = settings.problems()
    assert len(problems) == 1
    assert "GAMEPAY_WS_TOKEN_OLD_KEYS" in problems[0]
    assert fragment in problems[0]
    assert OLD_WS_SECRET not in problems[0]
    with pytest.raises(ConfigError, match=fragment):
        settings.ws_token_signing()


def test_vet_refuses_outside_dev_and_returns_each_dev_warning_once() -> None:
    """Settings.vet, the one serving rule: UnsafeSettings listing every problem in production;
    in dev the problems once, nothing the second time nor for a copy, and only what is new for
    a copy that adds a problem."""
    unsafe = Settings(_env_file=None, ws_token_secret=GOOD_WS_SECRET)  # real host, sandbox keys
    with pytest.raises(UnsafeSettings) as refused:
        unsafe.vet()
    assert refused.value.problems == unsafe.problems()
    assert len(refused.value.problems) == 3
    dev = unsafe.model_copy(update={"env": "dev"})
    assert dev.vet() == dev.problems()
    assert dev.vet() == []
    assert dev.model_copy(update={"http_port": 9}).vet() == []
    shorter = dev.model_copy(update={"ws_token_secret": SecretStr("y" * 31)})
    assert shorter.vet() == [shorter.problems()[0]]
    assert "GAMEPAY_WS_TOKEN_SECRET" in shorter.problems()[0]
