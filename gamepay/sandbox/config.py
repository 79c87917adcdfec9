"""The sandbox's configuration: chains, tokens, the fiat quote table, credentials and timings.

Everything is a pydantic model, so a config can be built in Python, loaded from JSON, or left at
its defaults, which are:

- chains ``arb`` (USDT, 6 decimals, the real Arbitrum USDT contract, and ``GPT``, an 18-decimal
  test token), ``eth`` (DAI, 18 decimals), ``tron`` (USDT, 6 decimals) and ``sol`` (USDT, 6
  decimals);
- prices of one token in fiat: USDT and GPT 32.5 TWD / 1 USD, DAI 32.5 TWD / 1 USD;
- intents are paid in USDT on ``arb`` unless ``group_tokens`` maps their ``group_key`` to
  another token (``"arb:GPT"``, ``"eth:DAI"``);
- deadlines 15 minutes after creation;
- credentials ``sandbox-client-id`` / ``sandbox-api-key``.

Quote rule: ``crypto_amount = ceil(fiat_amount / price * 10**decimals)`` base units, computed
with exact rationals (``fractions.Fraction``), so the payer is never asked for less than the fiat
price; then, if the token sets ``quote_decimals`` below its ``decimals``, rounded UP again to
that many places (the product page shows ``"9.23"`` for 300 TWD).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gamepay.core.money import MAX_DECIMALS

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "ChainConfig",
    "ChainFamily",
    "SandboxConfig",
    "TokenConfig",
    "default_chains",
    "default_quotes",
]

DEFAULT_CLIENT_ID = "sandbox-client-id"
"""The client id the sandbox accepts unless configured (env ``GAMEPAY_SANDBOX_CLIENT_ID``)."""

DEFAULT_API_KEY = "sandbox-api-key"
"""The Studio API key the sandbox accepts unless configured (env ``GAMEPAY_SANDBOX_API_KEY``)."""

ChainFamily = Literal["evm", "tron", "solana"]
"""Address families: EVM (``0x`` + 40 hex), Tron (base58check, 0x41 + 20 bytes), Solana."""

_PRICE = re.compile(r"[0-9]+(\.[0-9]+)?")


class TokenConfig(BaseModel):
    """One token on one chain: its contract address, symbol and decimals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(min_length=1, max_length=16)
    address: str = Field(min_length=1)
    decimals: int = Field(ge=0, le=MAX_DECIMALS)
    quote_decimals: int | None = Field(default=None, ge=0, le=MAX_DECIMALS)


class ChainConfig(BaseModel):
    """A chain the sandbox simulates: its id (``arb``), address family and tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str = Field(min_length=1, max_length=16)
    family: ChainFamily
    tokens: tuple[TokenConfig, ...]

    def token(self, key: str) -> TokenConfig | None:
        """Return the token whose address (case-insensitive on EVM) or symbol is ``key``."""
        for token in self.tokens:
            if token.symbol == key:
                return token
            if self.family == "evm":
                if token.address.lower() == key.lower():
                    return token
            elif token.address == key:
                return token
        return None


def default_chains() -> tuple[ChainConfig, ...]:
    """The default simulated chains: arb, eth, tron and sol."""
    return (
        ChainConfig(
            chain_id="arb",
            family="evm",
            tokens=(
                TokenConfig(
                    symbol="USDT",
                    address="0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
                    decimals=6,
                ),
                TokenConfig(
                    symbol="GPT",
                    address="0x4E107D9D509d8aE2010D4Fb8f1A18EfaA2e94637",
                    decimals=18,
                ),
            ),
        ),
        ChainConfig(
            chain_id="eth",
            family="evm",
            tokens=(
                TokenConfig(
                    symbol="DAI",
                    address="0x6B175474E89094C44Da98b954EedeAC495271d0F",
                    decimals=18,
                ),
            ),
        ),
        ChainConfig(
            chain_id="tron",
            family="tron",
            tokens=(
                TokenConfig(
                    symbol="USDT", address="TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", decimals=6
                ),
            ),
        ),
        ChainConfig(
            chain_id="sol",
            family="solana",
            tokens=(
                TokenConfig(
                    symbol="USDT",
                    address="Es9vMFrzaCERmJFrF4H2FYD4KCoNkY11McCe8BenwNYB",
                    decimals=6,
                ),
            ),
        ),
    )


def default_quotes() -> dict[str, dict[str, str]]:
    """The default price of one token, per fiat currency then symbol, as decimal strings."""
    return {
        "TWD": {"USDT": "32.5", "GPT": "32.5", "DAI": "32.5"},
        "USD": {"USDT": "1", "GPT": "1", "DAI": "1"},
    }


class SandboxConfig(BaseModel):
    """Everything the sandbox simulates; see the module docstring for the defaults."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = DEFAULT_CLIENT_ID
    api_key: SecretStr = SecretStr(DEFAULT_API_KEY)
    org_id: int = 1
    seed: int | None = None
    """Seeds intent ids, addresses and tx hashes; None draws a random seed (``Sandbox.seed``)."""
    chains: tuple[ChainConfig, ...] = Field(default_factory=default_chains)
    quotes: dict[str, dict[str, str]] = Field(default_factory=default_quotes)
    payment_token: str = "arb:USDT"
    """Which token intents are paid in: ``"<chain_id>:<symbol or address>"``."""
    group_tokens: dict[str, str] = Field(default_factory=dict)
    """Per ``group_key`` override of ``payment_token``."""
    deadline_seconds: int = Field(default=900, gt=0)
    start_time: int | None = Field(default=None, ge=0)
    """The sandbox clock at start (unix seconds); None starts at the real time."""
    frozen_clock: bool = False
    """A frozen clock moves only by ``advance``; otherwise it follows real time plus offsets."""
    notify_late_payments: bool = True
    """Send a callback (status unchanged) when a payment lands on a non-pending intent."""
    callback_secret: SecretStr | None = None
    """When set, callbacks carry ``timestamp`` and ``signature`` (``kryptogo.signing``)."""
    callback_timeout: float = Field(default=5.0, gt=0)
    callback_max_attempts: int = Field(default=6, ge=1)
    callback_retry_base: float = Field(default=0.5, ge=0)
    callback_retry_cap: float = Field(default=30.0, ge=0)
    callback_concurrency: int = Field(default=1, ge=1, le=64)
    """Delivery workers; 1 keeps callbacks in order (faults aside), more is faster."""
    callback_reorder_hold: float = Field(default=0.2, ge=0)
    """How long a callback picked for reordering waits for a later one to overtake it."""
    expiry_interval: float = Field(default=1.0, gt=0)
    """How often a served sandbox sweeps for intents past their deadline (seconds)."""
    strict: bool = False
    """Refuse (4000) a create or transfer request carrying any field the API does not document
    (e.g. a transfer ``note``), so a studio's tests prove nothing depends on one."""
    list_ignores_filters: bool = False
    """Make the list call ignore its filters and page size, newest first in pages of
    ``list_page_size`` (the real list endpoint is undocumented; exactly-once must survive it)."""
    list_page_size: int = Field(default=7, ge=1, le=1000)
    """The page size served when ``list_ignores_filters`` is on."""

    @field_validator("quotes")
    @classmethod
    def _exact_prices(cls, quotes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """Prices are positive plain decimal strings (exact), never floats."""
        for fiat, table in quotes.items():
            for symbol, price in table.items():
                if _PRICE.fullmatch(price) is None or Fraction(price) <= 0:
                    raise ValueError(f"price of {symbol} in {fiat} must be a positive decimal")
        return quotes

    @model_validator(mode="after")
    def _tokens_resolve(self) -> SandboxConfig:
        """The payment token and every group token name a configured chain and token."""
        ids = [chain.chain_id for chain in self.chains]
        if len(set(ids)) != len(ids):
            raise ValueError("chain ids must be unique")
        for ref in (self.payment_token, *self.group_tokens.values()):
            self.resolve_token(ref)
        return self

    def chain(self, chain_id: str) -> ChainConfig | None:
        """Return the chain with id ``chain_id``, or None."""
        for chain in self.chains:
            if chain.chain_id == chain_id:
                return chain
        return None

    def resolve_token(self, ref: str) -> tuple[ChainConfig, TokenConfig]:
        """Resolve ``"<chain_id>:<symbol or address>"``; raises ValueError when unknown."""
        chain_id, _, key = ref.partition(":")
        chain = self.chain(chain_id)
        token = chain.token(key) if chain is not None else None
        if chain is None or token is None:
            raise ValueError(f"unknown token {ref!r}")
        return chain, token

    def price(self, fiat: str, symbol: str) -> Fraction | None:
        """The exact price of one ``symbol`` in ``fiat``, or None when not quoted."""
        text = self.quotes.get(fiat, {}).get(symbol)
        return None if text is None else Fraction(text)
