"""Every exception gamepay raises, in one tree.

Catch ``GamepayError`` for everything, or a branch for one concern. Each class has a stable
``code`` (used in websocket error replies and CLI JSON output) and a human message.
Library exceptions from below (SQLAlchemy, httpx, asyncpg) are translated once, at the boundary
that meets them, with ``raise ... from exc``.

```
GamepayError
├── InvalidInput                      bad input from a caller: nothing was changed
│   ├── AmountError
│   │   ├── AmountTypeError           not an int (float, bool, str where an int is due)
│   │   ├── AmountFormatError         not a plain decimal string (sign, exponent, NaN, spaces)
│   │   ├── AmountPrecisionError      more decimal places than the asset has
│   │   └── AmountRangeError          not 0 < amount < 2**256
│   │       └── AmountTooSmall        below the service's minimum (fiat_amount 0.01)
│   ├── AssetError                    malformed or unknown asset definition
│   ├── AccountError                  malformed account id, or properties a player may not have
│   ├── AddressError                  not a valid address for the chain
│   └── ConfigError                   missing or malformed configuration
│       ├── CatalogError              a catalog that cannot be used (``problems``: one line each)
│       └── RewardsFileError          a bad rewards file (in gamepay.rewards.programs_file)
├── LedgerError
│   ├── AccountNotFound
│   ├── AssetNotFound
│   ├── AccountMismatch               account exists with different properties
│   ├── InsufficientFunds             a non-negative account would go below zero
│   │   └── InsufficientAsset         (gamepay.inventory.errors) names asset and shortfall
│   ├── IdempotencyConflict           an id replayed with different content
│   │   └── OperationConflict         (gamepay.inventory.errors) key reused for another body
│   ├── HoldNotFound
│   ├── HoldStateError                hold already posted or voided, or post above the hold
│   └── LedgerCorrupt                 verify() found a stored balance that does not match
├── StoreError
│   ├── MigrationError
│   │   └── SchemaNotCurrent          the schema is not at this gamepay's revision (upgrade it)
│   └── ConcurrencyError              serialization/deadlock retries exhausted
├── KryptoGOError                     talking to KryptoGO Studio
│   ├── APIError                      the API answered with an error (status, code, body)
│   │   ├── AuthenticationError       4001 invalid client id, 4002 invalid API key, 401/403
│   │   ├── NotFoundError             4006 invalid payment_intent_id, 404
│   │   ├── InvalidRequestError       400/422 and other request errors
│   │   ├── RateLimitError            429
│   │   ├── ServerError               5xx
│   │   ├── TreasuryInsufficient      4015: the treasury cannot cover a transfer (nothing moved)
│   │   └── MalformedResponseError    a 2xx answer that is not the documented envelope/shape
│   ├── TransportError                no usable answer (connection refused, reset)
│   │   └── RequestTimeout            no answer in time
│   └── OutcomeUnknownError           a money-moving call may or may not have happened
├── PaymentError
│   ├── UnknownSku
│   ├── OrderNotFound
│   ├── IllegalTransition             a status change the intent state machine refuses
│   ├── CallbackRejected              malformed, unsigned or replayed callback
│   ├── BalancePriceMissing           the item cannot be bought with a balance
│   └── WithdrawalError
│       ├── BelowMinimum
│       ├── LimitExceeded
│       ├── WithdrawalNotFound
│       ├── WithdrawalConflict    a request id replayed with different content
│       └── WithdrawalsUnavailable temporarily (the treasury is short): nothing moved
├── RewardError
│   ├── PoolUnderfunded
│   └── PeriodNotClosed
├── SandboxError                      the local KryptoGO emulator refused an operation
├── PortInUse                         a server cannot listen: the address is already taken
└── ProtocolError                     a websocket client broke the protocol (gamepay_ws)
    ├── BadJson                       a frame that is not UTF-8 JSON
    ├── MalformedMessage              wrong or missing fields, wrong field types
    ├── UnknownMessageType            a ``type`` the protocol does not have
    ├── NotAuthenticated              anything but authenticate before authenticating
    ├── AlreadyAuthenticated          a second authenticate on one connection
    ├── TokenRejected                 a player token that is malformed, forged or expired
    └── RateLimited                   the connection sent faster than its rate limit
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AccountError",
    "AccountMismatch",
    "AccountNotFound",
    "AddressError",
    "AlreadyAuthenticated",
    "AmountError",
    "AmountFormatError",
    "AmountPrecisionError",
    "AmountRangeError",
    "AmountTooSmall",
    "AmountTypeError",
    "AssetError",
    "AssetNotFound",
    "AuthenticationError",
    "BadJson",
    "BalancePriceMissing",
    "BelowMinimum",
    "CallbackRejected",
    "CatalogError",
    "ConcurrencyError",
    "ConfigError",
    "GamepayError",
    "HoldNotFound",
    "HoldStateError",
    "IdempotencyConflict",
    "IllegalTransition",
    "InsufficientFunds",
    "InvalidInput",
    "InvalidRequestError",
    "KryptoGOError",
    "LedgerCorrupt",
    "LedgerError",
    "LimitExceeded",
    "MalformedMessage",
    "MalformedResponseError",
    "MigrationError",
    "NotAuthenticated",
    "NotFoundError",
    "OrderNotFound",
    "OutcomeUnknownError",
    "PaymentError",
    "PeriodNotClosed",
    "PoolUnderfunded",
    "PortInUse",
    "ProtocolError",
    "RateLimitError",
    "RateLimited",
    "RequestTimeout",
    "RewardError",
    "SandboxError",
    "SchemaNotCurrent",
    "ServerError",
    "StoreError",
    "TokenRejected",
    "TransportError",
    "TreasuryInsufficient",
    "UnknownMessageType",
    "UnknownSku",
    "WithdrawalConflict",
    "WithdrawalError",
    "WithdrawalNotFound",
    "WithdrawalsUnavailable",
]


class GamepayError(Exception):
    """Root of every gamepay exception; ``code`` is a stable machine-readable name."""

    code = "gamepay_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(GamepayError):
    """A caller passed a value gamepay refuses; nothing was changed."""

    code = "invalid_input"


class AmountError(InvalidInput):
    """An amount is not an exact integer of base units in range."""

    code = "invalid_amount"


class AmountTypeError(AmountError):
    """An amount has the wrong type (float, bool, or anything but an int or decimal string)."""

    code = "amount_type"


class AmountFormatError(AmountError):
    """A decimal string is not plain digits with an optional fraction."""

    code = "amount_format"


class AmountPrecisionError(AmountError):
    """A decimal string has more decimal places than the asset allows."""

    code = "amount_precision"


class AmountRangeError(AmountError):
    """An amount is not in 0 < amount < 2**256."""

    code = "amount_range"


class AmountTooSmall(AmountRangeError):
    """An amount below the smallest one KryptoGO accepts (a ``fiat_amount`` under 0.01)."""

    code = "amount_too_small"


class AssetError(InvalidInput):
    """An asset definition is malformed."""

    code = "invalid_asset"


class AccountError(InvalidInput):
    """An account id is malformed, or an account is asked for properties it may not have."""

    code = "invalid_account"


class AddressError(InvalidInput):
    """A wallet address is not valid for its chain."""

    code = "invalid_address"


class ConfigError(InvalidInput):
    """Configuration is missing or malformed."""

    code = "invalid_config"


class CatalogError(ConfigError):
    """A catalog that cannot be used; ``problems`` has one line per problem (naming the item
    and the field); the message is ``source: `` and the problems joined by ``; `` (one line)."""

    code = "invalid_catalog"

    def __init__(self, problems: list[str], *, source: str = "catalog") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


class LedgerError(GamepayError):
    """The ledger refused an operation."""

    code = "ledger_error"


class AccountNotFound(LedgerError):
    """No account with that id."""

    code = "account_not_found"


class AssetNotFound(LedgerError):
    """No asset with that id is registered."""

    code = "asset_not_found"


class AccountMismatch(LedgerError):
    """An account or asset already exists with different properties."""

    code = "account_mismatch"


class InsufficientFunds(LedgerError):
    """A transfer would take an account that may not go negative below zero."""

    code = "insufficient_funds"


class IdempotencyConflict(LedgerError):
    """A transfer, batch or hold id was replayed with different content."""

    code = "idempotency_conflict"


class HoldNotFound(LedgerError):
    """No hold with that id."""

    code = "hold_not_found"


class HoldStateError(LedgerError):
    """The hold was already posted or voided, or the post exceeds the held amount."""

    code = "hold_state"


class LedgerCorrupt(LedgerError):
    """verify() found balances that the transfers do not explain."""

    code = "ledger_corrupt"


class StoreError(GamepayError):
    """The database failed in a way gamepay could not absorb."""

    code = "store_error"


class MigrationError(StoreError):
    """The schema could not be brought up to date."""

    code = "migration_error"


class SchemaNotCurrent(MigrationError):
    """The database's schema is not at this gamepay's revision: run ``gamepay db upgrade``."""

    code = "schema_not_current"


class ConcurrencyError(StoreError):
    """A transaction kept failing on serialization or deadlock after every retry."""

    code = "concurrency_error"


class KryptoGOError(GamepayError):
    """Talking to KryptoGO Studio failed."""

    code = "kryptogo_error"


class APIError(KryptoGOError):
    """KryptoGO answered with an error; carries HTTP status, API code, message and body."""

    code = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        api_code: int | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.api_code = api_code
        self.body = body
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, api_code={self.api_code!r}, "
            f"message={self.message!r})"
        )


class AuthenticationError(APIError):
    """Invalid client id (4001) or API key (4002), or HTTP 401/403."""

    code = "api_authentication"


class NotFoundError(APIError):
    """Invalid payment_intent_id (4006) or HTTP 404."""

    code = "api_not_found"


class InvalidRequestError(APIError):
    """The request was refused as malformed (HTTP 400/422 and other 4xx)."""

    code = "api_invalid_request"


class RateLimitError(APIError):
    """Too many requests (HTTP 429); ``retry_after`` holds the server's wait in seconds, if sent."""

    code = "api_rate_limit"
    retry_after: float | None = None


class ServerError(APIError):
    """KryptoGO failed on its side (HTTP 5xx)."""

    code = "api_server_error"


class TreasuryInsufficient(APIError):
    """4015 "Balance not enough": a definite refusal of a transfer; nothing moved.

    ``shortfall`` is the missing amount in base units when the token's decimals were known and
    the server's ``insufficient_amount`` parsed exactly, else None; ``shortfall_text`` is the
    server's decimal string of whole tokens as sent (None when absent or not a string).
    """

    code = "treasury_insufficient"
    shortfall: int | None = None
    shortfall_text: str | None = None


class MalformedResponseError(APIError):
    """A success status whose body is not the documented envelope or data shape."""

    code = "api_malformed_response"


class TransportError(KryptoGOError):
    """No usable HTTP answer arrived (connection refused, reset, protocol error)."""

    code = "transport_error"


class RequestTimeout(TransportError):
    """No answer arrived in time (named so it does not shadow the builtin ``TimeoutError``)."""

    code = "timeout"


class OutcomeUnknownError(KryptoGOError):
    """A call that creates an intent or moves money may or may not have taken effect."""

    code = "outcome_unknown"

    def __init__(self, message: str, *, operation: str, reference: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.reference = reference


class PaymentError(GamepayError):
    """A purchase, top-up or withdrawal was refused."""

    code = "payment_error"


class UnknownSku(PaymentError):
    """The catalog has no item with that sku."""

    code = "unknown_sku"


class OrderNotFound(PaymentError):
    """No local order with that id."""

    code = "order_not_found"


class IllegalTransition(PaymentError):
    """A status change that the state machine does not allow."""

    code = "illegal_transition"


class CallbackRejected(PaymentError):
    """A callback body or signature was refused."""

    code = "callback_rejected"


class BalancePriceMissing(PaymentError):
    """The catalog item has no balance price: it can only be bought with crypto."""

    code = "balance_price_missing"


class WithdrawalError(PaymentError):
    """A withdrawal was refused."""

    code = "withdrawal_error"


class BelowMinimum(WithdrawalError):
    """The withdrawal is below the minimum amount."""

    code = "below_minimum"


class LimitExceeded(WithdrawalError):
    """The withdrawal would exceed the player's daily limit."""

    code = "limit_exceeded"


class WithdrawalNotFound(WithdrawalError):
    """No withdrawal with that id."""

    code = "withdrawal_not_found"


class WithdrawalConflict(WithdrawalError):
    """A withdrawal request id was replayed with a different asset, amount or address."""

    code = "withdrawal_conflict"


class WithdrawalsUnavailable(WithdrawalError):
    """Withdrawals are temporarily unavailable (KryptoGO's treasury is short, 4015): the hold was
    voided, nothing moved; the player may try again later. Its message is safe to show."""

    code = "withdrawals_unavailable"

    def __init__(self, message: str = "withdrawals are temporarily unavailable; try later") -> None:
        super().__init__(message)


class RewardError(GamepayError):
    """A reward run was refused or stopped."""

    code = "reward_error"


class PoolUnderfunded(RewardError):
    """The reward pool cannot pay the next payout; ``report`` says what was paid and what not."""

    code = "pool_underfunded"

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class PeriodNotClosed(RewardError):
    """The period has not ended yet."""

    code = "period_not_closed"


class SandboxError(GamepayError):
    """The sandbox (local KryptoGO emulator) refused an API or control operation.

    ``api_code`` and ``http_status`` are what the sandbox answers over HTTP for it.
    """

    code = "sandbox_error"

    def __init__(self, message: str, *, api_code: int, http_status: int) -> None:
        super().__init__(message)
        self.api_code = api_code
        self.http_status = http_status

    def __repr__(self) -> str:
        return f"SandboxError(api_code={self.api_code!r}, message={self.message!r})"


class PortInUse(GamepayError):
    """A server could not listen on ``host:port``: another process holds the address."""

    code = "port_in_use"

    def __init__(self, host: str, port: int, *, setting: str | None = None) -> None:
        where = f" ({setting})" if setting else ""
        super().__init__(
            f"cannot listen on {host}:{port}{where}: the address is already in use "
            "(stop the other process or pick another port)"
        )
        self.host = host
        self.port = port


class ProtocolError(GamepayError):
    """A websocket client broke the gamepay_ws protocol; the connection carries on."""

    code = "protocol_error"


class BadJson(ProtocolError):
    """A frame that is not valid UTF-8 JSON."""

    code = "bad_json"


class MalformedMessage(ProtocolError):
    """A message with missing, unexpected or wrongly typed fields."""

    code = "bad_message"


class UnknownMessageType(ProtocolError):
    """A message whose ``type`` the protocol does not define."""

    code = "unknown_type"


class NotAuthenticated(ProtocolError):
    """Anything but ``authenticate`` on a connection that has not authenticated."""

    code = "not_authenticated"


class AlreadyAuthenticated(ProtocolError):
    """A second ``authenticate`` on a connection that already has a player."""

    code = "already_authenticated"


class TokenRejected(ProtocolError):
    """A player token that is malformed, wrongly signed or expired."""

    code = "token_rejected"


class RateLimited(ProtocolError):
    """The connection sent messages faster than its rate limit allows."""

    code = "rate_limited"
